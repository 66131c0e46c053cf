//! The sequential CNN on dfdx tensors with runtime shapes, built only from stable tensor ops.
//!
//! dfdx 0.13's own `Conv2D` and `MaxPool2D` exist only on a nightly compiler that no longer
//! builds them, so a convolution here is im2col from `k·k` shifted slices, stacked, permuted and
//! multiplied by one weight matrix; a 2x2 max-pool is a reshape to `(b, h/2, 2, w/2, 2, c)`
//! followed by a max over the two window axes.
//! Activations are channel-last (NHWC); see [`securefl_api::layout`] for the weight layout.

use dfdx::prelude::*;
use securefl_api::{Layer, ModelSpec};

use crate::Dev;

/// A 4-d activation `(batch, height, width, channels)`.
pub(crate) type Img<T> = Tensor<(usize, usize, usize, usize), f32, Dev, T>;
/// A 2-d activation or weight `(rows, columns)`.
pub(crate) type Mat<T> = Tensor<(usize, usize), f32, Dev, T>;
type Vector = Tensor<(usize,), f32, Dev>;

/// One layer with its parameters on the device.
enum NetLayer {
    Conv { w: Mat<NoTape>, b: Vector, k: usize },
    Linear { w: Mat<NoTape>, b: Vector },
    Relu,
    MaxPool2,
    Flatten,
}

type NoTape = NoneTape;

/// An activation between layers.
pub(crate) enum Act<T> {
    /// Before the flatten.
    Img(Img<T>),
    /// After it.
    Flat(Mat<T>),
}

/// The network: its layers and parameter tensors.
pub(crate) struct Net {
    layers: Vec<NetLayer>,
}

impl Net {
    /// Allocates the network for `spec` with internal-layout parameters `params`.
    pub(crate) fn new(dev: &Dev, spec: &ModelSpec, params: &[f32]) -> Self {
        let mut rest = params;
        let mut take = |n: usize| {
            let (head, tail) = rest.split_at(n);
            rest = tail;
            head.to_vec()
        };
        let layers = spec
            .layers()
            .into_iter()
            .map(|layer| match layer {
                Layer::Conv { c_in, c_out, k } => NetLayer::Conv {
                    w: dev.tensor_from_vec(take(k * k * c_in * c_out), (k * k * c_in, c_out)),
                    b: dev.tensor_from_vec(take(c_out), (c_out,)),
                    k,
                },
                Layer::Linear { d_in, d_out } => NetLayer::Linear {
                    w: dev.tensor_from_vec(take(d_in * d_out), (d_in, d_out)),
                    b: dev.tensor_from_vec(take(d_out), (d_out,)),
                },
                Layer::Relu => NetLayer::Relu,
                Layer::MaxPool2 => NetLayer::MaxPool2,
                Layer::Flatten => NetLayer::Flatten,
            })
            .collect();
        Self { layers }
    }

    /// Overwrites the parameters with `params` (internal layout, concatenated).
    pub(crate) fn load(&mut self, params: &[f32]) {
        let mut rest = params;
        for t in self.params_mut() {
            let (head, tail) = rest.split_at(t.numel());
            t.copy_from(head);
            rest = tail;
        }
    }

    /// The parameter tensors, as 2-d or 1-d views of the same storage order as [`Net::load`].
    fn params_mut(&mut self) -> Vec<&mut dyn CopyFrom> {
        let mut out: Vec<&mut dyn CopyFrom> = Vec::new();
        for layer in &mut self.layers {
            if let NetLayer::Conv { w, b, .. } | NetLayer::Linear { w, b } = layer {
                out.push(w);
                out.push(b);
            }
        }
        out
    }

    /// Gradients of every parameter, concatenated in internal order.
    pub(crate) fn gradients(&self, grads: &Gradients<f32, Dev>) -> Vec<f32> {
        let mut out = Vec::new();
        for layer in &self.layers {
            if let NetLayer::Conv { w, b, .. } | NetLayer::Linear { w, b } = layer {
                out.extend(grads.get(w).as_vec());
                out.extend(grads.get(b).as_vec());
            }
        }
        out
    }

    /// Logits `(batch, classes)` for a batch of NHWC images.
    pub(crate) fn forward<T: Tape<f32, Dev> + Merge<T>>(&self, x: Img<T>) -> Mat<T> {
        let mut act = Act::Img(x);
        for layer in &self.layers {
            act = match (layer, act) {
                (NetLayer::Conv { w, b, k }, Act::Img(x)) => Act::Img(conv(x, w, b, *k)),
                (NetLayer::MaxPool2, Act::Img(x)) => Act::Img(max_pool2(x)),
                (NetLayer::Relu, Act::Img(x)) => Act::Img(x.relu()),
                (NetLayer::Relu, Act::Flat(x)) => Act::Flat(x.relu()),
                (NetLayer::Flatten, Act::Img(x)) => {
                    let (b, h, w, c) = *x.shape();
                    Act::Flat(x.reshape_like(&(b, h * w * c)))
                }
                (NetLayer::Linear { w, b }, Act::Flat(x)) => Act::Flat(linear(x, w, b)),
                _ => unreachable!("ModelSpec::layers puts 4-d layers before the flatten"),
            };
        }
        match act {
            Act::Flat(logits) => logits,
            Act::Img(_) => unreachable!("every architecture ends with a linear layer"),
        }
    }
}

/// A tensor whose values can be overwritten from a slice.
trait CopyFrom {
    fn numel(&self) -> usize;
    fn copy_from(&mut self, src: &[f32]);
}

impl<S: Shape> CopyFrom for Tensor<S, f32, Dev> {
    fn numel(&self) -> usize {
        self.shape().num_elements()
    }
    fn copy_from(&mut self, src: &[f32]) {
        Tensor::copy_from(self, src);
    }
}

/// `x · w + b` with `w` of shape `(d_in, d_out)`.
fn linear<T: Tape<f32, Dev> + Merge<T>>(x: Mat<T>, w: &Mat<NoTape>, b: &Vector) -> Mat<T> {
    let y = x.matmul(w.retaped::<T>());
    let shape = *y.shape();
    y + b.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape)
}

/// Valid, stride-1 `k x k` convolution as one matrix product over im2col patches.
fn conv<T: Tape<f32, Dev> + Merge<T>>(x: Img<T>, w: &Mat<NoTape>, b: &Vector, k: usize) -> Img<T> {
    let (batch, h, wd, c) = *x.shape();
    let (ho, wo) = (h + 1 - k, wd + 1 - k);
    let mut patches = Vec::with_capacity(k * k);
    for i in 0..k {
        for j in 0..k {
            if i + 1 < k || j + 1 < k {
                patches.push(own_copy(x.with_empty_tape()).slice((.., i..i + ho, j..j + wo, ..)));
            }
        }
    }
    // The last patch takes `x` itself, so `x`'s tape joins the stack exactly once.
    patches.push(own_copy(x).slice((.., k - 1..k - 1 + ho, k - 1..k - 1 + wo, ..)));
    let stacked = patches.stack().permute::<_, Axes5<1, 2, 3, 0, 4>>();
    let cols = stacked.reshape_like(&(batch * ho * wo, k * k * c));
    let y = linear(cols, w, b);
    let c_out = y.shape().1;
    y.reshape_like(&(batch, ho, wo, c_out))
}

/// When recording gradients, a copy of `x` (`x + 0`) for one patch to slice.
///
/// dfdx 0.13's slice backward *assigns* the output gradient into the input's gradient instead of
/// adding it (`view[i] = o` in `tensor_ops/slice/cpu_kernel.rs`), so of several overlapping
/// slices of one tensor only the last one's gradient would survive, and every layer before a
/// convolution would get a wrong gradient. Each patch therefore slices its own copy, whose
/// backward (an add) accumulates into `x`'s gradient. Inference needs no copy.
fn own_copy<T: Tape<f32, Dev>>(x: Img<T>) -> Img<T> {
    if T::OWNS_TAPE { x + 0.0 } else { x }
}

/// 2x2 max-pool, stride 2, dropping an odd last row or column.
fn max_pool2<T: Tape<f32, Dev> + Merge<T>>(x: Img<T>) -> Img<T> {
    let (b, h, w, c) = *x.shape();
    let (h2, w2) = (h / 2, w / 2);
    let even = if h % 2 == 1 || w % 2 == 1 {
        x.slice((.., 0..2 * h2, 0..2 * w2, ..))
    } else {
        x
    };
    let windows = even.reshape_like(&(b, h2, 2usize, w2, 2usize, c));
    windows.max::<(usize, usize, usize, usize), Axes2<2, 4>>()
}
