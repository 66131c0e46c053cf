//! Local training and batched inference.

use burn::tensor::loss::cross_entropy_with_logits;
use burn::tensor::{Device, Tensor, TensorData};
use securefl_api::data::pixel_value;
use securefl_api::{
    ImageSet, ModelSpec, OptimizerState, PluginError, TrainCtx, TrainOutcome, train_epochs,
};

use crate::net::{Net, values};

/// Images per inference batch.
const INFER_BATCH: usize = 512;

/// Trains from flat weights `start` and returns flat weights.
///
/// burn's random generator is never used (the weights come in, batches come from
/// [`epoch_order`]), so the device is not seeded: flex's seed is process-global and would race
/// between hospitals trained in parallel.
pub(crate) fn train(
    ctx: &TrainCtx,
    start: &[f32],
    data: &ImageSet,
) -> Result<TrainOutcome, PluginError> {
    let dev = Device::flex().autodiff();
    let mut params = start.to_vec();
    let mut opt = OptimizerState::new(ctx.optimizer, params.len());
    let train_loss = train_epochs(ctx, data.len(), |batch| {
        let (loss, grads) = loss_and_gradients(&dev, ctx, &params, data, batch)?;
        opt.step(&mut params, &grads);
        Ok(loss)
    })?;
    Ok(TrainOutcome {
        weights: params,
        train_loss,
    })
}

/// The mean cross-entropy of one batch and its gradient in the flat layout.
fn loss_and_gradients(
    dev: &Device,
    ctx: &TrainCtx,
    params: &[f32],
    data: &ImageSet,
    batch: &[usize],
) -> Result<(f32, Vec<f32>), PluginError> {
    let net = Net::new(dev, &ctx.spec, params, true);
    let logits = net.forward(images_to_tensor(dev, data, batch));
    let loss = cross_entropy_with_logits(logits, one_hot(dev, data, batch, ctx.spec.classes));
    let grads = loss.backward();
    let value = values(loss)?;
    Ok((
        value.first().copied().unwrap_or(f32::NAN),
        net.gradients(&grads)?,
    ))
}

/// Logits `(n, classes)` for every image.
pub(crate) fn predict(
    spec: &ModelSpec,
    weights: &[f32],
    images: &ImageSet,
) -> Result<Vec<f32>, PluginError> {
    let dev = Device::flex();
    let net = Net::new(&dev, spec, weights, false);
    let all: Vec<usize> = (0..images.len()).collect();
    let mut logits = Vec::with_capacity(images.len() * spec.classes);
    for batch in all.chunks(INFER_BATCH) {
        logits.extend(values(net.forward(images_to_tensor(&dev, images, batch)))?);
    }
    Ok(logits)
}

/// The images at `indices` as an NCHW tensor of normalised pixels.
fn images_to_tensor(dev: &Device, data: &ImageSet, indices: &[usize]) -> Tensor<4> {
    let (c, plane) = (data.channels, data.height * data.width);
    let mut pixels = vec![0.0; indices.len() * data.image_len()];
    for (out, &i) in pixels.chunks_mut(data.image_len()).zip(indices) {
        // Stored channel-last: value `p` is pixel `p / c`, channel `p % c`.
        for (p, &v) in data.image(i).iter().enumerate() {
            out[(p % c) * plane + p / c] = pixel_value(v);
        }
    }
    let shape = [indices.len(), c, data.height, data.width];
    Tensor::from_data(TensorData::new(pixels, shape), dev)
}

/// One-hot targets `(batch, classes)`.
fn one_hot(dev: &Device, data: &ImageSet, indices: &[usize], classes: usize) -> Tensor<2> {
    let mut t = vec![0.0f32; indices.len() * classes];
    for (row, &i) in indices.iter().enumerate() {
        t[row * classes + usize::from(data.labels[i])] = 1.0;
    }
    Tensor::from_data(TensorData::new(t, [indices.len(), classes]), dev)
}
