//! `securefl`: run a federated-learning experiment from TOML, or list the plugins.
//!
//! Exit codes: 0 success; 1 the run failed; 2 invalid input (config, data, command line).
//! Every error is one line on stderr.

mod plugin;
mod progress;
mod registry;
mod run;
mod sweep;
mod sweep_view;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc keeps freed pages for reuse: the SMPC engine allocates and frees many large
/// vectors, which the system allocator returns to the OS and page-faults back in.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Secure federated learning in healthcare: a research harness.
#[derive(Debug, Parser)]
#[command(name = "securefl", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one experiment from a TOML config and write its run folder.
    Run {
        /// The experiment config.
        config: PathBuf,
        /// The run folder (default: results/<name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Hospitals trained in parallel (default: the number of CPUs); results do not depend on it.
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Run a grid of experiments from a sweep spec: cells in parallel, finished cells
    /// skipped (a re-run resumes), tables merged into the output folder.
    Sweep {
        /// The sweep spec.
        spec: PathBuf,
        /// A named profile of the spec (`[profiles.NAME]`).
        #[arg(long)]
        profile: Option<String>,
        /// The output folder (default: results/<name>[-<profile>]).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Cells run at once (default: the spec's `[run] workers`).
        #[arg(long)]
        workers: Option<usize>,
        /// Run only shard I of N (`I/N`, from 0); merge later with `securefl collect`.
        #[arg(long, value_parser = parse_shard)]
        shard: Option<(usize, usize)>,
        /// Write an sbatch job-array script (one shard per array task) into the output folder
        /// and submit it when `sbatch` is on the PATH.
        #[arg(long)]
        slurm: bool,
        /// Array tasks for `--slurm` (default: one per cell, at most 64).
        #[arg(long, requires = "slurm")]
        tasks: Option<usize>,
        /// With `--slurm`: wait for the array to finish (`sbatch --wait`), then merge.
        #[arg(long, requires = "slurm")]
        wait: bool,
    },
    /// Merge the tables of a sweep's finished cells (after sharded runs).
    Collect {
        /// The sweep spec.
        spec: PathBuf,
        /// The profile the sweep ran with.
        #[arg(long)]
        profile: Option<String>,
        /// The sweep's output folder (default: results/<name>[-<profile>]).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Render a sweep folder's figures (SVG and PNG) and LaTeX tables into DIR/report/.
    Report {
        /// The sweep folder (with cells.csv and the merged tables).
        dir: PathBuf,
        /// Also write the paper's claims, measured, into this Markdown file between its
        /// `<!-- claims:begin -->` and `<!-- claims:end -->` markers.
        #[arg(long)]
        claims_into: Option<PathBuf>,
        /// The name of the markers `--claims-into` writes between (`<!-- NAME:begin -->`).
        #[arg(long, default_value = "claims")]
        claims_block: String,
        /// Also write the results table (`report/results.md`: final accuracy with CIs,
        /// rejections, threat model) into this Markdown file between its markers.
        #[arg(long)]
        tables_into: Option<PathBuf>,
        /// The name of the markers `--tables-into` writes between.
        #[arg(long, default_value = "results")]
        tables_block: String,
    },
    /// List every registered plugin with kind, name, summary and citation.
    List,
    /// Check or print a run folder's ledger.
    Ledger {
        #[command(subcommand)]
        action: LedgerAction,
    },
    /// Inspect a dynamic plugin library.
    Plugin {
        #[command(subcommand)]
        action: PluginAction,
    },
}

#[derive(Debug, Subcommand)]
enum PluginAction {
    /// Load a plugin library, check its ABI version, and print its manifest. Exit 2 when it is
    /// not a securefl plugin or speaks another ABI.
    Check {
        /// The library (`.so`, `.dylib` or `.dll`).
        path: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum LedgerAction {
    /// Check every hash, link, signature and seal, and every recorded global model against
    /// the saved model files; names the first bad block. Exit 1 when the ledger is not sound.
    Verify {
        /// The run folder.
        run_dir: PathBuf,
        /// The hash the genesis block must have (64 hex digits): pins the key directory.
        #[arg(long, value_name = "HASH")]
        genesis: Option<String>,
        /// The hash the last block must have (64 hex digits); without it, the run's
        /// manifest.toml says where the chain ends.
        #[arg(long, value_name = "HASH")]
        tip: Option<String>,
    },
    /// Print the chain readably.
    Show {
        /// The run folder.
        run_dir: PathBuf,
    },
}

/// The documented exit codes.
pub mod exit {
    /// The run failed while running.
    pub const RUN_FAILED: u8 = 1;
    /// The input (config, data, command line) is invalid.
    pub const BAD_INPUT: u8 = 2;
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let line = format!("{what}{at}").replace('\n', " ");
        let _ = writeln!(
            std::io::stderr(),
            "error: internal error (a bug in securefl): {line}"
        );
    }));
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { config, out, jobs } => run::run(&config, out, jobs),
        Command::Sweep {
            spec,
            profile,
            out,
            workers,
            shard,
            slurm,
            tasks,
            wait,
        } => {
            let args = sweep::SweepArgs {
                spec,
                profile,
                out,
                workers,
                shard,
            };
            if slurm {
                sweep::slurm(args, tasks, wait)
            } else {
                sweep::sweep(args)
            }
        }
        Command::Collect { spec, profile, out } => {
            sweep::collect(&spec, profile.as_deref(), out.as_deref())
        }
        Command::Report {
            dir,
            claims_into,
            claims_block,
            tables_into,
            tables_block,
        } => {
            let claims = claims_into
                .as_deref()
                .map(|file| securefl_report::ClaimsInto {
                    file,
                    block: &claims_block,
                });
            let tables = tables_into
                .as_deref()
                .map(|file| securefl_report::ClaimsInto {
                    file,
                    block: &tables_block,
                });
            report(&dir, claims, tables)
        }
        Command::List => list(),
        Command::Ledger { action } => ledger(action),
        Command::Plugin {
            action: PluginAction::Check { path },
        } => plugin::check(&path),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {}", e.message.replace('\n', " "));
            ExitCode::from(e.code)
        }
    }
}

/// `I/N` with `I < N`.
fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 0/4")?;
    let (i, n): (usize, usize) = (
        i.parse().map_err(|_| "I is not a number")?,
        n.parse().map_err(|_| "N is not a number")?,
    );
    if i >= n {
        return Err(format!(
            "shard {i} of {n} does not exist (shards count from 0)"
        ));
    }
    Ok((i, n))
}

/// A failure to report: one line and an exit code.
pub struct Failure {
    /// The line.
    pub message: String,
    /// The exit code.
    pub code: u8,
}

impl Failure {
    /// Invalid input.
    pub fn input(message: impl ToString) -> Self {
        Self {
            message: message.to_string(),
            code: exit::BAD_INPUT,
        }
    }

    /// A run that failed.
    pub fn run(message: impl ToString) -> Self {
        Self {
            message: message.to_string(),
            code: exit::RUN_FAILED,
        }
    }
}

fn ledger(action: LedgerAction) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let text = match action {
        LedgerAction::Verify {
            run_dir,
            genesis,
            tip,
        } => {
            let hash = |flag: &str, text: Option<String>| {
                text.map(|t| securefl_core::ledger::unhex32(&t))
                    .transpose()
                    .map_err(|e| Failure::input(format!("--{flag}: {e}")))
            };
            let anchor = securefl_core::ledger::Anchor {
                genesis: hash("genesis", genesis)?,
                tip: hash("tip", tip)?,
            };
            let v = securefl_core::ledger::verify_run(&run_dir, &anchor).map_err(Failure::run)?;
            format!(
                "ledger sound: {} blocks, {} global models match their files, tip {}\n",
                v.blocks,
                v.models,
                securefl_core::ledger::hex(&v.tip)
            )
        }
        LedgerAction::Show { run_dir } => {
            securefl_core::ledger::show_run(&run_dir).map_err(Failure::run)?
        }
    };
    out.write_all(text.as_bytes()).map_err(Failure::run)
}

fn report(
    dir: &std::path::Path,
    claims_into: Option<securefl_report::ClaimsInto<'_>>,
    tables_into: Option<securefl_report::ClaimsInto<'_>>,
) -> Result<(), Failure> {
    let written = securefl_report::report(dir, claims_into, tables_into).map_err(Failure::input)?;
    let mut out = std::io::stdout().lock();
    for f in &written.files {
        let _ = writeln!(out, "wrote {}", f.display());
    }
    for (figure, why) in &written.skipped {
        let _ = writeln!(out, "skipped {figure}: {why}");
    }
    Ok(())
}

fn list() -> Result<(), Failure> {
    let reg = registry::builtin().map_err(Failure::run)?;
    let mut out = std::io::stdout().lock();
    for (kind, info) in reg.list() {
        let cite = info
            .citation
            .as_deref()
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<15} {:<16} {}{cite}",
            kind.name(),
            info.name,
            info.summary
        );
    }
    Ok(())
}
