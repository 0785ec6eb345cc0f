//! The two authenticated ciphers: AES-256-GCM (the default) and SM4-GCM
//! (GB/T 32907 SM4 in the same Galois/Counter mode, for deployments assessed
//! under GB/T 39786). Both from RustCrypto; nothing here implements a
//! primitive. Nonces are 96 random bits, drawn for every encryption.

use aes_gcm::{
    Aes256Gcm, AesGcm, KeyInit,
    aead::{Aead, Payload, consts::U12},
};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sm3::Sm3;
use sm4::Sm4;
use zeroize::Zeroizing;

/// SM4 in GCM with a 96-bit nonce.
type Sm4Gcm = AesGcm<Sm4, U12>;

/// Length of every nonce, bytes.
pub const NONCE_LEN: usize = 12;

/// Which authenticated cipher seals (and wraps). Recorded with every
/// ciphertext, so a deployment that changes the setting still reads what the
/// other cipher sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Cipher {
    /// AES-256-GCM.
    #[default]
    #[serde(rename = "aes-256-gcm")]
    Aes256Gcm,
    /// SM4-GCM; the 128-bit SM4 key is derived from the 256-bit key with HMAC-SM3.
    #[serde(rename = "sm4-gcm")]
    Sm4Gcm,
}

impl Cipher {
    /// The name in configuration and in stored ciphertexts.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aes256Gcm => "aes-256-gcm",
            Self::Sm4Gcm => "sm4-gcm",
        }
    }

    /// Parses a configuration value, naming the accepted ones when it is neither.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "aes-256-gcm" => Ok(Self::Aes256Gcm),
            "sm4-gcm" => Ok(Self::Sm4Gcm),
            _ => Err("must be aes-256-gcm or sm4-gcm".to_string()),
        }
    }

    /// Encrypts `plaintext` under `key`, bound to `aad`, with a fresh random
    /// nonce. Returns the nonce and the ciphertext (with its tag).
    pub fn seal(self, key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> ([u8; NONCE_LEN], Vec<u8>) {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let payload = Payload { msg: plaintext, aad };
        // Encryption fails only for messages beyond GCM's 64 GiB bound.
        let ct = match self {
            Self::Aes256Gcm => Aes256Gcm::new(key.into()).encrypt((&nonce).into(), payload),
            Self::Sm4Gcm => Sm4Gcm::new(&sm4_key(key)).encrypt((&nonce).into(), payload),
        }
        .unwrap_or_default();
        (nonce, ct)
    }

    /// Decrypts and authenticates; `None` when the key, the nonce, the AAD or
    /// the ciphertext is not the one sealed.
    pub fn open(self, key: &[u8; 32], aad: &[u8], nonce: &[u8], ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let nonce: &[u8; NONCE_LEN] = nonce.try_into().ok()?;
        let payload = Payload { msg: ciphertext, aad };
        match self {
            Self::Aes256Gcm => Aes256Gcm::new(key.into()).decrypt(nonce.into(), payload),
            Self::Sm4Gcm => Sm4Gcm::new(&sm4_key(key)).decrypt(nonce.into(), payload),
        }
        .ok()
        .map(Zeroizing::new)
    }
}

/// The SM4 key (128 bits) of a 256-bit key: HMAC-SM3(key, label), first 16 bytes.
fn sm4_key(key: &[u8; 32]) -> sm4::cipher::Key<Sm4> {
    let mut mac = <Hmac<Sm3> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"leye-vault sm4-gcm key v1");
    let digest = mac.finalize().into_bytes();
    let mut k = sm4::cipher::Key::<Sm4>::default();
    k.copy_from_slice(&digest[..16]);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cipher_opens_what_it_sealed_and_nothing_else() {
        for cipher in [Cipher::Aes256Gcm, Cipher::Sm4Gcm] {
            let key = [7u8; 32];
            let (nonce, ct) = cipher.seal(&key, b"case-a", b"120111199001010052");
            assert_eq!(cipher.open(&key, b"case-a", &nonce, &ct).unwrap().as_slice(), b"120111199001010052");
            assert!(cipher.open(&key, b"case-b", &nonce, &ct).is_none(), "{cipher:?}: AAD binds");
            assert!(cipher.open(&[8u8; 32], b"case-a", &nonce, &ct).is_none(), "{cipher:?}: key binds");
            let mut flipped = ct.clone();
            flipped[0] ^= 1;
            assert!(cipher.open(&key, b"case-a", &nonce, &flipped).is_none(), "{cipher:?}: tag");
            assert!(!ct.windows(6).any(|w| w == b"120111"), "no clear text in the ciphertext");
            let (nonce2, ct2) = cipher.seal(&key, b"case-a", b"120111199001010052");
            assert_ne!((nonce, &ct), (nonce2, &ct2), "fresh nonce every time");
        }
        let (nonce, ct) = Cipher::Aes256Gcm.seal(&[7; 32], b"", b"x");
        assert!(Cipher::Sm4Gcm.open(&[7; 32], b"", &nonce, &ct).is_none(), "the ciphers differ");
    }

    #[test]
    fn sm4_gcm_matches_a_known_answer() {
        // GCM over SM4 must be the standard construction: a key of zeros, a
        // zero nonce and an empty message give the tag of E_K(J0) alone.
        let key = sm4_key(&[0; 32]);
        let c = Sm4Gcm::new(&key);
        let tag = c.encrypt((&[0u8; 12]).into(), Payload { msg: b"", aad: b"" }).unwrap();
        use sm4::cipher::{BlockEncrypt, KeyInit as _};
        let mut j0 = sm4::cipher::Block::<Sm4>::default();
        j0[15] = 1;
        Sm4::new(&key).encrypt_block(&mut j0);
        // With no AAD and no ciphertext GHASH is zero, so the tag is E_K(J0).
        assert_eq!(tag.as_slice(), j0.as_slice());
    }
}
