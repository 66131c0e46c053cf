//! The versioned C ABI of securefl's dynamic plugins.
//!
//! A researcher's attack or defense crate is built as a `cdylib` and loaded into an unmodified
//! `securefl` by a path in the config. No Rust type crosses the library boundary: only the
//! `#[repr(C)]` structs of [`types`], flat `f32` and `u8` buffers, parameters as a UTF-8 TOML
//! string, and status codes with a thread-local last-error string (the polars plugin design,
//! `../shared/docs/style-anchors.md` 4.5).
//!
//! - The plugin side implements [`AttackPlugin`] or [`DefensePlugin`] and calls
//!   [`export_attack!`] or [`export_defense!`], which generate the `extern "C"` entry points;
//!   every one of them runs inside `catch_unwind`, so a panic becomes [`Status::Panicked`].
//! - The host side (feature `host`, module [`host`]) reads [`ABI_VERSION`] before anything else,
//!   validates the manifest, resolves every symbol up front, never unloads a library, and wraps
//!   the plugin in an adapter that implements `securefl_api::Attack` or `Defense`.
//!
//! The version is `major << 16 | minor`: a host accepts a plugin with its own major and a minor
//! no newer than its own.

#![allow(
    unsafe_code,
    reason = "a C ABI is raw pointers; every unsafe block says why it holds"
)]

pub mod convert;
mod export;
pub mod plugin;
pub mod symbols;
pub mod types;

#[cfg(feature = "host")]
pub mod host;

pub use plugin::{AttackPlugin, DefensePlugin, PlainDefenseCtx, PlainOutcome};
pub use types::Status;

/// The ABI major version: a change of any signature or struct layout.
pub const ABI_MAJOR: u16 = 1;
/// The ABI minor version: additions a host of the same major can ignore.
pub const ABI_MINOR: u16 = 0;

/// The version this build speaks, `major << 16 | minor`.
pub const ABI_VERSION: u32 = ((ABI_MAJOR as u32) << 16) | ABI_MINOR as u32;

/// The version a plugin built with this crate exports (one major ahead with the test-only
/// feature `abi-major-bump`).
#[doc(hidden)]
pub const EXPORTED_ABI_VERSION: u32 = if cfg!(feature = "abi-major-bump") {
    ABI_VERSION + (1 << 16)
} else {
    ABI_VERSION
};

/// `(major, minor)` of an exported version number.
pub fn split_version(v: u32) -> (u16, u16) {
    ((v >> 16) as u16, (v & 0xffff) as u16)
}

/// True when a host speaking [`ABI_VERSION`] can load a plugin exporting `v`.
pub fn compatible(v: u32) -> bool {
    let (major, minor) = split_version(v);
    major == ABI_MAJOR && u32::from(minor) <= u32::from(ABI_MINOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_major_and_older_minor_are_compatible() {
        assert!(compatible(ABI_VERSION));
        assert!(compatible(u32::from(ABI_MAJOR) << 16));
        assert!(!compatible(ABI_VERSION + 1));
        assert!(!compatible(ABI_VERSION + (1 << 16)));
        assert!(!compatible(ABI_VERSION - (1 << 16)));
        assert_eq!(split_version(0x0002_0003), (2, 3));
    }
}
