//! Shared fixtures of the criterion benches: real MedMNIST data, or a clear failure.

use std::path::PathBuf;

use securefl_api::{Dataset, ImageSet};

/// Loads a real MedMNIST dataset from `$SECUREFL_DATA` (or the cache); benches never run on
/// generated data, so a missing file stops the bench with the loader's one-line message.
pub fn real_dataset(flag: &str) -> Dataset {
    let ctx = securefl_datasets::data_ctx_from_env(false);
    match securefl_datasets::load(flag, &ctx) {
        Ok(d) => d,
        Err(e) => {
            let dirs: Vec<PathBuf> = ctx.search_dirs;
            panic!("bench needs real data ({e}); searched {dirs:?}: set SECUREFL_DATA")
        }
    }
}

/// The first `n` images of `set`, repeating it when it is smaller (a batch of fixed size).
pub fn tiled(set: &ImageSet, n: usize) -> ImageSet {
    let indices: Vec<usize> = (0..n).map(|i| i % set.len()).collect();
    set.subset(&indices)
}
