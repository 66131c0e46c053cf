//! The export macros: one line in a plugin crate generates every ABI entry point.
//!
//! ```text
//! securefl_abi::export_attack!(FreeRider);   // FreeRider: securefl_abi::AttackPlugin
//! securefl_abi::export_defense!(MyRule);     // MyRule: securefl_abi::DefensePlugin
//! ```
//!
//! A crate exports one plugin. Build it with `crate-type = ["cdylib"]` and the default
//! `panic = "unwind"`: with `panic = "abort"` no panic can be caught at the boundary.

/// The symbols every plugin exports (used by the kind-specific macros).
#[doc(hidden)]
#[macro_export]
macro_rules! export_common {
    ($t:ty, $kind:literal, $tr:path) => {
        /// ABI entry point: the ABI version, read before anything else.
        #[allow(unsafe_code, reason = "a C ABI entry point")]
        #[unsafe(no_mangle)]
        pub extern "C" fn securefl_abi_version() -> u32 {
            $crate::EXPORTED_ABI_VERSION
        }

        /// ABI entry point: the static manifest.
        #[allow(unsafe_code, reason = "a C ABI entry point")]
        #[unsafe(no_mangle)]
        pub extern "C" fn securefl_plugin_manifest() -> *const ::std::ffi::c_char {
            static TEXT: ::std::sync::OnceLock<Option<::std::ffi::CString>> =
                ::std::sync::OnceLock::new();
            $crate::plugin::manifest(&TEXT, $kind, <$t as $tr>::info)
        }

        /// ABI entry point: the last error on this thread.
        #[allow(unsafe_code, reason = "a C ABI entry point")]
        #[unsafe(no_mangle)]
        pub extern "C" fn securefl_plugin_last_error() -> *const ::std::ffi::c_char {
            $crate::plugin::last_error()
        }

        /// ABI entry point: builds an instance.
        ///
        /// # Safety
        /// See `securefl_abi::symbols::NEW`.
        #[allow(unsafe_code, reason = "a C ABI entry point")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn securefl_plugin_new(
            params: *const u8,
            len: usize,
            out: *mut $crate::types::Handle,
        ) -> i32 {
            // SAFETY: the host keeps the ABI contract of `securefl_plugin_new`.
            unsafe { $crate::plugin::new::<$t>(params, len, out, <$t as $tr>::build) }
        }

        /// ABI entry point: frees an instance.
        ///
        /// # Safety
        /// See `securefl_abi::symbols::FREE`.
        #[allow(unsafe_code, reason = "a C ABI entry point")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn securefl_plugin_free(h: $crate::types::Handle) {
            // SAFETY: the host frees each handle it got from `securefl_plugin_new` once.
            unsafe { $crate::plugin::free::<$t>(h) }
        }
    };
}

/// Exports an [`AttackPlugin`](crate::AttackPlugin) through the C ABI.
#[macro_export]
macro_rules! export_attack {
    ($t:ty) => {
        $crate::export_common!($t, "attack", $crate::AttackPlugin);

        /// ABI entry point: the attack's knowledge.
        ///
        /// # Safety
        /// See `securefl_abi::symbols`.
        #[allow(unsafe_code, reason = "a C ABI entry point")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn securefl_attack_knowledge(
            h: $crate::types::Handle,
            out: *mut u32,
        ) -> i32 {
            // SAFETY: the host keeps the ABI contract.
            unsafe { $crate::plugin::attack_knowledge::<$t>(h, out) }
        }

        /// ABI entry point: data poisoning.
        ///
        /// # Safety
        /// See `securefl_abi::symbols`.
        #[allow(unsafe_code, reason = "a C ABI entry point")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn securefl_attack_poison_data(
            h: $crate::types::Handle,
            ctx: *const $crate::types::SflAttackCtx,
            data: *const $crate::types::SflImages,
            out: *mut $crate::types::SflImages,
        ) -> i32 {
            // SAFETY: the host keeps the ABI contract.
            unsafe { $crate::plugin::attack_poison_data::<$t>(h, ctx, data, out) }
        }

        /// ABI entry point: model poisoning.
        ///
        /// # Safety
        /// See `securefl_abi::symbols`.
        #[allow(unsafe_code, reason = "a C ABI entry point")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn securefl_attack_poison_update(
            h: $crate::types::Handle,
            ctx: *const $crate::types::SflAttackCtx,
            update: *mut $crate::types::SflUpdate,
        ) -> i32 {
            // SAFETY: the host keeps the ABI contract.
            unsafe { $crate::plugin::attack_poison_update::<$t>(h, ctx, update) }
        }

        /// ABI entry point: the backdoor probe set.
        ///
        /// # Safety
        /// See `securefl_abi::symbols`.
        #[allow(unsafe_code, reason = "a C ABI entry point")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn securefl_attack_trigger_set(
            h: $crate::types::Handle,
            test: *const $crate::types::SflImages,
            classes: usize,
            has: *mut u8,
            out: *mut $crate::types::SflImages,
        ) -> i32 {
            // SAFETY: the host keeps the ABI contract.
            unsafe { $crate::plugin::attack_trigger_set::<$t>(h, test, classes, has, out) }
        }
    };
}

/// Exports a [`DefensePlugin`](crate::DefensePlugin) through the C ABI.
#[macro_export]
macro_rules! export_defense {
    ($t:ty) => {
        $crate::export_common!($t, "defense", $crate::DefensePlugin);

        /// ABI entry point: whether the rule decides per update.
        ///
        /// # Safety
        /// See `securefl_abi::symbols`.
        #[allow(unsafe_code, reason = "a C ABI entry point")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn securefl_defense_verdicts(
            h: $crate::types::Handle,
            out: *mut u8,
        ) -> i32 {
            // SAFETY: the host keeps the ABI contract.
            unsafe { $crate::plugin::defense_verdicts::<$t>(h, out) }
        }

        /// ABI entry point: the precondition check.
        ///
        /// # Safety
        /// See `securefl_abi::symbols`.
        #[allow(unsafe_code, reason = "a C ABI entry point")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn securefl_defense_check(
            h: $crate::types::Handle,
            setting: *const $crate::types::SflSetting,
        ) -> i32 {
            // SAFETY: the host keeps the ABI contract.
            unsafe { $crate::plugin::defense_check::<$t>(h, setting) }
        }

        /// ABI entry point: aggregation.
        ///
        /// # Safety
        /// See `securefl_abi::symbols`.
        #[allow(unsafe_code, reason = "a C ABI entry point")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn securefl_defense_aggregate(
            h: $crate::types::Handle,
            ctx: *const $crate::types::SflDefenseCtx,
            updates: *const $crate::types::SflUpdate,
            n: usize,
            model: *mut f32,
            model_len: usize,
            verdicts: *mut $crate::types::SflVerdict,
        ) -> i32 {
            // SAFETY: the host keeps the ABI contract.
            unsafe {
                $crate::plugin::defense_aggregate::<$t>(
                    h, ctx, updates, n, model, model_len, verdicts,
                )
            }
        }
    };
}
