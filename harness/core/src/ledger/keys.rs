//! Signing keys of the run's hospitals and validators.
//!
//! By default every key is drawn from the operating system's randomness and lives only in the
//! run's memory ([`Keyring::generate`]): nothing in the run folder lets anyone sign for a
//! hospital or validator. `[ledger] keys = "DIR"` keeps them in a key directory that the run
//! does not publish (one hex file per key, created on first use, read on later runs:
//! [`Keyring::load_or_create`]). `[ledger] seeded-keys = true` derives them from the run seed
//! instead ([`Keyring::derive`]: the secret of key `i` of role `r` is
//! `blake2b-256("securefl-key-v1" || seed || r || i)`); anyone holding the manifest can then
//! re-sign a forged chain, so seeded keys are for tests that need byte-identical ledgers. The
//! ledger carries only public keys (in its genesis block), so `ledger verify` needs no secret.

use blake2::Digest as _;
use blake2::digest::consts::U32;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand::RngCore as _;
use std::path::Path;

/// Who holds a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// A hospital: it commits to the model it submits.
    Hospital,
    /// A validator: it signs verdicts, aggregation records, global models and blocks.
    Validator,
}

impl Role {
    /// Its byte in encodings.
    pub fn byte(self) -> u8 {
        match self {
            Self::Hospital => 0,
            Self::Validator => 1,
        }
    }

    /// The role of an encoded byte.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(Self::Hospital),
            1 => Some(Self::Validator),
            _ => None,
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hospital => "hospital",
            Self::Validator => "validator",
        }
    }
}

/// The secret keys of one run.
pub struct Keyring {
    hospitals: Vec<SigningKey>,
    validators: Vec<SigningKey>,
}

impl Keyring {
    /// Keys for `hospitals` hospitals and `validators` validators of the run seeded `seed`.
    pub fn derive(seed: u64, hospitals: usize, validators: usize) -> Self {
        let keys = |role: Role, n: usize| (0..n).map(|i| derive_key(seed, role, i)).collect();
        Self {
            hospitals: keys(Role::Hospital, hospitals),
            validators: keys(Role::Validator, validators),
        }
    }

    /// Fresh keys from the operating system's randomness.
    pub fn generate(hospitals: usize, validators: usize) -> Self {
        let fresh = |n: usize| (0..n).map(|_| random_key()).collect();
        Self {
            hospitals: fresh(hospitals),
            validators: fresh(validators),
        }
    }

    /// The keys kept in the directory `dir` (`hospital-I.key`, `validator-I.key`: the 32-byte
    /// secret in hex); a key without its file is drawn fresh and its file written (owner-only
    /// on Unix). The error names the file and the problem.
    pub fn load_or_create(dir: &Path, hospitals: usize, validators: usize) -> Result<Self, String> {
        create_private_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let keys = |role: Role, n: usize| -> Result<Vec<SigningKey>, String> {
            (0..n)
                .map(|i| {
                    let path = dir.join(format!("{}-{i}.key", role.as_str()));
                    load_or_create_key(&path).map_err(|e| format!("{}: {e}", path.display()))
                })
                .collect()
        };
        Ok(Self {
            hospitals: keys(Role::Hospital, hospitals)?,
            validators: keys(Role::Validator, validators)?,
        })
    }

    /// The keys of `role`.
    fn of(&self, role: Role) -> &[SigningKey] {
        match role {
            Role::Hospital => &self.hospitals,
            Role::Validator => &self.validators,
        }
    }

    /// Number of validators.
    pub fn validators(&self) -> usize {
        self.validators.len()
    }

    /// `role` `index`'s signature of `message`.
    pub fn sign(&self, role: Role, index: usize, message: &[u8]) -> Signature {
        self.of(role)[index].sign(message)
    }

    /// The public key directory: `(role, index, key)` for every key.
    pub fn directory(&self) -> Vec<(Role, u32, VerifyingKey)> {
        [Role::Hospital, Role::Validator]
            .into_iter()
            .flat_map(|role| {
                self.of(role)
                    .iter()
                    .enumerate()
                    .map(move |(i, k)| (role, i as u32, k.verifying_key()))
            })
            .collect()
    }
}

fn derive_key(seed: u64, role: Role, index: usize) -> SigningKey {
    let mut h = blake2::Blake2b::<U32>::new();
    h.update(b"securefl-key-v1");
    h.update(seed.to_le_bytes());
    h.update([role.byte()]);
    h.update((index as u64).to_le_bytes());
    SigningKey::from_bytes(&h.finalize().into())
}

fn random_key() -> SigningKey {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    SigningKey::from_bytes(&secret)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

fn load_or_create_key(path: &Path) -> Result<SigningKey, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => super::unhex32(text.trim())
            .map(|s| SigningKey::from_bytes(&s))
            .map_err(|_| "not a key: 64 hex digits expected".to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = random_key();
            let text = format!("{}\n", super::hex(key.as_bytes()));
            write_private(path, text.as_bytes()).map_err(|e| e.to_string())?;
            Ok(key)
        }
        Err(e) => Err(e.to_string()),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_directory_keeps_its_keys_and_refuses_a_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let first = Keyring::load_or_create(&keys, 2, 3).unwrap().directory();
        let again = Keyring::load_or_create(&keys, 2, 3).unwrap().directory();
        assert_eq!(first, again, "the second run reads the first run's keys");
        let fresh = Keyring::generate(2, 3).directory();
        assert_ne!(first, fresh, "fresh keys are drawn, not derived");
        std::fs::write(keys.join("validator-1.key"), "zz").unwrap();
        let err = Keyring::load_or_create(&keys, 2, 3).err().unwrap();
        assert!(err.contains("validator-1.key: not a key"), "{err}");
    }
}
