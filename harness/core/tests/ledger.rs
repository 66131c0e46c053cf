//! The ledger: a written chain verifies against its manifest; every changed byte of
//! `ledger.bin` or of a model file, every cut at a block boundary (with the manifest or
//! without), a chain re-signed with other keys, a block under its quorum and a block whose
//! content contradicts its verdicts are each refused, naming the problem.

use std::fs;
use std::path::Path;

use securefl_api::{ClientVerdict, CostRecord, Transaction, Verdict};
use securefl_core::ledger::block::{Block, Header, SignedTx, merkle_root};
use securefl_core::ledger::keys::Role;
use securefl_core::ledger::{self, Anchor, Chain, Keyring, model_file, store, verify_run};

/// A small run's ledger: 3 hospitals, `validators` validators, hospital 2 rejected by every
/// validator, each round block sealed by `sealers`.
struct Plan {
    rounds: u32,
    validators: usize,
    quorum: usize,
    sealers: Vec<usize>,
    /// The hospitals the aggregation records (default: the verdicts' majority, 0 and 1).
    averaged: Vec<usize>,
    keys_seed: u64,
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            rounds: 2,
            validators: 3,
            quorum: 2,
            sealers: vec![0, 1],
            averaged: vec![0, 1],
            keys_seed: 7,
        }
    }
}

const HOSPITALS: usize = 3;

/// Each round's transactions, in block order: verdicts, then aggregation (as `record.rs`).
fn round_txs(plan: &Plan, r: u32, global: &[f32]) -> [Vec<Transaction>; 2] {
    let submitted: Vec<Vec<f32>> = (0..HOSPITALS)
        .map(|h| vec![h as f32 + r as f32; 4])
        .collect();
    let verdicts: Vec<ClientVerdict> = (0..HOSPITALS)
        .map(|h| ClientVerdict {
            hospital: h,
            verdict: if h == 2 {
                Verdict::Rejected
            } else {
                Verdict::Accepted
            },
            score: None,
            cost: CostRecord::default(),
        })
        .collect();
    let verdict_txs =
        ledger::verdict_transactions(r as usize, &submitted, &verdicts, &[], plan.validators, &[]);
    let weights: Vec<(usize, u64)> = plan.averaged.iter().map(|&h| (h, 10)).collect();
    let agg = ledger::aggregation_transactions(r as usize, &weights, global);
    [verdict_txs, agg]
}

/// Writes the plan's run folder (ledger, model files, final model, manifest); returns the
/// chain's genesis and tip.
fn write_run(dir: &Path, plan: &Plan) -> ([u8; 32], [u8; 32]) {
    let keys = Keyring::derive(plan.keys_seed, HOSPITALS, plan.validators);
    let mut chain = Chain::new(keys, plan.quorum);
    let mut global: Vec<f32> = (0..16).map(|i| i as f32 / 16.0).collect();
    let save = |round: u32, block: &Block, global: &[f32]| {
        let file = dir.join(model_file(round));
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, securefl_api::model::weights_to_bytes(global)).unwrap();
        store::append(&dir.join(store::FILE), block).unwrap();
    };
    let genesis = chain.genesis(&global);
    save(0, &genesis, &global);
    for r in 1..=plan.rounds {
        global.iter_mut().for_each(|w| *w += 0.5);
        let [verdicts, agg] = round_txs(plan, r, &global);
        let block = chain.seal(r, &verdicts, 0, &plan.sealers, 2_000 * u64::from(r));
        store::append(&dir.join(store::FILE), &block).unwrap();
        let block = chain.seal(r, &agg, 0, &plan.sealers, 2_000 * u64::from(r) + 1_000);
        save(r, &block, &global);
    }
    let bytes = securefl_api::model::weights_to_bytes(&global);
    fs::write(dir.join("global_model.f32"), bytes).unwrap();
    let (g, tip) = (chain.genesis_hash().unwrap(), chain.tip());
    write_manifest(dir, chain.blocks(), &g, &tip);
    (g, tip)
}

fn write_manifest(dir: &Path, blocks: u64, genesis: &[u8; 32], tip: &[u8; 32]) {
    let text = format!(
        "[ledger]\nblocks = {blocks}\ngenesis = \"{}\"\ntip = \"{}\"\n",
        ledger::hex(genesis),
        ledger::hex(tip)
    );
    fs::write(dir.join("manifest.toml"), text).unwrap();
}

fn verify(dir: &Path) -> Result<ledger::Verified, String> {
    verify_run(dir, &Anchor::default())
}

fn refused(dir: &Path, anchor: &Anchor, want: &[&str]) {
    let err = verify_run(dir, anchor).unwrap_err();
    for w in want {
        assert!(err.contains(w), "{err:?} does not say {w:?}");
    }
    assert!(!err.contains('\n'), "one line: {err}");
}

#[test]
fn a_written_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), &Plan::default());
    let v = verify(dir.path()).unwrap();
    assert_eq!((v.blocks, v.models), (5, 3));
    let text = ledger::show_run(dir.path()).unwrap();
    assert!(text.contains("block 4 round 2"), "{text}");
}

#[test]
fn a_block_with_fewer_seals_than_the_quorum_is_refused() {
    // PBFT with 7 validators tolerates f = 2 and commits with ceil((7+2+1)/2) = 5 votes: four
    // seals are a majority but not a quorum.
    let dir = tempfile::tempdir().unwrap();
    let plan = Plan {
        validators: 7,
        quorum: 5,
        sealers: vec![0, 1, 2, 3],
        ..Plan::default()
    };
    write_run(dir.path(), &plan);
    refused(
        dir.path(),
        &Anchor::default(),
        &[
            "block 1",
            "sealed by 4 of 7 validators, fewer than the quorum of 5",
        ],
    );
    // A genesis that sets its own quorum below a majority is refused.
    let dir = tempfile::tempdir().unwrap();
    let plan = Plan {
        quorum: 1,
        sealers: vec![0],
        ..Plan::default()
    };
    write_run(dir.path(), &plan);
    refused(
        dir.path(),
        &Anchor::default(),
        &[
            "block 0",
            "seal quorum 1 is not between a strict majority and all of 3",
        ],
    );
}

#[test]
fn every_changed_byte_of_the_ledger_or_a_model_file_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), &Plan::default());
    let mut checked = 0;
    for name in [
        store::FILE.to_owned(),
        model_file(1),
        "global_model.f32".into(),
    ] {
        let path = dir.path().join(&name);
        let original = fs::read(&path).unwrap();
        for at in 0..original.len() {
            let mut bad = original.clone();
            bad[at] ^= 0x01 << (at % 8);
            fs::write(&path, &bad).unwrap();
            assert!(
                verify(dir.path()).is_err(),
                "byte {at} of {name} changed, not detected"
            );
            checked += 1;
        }
        fs::write(&path, &original).unwrap();
    }
    assert!(checked > 2_000, "{checked} bytes");
    verify(dir.path()).unwrap();
}

#[test]
fn every_cut_at_a_block_boundary_is_detected_with_or_without_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, tip) = write_run(dir.path(), &Plan::default());
    // The forger also deletes the final model, which would name the cut otherwise.
    fs::remove_file(dir.path().join("global_model.f32")).unwrap();
    let path = dir.path().join(store::FILE);
    let bytes = fs::read(&path).unwrap();
    let starts: Vec<usize> = store::read(&path).unwrap().iter().map(|r| r.0).collect();
    let manifest = fs::read(dir.path().join("manifest.toml")).unwrap();
    for (kept, &end) in starts.iter().enumerate().skip(1) {
        fs::write(&path, &bytes[..end]).unwrap();
        refused(
            dir.path(),
            &Anchor::default(),
            &["manifest.toml: [ledger] records 5 blocks"],
        );
        let pinned = Anchor {
            tip: Some(tip),
            genesis: Some(genesis),
        };
        refused(dir.path(), &pinned, &["the last block is", "not the"]);
        fs::remove_file(dir.path().join("manifest.toml")).unwrap();
        refused(
            dir.path(),
            &Anchor::default(),
            &["no manifest.toml: cannot tell where the chain ends"],
        );
        fs::write(dir.path().join("manifest.toml"), &manifest).unwrap();
        assert_eq!(store::read(&path).unwrap().len(), kept);
    }
    // A cut inside a record names the block it cuts.
    fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    refused(dir.path(), &Anchor::default(), &["block 4", "past the end"]);
    // Without the manifest, the user's tip decides.
    fs::write(&path, &bytes).unwrap();
    fs::remove_file(dir.path().join("manifest.toml")).unwrap();
    let pinned = Anchor {
        tip: Some(tip),
        genesis: None,
    };
    assert_eq!(verify_run(dir.path(), &pinned).unwrap().blocks, 5);
}

#[test]
fn a_chain_signed_with_keys_not_in_the_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let plan = Plan::default();
    let (genesis, _) = write_run(dir.path(), &plan);
    let path = dir.path().join(store::FILE);
    let records = store::read(&path).unwrap();
    // The forger keeps the genuine genesis and re-signs round 1's verdict block, linked to it,
    // with keys of its own.
    let forger = Keyring::derive(99, HOSPITALS, plan.validators);
    let block = records[1].1.as_ref().unwrap();
    let txs: Vec<SignedTx> = block
        .txs
        .iter()
        .map(|t| {
            let msg = SignedTx::signing_message(&t.tx);
            let role = if t.tx.kind == securefl_api::TxKind::ModelCommitment {
                Role::Hospital
            } else {
                Role::Validator
            };
            let signer = t.tx.author;
            let sig = forger.sign(role, signer as usize, &msg).to_bytes();
            SignedTx {
                tx: t.tx.clone(),
                signatures: vec![(signer, sig)],
            }
        })
        .collect();
    let header = Header {
        merkle_root: merkle_root(&txs),
        ..block.header
    };
    let seal = Block::seal_message(&header.hash());
    let seals = plan
        .sealers
        .iter()
        .map(|&v| (v as u32, forger.sign(Role::Validator, v, &seal).to_bytes()))
        .collect();
    let forged = Block { header, txs, seals };
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..records[1].0]).unwrap();
    store::append(&path, &forged).unwrap();
    let tip = Anchor {
        tip: Some(forged.header.hash()),
        genesis: None,
    };
    refused(
        dir.path(),
        &tip,
        &["block 1", "seal: signature 0 (validator 0) is invalid"],
    );
    // A whole new chain under the forger's own key directory, manifest rewritten to match:
    // only the pinned genesis tells.
    let dir = tempfile::tempdir().unwrap();
    write_run(
        dir.path(),
        &Plan {
            keys_seed: 99,
            ..Plan::default()
        },
    );
    verify(dir.path()).unwrap();
    let pinned = Anchor {
        genesis: Some(genesis),
        tip: None,
    };
    refused(dir.path(), &pinned, &["the genesis block is", "not the"]);
}

#[test]
fn a_block_that_contradicts_its_verdicts_is_refused() {
    // Every validator signed and sealed it, but the aggregation includes hospital 2, which
    // every validator rejected.
    let dir = tempfile::tempdir().unwrap();
    let plan = Plan {
        averaged: vec![0, 1, 2],
        ..Plan::default()
    };
    write_run(dir.path(), &plan);
    refused(
        dir.path(),
        &Anchor::default(),
        &[
            "block 2",
            "aggregates hospitals [0, 1, 2], but the signed verdicts' majority accepted [0, 1]",
        ],
    );
    // Nobody averaged, yet the global model changed.
    let dir = tempfile::tempdir().unwrap();
    write_run(
        dir.path(),
        &Plan {
            averaged: vec![],
            ..Plan::default()
        },
    );
    refused(
        dir.path(),
        &Anchor::default(),
        &[
            "block 2",
            "no hospital averaged, but the global model is not the previous one",
        ],
    );
}

#[test]
fn a_block_moved_or_dropped_breaks_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), &Plan::default());
    let path = dir.path().join(store::FILE);
    let bytes = fs::read(&path).unwrap();
    let records = store::read(&path).unwrap();
    // Drop block 1: block 2 then sits at height 1 and links to a hash that is not genesis's.
    let (start1, start2) = (records[1].0, records[2].0);
    let dropped = [&bytes[..start1], &bytes[start2..]].concat();
    fs::write(&path, dropped).unwrap();
    refused(dir.path(), &Anchor::default(), &["block 1", "height 2"]);
}

#[test]
fn the_ledgers_rounds_must_match_the_runs_round_table() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), &Plan::default());
    let table = |rows: &[(u32, bool)]| {
        let mut csv = "round,test_accuracy,consensus_finalized\n".to_owned();
        for (r, f) in rows {
            csv.push_str(&format!("{r},0.5,{f}\n"));
        }
        fs::write(dir.path().join("rounds.csv"), csv).unwrap();
    };
    table(&[(0, true), (1, true), (2, true)]);
    verify(dir.path()).unwrap();
    table(&[(0, true), (1, true), (2, true), (3, true)]);
    refused(
        dir.path(),
        &Anchor::default(),
        &["rounds.csv: round 3 is final here, but the ledger has no aggregation block for it"],
    );
    table(&[(0, true), (1, false), (2, true)]);
    refused(
        dir.path(),
        &Anchor::default(),
        &["round 1 is not final here"],
    );
    table(&[(0, true), (2, true)]);
    refused(
        dir.path(),
        &Anchor::default(),
        &["rounds are not contiguous"],
    );
    table(&[(0, true), (1, true)]);
    refused(
        dir.path(),
        &Anchor::default(),
        &["records round 2, which this table does not list"],
    );
}
