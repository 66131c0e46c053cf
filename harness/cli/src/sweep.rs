//! `securefl sweep` and `securefl collect`: a grid of runs from one spec, in parallel,
//! resumable, merged into long tables.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use securefl_core::{Config, Plugins};
use securefl_sweep::cell::display_value;
use securefl_sweep::{Cell, CellState, Layout, RunOptions, Spec};

use crate::Failure;
use crate::sweep_view::SweepView;

/// What `securefl sweep` was asked.
pub struct SweepArgs {
    /// The spec file.
    pub spec: PathBuf,
    /// A named profile.
    pub profile: Option<String>,
    /// The output folder (default `results/<name>[-<profile>]`).
    pub out: Option<PathBuf>,
    /// Cells at once (default: the spec's `[run] workers`).
    pub workers: Option<usize>,
    /// `(index, count)`: run only this shard, and leave merging to `collect`.
    pub shard: Option<(usize, usize)>,
}

/// Runs the sweep: checks every cell's config, runs the unfinished cells, merges the tables.
pub fn sweep(args: SweepArgs) -> Result<(), Failure> {
    let (spec, layout, cells) = open(&args.spec, args.profile.as_deref(), args.out.as_deref())?;
    let mine = match args.shard {
        Some((i, n)) => securefl_sweep::shard(&cells, i, n),
        None => cells.clone(),
    };
    check_cells(&spec, &layout, &mine)?;
    let done_before = done(&layout, &mine);
    let workers = args.workers.unwrap_or(spec.workers).max(1);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let opts = RunOptions {
        program: std::env::current_exe().map_err(Failure::run)?,
        workers,
        jobs: (cpus / workers).max(1),
        spec_dir: spec_dir(&spec.path),
    };
    on_interrupt(&layout, &mine);
    let view = SweepView::new(&mine, &layout, workers);
    let (_, failed) =
        securefl_sweep::run_cells(&layout, &mine, &opts, &view).map_err(Failure::run)?;
    view.finish();
    if args.shard.is_none() {
        securefl_sweep::tables::merge(&layout, &cells).map_err(Failure::run)?;
    }
    report(&layout, &mine, failed, done_before)
}

/// On Ctrl-C (which the terminal sends to the cells' processes too, so they stop; their
/// unfinished folders stay `.partial` and are rerun): says how far the sweep got and how to
/// resume, and exits with 130.
fn on_interrupt(layout: &Layout, cells: &[Cell]) {
    use signal_hook::consts::SIGINT;
    let (layout, cells) = (layout.clone(), cells.to_vec());
    // Without the handler (signals unavailable) Ctrl-C still stops the sweep, only unannounced.
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT]) else {
        return;
    };
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let done = done(&layout, &cells);
            eprintln!(
                "\ninterrupted: {done} of {} cells done; run the same command to resume",
                cells.len()
            );
            std::process::exit(130);
        }
    });
}

/// How many of `cells` are finished.
fn done(layout: &Layout, cells: &[Cell]) -> usize {
    cells
        .iter()
        .filter(|c| layout.state(&c.id) == CellState::Done)
        .count()
}

/// `--slurm`: checks every cell, writes `OUT/sweep.sbatch` (one shard per array task) and
/// submits it when `sbatch` is on the PATH; with `wait`, waits for the array and merges.
pub fn slurm(args: SweepArgs, tasks: Option<usize>, wait: bool) -> Result<(), Failure> {
    let (spec, layout, cells) = open(&args.spec, args.profile.as_deref(), args.out.as_deref())?;
    check_cells(&spec, &layout, &cells)?;
    let done_before = done(&layout, &cells);
    let tasks = tasks
        .unwrap_or(cells.len().min(64))
        .clamp(1, cells.len().max(1));
    let abs = |p: &Path| {
        p.canonicalize()
            .map_err(|e| Failure::input(format!("{}: {e}", p.display())))
    };
    let (program, spec_path, out) = (
        std::env::current_exe().map_err(Failure::run)?,
        abs(&spec.path)?,
        abs(layout.root())?,
    );
    std::fs::create_dir_all(out.join("slurm")).map_err(Failure::run)?;
    let job = securefl_sweep::slurm::SlurmJob {
        program: &program,
        spec: &spec_path,
        profile: spec.profile.as_deref(),
        out: &out,
        name: &spec.name,
        tasks,
        cpus: 1,
    };
    let script = out.join("sweep.sbatch");
    securefl_core::rundir::write_atomic(&script, securefl_sweep::slurm::script(&job).as_bytes())
        .map_err(Failure::run)?;
    let mut stdout = std::io::stdout().lock();
    let Ok(sbatch) = which("sbatch") else {
        let _ = writeln!(
            stdout,
            "wrote {} ({tasks} array tasks, {} cells); no sbatch here: submit it on the cluster, then run `securefl collect`",
            script.display(),
            cells.len()
        );
        return Ok(());
    };
    let mut cmd = std::process::Command::new(sbatch);
    cmd.arg("--parsable").current_dir(&out);
    if wait {
        cmd.arg("--wait");
    }
    let o = cmd.arg(&script).output().map_err(Failure::run)?;
    let id = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    if !wait && !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr).trim().replace('\n', " ");
        return Err(Failure::run(format!("sbatch failed: {err}")));
    }
    let _ = writeln!(
        stdout,
        "submitted job array {id} ({tasks} tasks, {} cells)",
        cells.len()
    );
    if !wait {
        return Ok(());
    }
    drop(stdout);
    securefl_sweep::tables::merge(&layout, &cells).map_err(Failure::run)?;
    let failed = cells
        .iter()
        .filter(|c| {
            matches!(
                layout.state(&c.id),
                CellState::Failed { .. } | CellState::Pending
            )
        })
        .count();
    report(&layout, &cells, failed, done_before)
}

/// The first executable `name` on the PATH.
fn which(name: &str) -> Result<PathBuf, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

/// Merges the finished cells' tables (after sharded runs).
pub fn collect(spec: &Path, profile: Option<&str>, out: Option<&Path>) -> Result<(), Failure> {
    let (_, layout, cells) = open(spec, profile, out)?;
    create(&layout)?;
    let merged = securefl_sweep::tables::merge(&layout, &cells).map_err(Failure::run)?;
    let _ = writeln!(
        std::io::stdout(),
        "{}: merged {merged} of {} cells",
        layout.root().display(),
        cells.len()
    );
    Ok(())
}

fn open(
    spec: &Path,
    profile: Option<&str>,
    out: Option<&Path>,
) -> Result<(Spec, Layout, Vec<Cell>), Failure> {
    let spec = Spec::load(spec, profile).map_err(Failure::input)?;
    let default = match &spec.profile {
        Some(p) => format!("{}-{p}", spec.name),
        None => spec.name.clone(),
    };
    let root = out.map_or_else(|| Path::new("results").join(default), Path::to_owned);
    let layout = Layout::new(&root);
    let cells = securefl_sweep::expand(&spec);
    Ok((spec, layout, cells))
}

/// Creates the output folder's `cells/` (once the spec is known to be sound).
fn create(layout: &Layout) -> Result<(), Failure> {
    std::fs::create_dir_all(layout.cells())
        .map_err(|e| Failure::input(format!("{}: {e}", layout.root().display())))
}

fn spec_dir(spec: &Path) -> PathBuf {
    let dir = spec.parent().unwrap_or(Path::new("."));
    dir.canonicalize().unwrap_or_else(|_| dir.to_owned())
}

/// Parses and builds every cell's config before anything runs: one bad cell refuses the sweep
/// with one line naming the spec (and the line of the offending key there, when the message
/// names one), the problem, the cell and its axis values; no cell file is written until every
/// cell passes (nor the output folder created).
fn check_cells(spec: &Spec, layout: &Layout, cells: &[Cell]) -> Result<(), Failure> {
    let reg = crate::registry::builtin().map_err(Failure::run)?;
    let dir = spec_dir(&spec.path);
    let mut texts = Vec::with_capacity(cells.len());
    for cell in cells {
        let config = securefl_sweep::run::runnable_config(&cell.config, &dir);
        let text = toml::to_string(&config).map_err(Failure::run)?;
        let checked =
            Config::parse(&spec.path, &text).and_then(|cfg| Plugins::build(&cfg, &reg).map(drop));
        if let Err(e) = checked {
            return Err(Failure::input(format!(
                "{}: {} (cell {}: {})",
                spec_place(&spec.path, &e.message),
                e.message,
                cell.id,
                axes(cell)
            )));
        }
        texts.push(text);
    }
    create(layout)?;
    for (cell, text) in cells.iter().zip(texts) {
        let path = layout.config(&cell.id);
        securefl_core::rundir::write_atomic(&path, text.as_bytes()).map_err(Failure::run)?;
    }
    Ok(())
}

/// `SPEC:LINE` of the first line of the spec that assigns the first key a config error names
/// in backticks, or `SPEC` alone.
fn spec_place(spec: &Path, message: &str) -> String {
    let source = std::fs::read_to_string(spec).unwrap_or_default();
    let line = message
        .split('`')
        .nth(1)
        .and_then(|key| securefl_core::config::line_of_key_after(&source, key, 1));
    match line {
        Some(l) => format!("{}:{l}", spec.display()),
        None => spec.display().to_string(),
    }
}

fn axes(cell: &Cell) -> String {
    let parts: Vec<String> = cell
        .axes
        .iter()
        .map(|(p, v)| format!("{p} = {}", display_value(v)))
        .collect();
    parts.join(", ")
}

fn report(
    layout: &Layout,
    cells: &[Cell],
    failed: usize,
    done_before: usize,
) -> Result<(), Failure> {
    let (done, root) = (done(layout, cells), layout.root().display());
    let mut out = std::io::stdout();
    let _ = if done_before == cells.len() {
        writeln!(out, "{root}: nothing to do: all {done} cells done")
    } else {
        writeln!(
            out,
            "{root}: {done} of {} cells done, {failed} failed (status and errors in cells.csv)",
            cells.len()
        )
    };
    if failed > 0 {
        return Err(Failure::run(format!(
            "{failed} cell(s) failed; see {}",
            layout.root().join("cells").display()
        )));
    }
    let _ = writeln!(out, "next: securefl report {root}");
    Ok(())
}
