//! The fuzz targets: each reads one untrusted input and checks what must hold whatever the
//! bytes. An error is the right answer to a bad input; a panic, a hang or a broken invariant
//! is a finding.
//!
//! - `ledger`: `ledger.bin` framing and block decoding; a decoded block re-encodes to exactly
//!   its bytes (the codec is canonical), and the key directory and the semantic checks of
//!   `ledger verify` run on what decodes.
//! - `npz`: the `.npz` archive and `.npy` reader (accepted: it reads), then MedMNIST's array
//!   checks.
//! - `config`: the run config parser; an accepted config's resolved form parses back to the
//!   same config.
//! - `spec`: the sweep-spec parser; an accepted spec of at most [`MAX_CELLS`] cells is expanded.

use std::path::Path;

use securefl_core::Config;
use securefl_core::ledger::block::Block;
use securefl_core::ledger::chain::decode_directory;
use securefl_core::ledger::{semantics, store};
use securefl_sweep::Spec;

/// Largest grid the `spec` target expands.
pub const MAX_CELLS: usize = 64;

/// A fuzz target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The ledger codec.
    Ledger,
    /// The npz/npy reader.
    Npz,
    /// The run config parser.
    Config,
    /// The sweep-spec parser.
    Spec,
}

impl Target {
    /// Every target.
    pub const ALL: [Self; 4] = [Self::Ledger, Self::Npz, Self::Config, Self::Spec];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ledger => "ledger",
            Self::Npz => "npz",
            Self::Config => "config",
            Self::Spec => "spec",
        }
    }

    /// The target called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether inputs are TOML text (mutated by lines and values as well as bytes).
    pub fn is_text(self) -> bool {
        matches!(self, Self::Config | Self::Spec)
    }

    /// Reads `input`; true when it was accepted. Panics on a finding.
    pub fn check(self, input: &[u8]) -> bool {
        match self {
            Self::Ledger => ledger(input),
            Self::Npz => npz(input),
            Self::Config => config(&String::from_utf8_lossy(input)),
            Self::Spec => spec(&String::from_utf8_lossy(input)),
        }
    }
}

fn ledger(input: &[u8]) -> bool {
    let Ok(records) = store::parse(input) else {
        return false;
    };
    let mut rounds = semantics::Rounds::default();
    let mut directory = (0, 0);
    let mut sound = true;
    for &(offset, ref record) in &records {
        let Ok(block) = record else {
            sound = false;
            continue;
        };
        let len = u32::from_le_bytes(input[offset..offset + 4].try_into().unwrap_or_default());
        let body = &input[offset + 4..offset + 4 + len as usize];
        assert_eq!(
            block.encode(),
            body,
            "block at {offset} does not re-encode to its bytes"
        );
        assert_eq!(Block::decode(body).as_ref(), Ok(block));
        if let Some(t) = block.txs.first()
            && let Ok((_, keys)) = decode_directory(&t.tx.payload)
        {
            let count = |role| keys.iter().filter(|k| k.0 == role).count();
            use securefl_core::ledger::keys::Role;
            directory = (count(Role::Hospital), count(Role::Validator));
        }
        sound &= rounds.next(block, directory.0, directory.1).is_ok();
    }
    sound && !records.is_empty()
}

fn npz(input: &[u8]) -> bool {
    let Ok(arrays) = securefl_datasets::npz::read_npz("fuzz.npz", input) else {
        return false;
    };
    for a in arrays.values() {
        let elements = a.shape.iter().try_fold(1usize, |p, &d| p.checked_mul(d));
        assert_eq!(elements, Some(a.data.len()), "{:?}", a.shape);
    }
    // The corpus is small, so MedMNIST's split sizes refuse it: its array checks still run.
    let _ = securefl_datasets::medmnist::decode_bytes("pneumoniamnist", input);
    true
}

fn config(text: &str) -> bool {
    let Ok(cfg) = Config::parse(Path::new("fuzz.toml"), text) else {
        return false;
    };
    let resolved = toml::to_string(&cfg.resolved());
    let resolved = resolved.unwrap_or_else(|e| panic!("the resolved config does not print: {e}"));
    let again = Config::parse(Path::new("fuzz.toml"), &resolved)
        .unwrap_or_else(|e| panic!("the resolved config does not parse back: {e}\n{resolved}"));
    // Compared as text: a NaN parameter is equal to itself only there.
    let twice = toml::to_string(&again.resolved()).unwrap_or_default();
    assert_eq!(
        twice, resolved,
        "the resolved config changes when parsed back"
    );
    true
}

fn spec(text: &str) -> bool {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../paper/sweeps/fuzz.toml");
    let Ok(spec) = Spec::parse(&path, text, None) else {
        return false;
    };
    let grids = spec.grids.iter().map(|g| g.iter().chain(&spec.axes));
    let largest = grids
        .map(|axes| axes.map(|a| a.values.len()).product::<usize>())
        .chain([spec.axes.iter().map(|a| a.values.len()).product()])
        .max()
        .unwrap_or(1);
    if largest * spec.grids.len().max(1) <= MAX_CELLS {
        for cell in securefl_sweep::expand(&spec) {
            assert_eq!(cell.id.len(), 16, "{cell:?}");
        }
    }
    true
}
