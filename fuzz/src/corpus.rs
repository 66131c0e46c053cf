//! The seed inputs of each target, built the same way every time.
//!
//! - `ledger`: a run's ledger as the engine writes it (genesis, then verdict and aggregation
//!   blocks of three rounds; seeded keys, so the bytes are fixed).
//! - `npz`: MedMNIST-shaped archives from `write_npz` (train, val and test images and labels).
//! - `config`: every run config under `paper/configs`.
//! - `spec`: every sweep spec under `paper/sweeps`, and a small one that expands.

use std::path::Path;

use securefl_api::{ClientVerdict, CostRecord, Verdict};
use securefl_core::ledger::{self, Chain, Keyring};

use crate::targets::Target;

/// The seed inputs of `target`, in a fixed order.
pub fn corpus(target: Target) -> Result<Vec<Vec<u8>>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    match target {
        Target::Ledger => Ok(vec![ledger_bytes()]),
        Target::Npz => npz_files(),
        Target::Config => toml_files(&root.join("paper/configs")),
        Target::Spec => {
            let mut files = toml_files(&root.join("paper/sweeps"))?;
            files.push(SMALL_SPEC.as_bytes().to_vec());
            Ok(files)
        }
    }
}

const SMALL_SPEC: &str = r#"securefl-sweep = 1
name = "small"
base = "../configs/quickstart.toml"

[sweep]
seed = [1, 2]
defense = [{ kind = "fedavg" }, { kind = "krum", f = 1 }]
"attack+adversary.fraction" = [[{ kind = "none" }, 0.0], [{ kind = "sign-flip", scale = 4.0 }, 0.3]]

[profiles.quick]
base = { federation = { rounds = 2 } }

[run]
workers = 2
"#;

/// Every `.toml` file under `dir`, sorted by path.
fn toml_files(dir: &Path) -> Result<Vec<Vec<u8>>, String> {
    let mut paths = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for entry in entries {
            let p = entry.map_err(|e| format!("{}: {e}", d.display()))?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "toml") {
                paths.push(p);
            }
        }
    }
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display())))
        .collect()
}

fn npz_files() -> Result<Vec<Vec<u8>>, String> {
    [(4, 1), (2, 3)]
        .into_iter()
        .map(|(n, channels)| {
            let image: Vec<usize> = if channels == 1 {
                vec![n, 28, 28]
            } else {
                vec![n, 28, 28, channels]
            };
            let pixels: Vec<u8> = (0..image.iter().product::<usize>())
                .map(|i| (i * 37 % 251) as u8)
                .collect();
            let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
            let mut arrays = Vec::new();
            for split in ["train", "val", "test"] {
                arrays.push((format!("{split}_images"), image.clone(), pixels.clone()));
                arrays.push((format!("{split}_labels"), vec![n, 1], labels.clone()));
            }
            let refs: Vec<(&str, &[usize], &[u8])> = arrays
                .iter()
                .map(|(k, s, d)| (k.as_str(), s.as_slice(), d.as_slice()))
                .collect();
            securefl_datasets::npz::write_npz(&refs).map_err(|e| e.to_string())
        })
        .collect()
}

/// A three-round ledger of 3 hospitals and 4 validators, hospital 2 rejected, as `record.rs`
/// writes it.
fn ledger_bytes() -> Vec<u8> {
    let (hospitals, validators) = (3, 4);
    let mut chain = Chain::new(Keyring::derive(1, hospitals, validators), 3);
    let mut global = vec![0.25f32; 8];
    let mut blocks = vec![chain.genesis(&global)];
    for r in 1..=3u32 {
        let submitted: Vec<Vec<f32>> = (0..hospitals).map(|h| vec![h as f32; 8]).collect();
        let verdicts: Vec<ClientVerdict> = (0..hospitals)
            .map(|h| ClientVerdict {
                hospital: h,
                verdict: [Verdict::Accepted, Verdict::Rejected][usize::from(h == 2)],
                score: None,
                cost: CostRecord::default(),
            })
            .collect();
        let txs =
            ledger::verdict_transactions(r as usize, &submitted, &verdicts, &[], validators, &[3]);
        blocks.push(chain.seal(r, &txs, r % 4, &[0, 1, 2], u64::from(r) * 1000));
        global.iter_mut().for_each(|w| *w += 0.5);
        let txs = ledger::aggregation_transactions(r as usize, &[(0, 10), (1, 20)], &global);
        blocks.push(chain.seal(r, &txs, r % 4, &[0, 1, 2, 3], u64::from(r) * 1000 + 500));
    }
    let mut bytes = ledger::store::MAGIC.to_vec();
    for b in &blocks {
        let body = b.encode();
        bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&body);
    }
    bytes
}
