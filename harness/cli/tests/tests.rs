//! The `securefl` binary: bad input gives one line and exit code 2; a run writes a complete,
//! deterministic folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use securefl_datasets::testing::real_data_dir;

const BIN: &str = env!("CARGO_BIN_EXE_securefl");

mod dynamic;
mod report;
mod slurm;
mod sweep;

fn tiny_config(hospitals: usize, rounds: usize) -> String {
    format!(
        "securefl = 1\nseed = 3\n\n[federation]\nhospitals = {hospitals}\nrounds = {rounds}\n\n\
         [dataset]\nkind = \"medmnist\"\nflag = \"pneumoniamnist\"\n\n[model]\narch = \"paper-cnn\"\n\n\
         [train]\nlocal-epochs = 1\nbatch-size = 64\noptimizer = {{ kind = \"adam\", lr = 0.001 }}\n"
    )
}

/// Runs `securefl` with only the given data environment.
fn securefl(args: &[&str], data: &Path, cache: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .env("SECUREFL_DATA", data)
        .env("SECUREFL_CACHE", cache)
        .env("SECUREFL_OFFLINE", "1")
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

/// Asserts a failure with exit code 2 and exactly one stderr line containing `want`.
fn assert_input_error(out: &Output, want: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line, got: {stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(want),
        "{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("exp.toml"), config).unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::fs::create_dir(dir.path().join("cache")).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, data: &Path) -> Output {
        let (cfg, out) = (self.path("exp.toml"), self.path("out"));
        securefl(
            &["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()],
            data,
            &self.path("cache"),
        )
    }

    fn assert_no_run_folder(&self) {
        assert!(!self.path("out").exists() && !self.path("out.partial").exists());
    }
}

#[test]
fn unknown_key_is_refused_with_its_line() {
    let case = Case::new(&tiny_config(2, 1).replace("seed = 3", "seed = 3\nrouns = 4"));
    let out = case.run(&case.path("data"));
    assert_input_error(&out, "exp.toml:3: unknown field `rouns`");
    case.assert_no_run_folder();
}

#[test]
fn unknown_plugin_is_refused() {
    let case = Case::new(&format!(
        "{}\n[defense]\nkind = \"krumm\"\n",
        tiny_config(2, 1)
    ));
    let out = case.run(&case.path("data"));
    assert_input_error(&out, "[defense] `kind`: unknown defense plugin `krumm`");
    case.assert_no_run_folder();
}

#[test]
fn missing_dataset_says_which_file_to_put_where() {
    let case = Case::new(&tiny_config(2, 1));
    let out = case.run(&case.path("data"));
    assert_input_error(&out, "pneumoniamnist.npz");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&case.path("data").display().to_string()),
        "{stderr}"
    );
    case.assert_no_run_folder();
}

#[test]
fn corrupt_dataset_is_refused_by_md5() {
    let Some(real) = real_data_dir() else { return };
    let case = Case::new(&tiny_config(2, 1));
    let mut bytes = std::fs::read(real.join("pneumoniamnist.npz")).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(case.path("data/pneumoniamnist.npz"), &bytes).unwrap();
    let out = case.run(&case.path("data"));
    assert_input_error(&out, "md5");
    case.assert_no_run_folder();
}

#[test]
fn impossible_partition_is_refused() {
    let Some(real) = real_data_dir() else { return };
    let case =
        Case::new(&tiny_config(3, 1).replace("rounds = 1", "rounds = 1\nmin-samples = 4000"));
    let out = case.run(&real);
    assert_input_error(&out, "4000");
    case.assert_no_run_folder();
}

#[test]
fn a_run_writes_a_complete_folder_and_repeats_exactly() {
    let Some(real) = real_data_dir() else { return };
    let case = Case::new(&tiny_config(2, 2));
    let first = case.run(&real);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = case.path("out");
    for file in [
        "manifest.toml",
        "rounds.csv",
        "clients.csv",
        "classes.csv",
        "global_model.f32",
    ] {
        assert!(out.join(file).exists(), "{file} missing");
    }
    let manifest = std::fs::read_to_string(out.join("manifest.toml")).unwrap();
    assert!(
        manifest.starts_with("[run]\nstatus = \"complete\""),
        "{manifest}"
    );
    assert!(manifest.contains("md5 = \"28209eda62fecd6e6a2d98b1501bb15f\""));
    let rounds_a = without_timing(&std::fs::read_to_string(out.join("rounds.csv")).unwrap());
    let clients_a = without_timing(&std::fs::read_to_string(out.join("clients.csv")).unwrap());
    let second = case.run(&real);
    assert!(second.status.success());
    assert_eq!(
        rounds_a,
        without_timing(&std::fs::read_to_string(out.join("rounds.csv")).unwrap())
    );
    assert_eq!(
        clients_a,
        without_timing(&std::fs::read_to_string(out.join("clients.csv")).unwrap())
    );
}

#[test]
fn a_pbft_run_ledger_verifies_and_a_tampered_copy_does_not() {
    let Some(real) = real_data_dir() else { return };
    let config = format!("{}\n[consensus]\nkind = \"pbft\"\n", tiny_config(4, 1));
    let case = Case::new(&config);
    let run = case.run(&real);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = case.path("out");
    let cache = case.path("cache");
    let verify = |dir: &Path| securefl(&["ledger", "verify", dir.to_str().unwrap()], &real, &cache);
    let ok = verify(&out);
    let said = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success() && said.starts_with("ledger sound: 3 blocks"),
        "{said}"
    );
    let rounds = std::fs::read_to_string(out.join("rounds.csv")).unwrap();
    assert!(rounds.contains("pre-prepare:"), "{rounds}");
    // The manifest anchors the chain: a wrong tip there is refused too.
    let manifest = out.join("manifest.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("[ledger]\nblocks = 3\n"), "{text}");
    std::fs::write(&manifest, text.replace("\ntip = \"", "\ntip = \"00")).unwrap();
    let anchored = verify(&out);
    let stderr = String::from_utf8_lossy(&anchored.stderr);
    assert!(
        stderr.contains("manifest.toml: [ledger] records 3 blocks"),
        "{stderr}"
    );
    std::fs::write(&manifest, &text).unwrap();
    // One flipped byte in the middle of the ledger: exit 1, one line naming the block.
    let ledger = out.join("ledger.bin");
    let mut bytes = std::fs::read(&ledger).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&ledger, &bytes).unwrap();
    let bad = verify(&out);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("block "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    bytes[mid] ^= 0x40;
    std::fs::write(&ledger, &bytes).unwrap();
    // The pins: a wrong genesis is refused; the right tip stands in for a lost manifest.
    let (genesis, tip) = (anchor_of(&text, "genesis"), anchor_of(&text, "tip"));
    let pinned = |flag: &str, hash: &str| {
        let args = ["ledger", "verify", out.to_str().unwrap(), flag, hash];
        securefl(&args, &real, &cache)
    };
    let wrong = pinned("--genesis", &tip);
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains(&format!("the genesis block is {genesis}")),
        "{stderr}"
    );
    // The forgery: cut the chain at a block boundary, delete the manifest and the final model.
    std::fs::remove_file(&manifest).unwrap();
    std::fs::remove_file(out.join("global_model.f32")).unwrap();
    assert!(pinned("--tip", &tip).status.success());
    let records = securefl_core::ledger::store::read(&ledger).unwrap();
    std::fs::write(&ledger, &bytes[..records[2].0]).unwrap();
    // The round table still lists round 1 as final; without it, nothing says where the chain ends.
    let stderr = String::from_utf8_lossy(&verify(&out).stderr).into_owned();
    assert!(
        stderr.contains("rounds.csv: round 1 is final here"),
        "{stderr}"
    );
    std::fs::remove_file(out.join("rounds.csv")).unwrap();
    let cut = verify(&out);
    let stderr = String::from_utf8_lossy(&cut.stderr);
    assert_eq!(cut.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no manifest.toml: cannot tell where the chain ends"),
        "{stderr}"
    );
    let stderr = String::from_utf8_lossy(&pinned("--tip", &tip).stderr).into_owned();
    assert!(stderr.contains("the last block is"), "{stderr}");
}

/// The `[ledger]` hash `key` of a manifest's text.
fn anchor_of(manifest: &str, key: &str) -> String {
    let at = manifest.find(&format!("\n{key} = \"")).unwrap() + key.len() + 5;
    manifest[at..at + 64].to_owned()
}

#[test]
fn an_existing_folder_that_is_not_a_run_is_never_replaced() {
    let case = Case::new(&tiny_config(2, 1));
    std::fs::create_dir(case.path("out")).unwrap();
    std::fs::write(case.path("out/notes.txt"), b"mine").unwrap();
    let out = case.run(&case.path("data"));
    assert_input_error(&out, "is not a securefl run folder");
    assert!(case.path("out/notes.txt").exists());
}

#[test]
fn verification_without_encrypted_inference_is_refused() {
    let config = format!(
        "{}\n[defense]\nkind = \"smpc-verify\"\n\n[smpc]\nkind = \"shamir\"\n",
        tiny_config(3, 1)
    );
    let case = Case::new(&config);
    let out = case.run(&case.path("data"));
    assert_input_error(
        &out,
        "[smpc] `kind`: defense `smpc-verify` needs an SMPC protocol with encrypted inference",
    );
    case.assert_no_run_folder();
}

#[test]
fn list_shows_every_kind_with_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = securefl(&["list"], dir.path(), dir.path());
    let text = String::from_utf8(out.stdout).unwrap();
    for (kind, name) in [
        ("backend", "dfdx"),
        ("backend", "burn"),
        ("dataset", "medmnist"),
        ("partition", "dirichlet"),
        ("attack", "none"),
        ("defense", "fedavg"),
        ("defense", "smpc-verify"),
        ("smpc", "none"),
        ("smpc", "additive-2pc"),
        ("smpc", "replicated-3pc"),
        ("smpc", "shamir"),
        ("consensus", "none"),
    ] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().take(2).eq([kind, name])),
            "{kind} {name} missing:\n{text}"
        );
    }
}

/// The CSV without its `_s` (wall-clock) columns.
fn without_timing(csv: &str) -> String {
    securefl_core::records::without_timing(csv)
}
