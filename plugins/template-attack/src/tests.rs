//! The free-rider's behaviour on hand-made inputs, through the Rust trait.

use securefl_abi::AttackPlugin;
use securefl_api::{Arch, Attack, AttackCtx, ClientUpdate, ModelSpec, Params};

use super::FreeRider;

fn ctx<'a>(round: usize, global: &'a [f32], samples: &'a [usize]) -> AttackCtx<'a> {
    AttackCtx {
        round,
        hospital: 0,
        hospitals: 2,
        malicious: 1,
        colluders: &[0],
        global,
        samples,
        spec: ModelSpec {
            arch: Arch::PaperCnn,
            in_channels: 1,
            classes: 2,
        },
        classes: 2,
        seed: 7,
        benign: &[],
    }
}

fn update(delta: &[f32]) -> ClientUpdate {
    ClientUpdate {
        hospital: 0,
        samples: 10,
        delta: delta.to_vec(),
        train_loss: 0.5,
    }
}

fn attack(toml: &str) -> FreeRider {
    FreeRider::build(&Params::from_toml(toml).unwrap()).unwrap()
}

#[test]
fn plain_free_rider_submits_zero() {
    let mut a = attack(r#"mode = "plain""#);
    let mut u = update(&[0.5, -1.0, 2.0]);
    a.poison_update(&ctx(1, &[1.0, 1.0, 1.0], &[10, 10]), &mut u)
        .unwrap();
    assert_eq!(u.delta, vec![0.0; 3]);
}

#[test]
fn disguised_free_rider_replays_the_last_global_change() {
    let mut a = attack(r#"mode = "disguised""#);
    let mut u = update(&[9.0, 9.0]);
    a.poison_update(&ctx(3, &[1.0, 2.0], &[10, 10]), &mut u)
        .unwrap();
    assert_eq!(u.delta, vec![0.0, 0.0], "no previous round seen yet");
    let mut u = update(&[9.0, 9.0]);
    a.poison_update(&ctx(4, &[1.5, 1.0], &[10, 10]), &mut u)
        .unwrap();
    assert_eq!(u.delta, vec![0.5, -1.0]);
    let mut u = update(&[9.0, 9.0]);
    a.poison_update(&ctx(6, &[2.0, 2.0], &[10, 10]), &mut u)
        .unwrap();
    assert_eq!(u.delta, vec![0.0, 0.0], "round 5 was not seen");
}

#[test]
fn noise_is_seeded_and_decays() {
    let run = |round| {
        let mut a = attack("mode = \"disguised\"\nsigma = 0.1\ngamma = 1.0");
        let mut u = update(&[0.0; 2000]);
        a.poison_update(&ctx(round, &[0.0; 2000], &[10, 10]), &mut u)
            .unwrap();
        u.delta
    };
    assert_eq!(run(1), run(1));
    let std =
        |v: &[f32]| (v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
    assert!((std(&run(1)) - 0.1).abs() < 0.01, "{}", std(&run(1)));
    assert!((std(&run(4)) - 0.025).abs() < 0.003, "{}", std(&run(4)));
}

#[test]
fn bad_parameters_name_the_field() {
    let e = FreeRider::build(&Params::from_toml("mode = \"plain\"\nsigma = -1.0").unwrap())
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sigma"));
    let e =
        FreeRider::build(&Params::from_toml("mode = \"plain\"\nspeed = 3").unwrap()).unwrap_err();
    assert!(e.to_string().contains("speed"), "{e}");
}
