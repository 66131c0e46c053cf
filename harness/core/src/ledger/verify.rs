//! `securefl ledger verify RUN_DIR`: every link, hash, Merkle root, signature and seal of the
//! run's ledger, and every recorded global model against the saved model files. The first
//! fault is reported with its block.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ed25519_dalek::{Signature, VerifyingKey};
use securefl_api::TxKind;

use super::block::{Block, Sig, SignedTx, blake, merkle_root};
use super::chain::{Signers, decode_directory, signers};
use super::hex;
use super::keys::Role;
use super::store::{self, FILE};

/// What a sound ledger holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Blocks, genesis included.
    pub blocks: usize,
    /// Global-model records checked against model files.
    pub models: usize,
    /// Hash of the last block.
    pub tip: [u8; 32],
}

type Keys = BTreeMap<(Role, u32), VerifyingKey>;

/// The relative path of round `round`'s global model in a run folder.
pub fn model_file(round: u32) -> String {
    format!("models/global-r{round:04}.f32")
}

/// Verifies the ledger of the run folder `dir`; the error names the file, the first bad
/// block and the fault.
pub fn verify_run(dir: &Path) -> Result<Verified, String> {
    let path = dir.join(FILE);
    let records = store::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if records.is_empty() {
        return Err(format!("{}: no blocks", path.display()));
    }
    let mut keys = Keys::new();
    let mut prev = [0; 32];
    let mut last_model = None;
    let mut models = 0;
    for (i, (offset, rec)) in records.iter().enumerate() {
        let fail = |m: String| format!("{}: block {i} (offset {offset}): {m}", path.display());
        let block = rec.as_ref().map_err(|e| fail(e.clone()))?;
        check_block(i, block, &prev, &mut keys).map_err(fail)?;
        for t in block
            .txs
            .iter()
            .filter(|t| t.tx.kind == TxKind::GlobalModel)
        {
            check_model(dir, block.header.round, &t.tx.payload).map_err(fail)?;
            last_model = Some(t.tx.payload.clone());
            models += 1;
        }
        prev = block.header.hash();
    }
    let last = dir.join("global_model.f32");
    if last.exists() {
        let saved = blake(&[&read(&last)?]);
        if last_model.as_deref() != Some(saved.as_slice()) {
            return Err(format!(
                "{}: does not match the last global model recorded on the ledger",
                last.display()
            ));
        }
    }
    check_anchor(dir, records.len(), &prev)?;
    Ok(Verified {
        blocks: records.len(),
        models,
        tip: prev,
    })
}

/// A finished run's manifest records the chain's length and tip (`[ledger]`): the ledger must
/// end where the manifest says, so that rewriting the whole chain also means editing it.
fn check_anchor(dir: &Path, blocks: usize, tip: &[u8; 32]) -> Result<(), String> {
    let path = dir.join("manifest.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let doc: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let Some(anchor) = doc.get("ledger").and_then(toml::Value::as_table) else {
        return Ok(());
    };
    let want_tip = anchor.get("tip").and_then(toml::Value::as_str);
    let want_blocks = anchor.get("blocks").and_then(toml::Value::as_integer);
    if want_tip != Some(hex(tip).as_str()) || want_blocks != Some(blocks as i64) {
        return Err(format!(
            "{}: [ledger] records {} blocks ending at {}, but ledger.bin has {blocks} ending at {}",
            path.display(),
            want_blocks.unwrap_or(-1),
            want_tip.unwrap_or("nothing"),
            hex(tip)
        ));
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn check_model(dir: &Path, round: u32, recorded: &[u8]) -> Result<(), String> {
    let file = model_file(round);
    let bytes = read(&dir.join(&file))?;
    if blake(&[&bytes]).as_slice() == recorded {
        Ok(())
    } else {
        Err(format!(
            "the global-model hash of round {round} does not match {file}"
        ))
    }
}

fn check_block(i: usize, b: &Block, prev: &[u8; 32], keys: &mut Keys) -> Result<(), String> {
    let h = &b.header;
    if h.height != i as u64 {
        return Err(format!("height {} where {i} was expected", h.height));
    }
    if &h.prev != prev {
        return Err("does not link to the previous block's hash".into());
    }
    let directories = b.txs.iter().filter(|t| t.tx.kind == TxKind::KeyDirectory);
    match (i, directories.count()) {
        (0, 1) if b.txs[0].tx.kind == TxKind::KeyDirectory => {
            for (role, index, key) in decode_directory(&b.txs[0].tx.payload)? {
                keys.insert((role, index), key);
            }
        }
        (0, _) => return Err("genesis must open with the one key directory".into()),
        (_, 0) => {}
        _ => return Err("a key directory outside genesis".into()),
    }
    if merkle_root(&b.txs) != h.merkle_root {
        return Err("the Merkle root does not match its transactions".into());
    }
    let validators = keys.keys().filter(|(r, _)| *r == Role::Validator).count();
    let seal = Block::seal_message(&h.hash());
    let sealers =
        check_sigs(keys, Role::Validator, &b.seals, &seal).map_err(|e| format!("seal: {e}"))?;
    // A block is final only once a strict majority of the validators hold it final (the
    // consensus plugins' rule), and each of those seals it.
    if 2 * sealers <= validators {
        return Err(format!(
            "sealed by {sealers} of {validators} validators, not a majority"
        ));
    }
    for (j, t) in b.txs.iter().enumerate() {
        check_tx(keys, validators, h.round, t)
            .map_err(|e| format!("transaction {j} ({}): {e}", t.tx.kind.as_str()))?;
    }
    Ok(())
}

fn check_tx(keys: &Keys, validators: usize, round: u32, t: &SignedTx) -> Result<(), String> {
    if t.tx.round != round {
        return Err(format!("round {} in a block of round {round}", t.tx.round));
    }
    let (role, alone) = match signers(t.tx.kind) {
        Signers::Author(role) => (role, true),
        Signers::Validators => (Role::Validator, false),
    };
    let n = check_sigs(keys, role, &t.signatures, &SignedTx::signing_message(&t.tx))?;
    if alone && (n != 1 || t.signatures[0].0 != t.tx.author) {
        return Err(format!(
            "not signed by its author, {} {}",
            role.as_str(),
            t.tx.author
        ));
    }
    if !alone && 2 * n <= validators {
        return Err(format!(
            "signed by {n} of {validators} validators, not a majority"
        ));
    }
    Ok(())
}

/// Checks that every signature is valid and from a distinct known `role` key; returns how many.
fn check_sigs(keys: &Keys, role: Role, sigs: &[Sig], msg: &[u8]) -> Result<usize, String> {
    let mut seen = BTreeSet::new();
    for (k, (signer, sig)) in sigs.iter().enumerate() {
        let key = keys.get(&(role, *signer)).ok_or_else(|| {
            format!(
                "signature {k}: no {} {signer} in the key directory",
                role.as_str()
            )
        })?;
        if !seen.insert(*signer) {
            return Err(format!(
                "signature {k}: {} {signer} signed twice",
                role.as_str()
            ));
        }
        key.verify_strict(msg, &Signature::from_bytes(sig))
            .map_err(|_| format!("signature {k} ({} {signer}) is invalid", role.as_str()))?;
    }
    Ok(sigs.len())
}
