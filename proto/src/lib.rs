//! The public, versioned contract of leye: gRPC services and event messages.
//!
//! # Layout
//! - `leye/common/v1/common.proto`: command context, command result, event metadata.
//! - `leye/person/v1/person.proto`: the person-case service, its facts and events.
//! - `leye/enterprise/v1/enterprise.proto`: the enterprise-case service, its facts and events.
//! - `leye/analytics/v1/analytics.proto`: targets and action lists for analysts.
//! - `leye/audit/v1/audit.proto`: the audit trail, for auditors.
//!
//! Generated at build time by `protox` + `tonic-prost-build` (no `protoc` needed).
//! Messages are only ever extended within a `v1` package; a breaking change is a
//! new package version. `proto/buf.yaml` holds the checks `scripts/test.sh`
//! runs with buf: lint (one request and one response message per RPC, every
//! element commented), format, and breaking against `proto/buf-baseline.binpb`.
//!
//! # Invariant
//! Messages holding personal data (resident ID, name) have a redacting `Debug`,
//! so logging a request with `{:?}` never prints them.

use std::fmt;

/// Encoded `FileDescriptorSet` of every `.proto` file, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/leye_descriptor.bin"));

pub mod codec;

pub mod common {
    pub mod v1 {
        tonic::include_proto!("leye.common.v1");
    }
}

pub mod analytics {
    pub mod v1 {
        tonic::include_proto!("leye.analytics.v1");
    }
}

pub mod audit {
    pub mod v1 {
        tonic::include_proto!("leye.audit.v1");
    }
}

pub mod enterprise {
    // Generated oneofs hold whole fact messages; their sizes differ by design.
    #[allow(clippy::large_enum_variant)]
    pub mod v1 {
        tonic::include_proto!("leye.enterprise.v1");
    }
}

pub mod person {
    // Generated oneofs hold whole fact messages; their sizes differ by design.
    #[allow(clippy::large_enum_variant)]
    pub mod v1 {
        tonic::include_proto!("leye.person.v1");
    }
}

impl fmt::Debug for person::v1::FindCaseByResidentIdRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FindCaseByResidentIdRequest").field("resident_id", &"<redacted>").finish()
    }
}

impl fmt::Debug for person::v1::Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("resident_id", &"<redacted>")
            .field("name", &"<redacted>")
            .field("hukou", &self.hukou)
            .field("residence", &self.residence)
            .field("education", &self.education)
            .field("graduation", &self.graduation)
            .field("household", &self.household)
            .field("groups", &self.groups)
            .field("personal_data", &self.personal_data)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::person::v1::{FindCaseByResidentIdRequest, Registration};

    #[test]
    fn registration_debug_redacts_personal_data() {
        let r = Registration { resident_id: "11010519491231002X".into(), name: "张三".into(), ..Default::default() };
        let shown = format!("{r:?}");
        assert!(!shown.contains("11010519491231002X"));
        assert!(!shown.contains("张三"));
        assert!(shown.contains("<redacted>"));
        let look_up = FindCaseByResidentIdRequest { resident_id: "11010519491231002X".into() };
        assert!(!format!("{look_up:?}").contains("11010519491231002X"), "{look_up:?}");
    }
}
