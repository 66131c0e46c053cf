//! The carry tree of the comparison: given shared generate and propagate bit planes of the
//! low 63 bits of `a + b`, combine adjacent groups level by level (`G = G_hi ^ (P_hi & G_lo)`,
//! `P = P_hi & P_lo`) until one node holds the carry into bit 63. All ANDs of a level go in one
//! batch, so the tree costs one round per level (six for 63 leaves).
//!
//! It is generic over the number of share components `K` (two for `additive-2pc`, three for
//! `replicated-3pc`) and takes the protocol's batched AND as a function.

use crate::bits;

/// `K` shared components of packed bit planes.
pub type Parts<const K: usize> = [Vec<u64>; K];

/// A node: shares of its generate plane and, except for the node holding bit 0 (whose
/// propagate is never needed), of its propagate plane.
pub struct Node<const K: usize> {
    /// Generate.
    pub g: Parts<K>,
    /// Propagate.
    pub p: Option<Parts<K>>,
}

/// Pairs adjacent nodes (low first); an odd last node is returned apart.
fn pair_up<const K: usize>(nodes: Vec<Node<K>>) -> (Vec<(Node<K>, Node<K>)>, Option<Node<K>>) {
    let mut it = nodes.into_iter();
    let mut pairs = Vec::new();
    while let Some(lo) = it.next() {
        match it.next() {
            Some(hi) => pairs.push((lo, hi)),
            None => return (pairs, Some(lo)),
        }
    }
    (pairs, None)
}

/// Shares of the carry out of the leaves (lowest bit first), planes of `nw` words holding
/// `n` elements each. `and(xs, ys, nbits)` must AND the shared bit vectors in one round.
pub fn carry<const K: usize>(
    mut nodes: Vec<Node<K>>,
    n: usize,
    mut and: impl FnMut([&[u64]; K], [&[u64]; K], usize) -> Parts<K>,
) -> Parts<K> {
    let nw = bits::words(n);
    while nodes.len() > 1 {
        let (pairs, leftover) = pair_up(std::mem::take(&mut nodes));
        let mut xs: Parts<K> = std::array::from_fn(|_| Vec::new());
        let mut ys: Parts<K> = std::array::from_fn(|_| Vec::new());
        let mut gates = 0;
        for (lo, hi) in &pairs {
            let ph =
                hi.p.as_ref()
                    .expect("only the lowest node lacks a propagate");
            gates += 1 + usize::from(lo.p.is_some());
            for i in 0..K {
                xs[i].extend_from_slice(&ph[i]);
                ys[i].extend_from_slice(&lo.g[i]);
                if let Some(pl) = &lo.p {
                    xs[i].extend_from_slice(&ph[i]);
                    ys[i].extend_from_slice(&pl[i]);
                }
            }
        }
        let z = and(
            std::array::from_fn(|i| xs[i].as_slice()),
            std::array::from_fn(|i| ys[i].as_slice()),
            gates * n,
        );
        let mut at = 0;
        let mut take = || {
            let r: Parts<K> = std::array::from_fn(|i| z[i][at..at + nw].to_vec());
            at += nw;
            r
        };
        for (lo, hi) in pairs {
            let pg = take();
            let g = std::array::from_fn(|i| bits::xor(&hi.g[i], &pg[i]));
            let p = lo.p.as_ref().map(|_| take());
            nodes.push(Node { g, p });
        }
        nodes.extend(leftover);
    }
    nodes.pop().expect("the leaves make one root").g
}
