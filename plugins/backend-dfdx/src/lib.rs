//! The dfdx 0.13 CNN backend (`dfdx`), CPU by default and CUDA with the `cuda` feature.
//!
//! dfdx is the owner's choice of engine. Its release 0.13.0 (July 2023) is the last one, and its
//! convolution layers need a nightly compiler that no longer builds them; this backend therefore
//! builds the convolution and the max-pool from stable tensor ops (see [`net`]) and keeps the
//! optimiser in shared code ([`securefl_api::OptimizerState`]), so only forward and backward
//! passes run inside dfdx.

mod net;
mod train;

use dfdx::prelude::*;
use securefl_api::{
    CnnBackend, Factory, ImageSet, ModelSpec, PluginError, PluginInfo, Registry, RegistryError,
    TrainCtx, TrainOutcome, check_inputs, check_train_inputs,
};

/// The dfdx device this build runs on.
#[cfg(not(feature = "cuda"))]
pub(crate) type Dev = Cpu;
/// The dfdx device this build runs on.
#[cfg(feature = "cuda")]
pub(crate) type Dev = Cuda;

/// A device seeded for this call (dfdx's own generator is not used for training, but seeding it
/// keeps any future use deterministic).
#[cfg(not(feature = "cuda"))]
pub(crate) fn new_device(seed: u64) -> Result<Dev, PluginError> {
    Ok(Dev::seed_from_u64(seed))
}

/// A device on GPU 0, seeded for this call; no usable GPU or driver is an error, not a panic.
#[cfg(feature = "cuda")]
pub(crate) fn new_device(seed: u64) -> Result<Dev, PluginError> {
    Dev::try_build(0, seed)
        .map_err(|e| PluginError::failed(format!("dfdx: no usable CUDA device 0 ({e:?})")))
}

/// The `dfdx` backend.
#[derive(Debug, Default, Clone, Copy)]
pub struct DfdxBackend;

impl CnnBackend for DfdxBackend {
    fn train(
        &self,
        ctx: &TrainCtx,
        start: &[f32],
        data: &ImageSet,
    ) -> Result<TrainOutcome, PluginError> {
        check_train_inputs("dfdx", ctx, start, data)?;
        train::train(ctx, start, data)
    }

    fn predict(
        &self,
        spec: &ModelSpec,
        weights: &[f32],
        images: &ImageSet,
    ) -> Result<Vec<f32>, PluginError> {
        check_inputs("dfdx", spec, weights, images)?;
        train::predict(spec, weights, images)
    }

    fn device(&self) -> String {
        if cfg!(feature = "cuda") {
            "cuda:0".to_owned()
        } else {
            "cpu".to_owned()
        }
    }
}

/// Registers the `dfdx` backend.
pub fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "dfdx",
        env!("CARGO_PKG_VERSION"),
        "dfdx 0.13 CNN engine with stable im2col convolution (cpu; cuda with the `cuda` feature)",
    );
    reg.add::<dyn CnnBackend>(Factory::new(info, |p| {
        p.expect_none()?;
        Ok(Box::new(DfdxBackend) as Box<dyn CnnBackend>)
    }))
}
