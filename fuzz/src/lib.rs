//! Fuzzing securefl's parsers of untrusted input without a nightly toolchain: a seeded
//! mutation loop ([`mutate`]) over a fixed corpus ([`corpus`]) through each target
//! ([`targets`]), every input inside `catch_unwind`. A run folder, a dataset file or a spec
//! may come from someone else; every byte string must get an error or a result, never a
//! panic. The same seed gives the same inputs, so a finding replays.

pub mod corpus;
pub mod mutate;
pub mod targets;
pub mod text;

pub use targets::Target;

/// What a fuzz run saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The target.
    pub target: &'static str,
    /// Inputs tried.
    pub inputs: u64,
    /// Inputs the target accepted (parsed, decoded or expanded without an error).
    pub accepted: u64,
    /// Inputs that panicked or broke an invariant.
    pub panics: u64,
    /// The first such input, with its panic message.
    pub first_panic: Option<(Vec<u8>, String)>,
}

/// Runs `inputs` mutated inputs through `target`, from `seed`.
pub fn fuzz(target: Target, seed: u64, inputs: u64) -> Result<Report, String> {
    let corpus = corpus::corpus(target)?;
    for (i, c) in corpus.iter().enumerate() {
        if !target.check(c) {
            return Err(format!("{}: corpus entry {i} is refused", target.name()));
        }
    }
    let mut rng = securefl_api::rng(seed, &["fuzz", target.name()]);
    let mut report = Report {
        target: target.name(),
        inputs,
        accepted: 0,
        panics: 0,
        first_panic: None,
    };
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for _ in 0..inputs {
        let input = if target.is_text() {
            text::mutate(&mut rng, &corpus)
        } else {
            mutate::mutate(&mut rng, &corpus)
        };
        match std::panic::catch_unwind(|| target.check(&input)) {
            Ok(accepted) => report.accepted += u64::from(accepted),
            Err(p) => {
                report.panics += 1;
                if report.first_panic.is_none() {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default();
                    report.first_panic = Some((input, msg));
                }
            }
        }
    }
    std::panic::set_hook(quiet);
    Ok(report)
}
