//! Plain baselines for the paper CNN on every CNN backend (`dfdx`, and `burn` with the default
//! `burn` feature): local-training time per epoch, and inference throughput at batch 512 (the
//! number encrypted inference is compared against).
//!
//! Run: `SECUREFL_DATA=../shared/datasets/medmnist cargo bench --bench training`.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::time::Duration;

/// The same allocator as the `securefl` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use securefl_api::{Arch, CnnBackend, ModelSpec, Optimizer, TrainCtx};
use securefl_backend_dfdx::DfdxBackend;
use securefl_benches::{real_dataset, tiled};

const ARCHS: [Arch; 2] = [Arch::PaperCnn, Arch::WideCnn];

/// The backends benched, by name.
fn backends() -> Vec<(&'static str, Box<dyn CnnBackend>)> {
    vec![
        ("dfdx", Box::new(DfdxBackend) as Box<dyn CnnBackend>),
        #[cfg(feature = "burn")]
        ("burn", Box::new(securefl_backend_burn::BurnBackend)),
    ]
}

fn spec(arch: Arch, channels: usize, classes: usize) -> ModelSpec {
    ModelSpec {
        arch,
        in_channels: channels,
        classes,
    }
}

/// One local epoch over all of PneumoniaMNIST's training split (4,708 images, batch 64, Adam).
fn training(c: &mut Criterion) {
    let data = real_dataset("pneumoniamnist");
    let mut group = c.benchmark_group("train-epoch");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(40));
    group.throughput(Throughput::Elements(data.train.len() as u64));
    for arch in ARCHS {
        let spec = spec(arch, 1, 2);
        let start = spec.init_weights(&mut securefl_api::rng(0, &["bench"]));
        let ctx = TrainCtx {
            spec,
            epochs: 1,
            batch_size: 64,
            optimizer: Optimizer::adam(1e-3),
            seed: 1,
        };
        for (name, backend) in backends() {
            group.bench_function(BenchmarkId::new(name, arch.name()), |b| {
                b.iter(|| {
                    backend
                        .train(&ctx, &start, &data.train)
                        .expect("training runs")
                });
            });
        }
    }
    group.finish();
}

/// Plain inference of 512 PneumoniaMNIST test images.
fn inference(c: &mut Criterion) {
    let data = real_dataset("pneumoniamnist");
    let batch = tiled(&data.test, 512);
    let mut group = c.benchmark_group("infer-batch-512");
    group.throughput(Throughput::Elements(512));
    for arch in ARCHS {
        let spec = spec(arch, 1, 2);
        let weights = spec.init_weights(&mut securefl_api::rng(0, &["bench"]));
        for (name, backend) in backends() {
            group.bench_function(BenchmarkId::new(name, arch.name()), |b| {
                b.iter(|| {
                    backend
                        .predict(&spec, &weights, &batch)
                        .expect("inference runs")
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, training, inference);
criterion_main!(benches);
