//! One authority's block tree: validation against the parent, Aura's fork choice and rolling
//! finality.
//!
//! * **Fork choice:** the best block has the highest height, then the lowest step (Aura's score
//!   `U128::MAX · height − step`), then the lowest digest (a deterministic last tie-break).
//!   Only blocks descending from the last block this node finalized can become the head:
//!   finality is never undone locally (the node keeps its first finalized block at each
//!   height; two nodes finalizing different blocks is what `Metrics::conflicts` reports).
//! * **Rolling finality:** walking down from the head, the first block `B` at which the blocks
//!   from `B` to the head carry seals of at least [`Params::signers_needed`] distinct
//!   authorities is final, and so are its ancestors.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::messages::{Block, Digest};
use super::params::Params;
use crate::sim::Time;

/// Why a block was refused.
pub type Invalid = &'static str;

/// A block tree with a best head and a finalized prefix.
#[derive(Debug, Clone)]
pub struct Chain {
    blocks: BTreeMap<Digest, Arc<Block>>,
    /// Number of children of each block that has any.
    children: BTreeMap<Digest, u32>,
    head: Arc<Block>,
    finalized: Arc<Block>,
    n: usize,
    needed: usize,
    forks: u64,
    reorgs: u64,
    max_reorg: u64,
}

impl Chain {
    /// A tree holding only genesis, for `n` authorities under `params`.
    pub fn new(n: usize, params: &Params) -> Self {
        let genesis = Arc::new(Block::genesis());
        Self {
            blocks: BTreeMap::from([(genesis.digest, genesis.clone())]),
            children: BTreeMap::new(),
            head: genesis.clone(),
            finalized: genesis,
            n,
            needed: params.signers_needed(n),
            forks: 0,
            reorgs: 0,
            max_reorg: 0,
        }
    }

    /// The block with this digest, if known.
    pub fn get(&self, digest: &Digest) -> Option<&Arc<Block>> {
        self.blocks.get(digest)
    }

    /// The best block.
    pub fn head(&self) -> &Arc<Block> {
        &self.head
    }

    /// The last finalized block (genesis at first).
    pub fn finalized(&self) -> &Arc<Block> {
        &self.finalized
    }

    /// Blocks inserted whose parent already had a child.
    pub fn forks(&self) -> u64 {
        self.forks
    }

    /// Head switches that dropped at least one block from the best chain.
    pub fn reorgs(&self) -> u64 {
        self.reorgs
    }

    /// The most blocks one head switch dropped from the best chain.
    pub fn max_reorg(&self) -> u64 {
        self.max_reorg
    }

    /// Checks what needs no parent: digest, author in turn, not from the future (beyond
    /// `drift`), batch count and no repeated batch.
    pub fn check_alone(
        &self,
        b: &Block,
        params: &Params,
        now: Time,
        drift: Time,
    ) -> Result<(), Invalid> {
        if b.height == 0 {
            return Err("a second genesis");
        }
        if b.author >= self.n || b.step % self.n as u64 != b.author as u64 {
            return Err("author is not the authority of its step");
        }
        if b.step.saturating_mul(params.step_us) > now.saturating_add(drift) {
            return Err("step lies in the future");
        }
        if b.batches.len() > params.max_batches_per_block {
            return Err("too many batches");
        }
        let mut ids: Vec<u64> = b.batch_ids();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err("a batch appears twice");
        }
        if b.compute_digest() != b.digest {
            return Err("digest does not match the contents");
        }
        Ok(())
    }

    /// Checks a block against its parent: one higher, a later step.
    pub fn check_parent(b: &Block, parent: &Block) -> Result<(), Invalid> {
        if b.height != parent.height + 1 {
            return Err("height is not parent's + 1");
        }
        if b.step <= parent.step {
            return Err("step is not after parent's step");
        }
        Ok(())
    }

    /// Inserts a checked block whose parent is known and moves the head if it is better and
    /// descends from the finalized block. Returns true when the head moved.
    pub fn insert(&mut self, b: Arc<Block>) -> bool {
        if self.blocks.contains_key(&b.digest) || !self.blocks.contains_key(&b.parent) {
            return false;
        }
        let siblings = self.children.entry(b.parent).or_insert(0);
        if *siblings > 0 {
            self.forks += 1;
        }
        *siblings += 1;
        self.blocks.insert(b.digest, b.clone());
        if !better(&b, &self.head) || !self.descends_from_finalized(&b) {
            return false;
        }
        let depth = if b.parent == self.head.digest {
            0
        } else {
            let common = self.common_ancestor(&b, &self.head.clone());
            self.head.height.saturating_sub(common)
        };
        if depth > 0 {
            self.reorgs += 1;
            self.max_reorg = self.max_reorg.max(depth);
        }
        self.head = b;
        true
    }

    /// The ancestor of `b` at `height` (`b` itself at its own height), if the tree has it.
    pub fn ancestor(&self, b: &Arc<Block>, height: u64) -> Option<Arc<Block>> {
        let mut cur = b.clone();
        while cur.height > height {
            cur = self.blocks.get(&cur.parent)?.clone();
        }
        (cur.height == height).then_some(cur)
    }

    fn descends_from_finalized(&self, b: &Arc<Block>) -> bool {
        self.ancestor(b, self.finalized.height)
            .is_some_and(|a| a.digest == self.finalized.digest)
    }

    /// Height of the last common ancestor of `a` and `b`.
    fn common_ancestor(&self, a: &Arc<Block>, b: &Arc<Block>) -> u64 {
        let h = a.height.min(b.height);
        let (mut x, mut y) = match (self.ancestor(a, h), self.ancestor(b, h)) {
            (Some(x), Some(y)) => (x, y),
            _ => return 0,
        };
        while x.digest != y.digest {
            match (self.blocks.get(&x.parent), self.blocks.get(&y.parent)) {
                (Some(px), Some(py)) => (x, y) = (px.clone(), py.clone()),
                _ => return 0,
            }
        }
        x.height
    }

    /// The best chain above the finalized block, head first.
    pub fn unfinalized(&self) -> Vec<Arc<Block>> {
        let mut out = Vec::new();
        let mut cur = self.head.clone();
        while cur.height > self.finalized.height {
            out.push(cur.clone());
            match self.blocks.get(&cur.parent) {
                Some(p) => cur = p.clone(),
                None => break,
            }
        }
        out
    }

    /// Applies rolling finality to the best chain: returns the newly final blocks, lowest
    /// first, with the distinct authorities whose blocks from them to the head made them final,
    /// and moves the finalized block to the highest of them.
    pub fn advance_finality(&mut self) -> (Vec<Arc<Block>>, Vec<usize>) {
        let segment = self.unfinalized();
        let mut seen = vec![false; self.n];
        let mut count = 0;
        let mut last_final = None;
        for (i, b) in segment.iter().enumerate() {
            if let Some(s) = seen.get_mut(b.author)
                && (!*s || crate::mutant::active(crate::mutant::Mutant::AuraRepeatedAuthors))
            {
                *s = true;
                count += 1;
            }
            if count >= self.needed {
                last_final = Some(i);
                break;
            }
        }
        let Some(i) = last_final else {
            return (Vec::new(), Vec::new());
        };
        let mut newly: Vec<Arc<Block>> = segment[i..].to_vec();
        newly.reverse();
        self.finalized = segment[i].clone();
        let authors = (0..self.n).filter(|&a| seen[a]).collect();
        (newly, authors)
    }

    /// The best chain from genesis to the head, by digest.
    pub fn best_chain(&self) -> Vec<Digest> {
        let mut out = vec![self.head.digest];
        let mut cur = self.head.clone();
        while let Some(p) = self.blocks.get(&cur.parent) {
            out.push(p.digest);
            cur = p.clone();
        }
        out.reverse();
        out
    }

    /// Number of blocks in the tree, genesis included.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// Always false: the tree holds genesis.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

/// Aura's fork choice: `a` beats `b` by height, then earlier step, then lower digest.
pub fn better(a: &Block, b: &Block) -> bool {
    (
        a.height,
        std::cmp::Reverse(a.step),
        std::cmp::Reverse(a.digest),
    ) > (
        b.height,
        std::cmp::Reverse(b.step),
        std::cmp::Reverse(b.digest),
    )
}
