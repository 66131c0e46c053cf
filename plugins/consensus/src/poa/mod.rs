//! `poa`: Proof of Authority, Aura-style slot rotation with rolling finality.
//!
//! Aura as deployed in Parity/OpenEthereum (POA Network, Kovan, xDai), on the simulator:
//!
//! * **Steps.** Time is cut into steps of [`Params::step_us`]; the authority of step
//!   `s = ⌊t / step-us⌋` is `s mod n` over authority indices. At the start of its step an
//!   authority seals one block on its best head with the pending batches not yet on that chain
//!   (at most [`Params::max_batches_per_block`]) and sends it directly to every other node
//!   (`n − 1` messages per block). Genesis occupies step 0, so the first block is sealed in
//!   step 1. It seals even with nothing pending (empty blocks, as `--force-sealing`), so that
//!   rolling finality advances without transactions; Aura's optional "empty step" messages
//!   are not modelled.
//! * **Validation.** A block's author must be its step's authority, its step must be after
//!   its parent's and not in the future (beyond a tenth of a step), its height its parent's
//!   plus one, its digest must match its contents, and a direct announcement must come from
//!   its author's node. Blocks with unknown parents wait until the parent arrives; the node
//!   asks the sender for it ([`Msg::SyncRequest`]).
//! * **Fork choice and finality:** see [`chain`]. A block is final once the chain from it to
//!   the head carries seals of more than `finality · n` distinct authorities ([`Params::finality`],
//!   default 2/3; the deployed rule is 1/2). Finalized blocks are never reverted on a node.
//! * **Byzantine authorities** ([`Behaviour`]): censoring, equivocating, silent; and the clone
//!   attack (Ekparinya, Gramoli & Jourjon, NDSS 2020): one key run by two nodes, built with
//!   [`with_clones`].
//!
//! Latency, fault-free with round-robin authors: a block is final when `⌊finality·n⌋ + 1`
//! distinct authors have built on it (itself included), i.e. `⌊finality·n⌋` steps after it was
//! sealed plus one delivery delay.

pub mod authority;
pub mod chain;
pub mod messages;
pub mod params;

use std::sync::Arc;

pub use authority::Authority;
pub use chain::Chain;
pub use messages::{Block, Digest, Msg};
pub use params::{Behaviour, Params};

/// One node per authority: node `i` runs authority `i` with `behaviours[i]`.
pub fn authorities(params: &Params, behaviours: &[Behaviour]) -> Result<Vec<Authority>, String> {
    with_clones(params, behaviours, &[])
}

/// One node per authority (node `i` runs authority `i` with `behaviours[i]`), then one more
/// node per entry of `clones`: node `n + k` runs a second instance of authority `clones[k]`
/// with the same behaviour and key. Both instances of a cloned key count as Byzantine.
pub fn with_clones(
    params: &Params,
    behaviours: &[Behaviour],
    clones: &[usize],
) -> Result<Vec<Authority>, String> {
    params.check()?;
    let n = behaviours.len();
    if n == 0 {
        return Err("poa: at least one authority is needed".into());
    }
    if let Some(bad) = clones.iter().find(|&&c| c >= n) {
        return Err(format!(
            "poa: cannot clone authority {bad}: there are {n} authorities"
        ));
    }
    let authority_of: Arc<[usize]> = (0..n).chain(clones.iter().copied()).collect();
    (0..authority_of.len())
        .map(|node| {
            let b = behaviours[authority_of[node]].clone();
            Authority::new(node, authority_of.clone(), n, params.clone(), b)
        })
        .collect()
}

/// `n` honest authorities.
pub fn honest(params: &Params, n: usize) -> Result<Vec<Authority>, String> {
    authorities(params, &vec![Behaviour::Honest; n])
}
