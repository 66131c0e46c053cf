//! The channel-last layout: index maps between the flat PyTorch layout and the matrices of an
//! engine whose activations are channel-last (NHWC) and whose convolution is one matrix product
//! over im2col patches (the dfdx backend and the SMPC engine both are).
//!
//! In that layout:
//!
//! - a convolution weight is a `(k·k·c_in, c_out)` matrix whose row `(i·k + j)·c_in + c` holds
//!   PyTorch's `w[o][c][i][j]` in column `o`;
//! - a linear weight is transposed to `(d_in, d_out)`; after a flatten, its rows follow the
//!   channel-last order `(y·w + x)·c + ch` instead of PyTorch's `ch·h·w + y·w + x`;
//! - biases are unchanged.
//!
//! [`ChannelLast`] lists, for every internal value, the flat index it comes from.

use crate::model::IMAGE_SIDE;
use crate::{Layer, ModelSpec};

/// For each internal parameter tensor, the flat PyTorch index of each of its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelLast {
    /// One map per internal tensor, in layer order (weight then bias).
    pub tensors: Vec<Vec<usize>>,
}

impl ChannelLast {
    /// Builds the maps for `spec`.
    pub fn new(spec: &ModelSpec) -> Self {
        let mut tensors = Vec::new();
        let mut offset = 0;
        let (mut side, mut channels) = (IMAGE_SIDE, spec.in_channels);
        let mut flattened_from: Option<(usize, usize)> = None;
        for layer in spec.layers() {
            match layer {
                Layer::Conv { c_in, c_out, k } => {
                    tensors.push(conv_weight_map(offset, c_in, c_out, k));
                    offset += c_out * c_in * k * k;
                    tensors.push((offset..offset + c_out).collect());
                    offset += c_out;
                    (side, channels) = (side + 1 - k, c_out);
                }
                Layer::MaxPool2 => side /= 2,
                Layer::Flatten => flattened_from = Some((side, channels)),
                Layer::Linear { d_in, d_out } => {
                    tensors.push(linear_weight_map(
                        offset,
                        d_in,
                        d_out,
                        flattened_from.take(),
                    ));
                    offset += d_in * d_out;
                    tensors.push((offset..offset + d_out).collect());
                    offset += d_out;
                }
                Layer::Relu => {}
            }
        }
        Self { tensors }
    }

    /// Internal values (tensors concatenated) from flat PyTorch-layout weights.
    pub fn import(&self, flat: &[f32]) -> Vec<f32> {
        self.tensors.iter().flatten().map(|&i| flat[i]).collect()
    }

    /// Flat PyTorch-layout weights from internal values.
    pub fn export(&self, internal: &[f32]) -> Vec<f32> {
        let mut flat = vec![0.0; internal.len()];
        for (&i, &v) in self.tensors.iter().flatten().zip(internal) {
            flat[i] = v;
        }
        flat
    }
}

/// Row `(i·k + j)·c_in + c`, column `o` of the patch matrix holds PyTorch's `w[o][c][i][j]`.
fn conv_weight_map(offset: usize, c_in: usize, c_out: usize, k: usize) -> Vec<usize> {
    let mut map = Vec::with_capacity(k * k * c_in * c_out);
    for i in 0..k {
        for j in 0..k {
            for c in 0..c_in {
                for o in 0..c_out {
                    map.push(offset + ((o * c_in + c) * k + i) * k + j);
                }
            }
        }
    }
    map
}

/// Row `n`, column `o` of the `(d_in, d_out)` matrix; `n` is channel-last after a flatten.
fn linear_weight_map(
    offset: usize,
    d_in: usize,
    d_out: usize,
    flat: Option<(usize, usize)>,
) -> Vec<usize> {
    let mut map = Vec::with_capacity(d_in * d_out);
    for n in 0..d_in {
        let torch_n = match flat {
            Some((side, channels)) => {
                let (pixel, ch) = (n / channels, n % channels);
                ch * side * side + pixel
            }
            None => n,
        };
        for o in 0..d_out {
            map.push(offset + o * d_in + torch_n);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Arch;

    #[test]
    fn maps_are_permutations_and_round_trip() {
        for arch in [Arch::PaperCnn, Arch::WideCnn] {
            let spec = ModelSpec {
                arch,
                in_channels: 3,
                classes: 8,
            };
            let layout = ChannelLast::new(&spec);
            let mut all: Vec<usize> = layout.tensors.iter().flatten().copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..spec.param_count()).collect::<Vec<_>>());
            let flat: Vec<f32> = (0..spec.param_count()).map(|i| i as f32).collect();
            assert_eq!(layout.export(&layout.import(&flat)), flat);
        }
    }

    #[test]
    fn conv_weight_rows_are_patch_major() {
        // c_in = 2, c_out = 3, k = 2: row (i*2 + j)*2 + c, column o <- w[o][c][i][j].
        let map = conv_weight_map(0, 2, 3, 2);
        let row = |i: usize, j: usize, c: usize| ((i * 2 + j) * 2 + c) * 3;
        assert_eq!(map[row(1, 0, 1) + 2], ((2 * 2 + 1) * 2 + 1) * 2);
    }

    #[test]
    fn flattened_linear_rows_are_channel_last() {
        // A 2x2 activation with 3 channels: internal row (y*2+x)*3 + ch <- torch column ch*4 + y*2 + x.
        let map = linear_weight_map(0, 12, 1, Some((2, 3)));
        assert_eq!(map[(2 + 1) * 3 + 2], 2 * 4 + 2 + 1);
    }
}
