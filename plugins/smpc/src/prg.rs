//! Seeded pseudo-random streams for shares, masks and dealer material.
//!
//! Every stream is AES-128 in counter mode (hardware AES where the CPU has it, eight blocks in
//! flight), keyed by 128
//! bits derived from the call's seed and a label naming the party set and purpose
//! (`["dealer", "p1", "beaver", "7"]`): parties that share a seed derive the same values without
//! talking, and no stream depends on another's use. This is the PRG of ABY3's share generator.

use aes::Aes128;
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockEncrypt, KeyInit};

/// A named stream of uniform ring elements.
pub struct Prg {
    cipher: Aes128,
    counter: u128,
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
            cipher: Aes128::new(&key.into()),
            counter: 0,
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

    /// Overwrites `out` with uniform words: AES-128 of consecutive counter blocks (counter
    /// mode), encrypted in batches so AES-NI pipelines them; each block gives two words.
    pub fn fill(&mut self, out: &mut [u64]) {
        const BATCH: usize = 512;
        let mut blocks = [GenericArray::from([0u8; 16]); BATCH];
        for chunk in out.chunks_mut(2 * BATCH) {
            let n = chunk.len().div_ceil(2);
            for b in &mut blocks[..n] {
                *b = GenericArray::from(self.counter.to_le_bytes());
                self.counter += 1;
            }
            self.cipher.encrypt_blocks(&mut blocks[..n]);
            for (pair, b) in chunk.chunks_mut(2).zip(&blocks[..n]) {
                let words = u128::from_le_bytes((*b).into());
                pair[0] = words as u64;
                if let Some(w) = pair.get_mut(1) {
                    *w = (words >> 64) as u64;
                }
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
