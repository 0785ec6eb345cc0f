//! A catalogue's fingerprint ([`crate::Catalogue::fingerprint`]): what the
//! servers of one deployment compare to know they decide with the same
//! catalogue. It follows the files' names and bytes, not where they lie.

/// A file's name without its directory (`/etc/leye/policies/tianjin.toml` and
/// `policies/tianjin.toml` are one file to [`of_files`]).
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Hex SHA-256 over the files sorted by name, each as its name's and its
/// text's lengths (8 bytes, big-endian) before their bytes, so that no two
/// sets of files run together into the same input.
pub(crate) fn of_files(files: &[(&str, &str)]) -> String {
    use sha2::{Digest, Sha256};
    let mut sorted = files.to_vec();
    sorted.sort();
    let mut h = Sha256::new();
    h.update(b"leye policy catalogue v1");
    for (name, text) in sorted {
        for part in [name.as_bytes(), text.as_bytes()] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
