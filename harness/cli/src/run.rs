//! `securefl run`: config → plugins → data → rounds → run folder.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use securefl_core::manifest::{self, BuildInfo, RunFacts};
use securefl_core::observer::Both;
use securefl_core::rundir::RunDir;
use securefl_core::{Config, Experiment, Plugins, RunError};

use crate::Failure;
use crate::progress::Progress;

/// Runs the experiment in `config`, writing `out` (default `results/<name>`).
pub fn run(config: &Path, out: Option<PathBuf>, jobs: Option<usize>) -> Result<(), Failure> {
    let started_utc = manifest::now_utc();
    let t0 = Instant::now();
    let cfg = Config::load(config).map_err(Failure::input)?;
    let reg = crate::registry::builtin().map_err(Failure::run)?;
    let plugins = Plugins::build(&cfg, &reg).map_err(Failure::input)?;
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let out = out.unwrap_or_else(|| Path::new("results").join(&cfg.name));
    securefl_core::rundir::check_out(&out).map_err(Failure::input)?;
    let data = securefl_datasets::data_ctx_from_env(true);
    let mut exp = Experiment::prepare(cfg.clone(), plugins, &data, jobs).map_err(classify)?;
    let mut dir = RunDir::create(&out, exp.dataset().class_names.clone()).map_err(Failure::run)?;
    let mut progress = Progress::new();
    let result = exp.run(&mut Both(&mut progress, &mut dir));
    progress.finish();
    let result = result.map_err(classify)?;
    let facts = RunFacts {
        cfg: &cfg,
        plugins: exp.plugins(),
        dataset: exp.dataset(),
        spec: exp.spec(),
        malicious: exp.malicious().iter().copied().collect(),
        global: &result.global,
        ledger: exp.ledger(),
        started_utc,
        wall_s: t0.elapsed().as_secs_f64(),
        conflicts: result.rounds.iter().map(|r| r.conflicts).sum(),
        wrong_content: result.rounds.iter().map(|r| r.wrong_content).sum(),
    };
    let build = BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        rustc: env!("SECUREFL_RUSTC_VERSION").to_owned(),
        jobs,
        git_commit: env!("SECUREFL_GIT_COMMIT").to_owned(),
        git_dirty: env!("SECUREFL_GIT_DIRTY") == "true",
    };
    let text = manifest::render(&build, &facts);
    let out = dir.finish(&text, &result.global).map_err(Failure::run)?;
    let last = result.rounds.last().map_or(f64::NAN, |r| r.test.accuracy);
    let _ = writeln!(
        std::io::stdout(),
        "{}: final test_accuracy {last:.4} after {} rounds",
        out.display(),
        result.rounds.len() - 1
    );
    Ok(())
}

/// Bad data and impossible settings are input errors (exit 2); anything else failed while
/// running (exit 1).
fn classify(e: RunError) -> Failure {
    match &e {
        RunError::Config(_) | RunError::Output(_) => Failure::input(e),
        _ => Failure::run(e),
    }
}
