//! The sequential CNN on burn tensors, with parameters in the flat PyTorch layout.
//!
//! Activations are NCHW, as in PyTorch, so convolution weights `(out, in, k, k)` and the
//! channel-major flatten need no permutation. A linear weight stays `(out, in)` and enters the
//! product transposed (`x · wᵀ`); burn's own `nn::Linear` would store it `(in, out)` instead.
//! flex multiplies strided views, so the transpose costs no copy.

use burn::tensor::activation::relu;
use burn::tensor::module::{conv2d, linear, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use securefl_api::{Layer, ModelSpec, PluginError};

/// One layer with its parameters on the device.
enum NetLayer {
    Conv { w: Tensor<4>, b: Tensor<1> },
    Linear { w: Tensor<2>, b: Tensor<1> },
    Relu,
    MaxPool2,
    Flatten,
}

/// An activation between layers.
enum Act {
    /// Before the flatten: `(batch, channels, height, width)`.
    Img(Tensor<4>),
    /// After it: `(batch, features)`.
    Flat(Tensor<2>),
}

/// The network: its layers and parameter tensors.
pub(crate) struct Net {
    layers: Vec<NetLayer>,
}

impl Net {
    /// The network for `spec` with flat weights `flat` on `dev`; with `track`, every parameter
    /// is a leaf whose gradient is kept (`dev` must then have autodiff).
    pub(crate) fn new(dev: &Device, spec: &ModelSpec, flat: &[f32], track: bool) -> Self {
        let mut rest = flat;
        let mut take = |shape: &[usize]| {
            let (head, tail) = rest.split_at(shape.iter().product());
            rest = tail;
            TensorData::new(head.to_vec(), shape.to_vec())
        };
        let layers = spec
            .layers()
            .into_iter()
            .map(|layer| match layer {
                Layer::Conv { c_in, c_out, k } => NetLayer::Conv {
                    w: leaf(take(&[c_out, c_in, k, k]), dev, track),
                    b: leaf(take(&[c_out]), dev, track),
                },
                Layer::Linear { d_in, d_out } => NetLayer::Linear {
                    w: leaf(take(&[d_out, d_in]), dev, track),
                    b: leaf(take(&[d_out]), dev, track),
                },
                Layer::Relu => NetLayer::Relu,
                Layer::MaxPool2 => NetLayer::MaxPool2,
                Layer::Flatten => NetLayer::Flatten,
            })
            .collect();
        Self { layers }
    }

    /// Logits `(batch, classes)` for a batch of NCHW images.
    pub(crate) fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let valid = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
        let mut act = Act::Img(x);
        for layer in &self.layers {
            act = match (layer, act) {
                (NetLayer::Conv { w, b }, Act::Img(x)) => {
                    Act::Img(conv2d(x, w.clone(), Some(b.clone()), valid.clone()))
                }
                (NetLayer::MaxPool2, Act::Img(x)) => {
                    Act::Img(max_pool2d(x, MaxPoolOptions::new([2, 2])))
                }
                (NetLayer::Relu, Act::Img(x)) => Act::Img(relu(x)),
                (NetLayer::Relu, Act::Flat(x)) => Act::Flat(relu(x)),
                (NetLayer::Flatten, Act::Img(x)) => Act::Flat(x.flatten(1, 3)),
                (NetLayer::Linear { w, b }, Act::Flat(x)) => {
                    Act::Flat(linear(x, w.clone().transpose(), Some(b.clone())))
                }
                _ => unreachable!("ModelSpec::layers puts 4-d layers before the flatten"),
            };
        }
        match act {
            Act::Flat(logits) => logits,
            Act::Img(_) => unreachable!("every architecture ends with a linear layer"),
        }
    }

    /// Gradients of every parameter in the flat PyTorch layout, after `loss.backward()`.
    pub(crate) fn gradients(&self, grads: &Gradients) -> Result<Vec<f32>, PluginError> {
        let mut out = Vec::new();
        for layer in &self.layers {
            match layer {
                NetLayer::Conv { w, b } => {
                    out.extend(read(w.grad(grads))?);
                    out.extend(read(b.grad(grads))?);
                }
                NetLayer::Linear { w, b } => {
                    out.extend(read(w.grad(grads))?);
                    out.extend(read(b.grad(grads))?);
                }
                NetLayer::Relu | NetLayer::MaxPool2 | NetLayer::Flatten => {}
            }
        }
        Ok(out)
    }
}

/// A parameter tensor made from `data`, a gradient leaf when `track`.
fn leaf<const D: usize>(data: TensorData, dev: &Device, track: bool) -> Tensor<D> {
    let t = Tensor::from_data(data, dev);
    if track { t.require_grad() } else { t }
}

/// The values of a gradient, or an error when backward produced none.
fn read<const D: usize>(grad: Option<Tensor<D>>) -> Result<Vec<f32>, PluginError> {
    let grad = grad.ok_or_else(|| PluginError::failed("burn: a parameter got no gradient"))?;
    values(grad)
}

/// The values of `t`, read back to the host as f32.
pub(crate) fn values<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, PluginError> {
    let data = t
        .try_into_data()
        .map_err(|e| PluginError::failed(format!("burn: reading a tensor: {e}")))?;
    data.try_into_vec::<f32>()
        .map_err(|e| PluginError::failed(format!("burn: reading a tensor: {e:?}")))
}
