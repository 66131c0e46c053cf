//! The conformance suite every protocol passes: correctness of each primitive against plaintext.

use rand::{Rng as _, SeedableRng};
use securefl_api::Rng;
use securefl_smpc::additive::Additive2pc;
use securefl_smpc::linalg::Bilinear;
use securefl_smpc::mpc::Mpc;
use securefl_smpc::nn;
use securefl_smpc::ring::{Fixed, shr_signed};

const FX: Fixed = Fixed { frac_bits: 16 };

/// Number of edge cases `values` appends.
const EDGES: usize = 9;

/// Values that stress signs and magnitudes (fixed point at f = 16): `n` random values in
/// (-50, 50), then the `EDGES` edge cases.
fn values(n: usize, seed: u64) -> Vec<u64> {
    let mut rng = Rng::seed_from_u64(seed);
    let mut v: Vec<u64> = (0..n)
        .map(|_| FX.encode(rng.gen_range(-50.0..50.0)))
        .collect();
    v.extend([
        0,
        1,
        u64::MAX,
        FX.encode(-1e-4),
        FX.encode(1e-4),
        1 << 40,
        (1u64 << 40).wrapping_neg(),
        // The edges of the exact comparison range |x| < 2^(l-1), l = 64 - f.
        (1u64 << (FX.compare_bits() - 1)) - 1,
        (1u64 << (FX.compare_bits() - 1)).wrapping_neg() + 1,
    ]);
    v
}

fn run_all<P: Mpc>(make: impl Fn(u64) -> P) {
    share_reveal(&make);
    linear_matches_plaintext(&make);
    drelu_select_b2a(&make);
    comparison_range_is_checked(&make);
    pooling_matches_plaintext(&make);
    and_xor_not(&make);
}

/// Max- and average-pooling of a (2, 5, 4, 3) NHWC tensor (the odd last row is dropped).
fn pooling_matches_plaintext<P: Mpc>(make: &impl Fn(u64) -> P) {
    let mut p = make(10);
    let dims = (2, 5, 4, 3);
    // Random values only: differences of the edge cases would leave the comparison's range.
    let v = values(2 * 5 * 4 * 3, 11)[..2 * 5 * 4 * 3].to_vec();
    let x = p.input(&v);
    let window = |img: usize, y: usize, xx: usize, ch: usize| -> Vec<i64> {
        [(0, 0), (0, 1), (1, 0), (1, 1)]
            .iter()
            .map(|(dy, dx)| v[((img * 5 + 2 * y + dy) * 4 + 2 * xx + dx) * 3 + ch] as i64)
            .collect()
    };
    let (mx, avg) = (
        nn::max_pool2(&mut p, &x, dims),
        nn::avg_pool2(&mut p, &x, dims),
    );
    let (mx, avg) = (p.reveal(&mx), p.reveal(&avg));
    let mut at = 0;
    for img in 0..2 {
        for y in 0..2 {
            for xx in 0..2 {
                for ch in 0..3 {
                    let w = window(img, y, xx, ch);
                    assert_eq!(mx[at] as i64, *w.iter().max().unwrap());
                    let mean = w.iter().sum::<i64>().div_euclid(4);
                    assert!(
                        (avg[at] as i64 - mean).abs() <= 1,
                        "{} vs {mean}",
                        avg[at] as i64
                    );
                    at += 1;
                }
            }
        }
    }
    assert_eq!(mx.len(), at);
    assert_eq!(p.meter().range_failures, 0);
}

/// Inputs outside the exact comparison range are counted, never silently wrong.
fn comparison_range_is_checked<P: Mpc>(make: &impl Fn(u64) -> P) {
    let mut p = make(9);
    let edge = 1u64 << (FX.compare_bits() - 1);
    let x = p.input(&[edge - 1, edge, edge.wrapping_neg(), u64::MAX << 62, 3]);
    p.drelu(&x);
    assert_eq!(p.meter().range_failures, 3);
}

fn share_reveal<P: Mpc>(make: &impl Fn(u64) -> P) {
    let mut p = make(1);
    let x = values(100, 2);
    let s = p.input(&x);
    assert_eq!(p.reveal(&s), x);
    let bits: Vec<bool> = (0..77).map(|i| i % 5 == 1).collect();
    let b = p.input_bits(&bits);
    assert_eq!(p.reveal_bits(&b), bits);
    assert_eq!(p.reveal(&p.public(&x)), x);
    for n in [1, 2, 7, 64, 107] {
        let sx = p.input(&x[..n]);
        let total = x[..n].iter().fold(0u64, |a, v| a.wrapping_add(*v));
        assert_eq!(p.reveal(&p.sum(&sx)), [total], "sum of {n}");
    }
}

fn linear_matches_plaintext<P: Mpc>(make: &impl Fn(u64) -> P) {
    let mut p = make(3);
    let mut rng = Rng::seed_from_u64(4);
    let (m, k, n) = (5, 7, 3);
    let xf: Vec<f64> = (0..m * k).map(|_| rng.gen_range(-3.0..3.0)).collect();
    let wf: Vec<f64> = (0..k * n).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let bf: Vec<f64> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let enc = |v: &[f64]| v.iter().map(|&x| FX.encode(x)).collect::<Vec<_>>();
    let (x, w, b) = (p.input(&enc(&xf)), p.input(&enc(&wf)), p.input(&enc(&bf)));
    let y = p.linear(&Bilinear::MatMul { m, k, n }, &x, &w, &b);
    let got = p.reveal(&y);
    for i in 0..m {
        for j in 0..n {
            let want = bf[j] + (0..k).map(|l| xf[i * k + l] * wf[l * n + j]).sum::<f64>();
            let err = (FX.decode(got[i * n + j]) - want).abs();
            assert!(
                err < 1e-3,
                "({i},{j}): {} vs {want}",
                FX.decode(got[i * n + j])
            );
        }
    }
    assert_eq!(p.meter().trunc_failures, 0);
    // Truncation by m bits is floor within one unit.
    let v = values(50, 5);
    let sv = p.input(&v);
    let t = p.trunc(&sv, 2);
    for (g, e) in p.reveal(&t).iter().zip(&v) {
        assert!((g.wrapping_sub(shr_signed(*e, 2)) as i64).abs() <= 1);
    }
}

fn drelu_select_b2a<P: Mpc>(make: &impl Fn(u64) -> P) {
    let mut p = make(6);
    let v = values(300, 7);
    let x = p.input(&v);
    let d = p.drelu(&x);
    let bits = p.reveal_bits(&d.clone());
    for (b, &e) in bits.iter().zip(&v) {
        assert_eq!(*b, (e as i64) >= 0, "drelu of {}", e as i64);
    }
    assert_eq!(p.meter().range_failures, 0);
    let relu = p.select(&d, &x);
    for (g, &e) in p.reveal(&relu).iter().zip(&v) {
        assert_eq!(*g, if (e as i64) >= 0 { e } else { 0 });
    }
    let a = p.b2a(&d);
    for (g, b) in p.reveal(&a).iter().zip(&bits) {
        assert_eq!(*g, u64::from(*b));
    }
}

fn and_xor_not<P: Mpc>(make: &impl Fn(u64) -> P) {
    let mut p = make(8);
    let (x, y): (Vec<bool>, Vec<bool>) = (0..130).map(|i| (i % 2 == 0, i % 3 == 0)).unzip();
    let (sx, sy) = (p.input_bits(&x), p.input_bits(&y));
    let and = p.and(&sx, &sy);
    let xor = p.xor(&sx, &sy);
    let not = p.not(&sx);
    assert_eq!(
        p.reveal_bits(&and),
        x.iter().zip(&y).map(|(a, b)| a & b).collect::<Vec<_>>()
    );
    assert_eq!(
        p.reveal_bits(&xor),
        x.iter().zip(&y).map(|(a, b)| a ^ b).collect::<Vec<_>>()
    );
    assert_eq!(
        p.reveal_bits(&not),
        x.iter().map(|a| !a).collect::<Vec<_>>()
    );
    let idx = [5, 0, 129];
    let g = p.gather_bits(&sx, &idx);
    assert_eq!(
        p.reveal_bits(&g),
        idx.iter().map(|&i| x[i]).collect::<Vec<_>>()
    );
    let c = p.concat_bits(&[&sx, &sy]);
    assert_eq!(p.reveal_bits(&c), [x.clone(), y.clone()].concat());
}

#[test]
fn additive_2pc_passes_conformance() {
    run_all(|seed| Additive2pc::new(FX, seed));
}

#[test]
fn shares_do_not_reveal_the_secret() {
    let mut p = Additive2pc::new(FX, 99);
    let s = p.input(&vec![FX.encode(1.0); 4096]);
    let rebuilt = p.reveal(&s);
    assert!(rebuilt.iter().all(|&v| v == FX.encode(1.0)));
    // Each party's view is uniform whatever the secret: the top bit of P0's and P1's shares of a
    // constant is set about half the time.
    for party in 0..2 {
        let ones = s.view(party).iter().filter(|v| *v >> 63 == 1).count();
        assert!(
            (1800..2300).contains(&ones),
            "party {party}: {ones} of 4096 top bits set"
        );
    }
}

#[test]
fn replicated_3pc_passes_conformance() {
    use securefl_smpc::replicated::Replicated3pc;
    run_all(|seed| Replicated3pc::new(FX, seed));
}

#[test]
fn replicated_views_do_not_reveal_the_secret() {
    use securefl_smpc::replicated::Replicated3pc;
    let mut p = Replicated3pc::new(FX, 99);
    let s = p.input(&vec![FX.encode(1.0); 4096]);
    assert!(p.reveal(&s).iter().all(|&v| v == FX.encode(1.0)));
    // Each party's pair of components is jointly uniform whatever the secret: the four
    // combinations of the two top bits occur about 1024 times each (sd ≈ 28).
    for party in 0..3 {
        let (own, next) = s.view(party);
        let mut counts = [0usize; 4];
        for (a, b) in own.iter().zip(next) {
            counts[((a >> 63) * 2 + (b >> 63)) as usize] += 1;
        }
        assert!(
            counts.iter().all(|c| (880..1170).contains(c)),
            "party {party}: top-bit pairs {counts:?}"
        );
    }
    // The same after an interactive operation (the truncation pair re-randomizes).
    let t = p.trunc(&s, 4);
    for party in 0..3 {
        let (own, next) = t.view(party);
        for comp in [own, next] {
            let ones = comp.iter().filter(|v| *v >> 63 == 1).count();
            assert!(
                (1800..2300).contains(&ones),
                "party {party} after trunc: {ones} of 4096 top bits set"
            );
        }
    }
}

#[test]
fn replicated_convolution_matches_plaintext_within_one_unit() {
    use securefl_smpc::replicated::Replicated3pc;
    let mut p = Replicated3pc::new(FX, 11);
    let op = Bilinear::Conv {
        b: 2,
        h: 5,
        w: 4,
        c: 3,
        k: 3,
        o: 2,
    };
    let (x, w) = (
        values(op.x_len() - EDGES, 12),
        values(op.w_len() - EDGES, 13),
    );
    // Keep products in range: small weights and activations.
    let small = |v: &[u64]| v.iter().map(|&e| shr_signed(e, 8)).collect::<Vec<_>>();
    let (x, w, bias) = (small(&x), small(&w), vec![FX.encode(0.5), FX.encode(-2.0)]);
    let (sx, sw, sb) = (p.input(&x), p.input(&w), p.input(&bias));
    let y = p.linear(&op, &sx, &sw, &sb);
    let z = op.apply(&x, &w);
    for (i, g) in p.reveal(&y).iter().enumerate() {
        let pre = z[i].wrapping_add(bias[i % 2] << FX.frac_bits);
        let want = shr_signed(pre, FX.frac_bits);
        assert!((g.wrapping_sub(want) as i64).abs() <= 1, "{i}");
    }
    assert_eq!(p.meter().trunc_failures, 0);
}

#[test]
fn replicated_truncation_fails_at_the_rate_of_its_error_model() {
    use securefl_smpc::replicated::Replicated3pc;
    // T4: a wrap failure happens with probability |z| / 2^64, here 2^61 / 2^64 = 1/8 (sd ≈ 21).
    let mut p = Replicated3pc::new(FX, 21);
    let z = p.input(&vec![1u64 << 61; 4096]);
    let t = p.trunc(&z, 16);
    let failures = p.meter().trunc_failures;
    assert!((400..630).contains(&failures), "{failures} of 4096");
    let off = p
        .reveal(&t)
        .iter()
        .filter(|&&g| (g.wrapping_sub(1 << 45) as i64).abs() > 1)
        .count();
    assert_eq!(off as u64, failures);
}
