//! Running a sweep's cells: each cell is one `securefl run` child process, up to `workers` at a
//! time. A failed cell is recorded and the sweep goes on; finished cells are skipped, so
//! running the sweep again resumes it.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use securefl_results::write_atomic;

use crate::cell::Cell;
use crate::layout::{CellState, Layout};

/// How to run the cells.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The `securefl` executable to run cells with.
    pub program: PathBuf,
    /// Cells run at the same time.
    pub workers: usize,
    /// Training threads per cell (`--jobs`).
    pub jobs: usize,
    /// The folder the spec lives in: relative plugin `library` paths resolve against it.
    pub spec_dir: PathBuf,
}

/// What a sweep reports while it runs (the CLI draws progress bars from it).
pub trait SweepObserver: Sync {
    /// A worker started a cell of `rounds` rounds.
    fn started(&self, _worker: usize, _cell: &Cell, _rounds: usize) {}
    /// A worker's cell finished `round` rounds.
    fn progress(&self, _worker: usize, _round: usize) {}
    /// A worker's cell ended in `state`.
    fn finished(&self, _worker: usize, _cell: &Cell, _state: &CellState) {}
}

/// An observer that reports nothing.
pub struct Quiet;

impl SweepObserver for Quiet {}

/// Runs every cell of `cells` that is not finished; returns how many ran and failed.
pub fn run_cells(
    layout: &Layout,
    cells: &[Cell],
    opts: &RunOptions,
    observer: &dyn SweepObserver,
) -> std::io::Result<(usize, usize)> {
    std::fs::create_dir_all(layout.cells())?;
    let todo: VecDeque<&Cell> = cells
        .iter()
        .filter(|c| layout.state(&c.id) != CellState::Done)
        .collect();
    let ran = todo.len();
    let queue = Mutex::new(todo);
    let failed = Mutex::new(0usize);
    let result: Mutex<std::io::Result<()>> = Mutex::new(Ok(()));
    std::thread::scope(|s| {
        for worker in 0..opts.workers.max(1) {
            let (queue, failed, result) = (&queue, &failed, &result);
            s.spawn(move || {
                while let Some(cell) = next(queue) {
                    match run_cell(layout, cell, opts, worker, observer) {
                        Ok(CellState::Done) => {}
                        Ok(_) => *lock(failed) += 1,
                        Err(e) => *lock(result) = Err(e),
                    }
                }
            });
        }
    });
    let failed = *lock(&failed);
    result
        .into_inner()
        .unwrap_or(Ok(()))
        .map(|()| (ran, failed))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn next<'a>(queue: &Mutex<VecDeque<&'a Cell>>) -> Option<&'a Cell> {
    lock(queue).pop_front()
}

/// Runs one cell to its end state.
fn run_cell(
    layout: &Layout,
    cell: &Cell,
    opts: &RunOptions,
    worker: usize,
    observer: &dyn SweepObserver,
) -> std::io::Result<CellState> {
    let config = runnable_config(&cell.config, &opts.spec_dir);
    write_atomic(
        &layout.config(&cell.id),
        toml::to_string(&config).unwrap_or_default().as_bytes(),
    )
    .map_err(|e| std::io::Error::other(e.to_string()))?;
    observer.started(worker, cell, cell.rounds());
    let out = layout.run_dir(&cell.id);
    let log = std::fs::File::create(layout.log(&cell.id))?;
    let mut child = Command::new(&opts.program)
        .arg("run")
        .arg(layout.config(&cell.id))
        .arg("--out")
        .arg(&out)
        .arg("--jobs")
        .arg(opts.jobs.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    let partial_rounds = securefl_results::partial_path(&out).join("rounds.csv");
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        observer.progress(worker, rows(&partial_rounds).saturating_sub(1));
        std::thread::sleep(Duration::from_millis(250));
    };
    let state = if status.success() && layout.state(&cell.id) == CellState::Done {
        let _ = std::fs::remove_file(layout.failed(&cell.id));
        CellState::Done
    } else {
        let message = last_line(&layout.log(&cell.id))
            .unwrap_or_else(|| format!("securefl run exited with {status}"));
        let invalid = status.code() == Some(2);
        let kind = if invalid { "invalid" } else { "failed" };
        write_atomic(
            &layout.failed(&cell.id),
            format!("{kind}\n{message}\n").as_bytes(),
        )
        .map_err(|e| std::io::Error::other(e.to_string()))?;
        CellState::Failed { invalid, message }
    };
    observer.finished(worker, cell, &state);
    Ok(state)
}

/// The cell config as written to disk: relative paths (plugin libraries, the ledger's key
/// directory) made absolute against the spec's folder, so that a cell file in the output
/// folder names the same files, and keys never land beside the results (the id was computed
/// from the config as written in the spec).
pub fn runnable_config(config: &toml::Table, spec_dir: &Path) -> toml::Table {
    let mut config = config.clone();
    for (name, section) in config.iter_mut() {
        let keys: &[&str] = if name == "ledger" {
            &["keys"]
        } else {
            &["library"]
        };
        for key in keys {
            if let Some(toml::Value::String(path)) = section.get_mut(key)
                && Path::new(path.as_str()).is_relative()
            {
                *path = spec_dir.join(&*path).display().to_string();
            }
        }
    }
    config
}

/// Lines in a file (0 when it does not exist).
fn rows(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// The last non-empty line of a file, without the `error: ` prefix.
fn last_line(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    Some(line.strip_prefix("error: ").unwrap_or(line).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_libraries_and_key_directories_are_anchored_at_the_spec() {
        let config: toml::Table = toml::from_str(
            "seed = 1\n[attack]\nkind = \"x\"\nlibrary = \"lib/x.so\"\n\
             [ledger]\nkeys = \"keys\"\n[defense]\nkind = \"fedavg\"\nlibrary = \"/abs.so\"\n",
        )
        .unwrap();
        let out = runnable_config(&config, Path::new("/specs"));
        let get = |s: &str, k: &str| out[s][k].as_str().unwrap().to_owned();
        assert_eq!(get("attack", "library"), "/specs/lib/x.so");
        assert_eq!(get("ledger", "keys"), "/specs/keys");
        assert_eq!(get("defense", "library"), "/abs.so");
    }
}
