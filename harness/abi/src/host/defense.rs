//! [`DynDefense`]: a dynamic defense behind the API's `Defense` trait.
//!
//! A dynamic defense reads updates in the clear (`needs_plaintext`), so the engine shares
//! nothing for it and the result tables show the privacy cost, as for built-in plaintext rules.

use std::sync::Arc;

use securefl_api::{
    Aggregate, ClientUpdate, CostRecord, Defense, DefenseCaps, DefenseCtx, NextModel, PluginError,
    Setting,
};

use super::Instance;
use super::load::{DefenseFns, KindFns, LoadedLibrary};
use crate::convert;
use crate::types::{SflDefenseCtx, SflVerdict};

/// A defense from a plugin library.
pub struct DynDefense {
    inst: Instance,
    fns: DefenseFns,
    produces_verdicts: bool,
}

impl DynDefense {
    /// Builds the library's defense from its parameters (the config section without `kind`
    /// and `library`).
    pub fn new(lib: Arc<LoadedLibrary>, params: &toml::Table) -> Result<Self, PluginError> {
        let KindFns::Defense(fns) = lib.fns else {
            return Err(PluginError::invalid("the library is not a defense plugin"));
        };
        let inst = Instance::new(lib, params)?;
        let mut v = 0u8;
        // SAFETY: ABI 1's `verdicts`: a live handle and a writable byte.
        inst.status(unsafe { (fns.verdicts)(inst.handle, &mut v) })?;
        Ok(Self {
            inst,
            fns,
            produces_verdicts: v != 0,
        })
    }
}

impl Defense for DynDefense {
    fn caps(&self) -> DefenseCaps {
        DefenseCaps {
            needs_plaintext: true,
            produces_verdicts: self.produces_verdicts,
            needs_inference: false,
        }
    }

    fn check(&self, setting: &Setting) -> Result<(), PluginError> {
        let s = convert::setting_to_c(setting);
        // SAFETY: ABI 1's `check`: a live handle and a valid setting.
        self.inst
            .status(unsafe { (self.fns.check)(self.inst.handle, &s) })
    }

    fn aggregate(
        &mut self,
        ctx: &mut DefenseCtx<'_>,
        updates: &[ClientUpdate],
    ) -> Result<Aggregate, PluginError> {
        let c = SflDefenseCtx {
            round: ctx.round,
            global: ctx.global.as_ptr(),
            global_len: ctx.global.len(),
            spec: convert::spec_to_c(ctx.spec),
            seed: ctx.seed,
            setting: convert::setting_to_c(&ctx.setting),
        };
        let views = convert::updates_to_c(updates);
        let mut model = vec![0f32; ctx.global.len()];
        let mut verdicts = vec![SflVerdict::default(); updates.len()];
        // SAFETY: ABI 1's `aggregate`: valid views, `model.len()` writable weights and
        // `updates.len()` writable verdicts.
        let code = unsafe {
            (self.fns.aggregate)(
                self.inst.handle,
                &c,
                views.as_ptr(),
                views.len(),
                model.as_mut_ptr(),
                model.len(),
                verdicts.as_mut_ptr(),
            )
        };
        self.inst.status(code)?;
        let verdicts = verdicts
            .iter()
            .map(convert::verdict_from_c)
            .collect::<Result<_, _>>()?;
        Ok(Aggregate {
            next: NextModel::Model(model),
            verdicts,
            cost: CostRecord::default(),
            votes: Vec::new(),
        })
    }
}
