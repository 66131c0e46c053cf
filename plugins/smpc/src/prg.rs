//! Seeded pseudo-random streams for shares, masks and dealer material.
//!
//! Every stream is AES-128 in counter mode (hardware AES where the CPU has it), keyed by 128
//! bits derived from the call's seed and a label naming the party set and purpose
//! (`["dealer", "p1", "beaver", "7"]`): parties that share a seed derive the same values without
//! talking, and no stream depends on another's use. This is the PRG of ABY3's share generator.

use aes::Aes128;
use aes::cipher::{KeyIvInit, StreamCipher};

type Ctr = ctr::Ctr64LE<Aes128>;

/// A named stream of uniform ring elements.
pub struct Prg {
    cipher: Ctr,
}

impl Prg {
    /// The stream for `label` under `seed`.
    pub fn new(seed: u64, label: &[&str]) -> Self {
        let k0 = securefl_api::derive_seed(seed, label);
        let k1 = securefl_api::derive_seed(k0, &["aes-key-high"]);
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&k0.to_le_bytes());
        key[8..].copy_from_slice(&k1.to_le_bytes());
        Self {
            cipher: Ctr::new(&key.into(), &[0u8; 16].into()),
        }
    }

    /// `n` uniform ring elements.
    pub fn ring(&mut self, n: usize) -> Vec<u64> {
        let mut out = vec![0u64; n];
        self.fill(&mut out);
        out
    }

    /// `n` uniform 64-bit words (bit planes).
    pub fn words(&mut self, n: usize) -> Vec<u64> {
        self.ring(n)
    }

    /// Overwrites `out` with uniform words.
    pub fn fill(&mut self, out: &mut [u64]) {
        for chunk in out.chunks_mut(4096) {
            let mut bytes = [0u8; 4096 * 8];
            let bytes = &mut bytes[..chunk.len() * 8];
            self.cipher.apply_keystream(bytes);
            for (w, b) in chunk.iter_mut().zip(bytes.chunks_exact(8)) {
                *w = u64::from_le_bytes(b.try_into().expect("8 bytes"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a = Prg::new(1, &["x"]).ring(100);
        assert_eq!(a, Prg::new(1, &["x"]).ring(100));
        assert_ne!(a, Prg::new(1, &["y"]).ring(100));
        assert_ne!(a, Prg::new(2, &["x"]).ring(100));
        // Consecutive draws continue the stream.
        let mut p = Prg::new(1, &["x"]);
        let (first, second) = (p.ring(60), p.ring(40));
        assert_eq!([first, second].concat(), a);
    }
}
