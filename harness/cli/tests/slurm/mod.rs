//! `securefl sweep --slurm` on a real single-node Slurm cluster: `.ci/slurm/up.sh` installs
//! and starts slurmctld, slurmd and munge, a 2-task job array runs the sweep's shards, and the
//! merged tables equal a single-machine run's (timing columns aside); `.ci/slurm/down.sh` then
//! stops exactly the daemons up.sh started, by PID, even when the test fails.
//!
//! It needs root and Debian packages, so it runs when `SECUREFL_SLURM_TEST=1`, which `.ci/run`
//! sets; under `CI=true` without real data it fails like every real-data test.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::sweep::{SPEC, tables};
use super::{BIN, real_data_dir};

/// The cluster this test started; stopped on drop.
struct Cluster {
    pids: PathBuf,
}

impl Cluster {
    fn up(dir: &Path) -> Self {
        let pids = dir.join("slurm.pids");
        let cluster = Self { pids };
        let ok = Command::new("bash")
            .arg(ci("up.sh"))
            .arg(&cluster.pids)
            .status()
            .unwrap()
            .success();
        assert!(ok, "starting the single-node Slurm cluster failed");
        cluster
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(ci("down.sh"))
            .arg(&self.pids)
            .status();
    }
}

fn ci(script: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.ci/slurm")
        .join(script)
}

#[test]
fn a_slurm_job_array_gives_the_tables_of_a_single_machine_run() {
    if std::env::var("SECUREFL_SLURM_TEST").as_deref() != Ok("1") {
        return;
    }
    let Some(real) = real_data_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let sweep = |out: &str, extra: &[&str]| {
        let o = Command::new(BIN)
            .arg("sweep")
            .arg(&spec)
            .arg("--out")
            .arg(dir.path().join(out))
            .args(extra)
            .env("SECUREFL_DATA", &real)
            .env("SECUREFL_OFFLINE", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        stdout
    };
    sweep("local", &["--workers", "2"]);
    let cluster = Cluster::up(dir.path());
    let stdout = sweep("slurm", &["--slurm", "--tasks", "2", "--wait"]);
    assert!(
        stdout.contains("submitted job array") && stdout.contains("(2 tasks, 4 cells)"),
        "{stdout}"
    );
    let logs = std::fs::read_dir(dir.path().join("slurm/slurm"))
        .unwrap()
        .count();
    assert_eq!(logs, 2, "one log per array task");
    assert_eq!(
        tables(&dir.path().join("slurm")),
        tables(&dir.path().join("local"))
    );
    drop(cluster);
}
