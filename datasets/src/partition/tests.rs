//! Tests shared by all partitioners.

use std::collections::BTreeSet;

use securefl_api::{PartitionCtx, Partitioner, PluginError};

use super::*;

/// `n` labels over `classes` classes, unbalanced (class c has weight c + 1).
fn labels(n: usize, classes: usize) -> Vec<u8> {
    let total: usize = (1..=classes).sum();
    (0..n)
        .map(|i| {
            let mut r = i % total;
            let mut c = 0;
            while r > c {
                r -= c + 1;
                c += 1;
            }
            c as u8
        })
        .collect()
}

fn ctx(hospitals: usize, classes: usize, seed: u64, min_samples: usize) -> PartitionCtx {
    PartitionCtx {
        hospitals,
        classes,
        seed,
        min_samples,
    }
}

fn all() -> Vec<(&'static str, Box<dyn Partitioner>)> {
    vec![
        ("iid", Box::new(Iid)),
        ("dirichlet", Box::new(Dirichlet::new(0.5).unwrap())),
        ("pathological", Box::new(Pathological::new(2).unwrap())),
        ("quantity-skew", Box::new(QuantitySkew::new(1.0).unwrap())),
    ]
}

/// Checks the contract: disjoint, in range, sorted, each at least `min`.
fn check_valid(parts: &[Vec<usize>], n: usize, h: usize, min: usize) -> usize {
    assert_eq!(parts.len(), h);
    let mut seen = BTreeSet::new();
    for p in parts {
        assert!(p.len() >= min.max(1), "hospital with {} < {min}", p.len());
        assert!(p.windows(2).all(|w| w[0] < w[1]), "not sorted");
        for &i in p {
            assert!(
                i < n && seen.insert(i),
                "index {i} repeated or out of range"
            );
        }
    }
    seen.len()
}

#[test]
fn every_partitioner_keeps_the_contract() {
    let y = labels(3000, 6);
    for (name, p) in all() {
        for seed in 0..3 {
            let parts = p.split(&ctx(20, 6, seed, 10), &y).unwrap();
            let used = check_valid(&parts, y.len(), 20, 10);
            assert_eq!(used, y.len(), "{name} drops images");
        }
    }
}

#[test]
fn deterministic_per_seed_and_seeds_differ() {
    let y = labels(2000, 5);
    for (name, p) in all() {
        let a = p.split(&ctx(10, 5, 7, 5), &y).unwrap();
        assert_eq!(a, p.split(&ctx(10, 5, 7, 5), &y).unwrap(), "{name}");
        assert_ne!(a, p.split(&ctx(10, 5, 8, 5), &y).unwrap(), "{name}");
    }
}

#[test]
fn iid_sizes_are_near_equal() {
    let parts = Iid.split(&ctx(7, 6, 1, 1), &labels(1000, 6)).unwrap();
    let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 1000);
    assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
}

/// Mean over hospitals of the entropy (bits) of the hospital's label distribution.
fn mean_entropy(parts: &[Vec<usize>], y: &[u8], classes: usize) -> f64 {
    let total: f64 = parts
        .iter()
        .map(|p| {
            let mut counts = vec![0usize; classes];
            p.iter().for_each(|&i| counts[usize::from(y[i])] += 1);
            let n = p.len() as f64;
            counts
                .iter()
                .filter(|&&c| c > 0)
                .map(|&c| -(c as f64 / n) * (c as f64 / n).log2())
                .sum::<f64>()
        })
        .sum();
    total / parts.len() as f64
}

#[test]
fn dirichlet_skew_grows_as_alpha_shrinks() {
    let y = labels(5000, 8);
    let c = ctx(10, 8, 3, 20);
    let skewed = Dirichlet::new(0.1).unwrap().split(&c, &y).unwrap();
    let flat = Dirichlet::new(100.0).unwrap().split(&c, &y).unwrap();
    let (hs, hf) = (mean_entropy(&skewed, &y, 8), mean_entropy(&flat, &y, 8));
    assert!(hs + 0.8 < hf, "entropy alpha=0.1 {hs} vs alpha=100 {hf}");
}

#[test]
fn pathological_gives_exactly_k_classes() {
    let y = labels(6000, 10);
    for (h, k) in [(100, 2), (10, 3), (5, 10), (30, 1), (3, 4)] {
        let parts = Pathological::new(k)
            .unwrap()
            .split(&ctx(h, 10, 5, 1), &y)
            .unwrap();
        check_valid(&parts, y.len(), h, 1);
        for p in &parts {
            let classes: BTreeSet<u8> = p.iter().map(|&i| y[i]).collect();
            assert_eq!(classes.len(), k, "h={h} k={k}");
        }
    }
}

#[test]
fn quantity_skew_sizes_vary_with_iid_labels() {
    let y = labels(4000, 4);
    let parts = QuantitySkew::new(0.5)
        .unwrap()
        .split(&ctx(8, 4, 2, 10), &y)
        .unwrap();
    let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
    assert!(
        sizes.iter().max().unwrap() > &(2 * sizes.iter().min().unwrap()),
        "{sizes:?}"
    );
    let flat = QuantitySkew::new(1000.0)
        .unwrap()
        .split(&ctx(8, 4, 2, 10), &y)
        .unwrap();
    let sizes: Vec<usize> = flat.iter().map(Vec::len).collect();
    assert!(
        sizes.iter().max().unwrap() - sizes.iter().min().unwrap() < 100,
        "{sizes:?}"
    );
}

fn refused(p: &dyn Partitioner, c: &PartitionCtx, y: &[u8]) -> String {
    match p.split(c, y) {
        Err(PluginError::Invalid(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn impossible_settings_are_refused() {
    let y = labels(4708, 2);
    let e = refused(&Dirichlet::new(0.5).unwrap(), &ctx(200, 2, 0, 32), &y);
    assert_eq!(
        e,
        "dirichlet: 200 hospitals cannot each get 32 of 4708 images"
    );
    let e = refused(&Iid, &ctx(0, 2, 0, 1), &y);
    assert!(e.starts_with("iid: "), "{e}");
    let e = refused(&Dirichlet::new(0.001).unwrap(), &ctx(50, 2, 0, 80), &y);
    assert!(e.starts_with("dirichlet: no draw in 1000 attempts"), "{e}");
    let e = refused(&QuantitySkew::new(0.01).unwrap(), &ctx(50, 2, 0, 80), &y);
    assert!(e.starts_with("quantity-skew: no draw"), "{e}");
    let e = refused(&Pathological::new(3).unwrap(), &ctx(10, 2, 0, 1), &y);
    assert_eq!(
        e,
        "pathological: 3 classes per hospital exceeds the 2 classes"
    );
    let few = labels(60, 10);
    let e = refused(&Pathological::new(2).unwrap(), &ctx(40, 10, 0, 1), &few);
    assert!(
        e.contains("cannot give each of 40 hospitals 2 distinct classes"),
        "{e}"
    );
    let e = refused(
        &Pathological::new(1).unwrap(),
        &ctx(10, 3, 0, 1),
        &[0, 1, 9],
    );
    assert!(e.contains("label 9 at index 2 is out of range"), "{e}");
}

#[test]
fn pathological_refuses_hospitals_below_min_samples() {
    // With k = 1, the hospital holding class 1 gets its 10 images only.
    let mut y = vec![0u8; 1000];
    y.extend([1u8; 10]);
    let e = refused(&Pathological::new(1).unwrap(), &ctx(10, 2, 0, 20), &y);
    assert!(e.contains("gets only 10 images (min-samples is 20)"), "{e}");
    let parts = Pathological::new(1)
        .unwrap()
        .split(&ctx(10, 2, 0, 10), &y)
        .unwrap();
    assert_eq!(check_valid(&parts, y.len(), 10, 10), y.len());
}

#[test]
fn params_are_typed() {
    use securefl_api::Params;
    let p = |t: &str| Params::from_toml(t).unwrap();
    assert!(dirichlet::factory().build(&p("alpha = 0.5")).is_ok());
    let e = dirichlet::factory()
        .build(&p("alpha = -1.0"))
        .err()
        .unwrap();
    assert_eq!(e.field.as_deref(), Some("alpha"));
    let e = dirichlet::factory()
        .build(&p("alpha = 0.5\nbeta = 1"))
        .err()
        .unwrap();
    assert_eq!(e.field.as_deref(), Some("beta"));
    assert!(
        pathological::factory()
            .build(&p("classes-per-hospital = 2"))
            .is_ok()
    );
    assert!(
        pathological::factory()
            .build(&p("classes_per_hospital = 2"))
            .is_err()
    );
    let e = pathological::factory()
        .build(&p("classes-per-hospital = 0"))
        .err()
        .unwrap();
    assert_eq!(e.field.as_deref(), Some("classes-per-hospital"));
    assert!(quantity_skew::factory().build(&p("alpha = 2.0")).is_ok());
    assert!(iid::factory().build(&p("")).is_ok());
    assert!(iid::factory().build(&p("alpha = 1.0")).is_err());
}

#[test]
fn helpers_behave() {
    assert_eq!(cut_counts(10, &[0.25, 0.25, 0.5]), [3, 2, 5]);
    assert_eq!(cut_counts(7, &[0.0, 0.0, 1.0]), [0, 0, 7]);
    let mut rng = securefl_api::rng(1, &["t"]);
    let d = dirichlet(&mut rng, 1e-4, 5);
    assert!((d.iter().sum::<f64>() - 1.0).abs() < 1e-9);
}
