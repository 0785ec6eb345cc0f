//! The settings every server of one deployment must share, beyond its keys:
//! the **policy catalogue** (two servers with other catalogues would decide one
//! subsidy, one registration's age limit, one policy finding two ways), the
//! **target parameters** (`[targets]`: each server's read model would report
//! other figures to analysts) and the **publishing settings** (whether NATS
//! is configured at all, the stream and its limits, personal data in
//! payloads: a server with others would, once it leads the publisher,
//! publish nothing, or into another stream, or resident IDs the deployment
//! keeps off NATS) and the **access rules** (the token issuer and audience,
//! the client certificates' grants, who may call reflection: a server with
//! others would allow a call another refuses).
//!
//! On a shared (PostgreSQL) key store each is kept beside the pseudonym
//! key's fingerprint (`leye_vault::Setting`): the first server records its
//! own, every later start compares, and a server with others refuses to
//! start, naming the setting. `--adopt-settings` puts a server's own in force
//! instead; every running server looks again once a leadership interval and
//! stops when another was put in force, so that within about one interval no
//! server decides with the settings it replaced. A single server on its own
//! key store (SQLite) has no one to disagree with and records nothing: its
//! catalogue changes with a restart, as before.

use std::{sync::Arc, time::Duration};

use leye_projections::TargetParams;
use leye_vault::{Binding, Setting, Vault};
use sha2::{Digest, Sha256};

use crate::{personal::PersonalData, publisher::PublisherConfig};

/// This server's shared settings, as kept in the key store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shared {
    /// [`leye_policy::Catalogue::fingerprint`].
    catalogue: String,
    /// Hex SHA-256 of the parameters as JSON.
    targets: String,
    /// The publishing settings in words (nothing secret: no URL), so that a
    /// refusal shows both sides.
    publishing: String,
    /// Hex SHA-256 of the access rules in a canonical text ([`access_text`]).
    access: String,
    /// Where the catalogue came from, for messages.
    catalogue_from: String,
}

impl Shared {
    /// The settings of `catalogue` (read from `from`: a directory, or the
    /// built-in one), `targets` and `publisher`. Of the publisher only what
    /// must agree: not the NATS URL (servers may reach other nodes of one
    /// cluster) nor the tuning (in flight, ack timeout, lag alarm).
    pub fn of(
        catalogue: &leye_policy::Catalogue,
        from: Option<&std::path::Path>,
        targets: &TargetParams,
        publisher: &PublisherConfig,
        trust: &crate::trust::TrustConfig,
    ) -> Self {
        let json = serde_json::to_vec(targets).unwrap_or_default();
        let stream = &publisher.stream;
        let publishing = match publisher.nats_url {
            None => "no NATS (events wait in the store)".to_string(),
            Some(_) => format!(
                "stream {} ({} replicas, duplicate window {} s, max age {} s, max bytes {}), personal data {}",
                stream.name,
                stream.replicas,
                stream.duplicate_window.as_secs(),
                stream.max_age.as_secs(),
                stream.max_bytes.map_or("unlimited".to_string(), |b| b.to_string()),
                if publisher.personal_data { "published" } else { "withheld" },
            ),
        };
        Self {
            catalogue: catalogue.fingerprint().to_string(),
            targets: sha256_hex(b"leye target parameters v1", &json),
            publishing,
            access: sha256_hex(b"leye access rules v1", access_text(trust).as_bytes()),
            catalogue_from: from
                .map_or("the built-in policy catalogue".into(), |d| format!("the policy catalogue in {}", d.display())),
        }
    }

    fn each(&self) -> [(Setting, &str); 4] {
        [
            (Setting::PolicyCatalogue, &self.catalogue),
            (Setting::TargetParams, &self.targets),
            (Setting::Publishing, &self.publishing),
            (Setting::Access, &self.access),
        ]
    }

    /// What `setting` is on this server, and where it is set, for messages.
    fn named(&self, setting: Setting) -> String {
        match setting {
            Setting::PolicyCatalogue => format!(
                "{} (fingerprint {}; set by `--policies`, LEYE_POLICIES or `policies`)",
                self.catalogue_from,
                shown(setting, &self.catalogue)
            ),
            Setting::TargetParams => format!(
                "the target parameters (fingerprint {}; the config file's `[targets]` table)",
                shown(setting, &self.targets)
            ),
            Setting::Publishing => format!(
                "the publishing settings ({}; set by `nats_url`, `nats_stream`, `nats_stream_replicas`, \
                 `nats_duplicate_window_secs`, `nats_max_age_days`, `nats_max_bytes`, `nats_personal_data`)",
                self.publishing
            ),
            _ => format!(
                "the access rules (fingerprint {}; set by `[security]` `jwt_issuer`, `jwt_audience`, \
                 `[[security.clients]]`, `reflection`, `insecure`)",
                shown(setting, &self.access)
            ),
        }
    }
}

fn sha256_hex(domain: &[u8], data: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(domain);
    h.update(data);
    leye_store::headfile::hex(h.finalize().as_slice())
}

/// The access rules every server must apply alike, one line each, the
/// client grants sorted (their order in the file means nothing). Not the
/// issuer's key set (`jwks_file`: the identity provider rotates it, and a
/// server with a stale one refuses tokens rather than allowing more), nor
/// TLS files (each host has its own), nor resource limits (each machine's
/// own).
fn access_text(trust: &crate::trust::TrustConfig) -> String {
    let mut lines = vec![
        match &trust.jwt {
            Some(j) => format!("tokens: issuer {:?}, audience {:?}", j.issuer, j.audience),
            None => "tokens: the development issuer".to_string(),
        },
        format!("reflection: {:?}", trust.reflection),
        format!("insecure: {}", trust.insecure),
    ];
    let mut clients: Vec<String> = trust
        .clients
        .iter()
        .map(|c| {
            let roles: Vec<&str> = c.roles.iter().map(|r| r.as_str()).collect();
            format!(
                "client sha256 {:?} cn {:?}: principal {:?}, roles {roles:?}, jurisdiction {:?}, office {:?}, \
                 operations {:?}",
                c.sha256.as_deref().map(|s| s.replace(':', "").to_ascii_lowercase()),
                c.subject_cn,
                c.principal,
                c.jurisdiction,
                c.office,
                c.operations
            )
        })
        .collect();
    clients.sort();
    lines.extend(clients);
    lines.join("\n")
}

/// A recorded setting as messages show it: a fingerprint's first 12
/// characters, the publishing settings whole.
fn shown(setting: Setting, value: &str) -> &str {
    match setting {
        Setting::Publishing => value,
        _ => value.get(..12).unwrap_or(value),
    }
}

/// Records this server's settings, compares them with those in force, or
/// (`adopt`) puts them in force. Blocking: the key store is asked.
pub fn bind(vault: &Vault, shared: &Shared, adopt: bool) -> anyhow::Result<()> {
    for (setting, ours) in shared.each() {
        if adopt {
            let held = vault.adopt(setting, ours)?;
            if held.as_deref() != Some(ours) {
                tracing::warn!(
                    key_store = vault.describe(),
                    replaced = held.as_deref().map(|h| shown(setting, h)),
                    "--adopt-settings: {} now in force for every server of this key store; servers with others stop \
                     within a leadership interval",
                    shared.named(setting)
                );
            }
            continue;
        }
        match vault.bind(setting, ours)? {
            Binding::Matches => {}
            Binding::Recorded => {
                tracing::info!(key_store = vault.describe(), "{} recorded as in force", shared.named(setting))
            }
            Binding::Differs => {
                let held = vault.bound(setting)?.unwrap_or_default();
                anyhow::bail!(
                    "{}: not what is in force on this deployment ({} holds {}; servers with other settings \
                     would decide, report, publish or allow differently); give this server the same as the \
                     others (`leye policies check DIR` prints a catalogue's fingerprint), or put these in force \
                     on every server with `leye serve --adopt-settings` (the servers with others stop)",
                    shared.named(setting),
                    vault.describe(),
                    shown(setting, &held)
                )
            }
        }
    }
    Ok(())
}

/// This server's settings on its key store: compared at start, put in force
/// with `--adopt-settings`, watched while serving. Without a shared key store
/// (`personal` is `None`) there is nothing to compare or watch.
#[derive(Debug)]
pub struct InForce {
    personal: Option<Arc<PersonalData>>,
    shared: Shared,
    every: Duration,
    adopt: bool,
}

impl InForce {
    /// `shared` on `personal`'s key store (`None`: not shared), looked at
    /// again every `every` while serving; `adopt`: `--adopt-settings`.
    pub fn new(personal: Option<Arc<PersonalData>>, shared: Shared, every: Duration, adopt: bool) -> Self {
        Self { personal, shared, every, adopt }
    }

    /// At start: records these settings or compares them with those in force
    /// (refused when others); nothing yet when they are to be adopted.
    pub async fn check(&self) -> anyhow::Result<()> {
        match &self.personal {
            Some(personal) if !self.adopt => self.bind(personal, false).await,
            _ => Ok(()),
        }
    }

    /// With `--adopt-settings`, puts these settings in force: called once
    /// the server is ready to serve, so a start that fails before stops no
    /// other server.
    pub async fn adopt_if_asked(&self) -> anyhow::Result<()> {
        match (&self.personal, self.adopt) {
            (Some(personal), true) => self.bind(personal, true).await,
            (None, true) => {
                tracing::warn!("--adopt-settings has no effect: this server's key store is its own, not shared");
                Ok(())
            }
            (_, false) => Ok(()),
        }
    }

    async fn bind(&self, personal: &Arc<PersonalData>, adopt: bool) -> anyhow::Result<()> {
        let (personal, shared) = (personal.clone(), self.shared.clone());
        crate::logging::blocking(move || bind(personal.vault(), &shared, adopt)).await?
    }

    /// Resolves, with the reason, once the key store holds other settings
    /// than this server's (another server was started with
    /// `--adopt-settings`); never without a shared key store. Looks every
    /// interval; a key store that cannot be asked is asked again at the next
    /// look (the server goes on: its settings were in force at the last).
    pub async fn changed(self) -> anyhow::Error {
        let Some(personal) = self.personal else { return std::future::pending().await };
        loop {
            tokio::time::sleep(self.every).await;
            let (p, s) = (personal.clone(), self.shared.clone());
            let looked = crate::logging::blocking(move || -> Result<Option<Setting>, leye_vault::VaultError> {
                let each = s.each();
                let held = p.vault().bound_each(&each.map(|(setting, _)| setting))?;
                Ok(each
                    .into_iter()
                    .zip(held)
                    .find_map(|((setting, ours), held)| held.is_some_and(|held| held != ours).then_some(setting)))
            })
            .await;
            match looked {
                Ok(Ok(Some(setting))) => {
                    return anyhow::anyhow!(
                        "{}: no longer in force (another server was started with `--adopt-settings`); this \
                         server stops so as not to decide, report, publish or allow with the settings replaced \
                         (start it again with the same settings as that server)",
                        self.shared.named(setting)
                    );
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot look at the settings in force; looking again"),
                Err(e) => tracing::warn!(error = %e, "the settings look ended abnormally; looking again"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(dir: &std::path::Path) -> Vault {
        let master = leye_vault::KeyFile::new(dir.join("master.key"));
        Vault::open(&dir.join("keys.sqlite"), &master, leye_vault::Cipher::Aes256Gcm).unwrap()
    }

    fn shared(targets: TargetParams) -> Shared {
        let defaults = crate::config::ServeConfig::default();
        Shared::of(leye_policy::default_catalogue(), None, &targets, &defaults.publisher, &defaults.trust)
    }

    #[test]
    fn access_rules_compare_by_meaning_not_by_the_order_or_spelling_of_the_file() {
        let catalogue = leye_policy::default_catalogue();
        let publisher = crate::config::ServeConfig::default().publisher;
        let of = |trust: &crate::trust::TrustConfig| {
            Shared::of(catalogue, None, &TargetParams::default(), &publisher, trust).access
        };
        let client = |principal: &str, sha256: &str, operations: &[&str]| leye_auth::cert::ClientEntry {
            sha256: Some(sha256.into()),
            principal: principal.into(),
            roles: vec![leye_auth::Role::System],
            jurisdiction: vec!["120000".into()],
            operations: operations.iter().map(|o| o.to_string()).collect(),
            ..Default::default()
        };
        let placement = "leye.person.v1.PersonCaseService/RecordPlacement";
        let a = client("rsj-sync", &"ab".repeat(32), &[placement]);
        let b = client("mca-sync", &"cd".repeat(32), &[placement]);
        let trust =
            |clients: Vec<leye_auth::cert::ClientEntry>| crate::trust::TrustConfig { clients, ..Default::default() };
        let base = of(&trust(vec![a.clone(), b.clone()]));
        assert_eq!(of(&trust(vec![b.clone(), a.clone()])), base, "the order of the entries means nothing");
        let spelled = client("rsj-sync", "AB:".repeat(32).trim_end_matches(':'), &[placement]);
        assert_eq!(of(&trust(vec![spelled, b.clone()])), base, "a fingerprint's spelling means nothing");
        let wider = client("rsj-sync", &"ab".repeat(32), &[placement, "leye.person.v1.PersonCaseService/GrantSubsidy"]);
        assert_ne!(of(&trust(vec![wider, b.clone()])), base, "another grant is another rule");
        assert_ne!(of(&trust(vec![a.clone()])), base, "a client fewer");
        let public =
            crate::trust::TrustConfig { reflection: crate::grpc::guard::ReflectionAccess::Public, ..trust(vec![a, b]) };
        assert_ne!(of(&public), base);
    }

    #[test]
    fn settings_are_recorded_compared_and_replaced_only_on_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault(dir.path());
        let first = shared(TargetParams::default());
        bind(&vault, &first, false).unwrap();
        bind(&vault, &first, false).unwrap();

        let other = shared(TargetParams { long_term_months: 7, ..TargetParams::default() });
        assert_ne!(other, first);
        let refused = bind(&vault, &other, false).unwrap_err().to_string();
        assert!(refused.contains("target parameters") && refused.contains("`[targets]`"), "{refused}");
        assert!(refused.contains("--adopt-settings"), "{refused}");
        assert_eq!(vault.bound(Setting::TargetParams).unwrap().as_deref(), Some(first.targets.as_str()));

        bind(&vault, &other, true).unwrap();
        assert_eq!(vault.bound(Setting::TargetParams).unwrap().as_deref(), Some(other.targets.as_str()));
        assert_eq!(vault.bound(Setting::PolicyCatalogue).unwrap().as_deref(), Some(first.catalogue.as_str()));
        let refused = bind(&vault, &first, false).unwrap_err().to_string();
        assert!(refused.contains(&other.targets[..12]), "names the fingerprint in force: {refused}");
    }

    #[test]
    fn publishing_settings_are_shown_whole_and_a_nats_url_is_not_among_them() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault(dir.path());
        let catalogue = leye_policy::default_catalogue();
        let mut publisher = crate::config::ServeConfig::default().publisher;
        let trust = crate::trust::TrustConfig::default();
        let of = |p: &PublisherConfig| Shared::of(catalogue, None, &TargetParams::default(), p, &trust);
        let none = of(&publisher);
        publisher.nats_url = Some(crate::publisher::NatsUrl::try_from("nats://a:4222".to_string()).unwrap());
        let one_node = of(&publisher);
        publisher.nats_url = Some(crate::publisher::NatsUrl::try_from("nats://b:4222".to_string()).unwrap());
        assert_eq!(of(&publisher), one_node, "servers may reach other nodes of one cluster");
        assert_ne!(one_node, none, "a server without NATS would publish nothing while it leads");
        publisher.personal_data = true;
        let personal = of(&publisher);
        assert_ne!(personal, one_node);

        bind(&vault, &one_node, false).unwrap();
        let refused = bind(&vault, &personal, false).unwrap_err().to_string();
        assert!(refused.contains("personal data published") && refused.contains("personal data withheld"), "{refused}");
        assert!(refused.contains("`nats_personal_data`") && !refused.contains("a:4222"), "{refused}");
        let refused = bind(&vault, &none, false).unwrap_err().to_string();
        assert!(refused.contains("no NATS") && refused.contains("stream LEYE_V1"), "{refused}");
    }
}
