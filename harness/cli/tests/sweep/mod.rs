//! `securefl sweep` end to end on real data: every cell's rows exactly once, a second run is a
//! no-op, a sweep killed with SIGKILL and run again ends with the tables of an uninterrupted
//! one, and shards merged by `collect` equal a single run. Every study spec under `paper/sweeps`,
//! with each of its profiles, expands to cells whose configs parse.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{BIN, real_data_dir, without_timing};

/// Four cells (two defenses × two seeds) of a three-hospital, two-round federation.
pub(crate) const SPEC: &str = r#"securefl-sweep = 1
name = "tiny"

[base]
securefl = 1
seed = 3
federation = { hospitals = 3, rounds = 2 }
dataset = { kind = "medmnist", flag = "pneumoniamnist" }
model = { arch = "paper-cnn" }
train = { local-epochs = 1, batch-size = 64, optimizer = { kind = "adam", lr = 0.001 } }
adversary = { fraction = 0.34 }
attack = { kind = "sign-flip", scale = 4.0 }

[sweep]
defense = [{ kind = "fedavg" }, { kind = "median" }]
seed = [1, 2]

[profiles.one]
sweep = { seed = [1], defense = [{ kind = "fedavg" }] }
"#;

struct Sweep {
    dir: tempfile::TempDir,
}

impl Sweep {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("spec.toml"), SPEC).unwrap();
        Self { dir }
    }

    fn command(&self, data: &Path, out: &str, extra: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("sweep")
            .arg(self.dir.path().join("spec.toml"))
            .arg("--out")
            .arg(self.dir.path().join(out))
            .args(extra)
            .env("SECUREFL_DATA", data)
            .env("SECUREFL_OFFLINE", "1");
        cmd
    }

    fn run(&self, data: &Path, out: &str, extra: &[&str]) -> String {
        self.run_both(data, out, extra).0
    }

    /// Runs to success; stdout and stderr.
    fn run_both(&self, data: &Path, out: &str, extra: &[&str]) -> (String, String) {
        let o = self.command(data, out, extra).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{stderr}");
        (String::from_utf8_lossy(&o.stdout).into_owned(), stderr)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The merged tables without their timing columns.
    fn tables(&self, out: &str) -> Vec<String> {
        tables(&self.path(out))
    }
}

const TABLES: [&str; 6] = [
    "cells",
    "rounds",
    "clients",
    "classes",
    "detection",
    "summary",
];

/// A sweep folder's merged tables, without their timing columns: the CSVs, then their
/// Parquet copies written back as CSV by Polars.
pub(crate) fn tables(out: &Path) -> Vec<String> {
    let csv = TABLES.map(|t| std::fs::read_to_string(out.join(format!("{t}.csv"))).unwrap());
    let parquet = TABLES.map(|t| parquet_as_csv(&out.join(format!("{t}.parquet"))));
    csv.iter()
        .chain(&parquet)
        .map(|t| without_timing(t))
        .collect()
}

/// A Parquet table read back and written as CSV by Polars.
fn parquet_as_csv(path: &Path) -> String {
    use polars::prelude::{CsvWriter, SerWriter as _};
    let mut frame = read_parquet(path);
    let mut bytes = Vec::new();
    CsvWriter::new(&mut bytes).finish(&mut frame).unwrap();
    String::from_utf8(bytes).unwrap()
}

fn read_parquet(path: &Path) -> polars::prelude::DataFrame {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    securefl_sweep::parquet::read(&bytes).unwrap()
}

/// The Parquet copy of `rounds.csv` has its rows and typed columns, with the CSV's exact values.
fn assert_parquet_matches_csv(out: &Path) {
    use polars::prelude::DataType;
    let csv = std::fs::read_to_string(out.join("rounds.csv")).unwrap();
    let frame = read_parquet(&out.join("rounds.parquet"));
    assert_eq!(frame.height(), csv.lines().count() - 1);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == "test_accuracy").unwrap();
    let want: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(at).unwrap().parse().unwrap())
        .collect();
    let acc = frame.column("test_accuracy").unwrap();
    assert_eq!(acc.dtype(), &DataType::Float64);
    let got: Vec<f64> = acc.f64().unwrap().into_no_null_iter().collect();
    assert_eq!(got, want, "bit-exact values");
    assert_eq!(frame.column("round").unwrap().dtype(), &DataType::Int64);
    assert_eq!(frame.column("seed").unwrap().dtype(), &DataType::Int64);
    let flags = frame.column("plaintext_updates").unwrap();
    assert_eq!(flags.dtype(), &DataType::Boolean);
    let clients = read_parquet(&out.join("clients.parquet"));
    assert_eq!(
        clients.column("verdict").unwrap().dtype(),
        &DataType::String
    );
}

#[test]
fn a_sweep_runs_every_cell_once_and_a_second_run_is_a_no_op() {
    let Some(real) = real_data_dir() else { return };
    let s = Sweep::new();
    let (stdout, stderr) = s.run_both(&real, "a", &["--workers", "2"]);
    assert!(stdout.contains("4 of 4 cells done, 0 failed"), "{stdout}");
    // Not a terminal: one line per finished cell, and the status file says all are done.
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(" done in ")).collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(
        lines.iter().any(|l| l.starts_with("[4/4] cell ")),
        "{stderr}"
    );
    let status = std::fs::read_to_string(s.path("a/status.toml")).unwrap();
    assert!(
        status.contains("cells = 4\ndone = 4\nfailed = 0\nrunning = []"),
        "{status}"
    );
    let cells = std::fs::read_to_string(s.path("a/cells.csv")).unwrap();
    assert_eq!(
        cells.lines().next(),
        Some(
            "cell,index,grid,status,error,defense,seed,threat_smpc,threat_consensus,threat_attacker,threat_plaintext"
        )
    );
    assert!(
        cells.contains(",median,1,plaintext,trusted,own,true"),
        "{cells}"
    );
    let summary = std::fs::read_to_string(s.path("a/summary.csv")).unwrap();
    assert!(
        summary.starts_with("group,defense,threat_smpc,"),
        "{summary}"
    );
    let acc = summary.lines().filter(|l| l.contains(",test_accuracy,2,"));
    assert_eq!(
        acc.count(),
        2,
        "one accuracy row per defense, over both seeds: {summary}"
    );
    assert_eq!(cells.matches(",done,,").count(), 4, "{cells}");
    let rounds = std::fs::read_to_string(s.path("a/rounds.csv")).unwrap();
    assert_eq!(
        rounds.lines().count(),
        1 + 4 * 3,
        "three rows (rounds 0-2) per cell"
    );
    for line in cells.lines().skip(1) {
        let id = line.split(',').next().unwrap();
        assert_eq!(rounds.matches(&format!("{id},")).count(), 3, "{id}");
    }
    assert_parquet_matches_csv(&s.path("a"));
    let first = s.tables("a");
    let stamp = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let run_dir = s
        .path("a/cells")
        .join(cells.lines().nth(1).unwrap().split(',').next().unwrap());
    let before = stamp(&run_dir.join("manifest.toml"));
    let again = s.run(&real, "a", &[]);
    assert!(
        again.contains("nothing to do: all 4 cells done")
            && again.contains("next: securefl report"),
        "{again}"
    );
    assert_eq!(
        stamp(&run_dir.join("manifest.toml")),
        before,
        "finished cells are skipped"
    );
    assert_eq!(s.tables("a"), first);
}

#[test]
fn a_sweep_killed_midway_resumes_to_the_tables_of_an_uninterrupted_one() {
    let Some(real) = real_data_dir() else { return };
    let s = Sweep::new();
    s.run(&real, "whole", &["--workers", "1"]);
    let mut child = s
        .command(&real, "killed", &["--workers", "1"])
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill the sweep and its running cell once one cell has finished and the next has begun.
    let cells = s.path("killed/cells");
    wait_for(|| {
        count(&cells, |n| n.len() == 16) >= 1 && count(&cells, |n| n.ends_with(".partial")) >= 1
    });
    // SIGKILL to the sweep's process group: the sweep and its running cell die at once.
    signal_group(child.id(), "-9");
    child.wait().unwrap();
    assert!(
        count(&cells, |n| n.len() == 16) < 4,
        "the sweep was killed before it ended"
    );
    s.run(&real, "killed", &["--workers", "1"]);
    assert_eq!(s.tables("killed"), s.tables("whole"));
}

/// Polls `ready` every 50 ms, for at most five minutes.
fn wait_for(ready: impl Fn() -> bool) {
    let t0 = Instant::now();
    while !ready() && t0.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `signal` (`-9`, `-INT`) to the process group led by `leader`.
fn signal_group(leader: u32, signal: &str) {
    let group = format!("kill {signal} -{leader}");
    let status = Command::new("sh").args(["-c", &group]).status().unwrap();
    assert!(status.success(), "{group}");
}

#[test]
fn ctrl_c_says_how_far_the_sweep_got_and_how_to_resume() {
    let Some(real) = real_data_dir() else { return };
    let s = Sweep::new();
    let child = s
        .command(&real, "stopped", &["--workers", "1"])
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let cells = s.path("stopped/cells");
    wait_for(|| count(&cells, |n| n.ends_with(".partial")) >= 1);
    // SIGINT to the sweep's process group, as a terminal's Ctrl-C sends it.
    signal_group(child.id(), "-INT");
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted: ")
            && stderr.contains(" of 4 cells done; run the same command to resume"),
        "{stderr}"
    );
}

#[test]
fn shards_merged_by_collect_equal_a_single_run() {
    let Some(real) = real_data_dir() else { return };
    let s = Sweep::new();
    s.run(&real, "single", &["--workers", "2"]);
    let shard0 = s.run(&real, "sharded", &["--shard", "0/2"]);
    assert!(shard0.contains("2 of 2 cells done"), "{shard0}");
    assert!(
        !s.path("sharded/rounds.csv").exists(),
        "shards leave merging to collect"
    );
    s.run(&real, "sharded", &["--shard", "1/2"]);
    let o = Command::new(BIN)
        .arg("collect")
        .arg(s.path("spec.toml"))
        .arg("--out")
        .arg(s.path("sharded"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(s.tables("sharded"), s.tables("single"));
}

#[test]
fn a_profile_narrows_the_grid_and_a_bad_cell_refuses_the_sweep() {
    let Some(real) = real_data_dir() else { return };
    let s = Sweep::new();
    let stdout = s.run(&real, "one", &["--profile", "one"]);
    assert!(stdout.contains("1 of 1 cells done"), "{stdout}");
    let bad = SPEC.replace("{ kind = \"median\" }", "{ kind = \"krum\", f = 1 }");
    std::fs::write(s.path("spec.toml"), bad).unwrap();
    let o = s.command(&real, "bad", &[]).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("krum") && stderr.contains("(cell "),
        "{stderr}"
    );
    assert!(
        stderr.contains("defense = { kind = \"krum\", f = 1 }, seed = 1"),
        "{stderr}"
    );
    // A typo in the base names the spec's own line, and nothing is written.
    let typo = SPEC.replace("adversary = { fraction", "adversary = { fraktion");
    std::fs::write(s.path("spec.toml"), typo).unwrap();
    let o = s.command(&real, "typo", &[]).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("spec.toml:11: ") && stderr.contains("unknown field `fraktion`"),
        "{stderr}"
    );
    assert!(
        !s.path("typo").exists(),
        "a refused sweep wrote its output folder"
    );
}

fn count(dir: &Path, keep: impl Fn(&str) -> bool) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir() && keep(&e.file_name().to_string_lossy()))
            .count()
    })
}

#[test]
fn a_sweep_chooses_the_backend_per_cell() {
    let Some(real) = real_data_dir() else { return };
    let s = Sweep::new();
    let spec = SPEC.replace(
        "defense = [{ kind = \"fedavg\" }, { kind = \"median\" }]\nseed = [1, 2]",
        "backend = [{ kind = \"dfdx\" }, { kind = \"burn\" }]",
    );
    std::fs::write(s.path("spec.toml"), spec).unwrap();
    s.run(&real, "backends", &[]);
    let cells = std::fs::read_to_string(s.path("backends/cells.csv")).unwrap();
    let mut names = Vec::new();
    for line in cells.lines().skip(1) {
        let id = line.split(',').next().unwrap();
        let manifest =
            std::fs::read_to_string(s.path("backends/cells").join(id).join("manifest.toml"))
                .unwrap();
        let backend = manifest
            .split("kind = \"backend\"\nname = \"")
            .nth(1)
            .unwrap();
        names.push(backend.split('"').next().unwrap().to_owned());
    }
    assert_eq!(names, ["dfdx", "burn"], "{cells}");
}

/// The profiles a spec names, `None` (the default) first.
fn profiles_of(spec: &Path) -> Vec<Option<String>> {
    let text = std::fs::read_to_string(spec).unwrap();
    let table: toml::Table = text.parse().unwrap();
    let named = table
        .get("profiles")
        .and_then(toml::Value::as_table)
        .map(|p| p.keys().cloned().map(Some).collect::<Vec<_>>())
        .unwrap_or_default();
    std::iter::once(None).chain(named).collect()
}

#[test]
fn every_study_spec_and_profile_expands_to_cells_that_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../paper/sweeps");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    specs.sort();
    assert!(specs.len() >= 4, "{specs:?}");
    for spec in &specs {
        for profile in profiles_of(spec) {
            let out = tempfile::tempdir().unwrap();
            // `--slurm` with no `sbatch` on the PATH writes the array script after checking that
            // every cell's config parses, and runs nothing.
            let mut cmd = Command::new(BIN);
            cmd.arg("sweep")
                .arg(spec)
                .args(profile.iter().flat_map(|p| ["--profile", p.as_str()]))
                .arg("--slurm")
                .arg("--out")
                .arg(out.path())
                .env("PATH", "/nonexistent");
            let o = cmd.output().unwrap();
            let what = format!("{} {profile:?}", spec.display());
            assert!(
                o.status.success(),
                "{what}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let cells = std::fs::read_dir(out.path().join("cells")).unwrap().count();
            assert!(cells > 0, "{what}: no cells");
        }
    }
}
