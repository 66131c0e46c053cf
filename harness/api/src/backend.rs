//! The CNN backend plugin kind: local training and plain inference.

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::{ImageSet, ModelSpec, PluginError, Rng};

/// The local optimiser, as written in the config's `[train.optimizer]` table.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Optimizer {
    /// Stochastic gradient descent with optional momentum and L2 weight decay (PyTorch `SGD`).
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum factor (0 disables it).
        #[serde(default)]
        momentum: f64,
        /// L2 penalty added to the gradient.
        #[serde(default, rename = "weight-decay")]
        weight_decay: f64,
    },
    /// Adam (Kingma & Ba 2015) as in PyTorch `Adam`, with L2 weight decay added to the gradient.
    Adam {
        /// Learning rate.
        lr: f64,
        /// First-moment decay.
        #[serde(default = "beta1")]
        beta1: f64,
        /// Second-moment decay.
        #[serde(default = "beta2")]
        beta2: f64,
        /// Denominator term.
        #[serde(default = "eps")]
        eps: f64,
        /// L2 penalty added to the gradient.
        #[serde(default, rename = "weight-decay")]
        weight_decay: f64,
    },
}

impl Optimizer {
    /// Adam with PyTorch's defaults (betas 0.9 and 0.999, eps 1e-8, no weight decay).
    pub fn adam(lr: f64) -> Self {
        Self::Adam {
            lr,
            beta1: beta1(),
            beta2: beta2(),
            eps: eps(),
            weight_decay: 0.0,
        }
    }
}

fn beta1() -> f64 {
    0.9
}
fn beta2() -> f64 {
    0.999
}
fn eps() -> f64 {
    1e-8
}

/// Everything a backend needs to train one hospital's model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainCtx {
    /// The architecture.
    pub spec: ModelSpec,
    /// Local epochs over the hospital's data.
    pub epochs: usize,
    /// Mini-batch size (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// The optimiser; its state starts fresh for every call.
    pub optimizer: Optimizer,
    /// The derived seed of this training call (shuffling, and any randomness of the backend).
    pub seed: u64,
}

/// What local training returns.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOutcome {
    /// The trained weights, in the flat layout of [`crate::model`].
    pub weights: Vec<f32>,
    /// Mean cross-entropy over the mini-batches of the last epoch.
    pub train_loss: f32,
}

/// A CNN engine: trains and runs the architectures of [`ModelSpec`] on flat weights.
///
/// Contract:
/// - weights in and out use the flat PyTorch layout of [`crate::model`];
/// - pixels enter the model as [`crate::data::pixel_value`] (that is, in `[-1, 1]`);
/// - the loss is mean cross-entropy over the batch;
/// - batches follow [`epoch_order`], so every backend sees the same batches;
/// - the same inputs and seed give bit-identical weights, whatever the thread count.
pub trait CnnBackend: Send + Sync {
    /// Trains from `start` for `ctx.epochs` epochs over `data`.
    fn train(
        &self,
        ctx: &TrainCtx,
        start: &[f32],
        data: &ImageSet,
    ) -> Result<TrainOutcome, PluginError>;

    /// Logits for every image, row-major `(images.len(), spec.classes)`.
    fn predict(
        &self,
        spec: &ModelSpec,
        weights: &[f32],
        images: &ImageSet,
    ) -> Result<Vec<f32>, PluginError>;

    /// The compute device, for the run manifest (`cpu`, `cuda:0`).
    fn device(&self) -> String;
}

/// The order in which an epoch visits `n` images: a permutation drawn from `rng`.
///
/// Backends call it once per epoch with the generator seeded from [`TrainCtx::seed`], so that
/// all backends train on identical batches.
pub fn epoch_order(rng: &mut Rng, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order
}

/// The training loop every backend shares: `ctx.epochs` epochs over `n` images in the order of
/// [`epoch_order`] (seeded from `ctx.seed`, stream `shuffle`), mini-batches of
/// `ctx.batch_size`, each handed to `step`, which trains on it and returns its mean loss.
/// Returns the last epoch's mean batch loss (NaN for zero epochs).
pub fn train_epochs(
    ctx: &TrainCtx,
    n: usize,
    mut step: impl FnMut(&[usize]) -> Result<f32, PluginError>,
) -> Result<f32, PluginError> {
    let mut rng = crate::rng(ctx.seed, &["shuffle"]);
    let mut last_epoch_loss = f32::NAN;
    for _ in 0..ctx.epochs {
        let order = epoch_order(&mut rng, n);
        let (mut sum, mut batches) = (0.0f64, 0usize);
        for batch in order.chunks(ctx.batch_size.max(1)) {
            sum += f64::from(step(batch)?);
            batches += 1;
        }
        last_epoch_loss = (sum / batches.max(1) as f64) as f32;
    }
    Ok(last_epoch_loss)
}

/// Refuses weights or images that do not fit `spec`; `backend` names the engine in the message.
///
/// Backends call it before touching any tensor, so that bad input is an error and never a panic.
pub fn check_inputs(
    backend: &str,
    spec: &ModelSpec,
    weights: &[f32],
    images: &ImageSet,
) -> Result<(), PluginError> {
    let side = crate::model::IMAGE_SIDE;
    if weights.len() != spec.param_count() {
        return Err(PluginError::invalid(format!(
            "{backend}: {} weights given, {} has {}",
            weights.len(),
            spec.arch.name(),
            spec.param_count()
        )));
    }
    if (images.height, images.width, images.channels) != (side, side, spec.in_channels) {
        return Err(PluginError::invalid(format!(
            "{backend}: images are {}x{}x{}, the model expects {side}x{side}x{}",
            images.height, images.width, images.channels, spec.in_channels
        )));
    }
    if images.pixels.len() != images.len() * images.image_len() {
        return Err(PluginError::invalid(format!(
            "{backend}: {} pixel values for {} images of {} values",
            images.pixels.len(),
            images.len(),
            images.image_len()
        )));
    }
    if images
        .labels
        .iter()
        .any(|&l| usize::from(l) >= spec.classes)
    {
        return Err(PluginError::invalid(format!(
            "{backend}: a label is not below {} classes",
            spec.classes
        )));
    }
    Ok(())
}

/// [`check_inputs`] for a training call, which also needs a positive batch size and epoch count.
pub fn check_train_inputs(
    backend: &str,
    ctx: &TrainCtx,
    start: &[f32],
    data: &ImageSet,
) -> Result<(), PluginError> {
    check_inputs(backend, &ctx.spec, start, data)?;
    if ctx.batch_size == 0 || ctx.epochs == 0 {
        return Err(PluginError::invalid(format!(
            "{backend}: batch size and local epochs must be positive"
        )));
    }
    Ok(())
}

/// Optimiser state over a flat parameter vector, shared by backends that compute flat gradients.
#[derive(Debug, Clone)]
pub struct OptimizerState {
    config: Optimizer,
    step: i32,
    m: Vec<f32>,
    v: Vec<f32>,
}

impl OptimizerState {
    /// Fresh state for `len` parameters.
    pub fn new(config: Optimizer, len: usize) -> Self {
        let v = match config {
            Optimizer::Adam { .. } => vec![0.0; len],
            Optimizer::Sgd { .. } => Vec::new(),
        };
        Self {
            config,
            step: 0,
            m: vec![0.0; len],
            v,
        }
    }

    /// Applies one update to `params` given `grads`, as PyTorch's optimiser of the same name.
    pub fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        self.step += 1;
        match self.config {
            Optimizer::Sgd {
                lr,
                momentum,
                weight_decay,
            } => {
                let (lr, momentum, weight_decay) =
                    (lr as f32, momentum as f32, weight_decay as f32);
                for ((p, &g), m) in params.iter_mut().zip(grads).zip(&mut self.m) {
                    let g = g + weight_decay * *p;
                    *m = if self.step == 1 { g } else { momentum * *m + g };
                    *p -= lr * if momentum == 0.0 { g } else { *m };
                }
            }
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            } => {
                let (lr, eps, weight_decay) = (lr as f32, eps as f32, weight_decay as f32);
                let (beta1, beta2) = (beta1 as f32, beta2 as f32);
                let c1 = 1.0 - beta1.powi(self.step);
                let c2 = 1.0 - beta2.powi(self.step);
                for (((p, &g), m), v) in params
                    .iter_mut()
                    .zip(grads)
                    .zip(&mut self.m)
                    .zip(&mut self.v)
                {
                    let g = g + weight_decay * *p;
                    *m = beta1 * *m + (1.0 - beta1) * g;
                    *v = beta2 * *v + (1.0 - beta2) * g * g;
                    *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn sgd_step_is_plain_gradient_descent() {
        let mut s = OptimizerState::new(
            Optimizer::Sgd {
                lr: 0.5,
                momentum: 0.0,
                weight_decay: 0.0,
            },
            2,
        );
        let mut p = [1.0, -2.0];
        s.step(&mut p, &[2.0, -4.0]);
        assert_eq!(p, [0.0, 0.0]);
    }

    #[test]
    fn adam_first_step_moves_each_weight_by_lr() {
        let opt = Optimizer::Adam {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        };
        let mut s = OptimizerState::new(opt, 2);
        let mut p = [1.0f32, 1.0];
        s.step(&mut p, &[3.0, -0.01]);
        assert!(
            (p[0] - 0.9).abs() < 1e-6 && (p[1] - 1.1).abs() < 1e-5,
            "{p:?}"
        );
    }

    #[test]
    fn epoch_order_is_a_seeded_permutation() {
        let a = epoch_order(&mut Rng::seed_from_u64(1), 100);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_eq!(a, epoch_order(&mut Rng::seed_from_u64(1), 100));
        assert_ne!(a, sorted);
    }

    #[test]
    fn optimizer_config_parses_with_defaults() {
        let o: Optimizer = toml::from_str("kind = \"adam\"\nlr = 0.001").unwrap();
        assert_eq!(
            o,
            Optimizer::Adam {
                lr: 0.001,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0
            }
        );
        assert!(toml::from_str::<Optimizer>("kind = \"adam\"\nlr = 0.1\nbogus = 1").is_err());
    }
}
