//! `cargo bench --bench sweeps [-- SPEC [PROFILE]]`: runs a named sweep end to end through the
//! `securefl` binary and writes its tables, a macro-benchmark of the whole pipeline.
//!
//! Defaults: `paper/sweeps/paper.toml`, profile `smoke`. The output goes to
//! `target/sweeps/<name>-<profile>/`, removed first so every bench run measures a complete
//! sweep; the wall time of the sweep and of each cell (`cells/*/manifest.toml` `wall_s`) is
//! printed. Data come from `$SECUREFL_DATA`, as for `securefl run`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let spec = args
        .first()
        .map_or_else(|| root.join("paper/sweeps/paper.toml"), PathBuf::from);
    let profile = args.get(1).map_or("smoke", String::as_str);
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let built = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "securefl-cli",
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"))
        .status()
        .expect("cargo runs");
    assert!(built.success(), "building securefl failed");
    let stem = spec
        .file_stem()
        .map_or("sweep".into(), |s| s.to_string_lossy().into_owned());
    let out = target.join("sweeps").join(format!("{stem}-{profile}"));
    if out.exists() {
        std::fs::remove_dir_all(&out).expect("the previous bench output can be removed");
    }
    let t0 = Instant::now();
    let status = Command::new(target.join("release/securefl"))
        .arg("sweep")
        .arg(&spec)
        .args(["--profile", profile, "--out"])
        .arg(&out)
        .status()
        .expect("securefl runs");
    let wall = t0.elapsed().as_secs_f64();
    assert!(
        status.success(),
        "the sweep failed; see {}",
        out.join("cells").display()
    );
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "sweep {} --profile {profile}: {wall:.1} s wall, tables in {}",
        spec.display(),
        out.display()
    );
    for (cell, secs) in cell_times(&out.join("cells")) {
        let _ = writeln!(stdout, "  cell {cell}: {secs:.1} s");
    }
}

/// `(cell id, wall_s)` of every finished cell, sorted by id.
fn cell_times(cells: &Path) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = std::fs::read_dir(cells)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path().join("manifest.toml")).ok()?;
            let secs = text
                .lines()
                .find_map(|l| l.strip_prefix("wall_s = "))?
                .parse()
                .ok()?;
            Some((e.file_name().to_string_lossy().into_owned(), secs))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
