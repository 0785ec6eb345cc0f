//! The settings every server of one deployment must share, beyond its keys:
//! the **policy catalogue** (two servers with other catalogues would decide one
//! subsidy, one registration's age limit, one policy finding two ways), the
//! **target parameters** (`[targets]`: each server's read model would report
//! other figures to analysts) and the **publishing settings** (whether NATS
//! is configured at all, the stream and its limits, personal data in
//! payloads: a server with others would, once it leads the publisher,
//! publish nothing, or into another stream, or resident IDs the deployment
//! keeps off NATS).
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
    ) -> Self {
        let json = serde_json::to_vec(targets).unwrap_or_default();
        let mut h = Sha256::new();
        h.update(b"leye target parameters v1");
        h.update(&json);
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
            targets: leye_store::headfile::hex(h.finalize().as_slice()),
            publishing,
            catalogue_from: from
                .map_or("the built-in policy catalogue".into(), |d| format!("the policy catalogue in {}", d.display())),
        }
    }

    fn each(&self) -> [(Setting, &str); 3] {
        [
            (Setting::PolicyCatalogue, &self.catalogue),
            (Setting::TargetParams, &self.targets),
            (Setting::Publishing, &self.publishing),
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
            _ => format!(
                "the publishing settings ({}; set by `nats_url`, `nats_stream`, `nats_stream_replicas`, \
                 `nats_duplicate_window_secs`, `nats_max_age_days`, `nats_max_bytes`, `nats_personal_data`)",
                self.publishing
            ),
        }
    }
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
                    "{} is not the one in force on this deployment: {} holds {} (two \
                     servers with other settings would decide or report differently); give this server the same as \
                     the others (`leye policies check DIR` prints a catalogue's fingerprint), or put this one in \
                     force on every server with `leye serve --adopt-settings` (the servers with others stop)",
                    shared.named(setting),
                    vault.describe(),
                    shown(setting, &held)
                )
            }
        }
    }
    Ok(())
}

/// [`bind`] from async code, on a shared key store only (`shared_store`);
/// the key store is asked off the runtime's threads, in the caller's span.
pub async fn bind_for(
    personal: &Arc<PersonalData>,
    shared: &Shared,
    adopt: bool,
    shared_store: bool,
) -> anyhow::Result<()> {
    if !shared_store {
        return Ok(());
    }
    let (personal, shared) = (personal.clone(), shared.clone());
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(|| bind(personal.vault(), &shared, adopt))).await?
}

/// What a serving server watches: the settings in force on its shared key
/// store (none on a key store of its own).
#[derive(Debug)]
pub struct Watch(Option<(Arc<PersonalData>, Shared, Duration)>);

impl Watch {
    /// Watches `shared` on `personal`'s key store every `every`; `None`: nothing.
    pub fn new(personal: Option<Arc<PersonalData>>, shared: Shared, every: Duration) -> Self {
        Self(personal.map(|p| (p, shared, every)))
    }

    /// Resolves, with the reason, once the key store holds other settings
    /// than this server's (another server was started with
    /// `--adopt-settings`); never without a shared key store.
    pub async fn changed(self) -> anyhow::Error {
        match self.0 {
            Some((personal, shared, every)) => changed(personal, shared, every).await,
            None => std::future::pending().await,
        }
    }
}

/// [`Watch::changed`]: looks every `every`. A key store that cannot be asked
/// is asked again at the next look (the server goes on: its settings were in
/// force at the last).
async fn changed(personal: Arc<PersonalData>, shared: Shared, every: Duration) -> anyhow::Error {
    loop {
        tokio::time::sleep(every).await;
        let (p, s) = (personal.clone(), shared.clone());
        let looked = tokio::task::spawn_blocking(move || -> Result<Option<Setting>, leye_vault::VaultError> {
            for (setting, ours) in s.each() {
                if p.vault().bound(setting)?.is_some_and(|held| held != ours) {
                    return Ok(Some(setting));
                }
            }
            Ok(None)
        })
        .await;
        match looked {
            Ok(Ok(Some(setting))) => {
                return anyhow::anyhow!(
                    "{} is no longer the one in force: another server was started with `--adopt-settings`; this \
                     server stops so as not to decide or report with the settings replaced (start it again with the \
                     same settings as that server)",
                    shared.named(setting)
                );
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot look at the settings in force; looking again"),
            Err(e) => tracing::warn!(error = %e, "the settings look ended abnormally; looking again"),
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
        Shared::of(leye_policy::default_catalogue(), None, &targets, &crate::config::ServeConfig::default().publisher)
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
        let of = |p: &PublisherConfig| Shared::of(catalogue, None, &TargetParams::default(), p);
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
