//! Local training and batched inference.

use dfdx::prelude::*;
use securefl_api::data::pixel_value;
use securefl_api::{
    ImageSet, ModelSpec, OptimizerState, PluginError, TrainCtx, TrainOutcome, train_epochs,
};

use crate::net::{Img, Net};
use crate::{Dev, new_device};
use securefl_api::layout::ChannelLast;

/// Images per inference batch.
const INFER_BATCH: usize = 512;

/// Trains from flat weights `start` and returns flat weights.
pub(crate) fn train(
    ctx: &TrainCtx,
    start: &[f32],
    data: &ImageSet,
) -> Result<TrainOutcome, PluginError> {
    let dev = new_device(ctx.seed)?;
    let layout = ChannelLast::new(&ctx.spec);
    let mut params = layout.import(start);
    let mut net = Net::new(&dev, &ctx.spec, &params);
    let mut opt = OptimizerState::new(ctx.optimizer, params.len());
    let train_loss = train_epochs(ctx, data.len(), |batch| {
        let x = images_to_tensor(&dev, data, batch).traced(Gradients::leaky());
        let targets = one_hot(&dev, data, batch, ctx.spec.classes);
        let loss = cross_entropy_with_logits_loss(net.forward(x), targets);
        let value = loss.array();
        let grads = loss.backward();
        opt.step(&mut params, &net.gradients(&grads));
        net.load(&params);
        Ok(value)
    })?;
    Ok(TrainOutcome {
        weights: layout.export(&params),
        train_loss,
    })
}

/// Logits `(n, classes)` for every image.
pub(crate) fn predict(
    spec: &ModelSpec,
    weights: &[f32],
    images: &ImageSet,
) -> Result<Vec<f32>, PluginError> {
    let dev = new_device(0)?;
    let net = Net::new(&dev, spec, &ChannelLast::new(spec).import(weights));
    let all: Vec<usize> = (0..images.len()).collect();
    let mut logits = Vec::with_capacity(images.len() * spec.classes);
    for batch in all.chunks(INFER_BATCH) {
        logits.extend(net.forward(images_to_tensor(&dev, images, batch)).as_vec());
    }
    Ok(logits)
}

/// The images at `indices` as an NHWC tensor of normalised pixels.
fn images_to_tensor(dev: &Dev, data: &ImageSet, indices: &[usize]) -> Img<NoneTape> {
    let mut pixels = Vec::with_capacity(indices.len() * data.image_len());
    for &i in indices {
        pixels.extend(data.image(i).iter().map(|&p| pixel_value(p)));
    }
    dev.tensor_from_vec(
        pixels,
        (indices.len(), data.height, data.width, data.channels),
    )
}

/// One-hot targets `(batch, classes)`.
fn one_hot(
    dev: &Dev,
    data: &ImageSet,
    indices: &[usize],
    classes: usize,
) -> Tensor<(usize, usize), f32, Dev> {
    let mut t = vec![0.0; indices.len() * classes];
    for (row, &i) in indices.iter().enumerate() {
        t[row * classes + usize::from(data.labels[i])] = 1.0;
    }
    dev.tensor_from_vec(t, (indices.len(), classes))
}
