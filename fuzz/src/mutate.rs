//! The mutator: AFL-style havoc on bytes, from one seeded stream.
//!
//! Each input is a corpus entry (or two, spliced) with 1 to 8 stacked mutations: a flipped
//! bit, a random or boundary byte, a boundary u32 (0, 1, −1, 2^31, the input's length ± 1) at
//! any offset (the codecs' length fields), a deleted, duplicated or inserted run, or a cut.

use rand::Rng as _;
use securefl_api::Rng as StdRng;

/// Boundary bytes.
const BYTES: [u8; 6] = [0, 1, 0x7f, 0x80, 0xfe, 0xff];

/// A mutated copy of `corpus[i]` for some `i`, spliced with another entry at times.
pub fn mutate(rng: &mut StdRng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = corpus[rng.gen_range(0..corpus.len())].clone();
    if corpus.len() > 1 && rng.gen_bool(0.05) {
        let other = &corpus[rng.gen_range(0..corpus.len())];
        let (a, b) = (rng.gen_range(0..=out.len()), rng.gen_range(0..=other.len()));
        out.truncate(a);
        out.extend_from_slice(&other[b..]);
    }
    for _ in 0..1 << rng.gen_range(0..4) {
        one(rng, &mut out);
    }
    out
}

fn one(rng: &mut StdRng, out: &mut Vec<u8>) {
    let len = out.len();
    let at = rng.gen_range(0..=len);
    match rng.gen_range(0..8) {
        0 if at < len => out[at] ^= 1 << rng.gen_range(0..8),
        1 if at < len => out[at] = rng.r#gen(),
        2 if at < len => out[at] = BYTES[rng.gen_range(0..BYTES.len())],
        3 if at + 4 <= len => {
            let values = [0, 1, u32::MAX, 1 << 31, len as u32 + 1, len as u32 - 1];
            let v: u32 = values[rng.gen_range(0..values.len())];
            out[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        4 => {
            let end = rng.gen_range(at..=len.min(at + 64));
            out.drain(at..end);
        }
        5 if at < len => {
            let end = rng.gen_range(at..=len.min(at + 64));
            let run = out[at..end].to_vec();
            out.splice(at..at, run);
        }
        6 => {
            let run: Vec<u8> = (0..rng.gen_range(1..=16)).map(|_| rng.r#gen()).collect();
            out.splice(at..at, run);
        }
        _ => out.truncate(at),
    }
}
