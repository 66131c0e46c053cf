//! Encrypted CNN inference over any [`Mpc`] protocol.
//!
//! A model is shared in the channel-last layout of `securefl_api::layout` (the layout the dfdx
//! backend computes with), so activations stay NHWC and a flatten is free. Two exact rewrites
//! apply: a ReLU followed by a max-pool runs as max-pool then ReLU (ReLU is monotone, so the
//! result is identical and 4x fewer ReLUs are needed), and each bias is added at scale 2f
//! before the layer's truncation.
//!
//! The head compares the arg-max with secret-shared labels and sums shared counts of correct
//! predictions per class (for accuracy and balanced accuracy); only what the caller opens leaves the protocol.

use securefl_api::data::pixel_value;
use securefl_api::layout::ChannelLast;
use securefl_api::model::IMAGE_SIDE;
use securefl_api::{ImageSet, Layer, ModelSpec};

use crate::linalg::Bilinear;
use crate::mpc::Mpc;

/// One step of the shared network.
enum Step<P: Mpc> {
    Conv {
        w: P::A,
        b: P::A,
        k: usize,
        c_out: usize,
    },
    Linear {
        w: P::A,
        b: P::A,
        d_out: usize,
    },
    Relu,
    MaxPool2,
    Flatten,
}

impl<P: Mpc> SharedModel<P> {
    /// The architecture.
    pub fn spec(&self) -> ModelSpec {
        self.spec
    }
}

/// A secret-shared model.
pub struct SharedModel<P: Mpc> {
    spec: ModelSpec,
    steps: Vec<Step<P>>,
    /// The shared parameters in channel-last order, concatenated (what secure aggregation sums).
    pub params: P::A,
}

/// A secret-shared labelled image set.
pub struct SharedData<P: Mpc> {
    pixels: P::A,
    label_bits: P::B,
    labels: P::A,
    /// One-hot labels, class-major: bit `c·n + i` is 1 when image `i` has label `c`.
    onehot: P::B,
    /// Images per class: the validators' own statistic of their split, public to them.
    class_counts: Vec<u64>,
    n: usize,
    channels: usize,
}

impl<P: Mpc> SharedData<P> {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Images per class.
    pub fn class_counts(&self) -> &[u64] {
        &self.class_counts
    }
}

/// Shares a model given as flat PyTorch-layout weights (an input of its owner).
pub fn share_model<P: Mpc>(p: &mut P, spec: &ModelSpec, weights: &[f32]) -> SharedModel<P> {
    let layout = ChannelLast::new(spec);
    let params = p.input(&p.fixed().encode_all(&layout.import(weights)));
    model_from_params(p, spec, params)
}

/// The shared network over already shared channel-last parameters.
pub fn model_from_params<P: Mpc>(p: &P, spec: &ModelSpec, params: P::A) -> SharedModel<P> {
    let mut at = 0;
    let mut take = |n: usize| {
        let idx: Vec<usize> = (at..at + n).collect();
        at += n;
        p.gather(&params, &idx)
    };
    let mut steps = Vec::new();
    let layers = spec.layers();
    for (i, layer) in layers.iter().enumerate() {
        match *layer {
            Layer::Conv { c_in, c_out, k } => {
                let w = take(k * k * c_in * c_out);
                steps.push(Step::Conv {
                    w,
                    b: take(c_out),
                    k,
                    c_out,
                });
            }
            Layer::Linear { d_in, d_out } => {
                let w = take(d_in * d_out);
                steps.push(Step::Linear {
                    w,
                    b: take(d_out),
                    d_out,
                });
            }
            // ReLU then max-pool runs as max-pool then ReLU (identical result, 4x fewer ReLUs).
            Layer::Relu if layers.get(i + 1) == Some(&Layer::MaxPool2) => {
                steps.push(Step::MaxPool2)
            }
            Layer::MaxPool2 if i > 0 && layers[i - 1] == Layer::Relu => steps.push(Step::Relu),
            Layer::Relu => steps.push(Step::Relu),
            Layer::MaxPool2 => steps.push(Step::MaxPool2),
            Layer::Flatten => steps.push(Step::Flatten),
        }
    }
    SharedModel {
        spec: *spec,
        steps,
        params,
    }
}

/// Shares a labelled image set (an input of its owner): pixels as fixed point, labels as bits
/// (binary heads), as ring integers (multi-class heads) and one-hot (per-class counts).
pub fn share_data<P: Mpc>(p: &mut P, data: &ImageSet, classes: usize) -> SharedData<P> {
    let fx = p.fixed();
    let pixels: Vec<u64> = data
        .pixels
        .iter()
        .map(|&v| fx.encode(f64::from(pixel_value(v))))
        .collect();
    let pixels = p.input(&pixels);
    let class_counts = data
        .class_counts(classes)
        .into_iter()
        .map(|c| c as u64)
        .collect();
    let (label_bits, labels, onehot) = if classes == 2 {
        // One-hot of a binary label is (NOT y, y): local.
        let bits: Vec<bool> = data.labels.iter().map(|&l| l == 1).collect();
        let y = p.input_bits(&bits);
        let onehot = p.concat_bits(&[&p.not(&y), &y]);
        (y, p.public(&[]), onehot)
    } else {
        let ints: Vec<u64> = data.labels.iter().map(|&l| u64::from(l)).collect();
        let onehot: Vec<bool> = (0..classes)
            .flat_map(|c| data.labels.iter().map(move |&l| usize::from(l) == c))
            .collect();
        (p.input_bits(&[]), p.input(&ints), p.input_bits(&onehot))
    };
    SharedData {
        pixels,
        label_bits,
        labels,
        onehot,
        class_counts,
        n: data.len(),
        channels: data.channels,
    }
}

/// Elements per piece of a nonlinear run: pieces of about this many activations (a few MB of
/// shares and bit planes) stay in cache and reuse the allocator's memory.
const PIECE: usize = 1 << 16;

/// Shared logits `(batch, classes)` of images `start..start + batch`.
pub fn logits<P: Mpc>(
    p: &mut P,
    model: &SharedModel<P>,
    data: &SharedData<P>,
    start: usize,
    batch: usize,
) -> P::A {
    let side = IMAGE_SIDE;
    let per = side * side * data.channels;
    let mut x = p.map(&data.pixels, |s| {
        s[start * per..(start + batch) * per].to_vec()
    });
    let mut dims = (side, side, data.channels);
    let mut flat = 0;
    let mut at = 0;
    while at < model.steps.len() {
        match &model.steps[at] {
            Step::Conv { w: wt, b, k, c_out } => {
                let (h, w, c) = dims;
                let op = Bilinear::Conv {
                    b: batch,
                    h,
                    w,
                    c,
                    k: *k,
                    o: *c_out,
                };
                x = p.linear(&op, &x, wt, b);
                dims = (h + 1 - k, w + 1 - k, *c_out);
            }
            Step::Relu | Step::MaxPool2 => {
                let run = nonlinear_run(&model.steps[at..]);
                let out = dims_after(run, dims);
                x = by_images(p, &x, batch, |p, x, images| {
                    apply_run(p, run, x, images, dims)
                });
                dims = out;
                at += run.len();
                continue;
            }
            Step::Flatten => flat = dims.0 * dims.1 * dims.2,
            Step::Linear { w: wt, b, d_out } => {
                let d_in = if flat > 0 { flat } else { P::len(&x) / batch };
                x = p.linear(
                    &Bilinear::MatMul {
                        m: batch,
                        k: d_in,
                        n: *d_out,
                    },
                    &x,
                    wt,
                    b,
                );
                flat = *d_out;
            }
        }
        at += 1;
    }
    x
}

/// The consecutive ReLU and max-pool steps at the start of `steps`.
fn nonlinear_run<P: Mpc>(steps: &[Step<P>]) -> &[Step<P>] {
    let len = steps
        .iter()
        .take_while(|s| matches!(s, Step::Relu | Step::MaxPool2))
        .count();
    &steps[..len]
}

/// The activation shape `(h, w, c)` after a nonlinear run.
fn dims_after<P: Mpc>(
    run: &[Step<P>],
    (mut h, mut w, c): (usize, usize, usize),
) -> (usize, usize, usize) {
    for step in run {
        if matches!(step, Step::MaxPool2) {
            (h, w) = (h / 2, w / 2);
        }
    }
    (h, w, c)
}

/// A nonlinear run on `images` images of shape `dims`.
fn apply_run<P: Mpc>(
    p: &mut P,
    run: &[Step<P>],
    x: &P::A,
    images: usize,
    (mut h, mut w, c): (usize, usize, usize),
) -> P::A {
    let mut x = x.clone();
    for step in run {
        if matches!(step, Step::MaxPool2) {
            x = max_pool2(p, &x, (images, h, w, c));
            (h, w) = (h / 2, w / 2);
        } else {
            x = relu(p, &x);
        }
    }
    x
}

/// `f` over groups of whole images of about [`PIECE`] elements, as one parallel computation
/// (the same rounds and bytes as one call on the whole batch).
fn by_images<P: Mpc>(
    p: &mut P,
    x: &P::A,
    batch: usize,
    f: impl Fn(&mut P, &P::A, usize) -> P::A,
) -> P::A {
    let per = P::len(x) / batch;
    let group = (PIECE / per.max(1)).clamp(1, batch);
    let parts = batch.div_ceil(group);
    if parts == 1 {
        return f(p, x, batch);
    }
    let outs = p.parallel(parts, |p, i| {
        let (a, b) = (i * group, ((i + 1) * group).min(batch));
        let piece = p.map(x, |s| s[a * per..b * per].to_vec());
        f(p, &piece, b - a)
    });
    p.concat(&outs.iter().collect::<Vec<_>>())
}

/// `max(0, x)`.
pub fn relu<P: Mpc>(p: &mut P, x: &P::A) -> P::A {
    let d = p.drelu(x);
    p.select(&d, x)
}

/// Elementwise `max(u, v)`, ties to `u`.
pub fn max2<P: Mpc>(p: &mut P, u: &P::A, v: &P::A) -> P::A {
    let diff = p.sub(u, v);
    let d = p.drelu(&diff);
    let picked = p.select(&d, &diff);
    p.add(v, &picked)
}

/// 2x2 max-pool, stride 2, of an NHWC activation (an odd last row or column is dropped).
pub fn max_pool2<P: Mpc>(p: &mut P, x: &P::A, dims: (usize, usize, usize, usize)) -> P::A {
    // Level 1: left against right column, both rows at once; level 2: top against bottom.
    let (left, right) = window_columns(p, x, dims);
    let m = max2(p, &left, &right);
    let (top, bottom) = halves(p, &m);
    max2(p, &top, &bottom)
}

/// 2x2 average pool, stride 2, of an NHWC activation: the window sum (local) divided by 4 with
/// the protocol's truncation (off by at most one unit, like every truncation).
pub fn avg_pool2<P: Mpc>(p: &mut P, x: &P::A, dims: (usize, usize, usize, usize)) -> P::A {
    let (left, right) = window_columns(p, x, dims);
    let (top, bottom) = halves(p, &p.add(&left, &right));
    let sum = p.add(&top, &bottom);
    p.trunc(&sum, 2)
}

/// The left and right columns of every 2x2 window: each holds the windows' top-row elements,
/// then their bottom-row elements.
fn window_columns<P: Mpc>(
    p: &P,
    x: &P::A,
    (b, h, w, c): (usize, usize, usize, usize),
) -> (P::A, P::A) {
    let (h2, w2) = (h / 2, w / 2);
    let column = |s: &[u64], dx: usize| -> Vec<u64> {
        let mut out = Vec::with_capacity(2 * b * h2 * w2 * c);
        for dy in 0..2 {
            for img in 0..b {
                for y in 0..h2 {
                    for xx in 0..w2 {
                        let base = ((img * h + 2 * y + dy) * w + 2 * xx + dx) * c;
                        out.extend_from_slice(&s[base..base + c]);
                    }
                }
            }
        }
        out
    };
    (p.map(x, |s| column(s, 0)), p.map(x, |s| column(s, 1)))
}

/// The first and second half of a vector of even length.
fn halves<P: Mpc>(p: &P, x: &P::A) -> (P::A, P::A) {
    let n = P::len(x) / 2;
    (p.map(x, |s| s[..n].to_vec()), p.map(x, |s| s[n..].to_vec()))
}

/// What a head computes for a batch: shared correct-prediction bits and predicted classes.
pub struct Head<P: Mpc> {
    /// 1 where the prediction equals the label.
    pub correct: P::B,
    /// The predicted class of each image, shared as a ring integer.
    pub predicted: P::A,
}

/// Arg-max of the logits (ties to the lower class, as PyTorch) compared with the shared labels
/// of images `start..start + batch`.
pub fn head<P: Mpc>(
    p: &mut P,
    logits: &P::A,
    data: &SharedData<P>,
    start: usize,
    batch: usize,
    classes: usize,
) -> Head<P> {
    let column = |p: &P, j: usize| {
        p.gather(
            logits,
            &(0..batch).map(|i| i * classes + j).collect::<Vec<_>>(),
        )
    };
    if classes == 2 {
        // d = 1 when class 0 wins (z0 >= z1); correct = d XOR y where y = 1 for class 1.
        let diff = p.sub(&column(p, 0), &column(p, 1));
        let d = p.drelu(&diff);
        let y = p.gather_bits(
            &data.label_bits,
            &(start..start + batch).collect::<Vec<_>>(),
        );
        let class_one = p.not(&d);
        let predicted = p.b2a(&class_one);
        return Head {
            correct: p.xor(&d, &y),
            predicted,
        };
    }
    let mut best = column(p, 0);
    let mut best_idx = p.public(&vec![0; batch]);
    for j in 1..classes {
        let v = column(p, j);
        // Keep the earlier class on ties: replace only when v > best, i.e. NOT (best >= v).
        let keep = p.drelu(&p.sub(&best, &v));
        let take = p.not(&keep);
        let diffs = p.concat(&[
            &p.sub(&v, &best),
            &p.sub(&p.public(&vec![j as u64; batch]), &best_idx),
        ]);
        let both = p.concat_bits(&[&take, &take]);
        let moved = p.select(&both, &diffs);
        let (dv, di) = (
            p.gather(&moved, &(0..batch).collect::<Vec<_>>()),
            p.gather(&moved, &(batch..2 * batch).collect::<Vec<_>>()),
        );
        best = p.add(&best, &dv);
        best_idx = p.add(&best_idx, &di);
    }
    let labels = p.gather(&data.labels, &(start..start + batch).collect::<Vec<_>>());
    let t = p.sub(&best_idx, &labels);
    let both = p.concat(&[&t, &p.sub(&p.public(&vec![0; batch]), &t)]);
    let signs = p.drelu(&both);
    let (ge, le) = (
        p.gather_bits(&signs, &(0..batch).collect::<Vec<_>>()),
        p.gather_bits(&signs, &(batch..2 * batch).collect::<Vec<_>>()),
    );
    Head {
        correct: p.and(&ge, &le),
        predicted: best_idx,
    }
}

/// Shared counts of correct predictions per class over the whole set (one element per class),
/// in batches of `batch` images, and the shared predicted classes.
pub fn evaluate<P: Mpc>(
    p: &mut P,
    model: &SharedModel<P>,
    data: &SharedData<P>,
    batch: usize,
) -> (P::A, P::A) {
    let classes = model.spec.classes;
    let (mut per_class, mut predicted) = (p.public(&vec![0; classes]), p.public(&[]));
    let mut start = 0;
    while start < data.n {
        let size = batch.min(data.n - start);
        let z = logits(p, model, data, start, size);
        let h = head(p, &z, data, start, size, classes);
        let batch_counts = correct_by_class(p, &h.correct, data, start, classes);
        per_class = p.add(&per_class, &batch_counts);
        predicted = p.concat(&[&predicted, &h.predicted]);
        start += size;
    }
    (per_class, predicted)
}

/// Correct predictions of images `start..start + batch` per class: `correct AND onehot_c` for
/// every class in one AND and one bit-to-arithmetic conversion, then local sums.
fn correct_by_class<P: Mpc>(
    p: &mut P,
    correct: &P::B,
    data: &SharedData<P>,
    start: usize,
    classes: usize,
) -> P::A {
    let batch = P::bits_len(correct);
    let idx: Vec<usize> = (0..classes)
        .flat_map(|c| c * data.n + start..c * data.n + start + batch)
        .collect();
    let labels = p.gather_bits(&data.onehot, &idx);
    let repeated = p.concat_bits(&vec![correct; classes]);
    let ones = p.and(&repeated, &labels);
    let ones = p.b2a(&ones);
    let sums: Vec<P::A> = (0..classes)
        .map(|c| p.sum(&p.map(&ones, |s| s[c * batch..(c + 1) * batch].to_vec())))
        .collect();
    p.concat(&sums.iter().collect::<Vec<_>>())
}
