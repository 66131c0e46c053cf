//! The run folder: result tables written atomically, completed by a final rename.
//!
//! A run writes into `OUT.partial/`; every file there is replaced atomically (write to a
//! temporary file, then rename) after each round. Only when the run succeeds are the manifest
//! (with `status = "complete"`) and the final model written and the folder renamed to `OUT`.
//! A killed or failed run therefore never leaves a folder that looks complete.
//!
//! An existing `OUT` is replaced only when it is itself a securefl run folder (it holds a
//! `manifest.toml`); it is first renamed aside to `OUT.old`, so a crash during the swap loses
//! nothing. Any other existing `OUT` is refused before the run starts.

use std::fs;
use std::path::{Path, PathBuf};

use crate::RunError;
use crate::detection::{Detection, detection_csv};
use securefl_api::TxKind;

use crate::ledger::{self, Block};
use crate::observer::Observer;
use crate::records::{self, ClientRow, RoundRow};

/// Writes one run's folder.
pub struct RunDir {
    out: PathBuf,
    partial: PathBuf,
    class_names: Vec<String>,
    rounds: Vec<RoundRow>,
    clients: Vec<ClientRow>,
}

impl RunDir {
    /// Starts `OUT.partial/`, removing a stale one left by a killed run.
    pub fn create(out: &Path, class_names: Vec<String>) -> Result<Self, RunError> {
        check_out(out)?;
        let partial = partial_path(out);
        if partial.exists() {
            fs::remove_dir_all(&partial).map_err(|e| RunError::io(&partial, e))?;
        }
        fs::create_dir_all(&partial).map_err(|e| RunError::io(&partial, e))?;
        Ok(Self {
            out: out.to_owned(),
            partial,
            class_names,
            rounds: Vec::new(),
            clients: Vec::new(),
        })
    }

    /// The folder being written.
    pub fn partial(&self) -> &Path {
        &self.partial
    }

    /// Writes `name` inside the partial folder, atomically.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), RunError> {
        write_atomic(&self.partial.join(name), bytes)
    }

    /// Writes the manifest and the final model, then renames the folder into place.
    pub fn finish(self, manifest: &str, global: &[f32]) -> Result<PathBuf, RunError> {
        let model = securefl_api::model::weights_to_bytes(global);
        self.write("global_model.f32", &model)?;
        self.write("manifest.toml", manifest.as_bytes())?;
        check_out(&self.out)?;
        let old = securefl_results::io::sibling(&self.out, ".old");
        if old.exists() {
            fs::remove_dir_all(&old).map_err(|e| RunError::io(&old, e))?;
        }
        if self.out.exists() {
            fs::rename(&self.out, &old).map_err(|e| RunError::io(&old, e))?;
        }
        fs::rename(&self.partial, &self.out).map_err(|e| RunError::io(&self.out, e))?;
        if old.exists() {
            fs::remove_dir_all(&old).map_err(|e| RunError::io(&old, e))?;
        }
        Ok(self.out)
    }
}

impl Observer for RunDir {
    fn block_finalized(&mut self, block: &Block, global: &[f32]) -> Result<(), RunError> {
        // A block that records a global model comes with the model's file.
        if block.txs.iter().any(|t| t.tx.kind == TxKind::GlobalModel) {
            let model = self.partial.join(ledger::model_file(block.header.round));
            if let Some(dir) = model.parent() {
                fs::create_dir_all(dir).map_err(|e| RunError::io(dir, e))?;
            }
            write_atomic(&model, &securefl_api::model::weights_to_bytes(global))?;
        }
        let path = self.partial.join(ledger::store::FILE);
        ledger::store::append(&path, block).map_err(|e| RunError::io(&path, e))
    }

    fn round_finished(&mut self, round: &RoundRow, clients: &[ClientRow]) -> Result<(), RunError> {
        self.rounds.push(round.clone());
        self.clients.extend_from_slice(clients);
        self.write("rounds.csv", records::rounds_csv(&self.rounds).as_bytes())?;
        self.write(
            "clients.csv",
            records::clients_csv(&self.clients).as_bytes(),
        )?;
        self.write(
            "classes.csv",
            records::classes_csv(&self.rounds, &self.class_names).as_bytes(),
        )?;
        let detection = Detection::of(&self.clients, &self.rounds);
        self.write("detection.csv", detection_csv(&detection).as_bytes())
    }
}

/// Fails unless `out` is absent or a securefl run folder (which a new run may replace).
pub fn check_out(out: &Path) -> Result<(), RunError> {
    if out.file_name().is_none() {
        return Err(RunError::Output(format!(
            "{}: not a folder name",
            out.display()
        )));
    }
    if !out.exists() || out.join("manifest.toml").is_file() {
        return Ok(());
    }
    Err(RunError::Output(format!(
        "{} exists and is not a securefl run folder (no manifest.toml); refusing to replace it: \
         choose another --out or remove it",
        out.display()
    )))
}

/// Where a run writes until it completes: `OUT.partial` (the result contract's).
pub fn partial_path(out: &Path) -> PathBuf {
    securefl_results::partial_path(out)
}

/// Writes `path` through a temporary sibling and a rename, so readers see old or new, never half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    securefl_results::write_atomic(path, bytes).map_err(|e| RunError::io(&e.path, e.source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_finished_run_has_the_final_name() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let rd = RunDir::create(&out, vec!["a".into()]).unwrap();
        rd.write("rounds.csv", b"round\n").unwrap();
        assert!(!out.exists() && dir.path().join("run.partial/rounds.csv").exists());
        let done = rd.finish("status = \"complete\"\n", &[1.0]).unwrap();
        assert_eq!(done, out);
        assert!(out.join("manifest.toml").exists() && !dir.path().join("run.partial").exists());
        assert_eq!(
            fs::read(out.join("global_model.f32")).unwrap(),
            1.0f32.to_le_bytes()
        ); // A second run replaces the first one, and nothing else is left behind.
        let rd = RunDir::create(&out, vec!["a".into()]).unwrap();
        rd.finish("status = \"complete\"\n", &[2.0]).unwrap();
        assert_eq!(
            fs::read(out.join("global_model.f32")).unwrap(),
            2.0f32.to_le_bytes()
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["run"]);
    }

    #[test]
    fn a_folder_that_is_not_a_run_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("mine");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("keep.txt"), b"data").unwrap();
        let err = RunDir::create(&out, vec![]).err().unwrap();
        assert!(
            err.to_string().contains("is not a securefl run folder"),
            "{err}"
        );
        assert!(out.join("keep.txt").exists());
    }
}
