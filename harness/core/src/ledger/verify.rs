//! `securefl ledger verify RUN_DIR [--genesis HASH] [--tip HASH]`: every link, hash, Merkle
//! root, signature and seal of the run's ledger, what the blocks say ([`super::semantics`]),
//! and every recorded global model against the saved model files. The first fault is reported
//! with its block.
//!
//! A chain proves nothing about where it ends, nor whose keys its genesis names: a cut chain is
//! a sound chain, and a forger may write a whole new one. So the chain must match an anchor
//! from outside it: its tip (the manifest's `[ledger]` or `--tip`), and its genesis (the
//! manifest's, or `--genesis`, which pins the key directory, and with it the seal quorum).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ed25519_dalek::{Signature, VerifyingKey};
use securefl_api::TxKind;

use super::block::{Block, Sig, SignedTx, blake, merkle_root};
use super::chain::{Signers, decode_directory, signers};
use super::hex;
use super::keys::Role;
use super::semantics;
use super::store::{self, FILE};

/// Hashes the user vouches for (lowercase hex on the command line); they take precedence over
/// the manifest's `[ledger]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Anchor {
    /// The genesis block's hash.
    pub genesis: Option<[u8; 32]>,
    /// The last block's hash.
    pub tip: Option<[u8; 32]>,
}

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

/// The genesis block's key directory: the keys and how many validator seals a block needs.
#[derive(Default)]
struct Directory {
    keys: Keys,
    quorum: usize,
    validators: usize,
}

/// The relative path of round `round`'s global model in a run folder.
pub fn model_file(round: u32) -> String {
    format!("models/global-r{round:04}.f32")
}

/// Verifies the ledger of the run folder `dir` against `anchor` (or, for what it leaves out,
/// the manifest); the error names the file, the first bad block and the fault.
pub fn verify_run(dir: &Path, anchor: &Anchor) -> Result<Verified, String> {
    let path = dir.join(FILE);
    let records = store::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if records.is_empty() {
        return Err(format!("{}: no blocks", path.display()));
    }
    let mut dir_keys = Directory::default();
    let mut prev = [0; 32];
    let mut genesis = [0; 32];
    let mut last_model = None;
    let mut models = 0;
    let mut rounds = semantics::Rounds::default();
    for (i, (offset, rec)) in records.iter().enumerate() {
        let fail = |m: String| format!("{}: block {i} (offset {offset}): {m}", path.display());
        let block = rec.as_ref().map_err(|e| fail(e.clone()))?;
        check_block(i, block, &prev, &mut dir_keys).map_err(fail)?;
        let hospitals = dir_keys.keys.keys().filter(|(r, _)| *r == Role::Hospital);
        rounds
            .next(block, hospitals.count(), dir_keys.validators)
            .map_err(fail)?;
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
        if i == 0 {
            genesis = prev;
        }
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
    let table = dir.join("rounds.csv");
    if let Ok(csv) = std::fs::read_to_string(&table) {
        semantics::check_rounds(&rounds, &csv).map_err(|e| format!("{}: {e}", table.display()))?;
    }
    check_pins(&path, anchor, &genesis, &prev)?;
    if anchor.tip.is_none() {
        check_manifest(dir, records.len(), &genesis, &prev)?;
    }
    Ok(Verified {
        blocks: records.len(),
        models,
        tip: prev,
    })
}

/// The hashes given on the command line.
fn check_pins(
    path: &Path,
    anchor: &Anchor,
    genesis: &[u8; 32],
    tip: &[u8; 32],
) -> Result<(), String> {
    let differ = |what: &str, want: &[u8; 32], have: &[u8; 32]| {
        format!(
            "{}: the {what} is {}, not the {} given",
            path.display(),
            hex(have),
            hex(want)
        )
    };
    match (anchor.genesis, anchor.tip) {
        (Some(g), _) if &g != genesis => Err(differ("genesis block", &g, genesis)),
        (_, Some(t)) if &t != tip => Err(differ("last block", &t, tip)),
        _ => Ok(()),
    }
}

/// A finished run's manifest records the chain's length, genesis and tip (`[ledger]`): the
/// ledger must start and end where it says, so that cutting the chain, or rewriting it whole,
/// also means editing the manifest (which `--genesis` and `--tip` then catch). Without a
/// manifest nothing says where the chain ends, and the chain is refused.
fn check_manifest(
    dir: &Path,
    blocks: usize,
    genesis: &[u8; 32],
    tip: &[u8; 32],
) -> Result<(), String> {
    let path = dir.join("manifest.toml");
    let text = std::fs::read_to_string(&path).map_err(|_| {
        format!(
            "{}: no manifest.toml: cannot tell where the chain ends (give --tip HASH)",
            dir.display()
        )
    })?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let anchor = doc
        .get("ledger")
        .and_then(toml::Value::as_table)
        .ok_or_else(|| {
            format!(
                "{}: no [ledger]: cannot tell where the chain ends (give --tip HASH)",
                path.display()
            )
        })?;
    let field = |key: &str| anchor.get(key).and_then(toml::Value::as_str);
    let want_blocks = anchor.get("blocks").and_then(toml::Value::as_integer);
    if field("tip") != Some(hex(tip).as_str()) || want_blocks != Some(blocks as i64) {
        return Err(format!(
            "{}: [ledger] records {} blocks ending at {}, but ledger.bin has {blocks} ending at {}",
            path.display(),
            want_blocks.unwrap_or(-1),
            field("tip").unwrap_or("nothing"),
            hex(tip)
        ));
    }
    if field("genesis") != Some(hex(genesis).as_str()) {
        return Err(format!(
            "{}: [ledger] genesis is {}, but ledger.bin starts with {}",
            path.display(),
            field("genesis").unwrap_or("nothing"),
            hex(genesis)
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

fn check_block(i: usize, b: &Block, prev: &[u8; 32], dir: &mut Directory) -> Result<(), String> {
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
            *dir = read_directory(&b.txs[0].tx.payload)?;
        }
        (0, _) => return Err("genesis must open with the one key directory".into()),
        (_, 0) => {}
        _ => return Err("a key directory outside genesis".into()),
    }
    if merkle_root(&b.txs) != h.merkle_root {
        return Err("the Merkle root does not match its transactions".into());
    }
    let seal = Block::seal_message(&h.hash());
    let sealers = check_sigs(&dir.keys, Role::Validator, &b.seals, &seal)
        .map_err(|e| format!("seal: {e}"))?;
    // A block is final only with the protocol's commit quorum (PBFT's ⌈(n+f+1)/2⌉, a strict
    // majority for PoA and a trusted recorder), recorded in genesis: its seals are that proof.
    if sealers < dir.quorum {
        return Err(format!(
            "sealed by {sealers} of {} validators, fewer than the quorum of {}",
            dir.validators, dir.quorum
        ));
    }
    for (j, t) in b.txs.iter().enumerate() {
        check_tx(dir, h.round, t)
            .map_err(|e| format!("transaction {j} ({}): {e}", t.tx.kind.as_str()))?;
    }
    Ok(())
}

/// The genesis key directory: keys `0..n` of each role, each once, and a quorum that is at
/// least a strict majority of the validators and at most all of them.
fn read_directory(payload: &[u8]) -> Result<Directory, String> {
    let (quorum, entries) = decode_directory(payload)?;
    let mut keys = Keys::new();
    for (role, index, key) in entries {
        if keys.insert((role, index), key).is_some() {
            return Err(format!(
                "{} {index} is in the key directory twice",
                role.as_str()
            ));
        }
    }
    for role in [Role::Hospital, Role::Validator] {
        let n = keys.keys().filter(|(r, _)| *r == role).count() as u32;
        if let Some((_, i)) = keys.keys().find(|(r, i)| *r == role && *i >= n) {
            return Err(format!(
                "the key directory names {} {i} of {n}",
                role.as_str()
            ));
        }
    }
    let validators = keys.keys().filter(|(r, _)| *r == Role::Validator).count();
    let quorum = quorum as usize;
    if 2 * quorum <= validators || quorum > validators {
        return Err(format!(
            "the key directory's seal quorum {quorum} is not between a strict majority and all of {validators} validators"
        ));
    }
    Ok(Directory {
        keys,
        quorum,
        validators,
    })
}

fn check_tx(dir: &Directory, round: u32, t: &SignedTx) -> Result<(), String> {
    if t.tx.round != round {
        return Err(format!("round {} in a block of round {round}", t.tx.round));
    }
    let (role, alone) = match signers(t.tx.kind) {
        Signers::Author(role) => (role, true),
        Signers::Validators => (Role::Validator, false),
    };
    let n = check_sigs(
        &dir.keys,
        role,
        &t.signatures,
        &SignedTx::signing_message(&t.tx),
    )?;
    if alone && (n != 1 || t.signatures[0].0 != t.tx.author) {
        return Err(format!(
            "not signed by its author, {} {}",
            role.as_str(),
            t.tx.author
        ));
    }
    if !alone && n < dir.quorum {
        return Err(format!(
            "signed by {n} of {} validators, fewer than the quorum of {}",
            dir.validators, dir.quorum
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
