//! Encrypted versus plain inference of the paper CNN on 512 PneumoniaMNIST test images, per
//! protocol; secure aggregation of 10 updates of 100k parameters versus the plain sum; and the
//! gate's range check of one model, kept in shares as `smpc-verify` runs it (the model times its
//! bit), against that model's encrypted verification on the whole PneumoniaMNIST validation split,
//! and the round-level work of the class-conditional rule and of the neighbour bound for 10 models;
//! and that verification split over 10 hospitals' own splits (cross-hospital validation).
//!
//! Run: `SECUREFL_DATA=../shared/datasets/medmnist cargo bench --bench smpc`.

#![expect(
    missing_docs,
    reason = "the criterion macros generate undocumented functions"
)]

use std::time::Duration;

/// The same allocator as the `securefl` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use securefl_api::{
    Arch, CnnBackend, CostRecord, ModelSpec, Optimizer, SmpcCtx, SmpcProtocol, TrainCtx,
};
use securefl_backend_dfdx::DfdxBackend;
use securefl_benches::{real_dataset, tiled};
use securefl_smpc::additive::Additive2pc;
use securefl_smpc::classwise;
use securefl_smpc::mpc::Mpc;
use securefl_smpc::neighbours;

use securefl_smpc::nn;
use securefl_smpc::plugin::weighted_sum;
use securefl_smpc::range;
use securefl_smpc::replicated::Replicated3pc;
use securefl_smpc::ring::Fixed;

const FX: Fixed = Fixed { frac_bits: 16 };

/// The paper CNN after one epoch on 2,000 training images (realistic magnitudes).
fn trained_weights(spec: &ModelSpec) -> Vec<f32> {
    let data = real_dataset("pneumoniamnist");
    let start = spec.init_weights(&mut securefl_api::rng(0, &["bench"]));
    let subset = data.train.subset(&(0..2000).collect::<Vec<_>>());
    let ctx = TrainCtx {
        spec: *spec,
        epochs: 1,
        batch_size: 64,
        optimizer: Optimizer::adam(1e-3),
        seed: 1,
    };
    DfdxBackend
        .train(&ctx, &start, &subset)
        .expect("training runs")
        .weights
}

/// Encrypted evaluation (logits, arg-max against shared labels, shared per-class counts) of 512 images
/// with the model and images already shared.
fn encrypted<P: Mpc>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    mut p: P,
    spec: &ModelSpec,
    weights: &[f32],
) {
    let batch = tiled(&real_dataset("pneumoniamnist").test, 512);
    let model = nn::share_model(&mut p, spec, weights);
    let data = nn::share_data(&mut p, &batch, spec.classes);
    let before = p.meter().clone();
    nn::evaluate(&mut p, &model, &data, 512);
    let cost = p.meter().since(&before);
    eprintln!(
        "{name}: one 512-image evaluation = {} rounds, {:.1} MB online, {:.1} MB offline, {} truncation failures",
        cost.rounds,
        cost.bytes as f64 / 1e6,
        cost.offline_bytes as f64 / 1e6,
        p.meter().trunc_failures
    );
    g.bench_function(BenchmarkId::new("encrypted", name), |b| {
        b.iter(|| nn::evaluate(&mut p, &model, &data, 512))
    });
}

fn inference(c: &mut Criterion) {
    let spec = ModelSpec {
        arch: Arch::PaperCnn,
        in_channels: 1,
        classes: 2,
    };
    let weights = trained_weights(&spec);
    let batch = tiled(&real_dataset("pneumoniamnist").test, 512);
    let mut group = c.benchmark_group("infer-512");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30))
        .throughput(Throughput::Elements(512));
    group.bench_function(BenchmarkId::new("plain", "dfdx"), |b| {
        b.iter(|| {
            DfdxBackend
                .predict(&spec, &weights, &batch)
                .expect("inference runs")
        });
    });
    encrypted(
        &mut group,
        "additive-2pc",
        Additive2pc::new(FX, 1),
        &spec,
        &weights,
    );
    encrypted(
        &mut group,
        "replicated-3pc",
        Replicated3pc::new(FX, 2),
        &spec,
        &weights,
    );
    group.finish();
}

/// Secure weighted sum of pre-shared vectors: local products, one reveal.
fn secure_sum<P: Mpc>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    mut p: P,
    models: &[Vec<f32>],
    weights: &[u64],
) {
    let shares: Vec<P::A> = models.iter().map(|m| p.input(&FX.encode_all(m))).collect();
    let refs: Vec<&P::A> = shares.iter().collect();
    g.bench_function(BenchmarkId::new("secure", name), |b| {
        b.iter(|| weighted_sum(&mut p, &refs, weights))
    });
}

/// 10 updates of 100,000 parameters with sample-count weights.
fn aggregation(c: &mut Criterion) {
    let n = 100_000;
    let models: Vec<Vec<f32>> = (0..10)
        .map(|h| {
            (0..n)
                .map(|i| ((i * 7 + h * 13) % 1000) as f32 / 1000.0 - 0.5)
                .collect()
        })
        .collect();
    let weights: Vec<f64> = (0..10).map(|h| 400.0 + h as f64).collect();
    let mut group = c.benchmark_group("aggregate-10x100k");
    group
        .sample_size(20)
        .throughput(Throughput::Elements((10 * n) as u64));
    group.bench_function(BenchmarkId::new("plain", "weighted-sum"), |b| {
        b.iter(|| {
            let mut sum = vec![0f64; n];
            for (m, w) in models.iter().zip(&weights) {
                sum.iter_mut()
                    .zip(m)
                    .for_each(|(s, v)| *s += w * f64::from(*v));
            }
            sum
        });
    });
    let ints: Vec<u64> = weights.iter().map(|&w| w as u64).collect();
    secure_sum(
        &mut group,
        "additive-2pc",
        Additive2pc::new(FX, 4),
        &models,
        &ints,
    );
    secure_sum(
        &mut group,
        "replicated-3pc",
        Replicated3pc::new(FX, 5),
        &models,
        &ints,
    );
    let mut reg = securefl_api::Registry::default();
    securefl_smpc::register(&mut reg).expect("protocols register");
    let factory = reg.get::<dyn SmpcProtocol>("shamir").expect("registered");
    let mut shamir = factory
        .build(&securefl_api::Params::empty())
        .expect("builds");
    let ctx = SmpcCtx {
        round: 1,
        validators: 5,
        seed: 3,
    };
    let spec = ModelSpec {
        arch: Arch::PaperCnn,
        in_channels: 1,
        classes: 2,
    };
    let refs: Vec<&[f32]> = models.iter().map(Vec::as_slice).collect();
    let ids = shamir
        .share_models(&ctx, &spec, &refs)
        .expect("shamir shares any vector")
        .value;
    group.bench_function(BenchmarkId::new("secure", "shamir-n5-t2"), |b| {
        b.iter(|| shamir.aggregate(&ctx, &ids, &weights).expect("aggregates"));
    });
    group.finish();
}

/// One model's kept range check (every weight within ±4, two 64-bit comparisons per weight, and
/// the model multiplied by its bit) against its verification (encrypted evaluation on the
/// 524-image validation split), per protocol.
fn gate<P: Mpc>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, mut p: P, spec: &ModelSpec) {
    let weights = trained_weights(spec);
    let val = real_dataset("pneumoniamnist").val;
    let model = nn::share_model(&mut p, spec, &weights);
    let data = nn::share_data(&mut p, &val, spec.classes);
    let bound = 4 << FX.frac_bits;
    let before = p.meter().clone();
    range::clamp(&mut p, &[&model.params], bound);
    let range = p.meter().since(&before);
    let before = p.meter().clone();
    let (per_class, _) = nn::evaluate(&mut p, &model, &data, 512);
    let verify = p.meter().since(&before);
    let class_rule = class_rule_of_ten(&mut p, &per_class, data.class_counts());
    eprintln!(
        "{name}: class rule for 10 models {:.1} kB online + {:.1} kB offline, {} rounds ({:.4}% \
         of one verification's bytes)",
        class_rule.bytes as f64 / 1e3,
        class_rule.offline_bytes as f64 / 1e3,
        class_rule.rounds,
        100.0 * (class_rule.bytes + class_rule.offline_bytes) as f64
            / (verify.bytes + verify.offline_bytes) as f64
    );
    eprintln!(
        "{name}: range check {:.2} MB online + {:.2} MB offline, {} rounds; verification \
         ({} images) {:.1} MB online + {:.1} MB offline, {} rounds; bytes ratio {:.2}%",
        range.bytes as f64 / 1e6,
        range.offline_bytes as f64 / 1e6,
        range.rounds,
        val.len(),
        verify.bytes as f64 / 1e6,
        verify.offline_bytes as f64 / 1e6,
        verify.rounds,
        100.0 * (range.bytes + range.offline_bytes) as f64
            / (verify.bytes + verify.offline_bytes) as f64
    );
    g.bench_function(BenchmarkId::new("range-check", name), |b| {
        b.iter(|| range::clamp(&mut p, &[&model.params], bound))
    });
    g.bench_function(BenchmarkId::new("verification", name), |b| {
        b.iter(|| nn::evaluate(&mut p, &model, &data, 512))
    });
    let ten: Vec<&P::A> = vec![&model.params; 10];
    let before = p.meter().clone();
    neighbours::within_bound(&mut p, &ten, 5, 2.0);
    let nb = p.meter().since(&before);
    eprintln!(
        "{name}: neighbour bound for 10 models {:.1} MB online + {:.1} MB offline, {} rounds \
         ({:.2}% of one verification's bytes)",
        nb.bytes as f64 / 1e6,
        nb.offline_bytes as f64 / 1e6,
        nb.rounds,
        100.0 * (nb.bytes + nb.offline_bytes) as f64 / (verify.bytes + verify.offline_bytes) as f64
    );
    g.bench_function(BenchmarkId::new("neighbour-bound-10-models", name), |b| {
        b.iter(|| neighbours::within_bound(&mut p, &ten, 5, 2.0))
    });
    let counts = data.class_counts().to_vec();
    g.bench_function(BenchmarkId::new("class-rule-10-models", name), |b| {
        b.iter(|| class_rule_of_ten(&mut p, &per_class, &counts))
    });
    // Cross-hospital validation: the same images as 10 hospitals' own splits, one evaluation
    // each (the global model's evaluations add as many again, as the central class rule's one).
    let splits: Vec<_> = (0..10)
        .map(|h| {
            let idx: Vec<usize> = (h..val.len()).step_by(10).collect();
            nn::share_data(&mut p, &val.subset(&idx), spec.classes)
        })
        .collect();
    let before = p.meter().clone();
    splits
        .iter()
        .for_each(|d| drop(nn::evaluate(&mut p, &model, d, 512)));
    let cross = p.meter().since(&before);
    eprintln!(
        "{name}: verification on 10 own splits {:.1} MB online + {:.1} MB offline, {} rounds \
         (bytes {:.3}x, rounds {:.2}x the central verification)",
        cross.bytes as f64 / 1e6,
        cross.offline_bytes as f64 / 1e6,
        cross.rounds,
        (cross.bytes + cross.offline_bytes) as f64 / (verify.bytes + verify.offline_bytes) as f64,
        cross.rounds as f64 / verify.rounds as f64
    );
    g.bench_function(BenchmarkId::new("verification-10-own-splits", name), |b| {
        b.iter(|| {
            for d in &splits {
                drop(nn::evaluate(&mut p, &model, d, 512));
            }
        })
    });
}

/// The class-conditional rule's round-level work for 10 models (after their verifications):
/// each hospital's histogram input, one exact dot product and one full-width comparison per
/// model (`securefl_smpc::classwise`); what it cost.
fn class_rule_of_ten<P: Mpc>(p: &mut P, per_class: &P::A, counts: &[u64]) -> CostRecord {
    let before = p.meter().clone();
    let weights: Vec<u64> = counts.iter().map(|&n| (1u64 << 40) / n.max(1)).collect();
    let hists: Vec<P::A> = (0..10u64)
        .map(|h| p.input(&classwise::fractions(&[100 + 10 * h, 300 - 10 * h])))
        .collect();
    let correct: Vec<&P::A> = vec![per_class; 10];
    classwise::at_least_global(p, &correct, per_class, &hists, &weights, 1 << 50);
    p.meter().since(&before)
}

fn gate_cost(c: &mut Criterion) {
    let spec = ModelSpec {
        arch: Arch::PaperCnn,
        in_channels: 1,
        classes: 2,
    };
    let mut group = c.benchmark_group("gate-1-model");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    gate(&mut group, "additive-2pc", Additive2pc::new(FX, 6), &spec);
    gate(
        &mut group,
        "replicated-3pc",
        Replicated3pc::new(FX, 7),
        &spec,
    );
    group.finish();
}

criterion_group!(benches, inference, aggregation, gate_cost);
criterion_main!(benches);
