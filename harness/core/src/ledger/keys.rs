//! Signing keys of the run's hospitals and validators, derived from the run seed.
//!
//! Key `i` of role `r` is the ed25519 key whose 32-byte secret is
//! `blake2b-256("securefl-key-v1" || seed || r || i)`. This is a simulation: anyone holding the
//! config can re-derive every key, which is what makes runs reproducible; the ledger itself
//! carries only public keys (in its genesis block), so `ledger verify` needs no seed.

use blake2::Digest as _;
use blake2::digest::consts::U32;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

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
