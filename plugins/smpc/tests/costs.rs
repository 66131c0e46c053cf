//! Metered bytes and rounds equal the cost model (`shared/docs/smpc-design.md` §2).

use securefl_smpc::additive::Additive2pc;
use securefl_smpc::linalg::Bilinear;
use securefl_smpc::mpc::Mpc;
use securefl_smpc::ring::Fixed;

#[test]
fn matmul_costs_one_round_and_sixteen_bytes_per_opened_element() {
    let mut p = Additive2pc::new(Fixed::new(16), 1);
    let (m, k, n) = (4, 6, 3);
    let (x, w, b) = (
        p.input(&vec![0; m * k]),
        p.input(&vec![0; k * n]),
        p.input(&vec![0; n]),
    );
    let before = p.meter().clone();
    p.linear(&Bilinear::MatMul { m, k, n }, &x, &w, &b);
    let c = p.meter().since(&before);
    // Both parties open ε (m·k) and δ (k·n): 2 · 8 · (mk + kn) bytes; the dealer sends c1 (m·n).
    assert_eq!(
        (c.rounds, c.bytes, c.offline_bytes, c.messages),
        (1, 16 * (m * k + k * n) as u64, 8 * (m * n) as u64, 3)
    );
}

#[test]
fn relu_batch_costs_eight_rounds_and_the_derived_bytes() {
    let mut p = Additive2pc::new(Fixed::new(16), 2);
    let n = 1024;
    let x = p.input(&vec![5; n]);
    let before = p.meter().clone();
    let d = p.drelu(&x);
    p.select(&d, &x);
    let c = p.meter().since(&before);
    // DReLU with l = 48: 1 round of 47 private ANDs (2 bits each) + 6 levels, 86 ANDs (4 bits
    // each); select: 1 round, ε (8 B per party) and c (1 bit per party).
    let drelu_bits = (47 * 2 + 86 * 4) * n as u64;
    let select_bytes = 2 * (8 * n as u64 + (n as u64).div_ceil(8));
    assert_eq!(c.rounds, 8);
    assert_eq!(c.bytes, drelu_bits / 8 + select_bytes);
    // Dealer: 47 + 86 bits per DReLU, 16 bytes per select.
    assert_eq!(c.offline_bytes, (47 + 86) * n as u64 / 8 + 16 * n as u64);
}

#[test]
fn replicated_matmul_costs_one_round_and_four_elements_per_output() {
    use securefl_smpc::replicated::Replicated3pc;
    let mut p = Replicated3pc::new(Fixed::new(16), 1);
    let (m, k, n) = (4, 6, 3);
    let (x, w, b) = (
        p.input(&vec![0; m * k]),
        p.input(&vec![0; k * n]),
        p.input(&vec![0; n]),
    );
    let before = p.meter().clone();
    p.linear(&Bilinear::MatMul { m, k, n }, &x, &w, &b);
    let c = p.meter().since(&before);
    // Fused truncation pair: P1→P0, P0→P1, P2→P0, P2→P1 (4 · 8 B per output) in one round;
    // P2's explicit component of ⟦r'⟧ to P0 (8 B per output) offline. Independent of k.
    assert_eq!(
        (c.rounds, c.bytes, c.offline_bytes, c.messages),
        (1, 32 * (m * n) as u64, 8 * (m * n) as u64, 5)
    );
    // trunc alone: the same pair.
    let before = p.meter().clone();
    p.trunc(&x, 3);
    let c = p.meter().since(&before);
    assert_eq!(
        (c.rounds, c.bytes, c.offline_bytes),
        (1, 32 * (m * k) as u64, 8 * (m * k) as u64)
    );
}

#[test]
fn replicated_input_reveal_and_costs() {
    use securefl_smpc::replicated::Replicated3pc;
    let mut p = Replicated3pc::new(Fixed::new(16), 3);
    let n = 100;
    let x = p.input(&vec![7; n]);
    let c = p.meter().cost();
    // Setup: the third component to its two holders.
    assert_eq!((c.rounds, c.bytes, c.messages), (1, 16 * n as u64, 2));
    let before = p.meter().clone();
    p.reveal(&x);
    let c = p.meter().since(&before);
    assert_eq!((c.rounds, c.bytes, c.messages), (1, 24 * n as u64, 3));
}

#[test]
fn replicated_relu_batch_costs_the_derived_rounds_and_bytes() {
    use securefl_smpc::replicated::Replicated3pc;
    let mut p = Replicated3pc::new(Fixed::new(16), 2);
    let n = 1024;
    let x = p.input(&vec![5; n]);
    let before = p.meter().clone();
    let d = p.drelu(&x);
    let c = p.meter().since(&before);
    // DReLU with l = 48: P1's input of a's 48 planes (6 B per element) + 133 ANDs at 3 bits
    // each, 8 rounds, no offline.
    assert_eq!(c.rounds, 8);
    assert_eq!(c.bytes, 6 * n as u64 + 133 * 3 * n as u64 / 8);
    assert_eq!((c.offline_bytes, c.messages), (0, 1 + 7 * 3));
    // select: round 1 opens ε (8 B) and c (1 bit) between P0 and P1, round 2 re-replicates
    // (P0→P2, P1→P2, 8 B each); P2 deals r_A1 and (ra)_1 to P1 (16 B).
    let before = p.meter().clone();
    p.select(&d, &x);
    let c = p.meter().since(&before);
    let open = 8 * n as u64 + (n as u64).div_ceil(8);
    assert_eq!(
        (c.rounds, c.bytes, c.offline_bytes),
        (2, 2 * open + 16 * n as u64, 16 * n as u64)
    );
    // b2a: round 1 opens only c, round 2 re-replicates; P2 deals r_A1 (8 B).
    let before = p.meter().clone();
    p.b2a(&d);
    let c = p.meter().since(&before);
    assert_eq!(
        (c.rounds, c.bytes, c.offline_bytes),
        (2, 2 * (n as u64).div_ceil(8) + 16 * n as u64, 8 * n as u64)
    );
}
