//! Packed bit vectors: element `e` is bit `e % 64` of word `e / 64`.

/// Words needed for `n` bits.
pub fn words(n: usize) -> usize {
    n.div_ceil(64)
}

/// Packs booleans.
pub fn pack(bits: &[bool]) -> Vec<u64> {
    let mut out = vec![0u64; words(bits.len())];
    for (e, &b) in bits.iter().enumerate() {
        out[e / 64] |= u64::from(b) << (e % 64);
    }
    out
}

/// Unpacks `n` booleans.
pub fn unpack(words: &[u64], n: usize) -> Vec<bool> {
    (0..n)
        .map(|e| (words[e / 64] >> (e % 64)) & 1 == 1)
        .collect()
}

/// Bit `e` of packed words.
pub fn get(words: &[u64], e: usize) -> u64 {
    (words[e / 64] >> (e % 64)) & 1
}

/// Bit planes `0..count` of `values` (`count <= 64`): plane `j` packs bit `j` of every value.
pub fn planes(values: &[u64], count: usize) -> Vec<Vec<u64>> {
    let n = values.len();
    let mut out = vec![vec![0u64; words(n)]; count];
    let mut block = [0u64; 64];
    for (chunk_index, chunk) in values.chunks(64).enumerate() {
        block[..chunk.len()].copy_from_slice(chunk);
        block[chunk.len()..].fill(0);
        transpose64(&mut block);
        for (j, plane) in out.iter_mut().enumerate() {
            plane[chunk_index] = block[j];
        }
    }
    out
}

/// Transposes a 64x64 bit matrix in place: afterwards bit `e` of `a[j]` is what bit `j` of
/// `a[e]` was (six stages of masked swaps; Warren, Hacker's Delight, 7-3).
pub fn transpose64(a: &mut [u64; 64]) {
    let mut width = 32;
    let mut mask: u64 = 0x0000_0000_FFFF_FFFF;
    while width != 0 {
        let mut k = 0;
        while k < 64 {
            let t = ((a[k] >> width) ^ a[k + width]) & mask;
            a[k] ^= t << width;
            a[k + width] ^= t;
            k = (k + width + 1) & !width;
        }
        width >>= 1;
        mask ^= mask << width;
    }
}

/// Bit 63 of every value, packed.
pub fn top_bits(values: &[u64]) -> Vec<u64> {
    let mut out = vec![0u64; words(values.len())];
    for (e, v) in values.iter().enumerate() {
        out[e / 64] |= (v >> 63) << (e % 64);
    }
    out
}

/// `a ^ b` wordwise.
pub fn xor(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

/// `a & b` wordwise.
pub fn and(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| x & y).collect()
}

/// Clears the bits past `n` in the last word.
pub fn mask_tail(words: &mut [u64], n: usize) {
    if let (false, Some(last)) = (n.is_multiple_of(64), words.last_mut()) {
        *last &= (1u64 << (n % 64)) - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_matches_the_definition() {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut a = [0u64; 64];
        for v in &mut a {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            *v = rng;
        }
        let before = a;
        transpose64(&mut a);
        for (j, plane) in a.iter().enumerate() {
            for (e, value) in before.iter().enumerate() {
                assert_eq!((plane >> e) & 1, (value >> j) & 1, "bit {e} of plane {j}");
            }
        }
        let p = planes(&before[..50], 63);
        assert_eq!(p[5][0], a[5] & ((1 << 50) - 1));
    }

    #[test]
    fn pack_unpack_and_planes() {
        let bits: Vec<bool> = (0..70).map(|i| i % 3 == 0).collect();
        assert_eq!(unpack(&pack(&bits), 70), bits);
        let p = planes(&[0b101, 0b010], 3);
        assert_eq!(p.len(), 3);
        assert_eq!((p[0][0], p[1][0], p[2][0]), (0b01, 0b10, 0b01));
        assert_eq!(top_bits(&[1 << 63, 1]), vec![1]);
    }
}
