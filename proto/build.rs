//! Compiles the `.proto` contract with `protox` (pure Rust), so a fresh machine
//! needs no `protoc`. The encoded descriptor set is kept for gRPC reflection.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "leye/common/v1/common.proto",
    "leye/person/v1/person.proto",
    "leye/enterprise/v1/enterprise.proto",
    "leye/analytics/v1/analytics.proto",
    "leye/audit/v1/audit.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let fds = protox::compile(PROTOS, ["."])?;
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR is not set by cargo")?);
    fs::write(out_dir.join("leye_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        // INVALID_ARGUMENT, not INTERNAL, for a request that does not decode.
        .codec_path("crate::codec::LeyeCodec")
        // Registration holds the resident ID and the name, a look-up its
        // resident ID: their Debug is written by hand in lib.rs and redacts
        // them, so no `{:?}` can leak them.
        .skip_debug(["leye.person.v1.Registration", "leye.person.v1.FindCaseByResidentIdRequest"])
        .compile_fds(fds)?;
    Ok(())
}
