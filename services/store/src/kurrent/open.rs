//! Opening a KurrentDB store: the connection settings (never printed with
//! their password), the chain record (created by one server, read by the
//! others) and the chain key.

use std::{path::Path, sync::Arc, time::Duration};

use bytes::Bytes;
use kurrentdb::{Client, ClientSettings, StreamPosition, StreamState};

use super::{
    KurrentStoreOptions, SCHEMA_VERSION, append_options,
    envelope::{ChainRecord, chain_record_id, is_missing, store_error},
    read_options,
};
use crate::{
    IntegrityProblem, StoreError,
    chain::{ChainAlgorithm, ChainKey},
    keyfile::{self, KeyFileError},
    postgres::redact_url,
};

/// The chain's algorithm and key id, as recorded in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KurrentChainInfo {
    pub algorithm: ChainAlgorithm,
    pub key_id: String,
}

pub(super) struct Opened {
    pub chain: KurrentChainInfo,
    pub key: Option<Arc<ChainKey>>,
    pub problem: Option<IntegrityProblem>,
}

/// The client's settings from a `kurrentdb://`, `kurrentdb+discover://`,
/// `esdb://` or `esdb+discover://` URL. The client's own parse error repeats
/// the URL; this one names it without its password.
pub fn settings(url: &str) -> Result<ClientSettings, StoreError> {
    url.trim().parse::<ClientSettings>().map_err(|e| {
        StoreError::Backend(format!(
            "the KurrentDB URL {} is malformed ({}): expected kurrentdb://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…][?tls=…]",
            redact_url(url),
            scrub(e.message(), url)
        ))
    })
}

/// `message` without the password of `url` (the client's messages may quote
/// the URL or a part of it).
fn scrub(message: &str, url: &str) -> String {
    let authority = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = authority.split(['/', '?']).next().unwrap_or_default();
    let password = authority.rsplit_once('@').and_then(|(user, _)| user.split_once(':')).map(|(_, p)| p);
    match password {
        Some(p) if !p.is_empty() => message.replace(p, "***"),
        _ => message.to_owned(),
    }
}

/// Reads the chain record, or creates it (and the key) for a new store.
pub(super) async fn chain(
    client: &Client,
    shown: &str,
    options: &KurrentStoreOptions,
    deadline: Option<Duration>,
) -> Result<Opened, StoreError> {
    let stream = format!("{}-chain", options.namespace);
    let record = match read_record(client, shown, &stream, deadline).await? {
        Some(record) => record,
        None if !options.create => {
            return Err(StoreError::Backend(format!(
                "KurrentDB at {shown}: no leye store there (no stream {stream}); nothing was created"
            )));
        }
        None => create(client, shown, &stream, options, deadline).await?,
    };
    if record.schema_version > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "KurrentDB at {shown}: store version {} is newer than this build supports ({SCHEMA_VERSION}); \
             upgrade leye to open it",
            record.schema_version
        )));
    }
    if let Some(wanted) = options.algorithm.filter(|a| *a != record.algorithm) {
        return Err(StoreError::Backend(format!(
            "KurrentDB at {shown}: the chain uses {}, not the {wanted} configured; the algorithm is chosen when a \
             store is created and cannot change",
            record.algorithm
        )));
    }
    let chain = KurrentChainInfo { algorithm: record.algorithm, key_id: record.key_id.clone() };
    Ok(match ChainKey::load(&options.key_file, record.algorithm) {
        Ok(key) if key.id() == record.key_id => Opened { chain, key: Some(Arc::new(key)), problem: None },
        Ok(key) => {
            let detail = format!(
                "the chain key {} has id {}, but the store was sealed with key {}",
                options.key_file.display(),
                key.id(),
                record.key_id
            );
            Opened { chain, key: None, problem: Some(IntegrityProblem::new(IntegrityProblem::CHAIN_KEY, detail)) }
        }
        Err(e) => Opened {
            chain,
            key: None,
            problem: Some(IntegrityProblem::new(IntegrityProblem::CHAIN_KEY, e.to_string())),
        },
    })
}

async fn read_record(
    client: &Client,
    shown: &str,
    stream: &str,
    deadline: Option<Duration>,
) -> Result<Option<ChainRecord>, StoreError> {
    let what = "reading the chain record";
    let options = read_options(deadline).position(StreamPosition::Start).max_count(1);
    let mut read = match client.read_stream(stream, &options).await {
        Ok(read) => read,
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(store_error(shown, what, &e)),
    };
    let event = match read.next().await {
        Ok(Some(resolved)) => resolved.event,
        Ok(None) => None,
        Err(e) if is_missing(&e) => None,
        Err(e) => return Err(store_error(shown, what, &e)),
    };
    let Some(event) = event else { return Ok(None) };
    if event.event_type != ChainRecord::EVENT_TYPE {
        return Err(StoreError::Backend(format!(
            "KurrentDB at {shown}: stream {stream} does not start with a leye chain record; not a store written by leye"
        )));
    }
    ChainRecord::decode(&event.data).map(Some).map_err(|e| StoreError::Backend(format!("KurrentDB at {shown}: {e}")))
}

/// A new store: the key (created if missing), then the record, appended only
/// if the stream does not exist. Another server creating it at the same time
/// wins or loses atomically; the loser reads the winner's record.
async fn create(
    client: &Client,
    shown: &str,
    stream: &str,
    options: &KurrentStoreOptions,
    deadline: Option<Duration>,
) -> Result<ChainRecord, StoreError> {
    let log = format!("{}-log", options.namespace);
    let probe = read_options(deadline).position(StreamPosition::Start).max_count(1);
    let has_events = match client.read_stream(log.as_str(), &probe).await {
        Ok(mut read) => match read.next().await {
            Ok(event) => event.is_some(),
            Err(e) if is_missing(&e) => false,
            Err(e) => return Err(store_error(shown, "reading the log", &e)),
        },
        Err(e) if is_missing(&e) => false,
        Err(e) => return Err(store_error(shown, "reading the log", &e)),
    };
    if has_events {
        return Err(StoreError::Backend(format!(
            "KurrentDB at {shown}: stream {log} has events but {stream} has no chain record; not a store written by leye"
        )));
    }
    let algorithm = options.algorithm.unwrap_or_default();
    let key = load_or_create_key(&options.key_file, algorithm)?;
    let record = ChainRecord { schema_version: SCHEMA_VERSION, algorithm, key_id: key.id().to_owned() };
    let event = kurrentdb::EventData::binary(ChainRecord::EVENT_TYPE, Bytes::from(record.encode()))
        .id(chain_record_id(&options.namespace));
    let append = append_options(deadline, StreamState::NoStream);
    match client.append_to_stream(stream, &append, event).await {
        Ok(_) => {
            tracing::info!(store = %shown, namespace = %options.namespace, chain = %algorithm, key_id = key.id(), "created a KurrentDB store");
            Ok(record)
        }
        Err(kurrentdb::Error::WrongExpectedVersion { .. }) => read_record(client, shown, stream, deadline)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("KurrentDB at {shown}: {stream} exists but cannot be read"))),
        Err(e) => Err(store_error(shown, "creating the chain record", &e)),
    }
}

fn load_or_create_key(key_file: &Path, algorithm: ChainAlgorithm) -> Result<ChainKey, StoreError> {
    let err = |e: KeyFileError| StoreError::Backend(e.to_string());
    if let Some(dir) = key_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        keyfile::create_private_dir(dir)
            .map_err(|e| StoreError::Backend(format!("creating {}: {e}", dir.display())))?;
    }
    Ok(ChainKey::new(algorithm, keyfile::SecretKey::load_or_create(key_file).map_err(err)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_errors_never_show_the_password() {
        for url in [
            "kurrentdb://admin:changeit@k1:2113?tls=false",
            "kurrentdb://k1:2113,k2:2113,k3:2113?tls=true&tlsVerifyCert=false",
            "kurrentdb+discover://admin:changeit@cluster.local:2113",
            "esdb://localhost:2113?tls=false",
        ] {
            let s = settings(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(!s.hosts().is_empty(), "{url}");
        }
        let three = settings("kurrentdb://k1:2113,k2:2113,k3:2113?tls=false").expect("valid");
        assert_eq!(three.hosts().len(), 3);
        assert!(!three.is_secure_mode_enabled());
        assert!(settings("kurrentdb://k1:2113").expect("valid").is_secure_mode_enabled(), "TLS unless tls=false");
        let e = settings("kurrentdb://admin:s3cret@k1:2113?nodePreference=sideways").unwrap_err().to_string();
        assert!(e.contains("malformed") && e.contains("admin:***@k1") && !e.contains("s3cret"), "{e}");
        let e = settings("kurrentdb://admin:s3cret@").unwrap_err().to_string();
        assert!(!e.contains("s3cret"), "{e}");
        assert_eq!(scrub("at kurrentdb://u:pw@h", "kurrentdb://u:pw@h"), "at kurrentdb://u:***@h");
        assert_eq!(scrub("no secret here", "kurrentdb://h:2113"), "no secret here");
    }
}
