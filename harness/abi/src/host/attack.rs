//! [`DynAttack`]: a dynamic attack behind the API's `Attack` trait.

use std::sync::Arc;

use securefl_api::{Attack, AttackCtx, AttackKnowledge, ClientUpdate, ImageSet, PluginError};

use super::Instance;
use super::load::{AttackFns, KindFns, LoadedLibrary};
use crate::convert::{self, AttackCtxC};
use crate::types::{SflImages, SflUpdate};

/// An attack from a plugin library.
pub struct DynAttack {
    inst: Instance,
    fns: AttackFns,
    knowledge: AttackKnowledge,
}

impl DynAttack {
    /// Builds the library's attack from its parameters (the config section without `kind` and
    /// `library`).
    pub fn new(lib: Arc<LoadedLibrary>, params: &toml::Table) -> Result<Self, PluginError> {
        let KindFns::Attack(fns) = lib.fns else {
            return Err(PluginError::invalid("the library is not an attack plugin"));
        };
        let inst = Instance::new(lib, params)?;
        let mut code = 0u32;
        // SAFETY: ABI 1's `knowledge`: a live handle and a writable `u32`.
        inst.status(unsafe { (fns.knowledge)(inst.handle, &mut code) })?;
        let knowledge = match code {
            0 => AttackKnowledge::Own,
            1 => AttackKnowledge::Omniscient,
            c => return Err(PluginError::invalid(format!("unknown knowledge code {c}"))),
        };
        Ok(Self {
            inst,
            fns,
            knowledge,
        })
    }
}

fn empty_view() -> SflImages {
    SflImages {
        height: 0,
        width: 0,
        channels: 0,
        pixels: std::ptr::null(),
        pixels_len: 0,
        labels: std::ptr::null(),
        count: 0,
    }
}

impl Attack for DynAttack {
    fn knowledge(&self) -> AttackKnowledge {
        self.knowledge
    }

    fn poison_data(&self, ctx: &AttackCtx<'_>, data: &mut ImageSet) -> Result<(), PluginError> {
        let c = AttackCtxC::new(ctx);
        let input = convert::images_to_c(data);
        let mut out = empty_view();
        // SAFETY: ABI 1's `poison_data`: views valid for the call, a writable output view.
        let code = unsafe { (self.fns.poison_data)(self.inst.handle, &c.ctx, &input, &mut out) };
        self.inst.status(code)?;
        // SAFETY: on success `out` views plugin memory valid until the next call on this thread.
        *data = unsafe { convert::images_from_c(&out) }?;
        Ok(())
    }

    fn poison_update(
        &mut self,
        ctx: &AttackCtx<'_>,
        update: &mut ClientUpdate,
    ) -> Result<(), PluginError> {
        let c = AttackCtxC::new(ctx);
        let mut view = SflUpdate {
            hospital: update.hospital,
            samples: update.samples,
            delta: update.delta.as_mut_ptr(),
            len: update.delta.len(),
            train_loss: update.train_loss,
        };
        // SAFETY: ABI 1's `poison_update`: the delta is writable for its length during the call.
        let code = unsafe { (self.fns.poison_update)(self.inst.handle, &c.ctx, &mut view) };
        self.inst.status(code)
    }

    fn trigger_test_set(
        &self,
        test: &ImageSet,
        classes: usize,
    ) -> Result<Option<ImageSet>, PluginError> {
        let input = convert::images_to_c(test);
        let (mut has, mut out) = (0u8, empty_view());
        // SAFETY: ABI 1's `trigger_set`: a valid view and writable outputs.
        let code = unsafe {
            (self.fns.trigger_set)(self.inst.handle, &input, classes, &mut has, &mut out)
        };
        self.inst.status(code)?;
        if has == 0 {
            return Ok(None);
        }
        // SAFETY: on success with `has`, `out` views plugin memory valid until the next call.
        unsafe { convert::images_from_c(&out) }.map(Some)
    }
}
