//! Known bugs, injected on purpose: the mutation check of the safety suites
//! (`tests/mutants.rs`) turns each one on and requires the suites to fail. Compiled in only with
//! the `mutants` feature (this crate's own tests enable it); without it [`active`] is a
//! constant false and the protocols are exactly the honest ones.
//!
//! The switch is per thread, so tests running side by side never see each other's mutant.

/// A known bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutant {
    /// PBFT's quorum is `2f` instead of `⌈(n+f+1)/2⌉`.
    QuorumTwoF,
    /// PBFT counts PREPAREs and COMMITs per view only, not per view and digest.
    VotesIgnoreDigest,
    /// PBFT's view change skips the P-set selection rule: the new view starts after the stable
    /// checkpoint as if nothing had prepared.
    SkipPSetRule,
    /// Aura's rolling finality counts every block built on a block, repeated authors included.
    AuraRepeatedAuthors,
}

impl Mutant {
    /// Every mutant.
    pub const ALL: [Self; 4] = [
        Self::QuorumTwoF,
        Self::VotesIgnoreDigest,
        Self::SkipPSetRule,
        Self::AuraRepeatedAuthors,
    ];
}

#[cfg(feature = "mutants")]
thread_local! {
    static ACTIVE: std::cell::Cell<Option<Mutant>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with `m` injected on this thread (and none after, even if `f` panics).
#[cfg(feature = "mutants")]
pub fn with<T>(m: Mutant, f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            ACTIVE.with(|a| a.set(None));
        }
    }
    ACTIVE.with(|a| a.set(Some(m)));
    let _reset = Reset;
    f()
}

/// Whether `m` is injected on this thread.
#[inline]
pub fn active(m: Mutant) -> bool {
    #[cfg(feature = "mutants")]
    {
        ACTIVE.with(|a| a.get() == Some(m))
    }
    #[cfg(not(feature = "mutants"))]
    {
        let _ = m;
        false
    }
}
