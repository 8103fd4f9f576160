//! Access keys and the keyring that protects their secrets at rest.
//!
//! SigV4 needs each secret itself (the signing key is derived from it), so secrets cannot be
//! hashed like passwords. They are sealed with ChaCha20-Poly1305 under a master key that lives
//! in a file *beside* the data directory, not in it: a stolen data directory (or a backup of the
//! database) does not reveal them.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use std::path::Path;

const SEALED_V1: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("cannot read or write the master key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("the master key file {0} does not hold 64 hexadecimal digits")]
    Malformed(String),
    #[error("no randomness available: {0}")]
    Random(String),
    #[error("a stored secret cannot be opened with this master key")]
    Sealed,
}

/// Seals and opens secrets with the master key.
pub struct Keyring {
    cipher: ChaCha20Poly1305,
    /// The master key, kept for [`Keyring::derive_key`].
    master: [u8; 32],
}

fn random<const N: usize>() -> Result<[u8; N], KeyringError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| KeyringError::Random(e.to_string()))?;
    Ok(out)
}

impl Keyring {
    pub fn from_key(key: &[u8; 32]) -> Keyring {
        Keyring { cipher: ChaCha20Poly1305::new(key.into()), master: *key }
    }

    /// A key for another purpose (`label` names it), derived from the master key with
    /// HMAC-SHA256: every instance that shares the master key (as instances on one database must,
    /// to open the sealed secrets) derives the same key, and nothing more is stored.
    pub fn derive_key(&self, label: &str) -> [u8; 32] {
        let info = format!("findinghub derived key v1\0{label}");
        crate::sigv4::hmac_sha256(&self.master, info.as_bytes()).expect("HMAC takes keys of any length")
    }

    /// Reads the master key from `path`, creating it (readable by its owner only) if it is absent.
    pub fn load_or_create(path: &Path) -> Result<Keyring, KeyringError> {
        let io = |source| KeyringError::Io { path: path.display().to_string(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes =
                    hex::decode(text.trim()).map_err(|_| KeyringError::Malformed(path.display().to_string()))?;
                let key: [u8; 32] =
                    bytes.try_into().map_err(|_| KeyringError::Malformed(path.display().to_string()))?;
                Ok(Keyring::from_key(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = random()?;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                write_private(path, &hex::encode(key)).map_err(io)?;
                Ok(Keyring::from_key(&key))
            }
            Err(e) => Err(io(e)),
        }
    }

    pub fn seal(&self, secret: &str) -> Result<Vec<u8>, KeyringError> {
        let nonce_bytes: [u8; NONCE_LEN] = random()?;
        let nonce = Nonce::from(nonce_bytes);
        let sealed = self.cipher.encrypt(&nonce, secret.as_bytes()).map_err(|_| KeyringError::Sealed)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8]) -> Result<String, KeyringError> {
        let (&version, rest) = sealed.split_first().ok_or(KeyringError::Sealed)?;
        if version != SEALED_V1 || rest.len() < NONCE_LEN {
            return Err(KeyringError::Sealed);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| KeyringError::Sealed)?;
        let clear = self.cipher.decrypt(&Nonce::from(nonce), body).map_err(|_| KeyringError::Sealed)?;
        String::from_utf8(clear).map_err(|_| KeyringError::Sealed)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// A new access key id (`AKIA` and 16 upper-case letters and digits, as AWS's look) and a secret
/// (40 characters of base64-like text).
pub fn new_access_key() -> Result<(String, String), KeyringError> {
    const ID: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let id_bytes: [u8; 16] = random()?;
    let secret_bytes: [u8; 40] = random()?;
    let id = id_bytes.iter().map(|b| char::from(ID[usize::from(*b) % ID.len()]));
    let secret = secret_bytes.iter().map(|b| char::from(SECRET[usize::from(*b) % SECRET.len()])).collect();
    Ok((format!("AKIA{}", id.collect::<String>()), secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let ring = Keyring::from_key(&[7; 32]);
        let sealed = ring.seal("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY").expect("seal");
        assert!(!sealed.windows(8).any(|w| w == b"wJalrXUt"), "the secret is not stored in clear");
        assert_eq!(ring.open(&sealed).expect("open"), "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        assert!(Keyring::from_key(&[8; 32]).open(&sealed).is_err());
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(ring.open(&tampered).is_err());
        assert!(ring.open(&[]).is_err());
    }

    #[test]
    fn derived_keys_depend_on_the_master_key_and_the_label() {
        let (a, b) = (Keyring::from_key(&[7; 32]), Keyring::from_key(&[8; 32]));
        assert_eq!(a.derive_key("console"), Keyring::from_key(&[7; 32]).derive_key("console"));
        assert_ne!(a.derive_key("console"), b.derive_key("console"));
        assert_ne!(a.derive_key("console"), a.derive_key("other"));
        assert_ne!(a.derive_key("console"), [7; 32]);
    }

    #[test]
    fn the_master_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("master.key");
        let sealed = Keyring::load_or_create(&path).expect("create").seal("s3cret").expect("seal");
        assert_eq!(Keyring::load_or_create(&path).expect("load").open(&sealed).expect("open"), "s3cret");
        std::fs::write(&path, "not hex").expect("write");
        assert!(matches!(Keyring::load_or_create(&path), Err(KeyringError::Malformed(_))));
    }

    #[test]
    fn access_keys_look_like_aws_keys() {
        let (id, secret) = new_access_key().expect("key");
        assert!(id.starts_with("AKIA") && id.len() == 20, "{id}");
        assert_eq!(secret.len(), 40);
        assert_ne!(new_access_key().expect("key").0, id);
    }
}
