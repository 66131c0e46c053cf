//! The host side: loading plugin libraries and adapting them to the API's traits.
//!
//! [`load`] opens and checks a library once per process; [`DynAttack`] and [`DynDefense`]
//! build an instance from the config's parameters and implement `securefl_api::Attack` and
//! `Defense`, so the engine cannot tell a dynamic plugin from a built-in one.

mod attack;
mod defense;
mod load;

pub use attack::DynAttack;
pub use defense::DynDefense;
pub use load::{DynKind, LoadError, LoadedLibrary, Manifest, inspect, load};

use std::ffi::c_void;
use std::sync::Arc;

use securefl_api::PluginError;

use crate::types::{Handle, Status};

/// One instance of a dynamic plugin: its library and its handle, freed on drop.
struct Instance {
    lib: Arc<LoadedLibrary>,
    handle: Handle,
}

// SAFETY: the handle points to the plugin's `T`, which the export macros require to be `Send`
// (an `Attack` or a `DefensePlugin`); the library's functions may be called from any thread.
unsafe impl Send for Instance {}
// SAFETY: shared access only reaches `&self` methods of an attack, which `Attack: Sync` allows.
unsafe impl Sync for Instance {}

impl Instance {
    /// Builds an instance from the parameters, as TOML text.
    fn new(lib: Arc<LoadedLibrary>, params: &toml::Table) -> Result<Self, PluginError> {
        let text = toml::to_string(params).map_err(|e| PluginError::invalid(e.to_string()))?;
        let mut handle: Handle = std::ptr::null_mut::<c_void>();
        // SAFETY: ABI 1's `new`: `len` bytes at the pointer and a writable handle slot.
        let code = unsafe { (lib.common.new)(text.as_ptr(), text.len(), &mut handle) };
        let inst = Self { lib, handle };
        inst.status(code)?;
        Ok(inst)
    }

    /// `Ok` for [`Status::Ok`], else the plugin's error with its last message.
    fn status(&self, code: i32) -> Result<(), PluginError> {
        let status = Status::from_code(code);
        if status == Status::Ok {
            return Ok(());
        }
        let msg = self.lib.last_error();
        let name = &self.lib.manifest().info.name;
        Err(match status {
            Status::Invalid => PluginError::Invalid(msg),
            Status::Unsupported => PluginError::Unsupported(msg),
            Status::Panicked => PluginError::Failed(format!(
                "plugin `{name}` ({}) panicked: {msg}",
                self.lib.path().display()
            )),
            _ => PluginError::Failed(format!("plugin `{name}`: {msg}")),
        })
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if !self.handle.is_null() {
            // SAFETY: the handle came from this library's `new` and is freed once, here.
            unsafe { (self.lib.common.free)(self.handle) };
        }
    }
}
