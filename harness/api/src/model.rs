//! CNN architectures and the flat, PyTorch-compatible weight layout every backend shares.
//!
//! A model's weights are one `Vec<f32>`: the parameter tensors in layer order, each in PyTorch's
//! layout and each weight before its bias, exactly as `torch.cat([p.flatten() for p in
//! model.parameters()])` gives for the equivalent `nn.Sequential`:
//!
//! - convolution weight `(out, in, k, k)`, then bias `(out)`;
//! - linear weight `(out, in)`, then bias `(out)`;
//! - flatten is channel-major (`c * h * w + y * w + x`), as `torch.flatten` of an NCHW tensor.
//!
//! Backends, attacks, defenses and SMPC engines all read and write this layout, so the same
//! model runs everywhere.

use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::Rng;

/// Input images are 28 x 28 (MedMNIST's 2D size).
pub const IMAGE_SIDE: usize = 28;

/// A named architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    /// The paper-scale CNN: Conv(C→16,3)–ReLU–MaxPool2–Conv(16→32,3)–ReLU–MaxPool2–
    /// Linear(800→64)–ReLU–Linear(64→classes).
    PaperCnn,
    /// A wider CNN, about 4x the compute: Conv(C→32,3)–ReLU–MaxPool2–Conv(32→64,3)–ReLU–
    /// MaxPool2–Linear(1600→128)–ReLU–Linear(128→classes).
    WideCnn,
}

impl Arch {
    /// The kebab-case name used in configs.
    pub fn name(self) -> &'static str {
        match self {
            Self::PaperCnn => "paper-cnn",
            Self::WideCnn => "wide-cnn",
        }
    }
}

/// One layer of a sequential CNN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Valid (unpadded), stride-1 square convolution with bias.
    Conv {
        /// Input channels.
        c_in: usize,
        /// Output channels.
        c_out: usize,
        /// Kernel side.
        k: usize,
    },
    /// Elementwise max(0, x).
    Relu,
    /// 2x2 max-pool with stride 2; an odd last row or column is dropped (floor).
    MaxPool2,
    /// Channel-major flatten of a `(c, h, w)` activation.
    Flatten,
    /// Fully connected layer with bias.
    Linear {
        /// Input features.
        d_in: usize,
        /// Output features.
        d_out: usize,
    },
}

/// One parameter tensor inside the flat weight vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamTensor {
    /// PyTorch-style name (`conv1.weight`, `fc2.bias`).
    pub name: String,
    /// PyTorch shape.
    pub shape: Vec<usize>,
    /// First index in the flat vector.
    pub offset: usize,
}

impl ParamTensor {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True for a tensor with no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index range in the flat vector.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }
}

/// An architecture instantiated for a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// The architecture.
    pub arch: Arch,
    /// Channels of the input images.
    pub in_channels: usize,
    /// Number of output classes.
    pub classes: usize,
}

impl ModelSpec {
    /// The layers, in order.
    pub fn layers(&self) -> Vec<Layer> {
        let (c1, c2, hidden) = match self.arch {
            Arch::PaperCnn => (16, 32, 64),
            Arch::WideCnn => (32, 64, 128),
        };
        let side = ((IMAGE_SIDE - 2) / 2 - 2) / 2;
        vec![
            Layer::Conv {
                c_in: self.in_channels,
                c_out: c1,
                k: 3,
            },
            Layer::Relu,
            Layer::MaxPool2,
            Layer::Conv {
                c_in: c1,
                c_out: c2,
                k: 3,
            },
            Layer::Relu,
            Layer::MaxPool2,
            Layer::Flatten,
            Layer::Linear {
                d_in: c2 * side * side,
                d_out: hidden,
            },
            Layer::Relu,
            Layer::Linear {
                d_in: hidden,
                d_out: self.classes,
            },
        ]
    }

    /// The parameter tensors in flat-vector order.
    pub fn param_layout(&self) -> Vec<ParamTensor> {
        let mut out = Vec::new();
        let mut offset = 0;
        let (mut convs, mut fcs) = (0, 0);
        let mut push = |name: String, shape: Vec<usize>, out: &mut Vec<ParamTensor>| {
            let t = ParamTensor {
                name,
                shape,
                offset,
            };
            offset += t.len();
            out.push(t);
        };
        for layer in self.layers() {
            match layer {
                Layer::Conv { c_in, c_out, k } => {
                    convs += 1;
                    push(
                        format!("conv{convs}.weight"),
                        vec![c_out, c_in, k, k],
                        &mut out,
                    );
                    push(format!("conv{convs}.bias"), vec![c_out], &mut out);
                }
                Layer::Linear { d_in, d_out } => {
                    fcs += 1;
                    push(format!("fc{fcs}.weight"), vec![d_out, d_in], &mut out);
                    push(format!("fc{fcs}.bias"), vec![d_out], &mut out);
                }
                Layer::Relu | Layer::MaxPool2 | Layer::Flatten => {}
            }
        }
        out
    }

    /// Total number of parameters.
    pub fn param_count(&self) -> usize {
        self.param_layout().iter().map(ParamTensor::len).sum()
    }

    /// Fresh weights drawn as PyTorch's default initialisation does for `Conv2d` and `Linear`:
    /// every weight and bias uniform in `±1/sqrt(fan_in)`.
    pub fn init_weights(&self, rng: &mut Rng) -> Vec<f32> {
        let mut w = vec![0.0; self.param_count()];
        let layout = self.param_layout();
        for pair in layout.chunks(2) {
            let (weight, bias) = (&pair[0], &pair[1]);
            let bound = 1.0 / (weight.shape[1..].iter().product::<usize>() as f32).sqrt();
            for v in &mut w[weight.range()] {
                *v = rng.gen_range(-bound..bound);
            }
            for v in &mut w[bias.range()] {
                *v = rng.gen_range(-bound..bound);
            }
        }
        w
    }
}

/// Flat weights as a weight file: little-endian f32, nothing else (PyTorch reads it with
/// `torch.from_numpy(numpy.fromfile(path, "<f4"))` and splits it by [`ModelSpec::param_layout`]).
pub fn weights_to_bytes(weights: &[f32]) -> Vec<u8> {
    weights.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Reads a weight file written by [`weights_to_bytes`] for `spec`; `what` names it in errors.
pub fn weights_from_bytes(
    spec: &ModelSpec,
    bytes: &[u8],
    what: &str,
) -> Result<Vec<f32>, crate::PluginError> {
    let want = spec.param_count() * 4;
    if bytes.len() != want {
        return Err(crate::PluginError::invalid(format!(
            "{what}: {} bytes, but {} with {} input channels and {} classes needs {want}",
            bytes.len(),
            spec.arch.name(),
            spec.in_channels,
            spec.classes
        )));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn paper_cnn_has_the_papers_shapes() {
        let spec = ModelSpec {
            arch: Arch::PaperCnn,
            in_channels: 1,
            classes: 2,
        };
        let shapes: Vec<_> = spec
            .param_layout()
            .into_iter()
            .map(|t| (t.name, t.shape))
            .collect();
        assert_eq!(
            shapes,
            [
                ("conv1.weight".to_owned(), vec![16, 1, 3, 3]),
                ("conv1.bias".to_owned(), vec![16]),
                ("conv2.weight".to_owned(), vec![32, 16, 3, 3]),
                ("conv2.bias".to_owned(), vec![32]),
                ("fc1.weight".to_owned(), vec![64, 800]),
                ("fc1.bias".to_owned(), vec![64]),
                ("fc2.weight".to_owned(), vec![2, 64]),
                ("fc2.bias".to_owned(), vec![2]),
            ]
        );
        assert_eq!(spec.param_count(), 56_194);
    }

    #[test]
    fn wide_cnn_for_rgb_eight_classes() {
        let spec = ModelSpec {
            arch: Arch::WideCnn,
            in_channels: 3,
            classes: 8,
        };
        assert_eq!(spec.param_layout()[4].shape, vec![128, 1600]);
        assert_eq!(
            spec.param_count(),
            32 * 27 + 32 + 64 * 288 + 64 + 128 * 1600 + 128 + 8 * 128 + 8
        );
    }

    #[test]
    fn init_is_seeded_and_bounded_by_fan_in() {
        let spec = ModelSpec {
            arch: Arch::PaperCnn,
            in_channels: 1,
            classes: 2,
        };
        let a = spec.init_weights(&mut Rng::seed_from_u64(7));
        assert_eq!(a, spec.init_weights(&mut Rng::seed_from_u64(7)));
        assert_ne!(a, spec.init_weights(&mut Rng::seed_from_u64(8)));
        let fc1 = &spec.param_layout()[4];
        let bound = 1.0 / 800f32.sqrt();
        assert!(a[fc1.range()].iter().all(|v| v.abs() <= bound));
        assert!(a[fc1.range()].iter().any(|v| v.abs() > bound * 0.9));
    }
}
