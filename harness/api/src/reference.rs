//! A slow, obviously correct forward pass over the flat PyTorch layout.
//!
//! It is the executable definition of [`crate::model`]'s layout: every backend and every SMPC
//! engine is tested against it (NCHW loops, no tricks).

use crate::model::IMAGE_SIDE;
use crate::{ImageSet, Layer, ModelSpec};

/// Logits of image `i`, computed in f64 with plain loops.
pub fn forward_one(spec: &ModelSpec, weights: &[f32], images: &ImageSet, i: usize) -> Vec<f64> {
    let (mut c, mut side) = (images.channels, IMAGE_SIDE);
    // NCHW activation of one image.
    let px = images.image(i);
    let mut act: Vec<f64> = (0..c * side * side)
        .map(|n| {
            let (ch, pixel) = (n / (side * side), n % (side * side));
            f64::from(crate::data::pixel_value(px[pixel * c + ch]))
        })
        .collect();
    let mut offset = 0;
    for layer in spec.layers() {
        match layer {
            Layer::Conv { c_in, c_out, k } => {
                let w = &weights[offset..offset + c_out * c_in * k * k];
                let b = &weights[offset + w.len()..offset + w.len() + c_out];
                offset += w.len() + c_out;
                act = conv(&act, w, b, (c_in, c_out, k, side));
                (c, side) = (c_out, side + 1 - k);
            }
            Layer::MaxPool2 => {
                act = pool(&act, c, side);
                side /= 2;
            }
            Layer::Relu => act.iter_mut().for_each(|v| *v = v.max(0.0)),
            Layer::Flatten => {}
            Layer::Linear { d_in, d_out } => {
                let w = &weights[offset..offset + d_in * d_out];
                let b = &weights[offset + w.len()..offset + w.len() + d_out];
                offset += w.len() + d_out;
                act = (0..d_out)
                    .map(|o| {
                        f64::from(b[o])
                            + (0..d_in)
                                .map(|n| f64::from(w[o * d_in + n]) * act[n])
                                .sum::<f64>()
                    })
                    .collect();
            }
        }
    }
    act
}

fn conv(
    x: &[f64],
    w: &[f32],
    b: &[f32],
    (c_in, c_out, k, side): (usize, usize, usize, usize),
) -> Vec<f64> {
    let so = side + 1 - k;
    let mut y = vec![0.0; c_out * so * so];
    for o in 0..c_out {
        for yy in 0..so {
            for xx in 0..so {
                let mut s = f64::from(b[o]);
                for c in 0..c_in {
                    for i in 0..k {
                        for j in 0..k {
                            let wv = f64::from(w[((o * c_in + c) * k + i) * k + j]);
                            s += wv * x[(c * side + yy + i) * side + xx + j];
                        }
                    }
                }
                y[(o * so + yy) * so + xx] = s;
            }
        }
    }
    y
}

fn pool(x: &[f64], c: usize, side: usize) -> Vec<f64> {
    let so = side / 2;
    let mut y = vec![0.0; c * so * so];
    for ch in 0..c {
        for yy in 0..so {
            for xx in 0..so {
                let at = |dy: usize, dx: usize| x[(ch * side + 2 * yy + dy) * side + 2 * xx + dx];
                y[(ch * so + yy) * so + xx] = at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1));
            }
        }
    }
    y
}
