//! What `securefl sweep` shows while it runs.
//!
//! On a terminal: a bar for the cells whose elapsed time ticks every second, with an ETA from the
//! rounds left, each kind of cell (dataset × defense) weighted by its own measured time per
//! round; and one bar per worker labelled with the cell's short axis values, cut to the terminal
//! width. Elsewhere (a log, a pipe): one line per finished cell. Either way `OUT/status.toml` says
//! how many cells are done, failed and running, rewritten as cells start and finish.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget};
use securefl_sweep::{Cell, CellState, Layout, SweepObserver};

use crate::progress::style;

/// The sweep's progress view and status file.
pub struct SweepView {
    multi: MultiProgress,
    total: ProgressBar,
    workers: Vec<ProgressBar>,
    terminal: bool,
    status: PathBuf,
    tally: Mutex<Tally>,
}

/// What the view has counted.
struct Tally {
    cells: usize,
    done: usize,
    failed: usize,
    workers: usize,
    /// Rounds not yet run, per kind of cell.
    left: BTreeMap<String, usize>,
    /// Measured seconds and rounds, per kind of cell.
    measured: BTreeMap<String, (f64, usize)>,
    /// Per worker: its cell's id, kind, rounds reported and the time of the last report.
    running: Vec<Option<Running>>,
}

struct Running {
    id: String,
    kind: String,
    rounds: usize,
    started: Instant,
    last: Instant,
}

impl SweepView {
    /// A view over `cells` (those already done are counted) for `workers` workers.
    pub fn new(cells: &[Cell], layout: &Layout, workers: usize) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let target = if terminal {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let mut left = BTreeMap::new();
        let mut done = 0;
        for c in cells {
            if layout.state(&c.id) == CellState::Done {
                done += 1;
            } else {
                *left.entry(kind(c)).or_insert(0) += c.rounds();
            }
        }
        let total = multi.add(ProgressBar::new(cells.len() as u64));
        total.set_style(style(
            "cells  [{bar:30}] {pos}/{len} {elapsed_precise} {msg}",
        ));
        total.set_position(done as u64);
        if terminal {
            total.enable_steady_tick(Duration::from_secs(1));
        }
        let workers_bars = (0..workers)
            .map(|_| {
                let bar = multi.add(ProgressBar::new(0));
                bar.set_style(style("  [{bar:20}] round {pos}/{len} {wide_msg}"));
                bar
            })
            .collect();
        let view = Self {
            multi,
            total,
            workers: workers_bars,
            terminal,
            status: layout.root().join("status.toml"),
            tally: Mutex::new(Tally {
                cells: cells.len(),
                done,
                failed: 0,
                workers,
                left,
                measured: BTreeMap::new(),
                running: (0..workers).map(|_| None).collect(),
            }),
        };
        view.update(&view.lock());
        view
    }

    /// Stops the ticking and clears the bars.
    pub fn finish(&self) {
        self.total.disable_steady_tick();
        self.workers.iter().for_each(ProgressBar::finish_and_clear);
        self.total.finish_and_clear();
        let _ = self.multi.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refreshes the ETA and rewrites the status file.
    fn update(&self, t: &Tally) {
        self.total.set_message(match t.eta() {
            Some(s) => format!("eta {}", clock(s)),
            None => "eta ? (no round measured yet)".into(),
        });
        let running: Vec<String> = t
            .running
            .iter()
            .flatten()
            .map(|r| format!("\"{}\"", r.id))
            .collect();
        let text = format!(
            "# securefl sweep status, rewritten as cells start and finish\n\
             cells = {}\ndone = {}\nfailed = {}\nrunning = [{}]\n",
            t.cells,
            t.done,
            t.failed,
            running.join(", ")
        );
        // A status file that cannot be written must not stop the sweep.
        let _ = securefl_core::rundir::write_atomic(&self.status, text.as_bytes());
    }
}

impl Tally {
    /// Seconds left: every kind's rounds left times its measured seconds per round (the mean
    /// over all kinds for a kind not yet measured), shared among the workers; `None` before any
    /// round is measured.
    fn eta(&self) -> Option<f64> {
        let (secs, rounds) = self
            .measured
            .values()
            .fold((0.0, 0), |(s, r), &(s2, r2)| (s + s2, r + r2));
        if rounds == 0 {
            return None;
        }
        let mean = secs / rounds as f64;
        let per = |k: &str| match self.measured.get(k) {
            Some(&(s, r)) if r > 0 => s / r as f64,
            _ => mean,
        };
        let total: f64 = self.left.iter().map(|(k, &n)| per(k) * n as f64).sum();
        Some(total / self.workers.max(1) as f64)
    }
}

impl SweepObserver for SweepView {
    fn started(&self, worker: usize, cell: &Cell, rounds: usize) {
        let bar = &self.workers[worker];
        bar.set_length(rounds as u64);
        bar.set_position(0);
        bar.set_message(format!("{} {}", cell.id, label(cell)));
        let mut t = self.lock();
        let now = Instant::now();
        t.running[worker] = Some(Running {
            id: cell.id.clone(),
            kind: kind(cell),
            rounds: 0,
            started: now,
            last: now,
        });
        self.update(&t);
    }

    fn progress(&self, worker: usize, round: usize) {
        self.workers[worker].set_position(round as u64);
        let mut t = self.lock();
        let Some(r) = t.running[worker].as_mut() else {
            return;
        };
        if round <= r.rounds {
            return;
        }
        let (new, now) = (round - r.rounds, Instant::now());
        let secs = now.duration_since(r.last).as_secs_f64();
        (r.rounds, r.last) = (round, now);
        let kind = r.kind.clone();
        let m = t.measured.entry(kind.clone()).or_insert((0.0, 0));
        (m.0, m.1) = (m.0 + secs, m.1 + new);
        if let Some(n) = t.left.get_mut(&kind) {
            *n = n.saturating_sub(new);
        }
        self.update(&t);
    }

    fn finished(&self, worker: usize, cell: &Cell, state: &CellState) {
        self.total.inc(1);
        let mut t = self.lock();
        let run = t.running[worker].take();
        if let Some(r) = &run
            && let Some(n) = t.left.get_mut(&r.kind)
        {
            // Rounds the cell did not report (a failure) no longer wait to run.
            *n = n.saturating_sub(cell.rounds().saturating_sub(r.rounds));
        }
        let failed = matches!(state, CellState::Failed { .. });
        if failed {
            t.failed += 1;
        } else {
            t.done += 1;
        }
        let secs = run.map_or(0.0, |r| r.started.elapsed().as_secs_f64());
        let line = match state {
            CellState::Failed { message, .. } => format!("cell {} failed: {message}", cell.id),
            _ => format!(
                "[{}/{}] cell {} done in {}: {}",
                t.done + t.failed,
                t.cells,
                cell.id,
                clock(secs),
                label(cell)
            ),
        };
        if self.terminal {
            if failed {
                self.multi.println(line).ok();
            }
        } else {
            eprintln!("{line}");
        }
        self.update(&t);
    }
}

/// The kind of a cell for timing: its dataset and defense.
fn kind(cell: &Cell) -> String {
    let get = |table: &str, key: &str| {
        cell.config
            .get(table)
            .and_then(|t| t.get(key))
            .and_then(toml::Value::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    format!("{}/{}", get("dataset", "flag"), get("defense", "kind"))
}

/// A cell's axis values as short labels: a plugin as its kind and its other values
/// (`gate-aware lie omniscient`), a fraction as a percentage, linked values joined by commas.
pub fn label(cell: &Cell) -> String {
    let parts: Vec<String> = cell
        .axes
        .iter()
        .map(|(path, value)| {
            let fields: Vec<&str> = path.split('+').collect();
            match (fields.len(), value) {
                (1, v) => short(fields[0], v),
                (_, toml::Value::Array(vs)) => fields
                    .iter()
                    .zip(vs)
                    .map(|(f, v)| short(f, v))
                    .collect::<Vec<_>>()
                    .join(", "),
                (_, v) => short(path, v),
            }
        })
        .collect();
    parts.join(" · ")
}

/// One value's short label.
fn short(field: &str, value: &toml::Value) -> String {
    match value {
        toml::Value::Table(t) => {
            let kind = t.get("kind").and_then(toml::Value::as_str).unwrap_or("?");
            let rest = t
                .iter()
                .filter(|(k, _)| k.as_str() != "kind")
                .map(|(k, v)| match v {
                    toml::Value::String(s) => s.clone(),
                    v => format!("{k} {}", plain(v)),
                });
            std::iter::once(kind.to_owned())
                .chain(rest)
                .collect::<Vec<_>>()
                .join(" ")
        }
        toml::Value::Float(f) if field.ends_with("fraction") => {
            let p = f * 100.0;
            if (p - p.round()).abs() < 1e-9 {
                format!("{}%", p.round())
            } else {
                format!("{p:.1}%")
            }
        }
        v => plain(v),
    }
}

/// A scalar as written, strings bare.
fn plain(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// Seconds as `H:MM:SS`.
fn clock(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(left: &[(&str, usize)], measured: &[(&str, f64, usize)]) -> Tally {
        Tally {
            cells: 4,
            done: 0,
            failed: 0,
            workers: 2,
            left: left.iter().map(|&(k, n)| (k.to_owned(), n)).collect(),
            measured: measured
                .iter()
                .map(|&(k, s, r)| (k.to_owned(), (s, r)))
                .collect(),
            running: Vec::new(),
        }
    }

    #[test]
    fn the_eta_weights_rounds_left_by_each_kinds_measured_cost() {
        assert_eq!(tally(&[("a", 10)], &[]).eta(), None);
        // Kind a costs 2 s a round, b 10 s; c is unmeasured and takes the mean, 6 s.
        let t = tally(
            &[("a", 10), ("b", 4), ("c", 5)],
            &[("a", 20.0, 10), ("b", 100.0, 10)],
        );
        assert_eq!(t.eta(), Some((10.0 * 2.0 + 4.0 * 10.0 + 5.0 * 6.0) / 2.0));
    }

    #[test]
    fn labels_are_short_and_clocks_read_hours() {
        let v: toml::Value = toml::from_str::<toml::Table>(
            "a = { kind = \"gate-aware\", direction = \"lie\", scale = 4.0 }",
        )
        .unwrap()["a"]
            .clone();
        assert_eq!(short("attack", &v), "gate-aware lie scale 4.0");
        assert_eq!(short("adversary.fraction", &toml::Value::Float(0.3)), "30%");
        assert_eq!(clock(3725.2), "1:02:05");
    }
}
