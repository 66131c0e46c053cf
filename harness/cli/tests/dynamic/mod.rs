//! Dynamic plugins end to end: the template attack crate is built as a real `cdylib` (and a
//! second time for the next ABI major), checked, loaded by path from a config and run; a
//! mismatched or panicking plugin fails with one line and never takes the process down.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{Case, assert_input_error, real_data_dir, securefl, tiny_config};

/// The template plugins: the attack built for this ABI and for the next major, and the defense.
struct Fixtures {
    current: PathBuf,
    next_major: PathBuf,
    defense: PathBuf,
}

/// Builds both fixtures once per test process, with the cargo that runs the tests, in a target
/// folder of their own (the test's own target folder is locked while tests build).
fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-fixtures");
        Fixtures {
            current: build(&dir, "attack", &[], "free-rider"),
            next_major: build(
                &dir,
                "attack",
                &["--features", "abi-major-bump"],
                "next-abi",
            ),
            defense: build(&dir, "defense", &[], "rfa"),
        }
    })
}

fn build(target: &Path, kind: &str, extra: &[&str], name: &str) -> PathBuf {
    let package = format!("securefl-template-{kind}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", &package, "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target)
        .args(extra)
        .status()
        .unwrap();
    assert!(status.success(), "building the template plugin failed");
    let lib = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        package.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    );
    let copy = target.join(format!("{name}{}", std::env::consts::DLL_SUFFIX));
    std::fs::copy(target.join("debug").join(lib), &copy).unwrap();
    copy
}

fn check(lib: &Path) -> std::process::Output {
    let none = Path::new("/nonexistent");
    securefl(&["plugin", "check", lib.to_str().unwrap()], none, none)
}

/// A two-hospital config whose malicious hospital runs the template attack from `library`.
fn config(library: &Path, attack_params: &str) -> String {
    format!(
        "{}\n[adversary]\nfraction = 0.5\n\n[attack]\nkind = \"free-rider\"\nlibrary = \"{}\"\n{attack_params}\n",
        tiny_config(2, 2),
        library.display()
    )
}

#[test]
fn plugin_check_prints_the_abi_verdict_and_the_manifest() {
    let out = check(&fixtures().current);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("abi       1.0, compatible"), "{stdout}");
    assert!(stdout.contains("kind      attack"), "{stdout}");
    assert!(stdout.contains("name      free-rider"), "{stdout}");
    assert!(stdout.contains("citation  Fraboni et al."), "{stdout}");
}

#[test]
fn a_plugin_built_for_another_abi_major_is_refused() {
    let lib = &fixtures().next_major;
    assert_input_error(
        &check(lib),
        "plugin ABI 2.0 is incompatible with this securefl (ABI 1.0)",
    );
    let case = Case::new(&config(lib, "mode = \"plain\""));
    let out = case.run(Path::new("/nonexistent"));
    assert_input_error(&out, "exp.toml:");
    assert_input_error(&out, "[attack] `library`: ");
    assert_input_error(&out, "incompatible");
    case.assert_no_run_folder();
}

#[test]
fn a_library_that_is_not_a_plugin_or_of_another_kind_is_refused() {
    let none = Path::new("/nonexistent");
    assert_input_error(&check(Path::new(super::BIN)), "cannot open the library");
    let missing = Case::new(&config(Path::new("no-such.so"), "mode = \"plain\""));
    assert_input_error(&missing.run(none), "no-such.so");
    let mut wrong_kind = config(&fixtures().current, "mode = \"plain\"");
    wrong_kind = wrong_kind.replace("[attack]", "[defense]");
    let case = Case::new(&wrong_kind);
    assert_input_error(
        &case.run(none),
        "is a `attack` plugin, not a `defense` plugin",
    );
}

#[test]
fn plugin_parameters_and_names_are_checked_like_built_ins() {
    let none = Path::new("/nonexistent");
    let lib = &fixtures().current;
    let case = Case::new(&config(lib, "mode = \"plain\"\nsigma = -1.0"));
    assert_input_error(&case.run(none), "[attack] `sigma`: must be a finite number");
    let case = Case::new(&config(lib, "mode = \"plain\"\nspeed = 2"));
    assert_input_error(&case.run(none), "unknown field `speed`");
    let renamed = config(lib, "mode = \"plain\"").replace("\"free-rider\"", "\"sign-flip\"");
    let case = Case::new(&renamed);
    assert_input_error(
        &case.run(none),
        "the library's attack is `free-rider`, not `sign-flip`",
    );
}

#[test]
fn a_dynamic_attack_runs_an_experiment_like_a_built_in_one() {
    let Some(real) = real_data_dir() else { return };
    let lib = &fixtures().current;
    // Relative to the config file, as a sweep spec would write it.
    let case = Case::new(&config(Path::new("free-rider.so"), "mode = \"plain\""));
    std::fs::copy(lib, case.path("free-rider.so")).unwrap();
    let out = case.run(&real);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = std::fs::read_to_string(case.path("out/manifest.toml")).unwrap();
    let sha = sha256_line(&check(lib));
    assert!(manifest.contains("name = \"free-rider\""), "{manifest}");
    assert!(
        manifest.contains(&format!("library_sha256 = \"{sha}\"")),
        "{manifest}"
    );
    let clients = std::fs::read_to_string(case.path("out/clients.csv")).unwrap();
    let rows: Vec<Vec<&str>> = clients
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 4, "{clients}");
    for row in rows {
        // round,hospital,malicious,samples,train_loss,update_norm,…
        let norm: f64 = row[5].parse().unwrap();
        assert_eq!(
            row[2] == "true",
            norm == 0.0,
            "the free-rider submits zero: {row:?}"
        );
    }
}

#[test]
fn a_panicking_plugin_fails_its_run_not_the_process() {
    let Some(real) = real_data_dir() else { return };
    let case = Case::new(&config(
        &fixtures().current,
        "mode = \"plain\"\npanic-in-round = 2",
    ));
    let out = case.run(&real);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("plugin `free-rider`")
            && stderr.contains("panicked: free-rider: asked to panic in round 2 at "),
        "{stderr}"
    );
    assert!(!case.path("out").exists());
}

#[test]
fn a_dynamic_defense_aggregates_in_the_clear_with_n_a_verdicts() {
    let Some(real) = real_data_dir() else { return };
    let defense = format!(
        "\n[defense]\nkind = \"rfa\"\nlibrary = \"{}\"\niterations = 5\n",
        fixtures().defense.display()
    );
    let case = Case::new(&(config(&fixtures().current, "mode = \"plain\"") + &defense));
    let out = case.run(&real);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = std::fs::read_to_string(case.path("out/manifest.toml")).unwrap();
    let sha = sha256_line(&check(&fixtures().defense));
    assert!(
        manifest.contains(&format!("library_sha256 = \"{sha}\"")),
        "{manifest}"
    );
    let rounds = std::fs::read_to_string(case.path("out/rounds.csv")).unwrap();
    let column = rounds
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == "plaintext_updates")
        .unwrap();
    let last = rounds.lines().last().unwrap();
    assert_eq!(last.split(',').nth(column), Some("true"), "{rounds}");
    let clients = std::fs::read_to_string(case.path("out/clients.csv")).unwrap();
    assert!(
        clients.lines().skip(1).all(|l| l.contains(",n/a,")),
        "{clients}"
    );
}

fn sha256_line(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find(|l| l.starts_with("sha256")).unwrap();
    line.split_whitespace().nth(1).unwrap().to_owned()
}
