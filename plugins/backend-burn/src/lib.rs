//! The burn 0.22 CNN backend (`burn`): burn's pure-Rust `flex` CPU backend with autodiff.
//!
//! The network is written with burn's functional tensor ops (`conv2d`, `max_pool2d`, `linear`)
//! over parameters kept in the flat PyTorch layout of [`securefl_api::model`] (see [`net`]).
//! Like the `dfdx` backend, only forward and backward passes run inside burn: the optimiser is
//! the shared [`securefl_api::OptimizerState`] on the flat weight vector, and batches follow
//! [`securefl_api::epoch_order`], so both backends train identically up to float rounding.

mod net;
mod train;

use securefl_api::{
    CnnBackend, Factory, ImageSet, ModelSpec, PluginError, PluginInfo, Registry, RegistryError,
    TrainCtx, TrainOutcome, check_inputs, check_train_inputs,
};

/// The name of this backend, in configs and error messages.
const NAME: &str = "burn";

/// The `burn` backend.
#[derive(Debug, Default, Clone, Copy)]
pub struct BurnBackend;

impl CnnBackend for BurnBackend {
    fn train(
        &self,
        ctx: &TrainCtx,
        start: &[f32],
        data: &ImageSet,
    ) -> Result<TrainOutcome, PluginError> {
        check_train_inputs(NAME, ctx, start, data)?;
        train::train(ctx, start, data)
    }

    fn predict(
        &self,
        spec: &ModelSpec,
        weights: &[f32],
        images: &ImageSet,
    ) -> Result<Vec<f32>, PluginError> {
        check_inputs(NAME, spec, weights, images)?;
        train::predict(spec, weights, images)
    }

    fn device(&self) -> String {
        "cpu".to_owned()
    }
}

/// Registers the `burn` backend.
pub fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        NAME,
        env!("CARGO_PKG_VERSION"),
        "burn 0.22 CNN engine on its pure-Rust flex CPU backend with autodiff (cpu)",
    );
    reg.add::<dyn CnnBackend>(Factory::new(info, |p| {
        p.expect_none()?;
        Ok(Box::new(BurnBackend) as Box<dyn CnnBackend>)
    }))
}
