//! Seeded pseudo-random streams for shares, masks and dealer material.
//!
//! Every stream is ChaCha12 keyed by a seed derived from the call's seed and a label naming the
//! party set and purpose (`["dealer", "p1", "triple", "7"]`), so parties that share a seed derive
//! the same values without talking, and nothing depends on call order across streams.

use rand::RngCore;
use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;

/// A named stream of uniform ring elements.
pub struct Prg {
    rng: ChaCha12Rng,
}

impl Prg {
    /// The stream for `label` under `seed`.
    pub fn new(seed: u64, label: &[&str]) -> Self {
        Self {
            rng: ChaCha12Rng::seed_from_u64(securefl_api::derive_seed(seed, label)),
        }
    }

    /// `n` uniform ring elements.
    pub fn ring(&mut self, n: usize) -> Vec<u64> {
        let mut bytes = vec![0u8; n * 8];
        self.rng.fill_bytes(&mut bytes);
        bytes
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect()
    }

    /// `n` uniform 64-bit words (bit planes).
    pub fn words(&mut self, n: usize) -> Vec<u64> {
        self.ring(n)
    }
}
