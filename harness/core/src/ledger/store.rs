//! The ledger file `ledger.bin`: the magic `SFLEDGR1`, then one record per block, a u32
//! little-endian length and the encoded block. Blocks are only ever appended (and synced).

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::Path;

use super::block::Block;

/// The file's first bytes.
pub const MAGIC: &[u8; 8] = b"SFLEDGR1";

/// The ledger's file name in a run folder.
pub const FILE: &str = "ledger.bin";

/// Appends `block` to the ledger at `path`, creating it with its magic first.
pub fn append(path: &Path, block: &Block) -> std::io::Result<()> {
    let fresh = !path.exists();
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    if fresh {
        f.write_all(MAGIC)?;
    }
    let bytes = block.encode();
    f.write_all(&(bytes.len() as u32).to_le_bytes())?;
    f.write_all(&bytes)?;
    f.sync_data()
}

/// One record of the file: where it starts and the block, or why it could not be read.
pub type Record = (usize, Result<Block, String>);

/// Reads every record of the file at `path` (see [`parse`]).
pub fn read(path: &Path) -> Result<Vec<Record>, String> {
    parse(&fs::read(path).map_err(|e| e.to_string())?)
}

/// Every record of a ledger file's bytes; stops at the first that cannot be framed (its error
/// is the last item).
pub fn parse(bytes: &[u8]) -> Result<Vec<Record>, String> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(format!(
            "does not start with the ledger magic {:?}",
            String::from_utf8_lossy(MAGIC)
        ));
    }
    let mut at = MAGIC.len();
    let mut out = Vec::new();
    while at < bytes.len() {
        let Some(len) = bytes.get(at..at + 4) else {
            out.push((at, Err("truncated record length".into())));
            break;
        };
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let Some(body) = bytes.get(at + 4..at + 4 + len) else {
            out.push((at, Err(format!("record of {len} bytes runs past the end"))));
            break;
        };
        out.push((at, Block::decode(body)));
        at += 4 + len;
    }
    Ok(out)
}
