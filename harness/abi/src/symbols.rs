//! The exported symbols of ABI 1: their names and C signatures.
//!
//! Every plugin exports the five common symbols; an attack adds the `securefl_attack_*` ones,
//! a defense the `securefl_defense_*` ones. Output pointers are written only on [`Status::Ok`].
//!
//! [`Status::Ok`]: crate::Status::Ok

use std::ffi::c_char;

use crate::types::{
    Handle, SflAttackCtx, SflDefenseCtx, SflImages, SflSetting, SflUpdate, SflVerdict,
};

/// `u32 securefl_abi_version(void)`: `major << 16 | minor`, read before any other symbol.
pub const ABI_VERSION: &str = "securefl_abi_version";
/// `const char *securefl_plugin_manifest(void)`: a static UTF-8 TOML document with `abi`,
/// `kind`, `name`, `version`, `summary` and an optional `citation`.
pub const MANIFEST: &str = "securefl_plugin_manifest";
/// `const char *securefl_plugin_last_error(void)`: the message of the last failed call on this
/// thread, valid until the next call on this thread.
pub const LAST_ERROR: &str = "securefl_plugin_last_error";
/// `i32 securefl_plugin_new(const u8 *toml, size_t len, void **out)`: builds an instance from
/// its parameters (the config section without `kind` and `library`, as TOML).
pub const NEW: &str = "securefl_plugin_new";
/// `void securefl_plugin_free(void *handle)`.
pub const FREE: &str = "securefl_plugin_free";

/// `i32 securefl_attack_knowledge(void *h, u32 *out)`: 0 own data only, 1 omniscient.
pub const ATTACK_KNOWLEDGE: &str = "securefl_attack_knowledge";
/// `i32 securefl_attack_poison_data(void *h, const SflAttackCtx *, const SflImages *in,
/// SflImages *out)`: `out` points into plugin memory, valid until the next call on this thread.
pub const ATTACK_POISON_DATA: &str = "securefl_attack_poison_data";
/// `i32 securefl_attack_poison_update(void *h, const SflAttackCtx *, SflUpdate *update)`:
/// rewrites `update->delta` in place.
pub const ATTACK_POISON_UPDATE: &str = "securefl_attack_poison_update";
/// `i32 securefl_attack_trigger_set(void *h, const SflImages *test, size_t classes,
/// u8 *has, SflImages *out)`: the backdoor probe set, when `*has` is 1.
pub const ATTACK_TRIGGER_SET: &str = "securefl_attack_trigger_set";

/// `i32 securefl_defense_verdicts(void *h, u8 *out)`: 1 when the rule decides per update.
pub const DEFENSE_VERDICTS: &str = "securefl_defense_verdicts";
/// `i32 securefl_defense_check(void *h, const SflSetting *)`: refuses impossible settings.
pub const DEFENSE_CHECK: &str = "securefl_defense_check";
/// `i32 securefl_defense_aggregate(void *h, const SflDefenseCtx *, const SflUpdate *updates,
/// size_t n, float *model, size_t model_len, SflVerdict *verdicts)`: writes the next global
/// model (`model_len` = the global model's length) and `n` verdicts into host buffers.
pub const DEFENSE_AGGREGATE: &str = "securefl_defense_aggregate";

/// See [`ABI_VERSION`].
pub type AbiVersionFn = unsafe extern "C" fn() -> u32;
/// See [`MANIFEST`] and [`LAST_ERROR`].
pub type StrFn = unsafe extern "C" fn() -> *const c_char;
/// See [`NEW`].
pub type NewFn = unsafe extern "C" fn(*const u8, usize, *mut Handle) -> i32;
/// See [`FREE`].
pub type FreeFn = unsafe extern "C" fn(Handle);
/// See [`ATTACK_KNOWLEDGE`].
pub type KnowledgeFn = unsafe extern "C" fn(Handle, *mut u32) -> i32;
/// See [`ATTACK_POISON_DATA`].
pub type PoisonDataFn =
    unsafe extern "C" fn(Handle, *const SflAttackCtx, *const SflImages, *mut SflImages) -> i32;
/// See [`ATTACK_POISON_UPDATE`].
pub type PoisonUpdateFn = unsafe extern "C" fn(Handle, *const SflAttackCtx, *mut SflUpdate) -> i32;
/// See [`ATTACK_TRIGGER_SET`].
pub type TriggerSetFn =
    unsafe extern "C" fn(Handle, *const SflImages, usize, *mut u8, *mut SflImages) -> i32;
/// See [`DEFENSE_VERDICTS`].
pub type VerdictsFn = unsafe extern "C" fn(Handle, *mut u8) -> i32;
/// See [`DEFENSE_CHECK`].
pub type CheckFn = unsafe extern "C" fn(Handle, *const SflSetting) -> i32;
/// See [`DEFENSE_AGGREGATE`].
pub type AggregateFn = unsafe extern "C" fn(
    Handle,
    *const SflDefenseCtx,
    *const SflUpdate,
    usize,
    *mut f32,
    usize,
    *mut SflVerdict,
) -> i32;
