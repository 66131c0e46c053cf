//! `securefl ledger show RUN_DIR`: the chain as text, a block per paragraph.

use std::fmt::Write as _;
use std::path::Path;

use securefl_api::TxKind;

use super::block::SignedTx;
use super::hex;
use super::store::{self, FILE};

/// The ledger of the run folder `dir` as readable text.
pub fn show_run(dir: &Path) -> Result<String, String> {
    let path = dir.join(FILE);
    let records = store::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = String::new();
    for (i, (offset, rec)) in records.iter().enumerate() {
        let b = rec
            .as_ref()
            .map_err(|e| format!("{}: block {i} (offset {offset}): {e}", path.display()))?;
        let h = &b.header;
        let _ = writeln!(
            out,
            "block {} round {} hash {} prev {} proposer {} final at {:.3} ms, {} seals",
            h.height,
            h.round,
            short(&h.hash()),
            short(&h.prev),
            h.proposer,
            h.time_us as f64 / 1000.0,
            b.seals.len()
        );
        for t in &b.txs {
            let _ = writeln!(out, "  {}", describe(t));
        }
    }
    Ok(out)
}

fn short(h: &[u8]) -> String {
    hex(&h[..h.len().min(8)])
}

fn describe(t: &SignedTx) -> String {
    let p = &t.tx.payload;
    let what = match t.tx.kind {
        TxKind::KeyDirectory => format!("{} keys", p.len() / 37),
        TxKind::ModelCommitment => format!("hospital {} model {}", t.tx.author, short(p)),
        TxKind::Verdict if p.len() >= 4 => format!(
            "hospital {} {}",
            u32::from_le_bytes([p[0], p[1], p[2], p[3]]),
            String::from_utf8_lossy(&p[4..])
        ),
        TxKind::Aggregation => {
            let hospitals: Vec<String> = p
                .chunks(12)
                .filter(|c| c.len() == 12)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]).to_string())
                .collect();
            format!("hospitals [{}]", hospitals.join(", "))
        }
        _ => short(p),
    };
    format!(
        "{:<16} {what} ({} signatures)",
        t.tx.kind.as_str(),
        t.signatures.len()
    )
}
