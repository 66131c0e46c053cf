//! The ledger: a written chain verifies; one changed byte anywhere in `ledger.bin` or a model
//! file, a truncation or a block out of place is detected and the first bad block named.

use std::fs;
use std::path::Path;

use rand::Rng as _;
use securefl_api::{Transaction, TxKind};
use securefl_core::ledger::{self, Chain, Keyring, model_file, store, verify_run};

/// Writes a genesis block and `rounds` round blocks with their model files into `dir`, each round
/// block sealed by 3 of the 4 validators.
fn write_run(dir: &Path, rounds: u32) {
    write_sealed(dir, rounds, &[0, 1, 2]);
}

/// `write_run` with each round block sealed by `sealers`.
fn write_sealed(dir: &Path, rounds: u32, sealers: &[usize]) {
    let mut chain = Chain::new(Keyring::derive(7, 4, 4));
    let mut global: Vec<f32> = (0..64).map(|i| i as f32 / 64.0).collect();
    let save = |round: u32, block: &ledger::Block, global: &[f32]| {
        let file = dir.join(model_file(round));
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, securefl_api::model::weights_to_bytes(global)).unwrap();
        store::append(&dir.join(store::FILE), block).unwrap();
    };
    let genesis = chain.genesis(&global);
    save(0, &genesis, &global);
    for r in 1..=rounds {
        global.iter_mut().for_each(|w| *w += 0.5);
        let mut txs: Vec<Transaction> = (0..4)
            .map(|h| Transaction {
                kind: TxKind::ModelCommitment,
                round: r,
                author: h,
                payload: vec![h as u8; 32],
            })
            .collect();
        txs.push(Transaction {
            kind: TxKind::GlobalModel,
            round: r,
            author: 0,
            payload: ledger::model_hash(&global).to_vec(),
        });
        let block = chain.seal(r, &txs, r % 4, sealers, 1_000 * u64::from(r));
        save(r, &block, &global);
    }
    fs::write(
        dir.join("global_model.f32"),
        securefl_api::model::weights_to_bytes(&global),
    )
    .unwrap();
}

#[test]
fn a_written_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), 3);
    let v = verify_run(dir.path()).unwrap();
    assert_eq!((v.blocks, v.models), (4, 4));
    let text = ledger::show_run(dir.path()).unwrap();
    assert!(text.contains("block 3 round 3"), "{text}");
}

#[test]
fn a_block_sealed_by_no_majority_of_validators_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_sealed(dir.path(), 2, &[0, 1]);
    let err = verify_run(dir.path()).unwrap_err();
    assert!(
        err.contains("block 1") && err.contains("sealed by 2 of 4 validators, not a majority"),
        "{err}"
    );
}

#[test]
fn any_changed_byte_in_the_ledger_or_a_model_file_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), 3);
    let files: Vec<String> = [store::FILE.to_owned(), "global_model.f32".to_owned()]
        .into_iter()
        .chain((0..=3).map(model_file))
        .collect();
    let mut rng = securefl_api::rng(11, &["tamper"]);
    for trial in 0..400 {
        let name = &files[if trial % 2 == 0 {
            0
        } else {
            rng.gen_range(1..files.len())
        }];
        let path = dir.path().join(name);
        let original = fs::read(&path).unwrap();
        let at = rng.gen_range(0..original.len());
        let mut bad = original.clone();
        bad[at] ^= rng.gen_range(1..=255u8);
        fs::write(&path, &bad).unwrap();
        let result = verify_run(dir.path());
        fs::write(&path, &original).unwrap();
        assert!(result.is_err(), "byte {at} of {name} changed, not detected");
    }
    verify_run(dir.path()).unwrap();
}

#[test]
fn the_first_bad_block_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), 3);
    let path = dir.path().join(store::FILE);
    let records = store::read(&path).unwrap();
    // Change the last byte of block 2's first transaction payload region: inside block 2.
    let (offset, _) = records[2];
    let mut bytes = fs::read(&path).unwrap();
    bytes[offset + 4 + 100] ^= 1;
    fs::write(&path, &bytes).unwrap();
    let err = verify_run(dir.path()).unwrap_err();
    assert!(err.contains("block 2"), "{err}");
    // A truncated file names the block it cuts.
    bytes[offset + 4 + 100] ^= 1;
    fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let err = verify_run(dir.path()).unwrap_err();
    assert!(
        err.contains("block 3") && err.contains("past the end"),
        "{err}"
    );
}

#[test]
fn a_block_moved_or_dropped_breaks_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), 3);
    let path = dir.path().join(store::FILE);
    let bytes = fs::read(&path).unwrap();
    let records = store::read(&path).unwrap();
    // Drop block 1: block 2 then sits at height 1 and links to a hash that is not genesis's.
    let (start1, start2) = (records[1].0, records[2].0);
    let dropped = [&bytes[..start1], &bytes[start2..]].concat();
    fs::write(&path, dropped).unwrap();
    let err = verify_run(dir.path()).unwrap_err();
    assert!(err.contains("block 1") && err.contains("height 2"), "{err}");
}
