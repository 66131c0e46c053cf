//! Helpers for tests that need the real MedMNIST files.

use std::path::PathBuf;

/// The first directory in `$SECUREFL_DATA` holding `pneumoniamnist.npz` (relative entries
/// resolved as [`crate::data_ctx_from_env`] does).
///
/// When there is none: panics if `$CI` is `true` (tests needing real data must fail in CI, never
/// skip); otherwise prints a note to stderr and returns `None`, and the caller returns early.
pub fn real_data_dir() -> Option<PathBuf> {
    let found = crate::data_ctx_from_env(false)
        .search_dirs
        .into_iter()
        .find(|d| d.join("pneumoniamnist.npz").is_file());
    if found.is_none() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "real MedMNIST data is required in CI: set SECUREFL_DATA to a directory holding \
             pneumoniamnist.npz (e.g. /work/shared/datasets/medmnist)"
        );
        eprintln!(
            "note: skipping a real-data test: no directory in SECUREFL_DATA holds \
             pneumoniamnist.npz"
        );
    }
    found
}
