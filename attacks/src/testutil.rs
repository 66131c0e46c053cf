//! Test fixtures: attack contexts, updates, image sets, and attacks built through the registry.

use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};
use securefl_api::{
    Arch, Attack, AttackCtx, ClientUpdate, ImageSet, ModelSpec, ParamError, Params, Registry, rng,
};

/// An update of hospital `hospital` trained on `samples` images.
pub(crate) fn update(hospital: usize, samples: usize, delta: Vec<f32>) -> ClientUpdate {
    ClientUpdate {
        hospital,
        samples,
        delta,
        train_loss: 0.5,
    }
}

/// The context of attacker 0 (the one malicious hospital) facing `benign`, seed 7.
pub(crate) fn ctx<'a>(benign: &'a [ClientUpdate], samples: &'a [usize]) -> AttackCtx<'a> {
    AttackCtx {
        round: 1,
        hospital: 0,
        hospitals: benign.len() + 1,
        malicious: 1,
        colluders: &[0],
        global: &[],
        samples,
        spec: ModelSpec {
            arch: Arch::PaperCnn,
            in_channels: 1,
            classes: 2,
        },
        classes: 2,
        seed: 7,
        benign,
    }
}

/// `n` benign updates (hospitals 1..=n) of `dim` values: N(shift_j, 1) per coordinate with a
/// per-coordinate shift drawn from N(0, 1).
pub(crate) fn gaussian_updates(seed: u64, n: usize, dim: usize) -> Vec<ClientUpdate> {
    let mut r = rng(seed, &["test-updates"]);
    let shift: Vec<f64> = (0..dim).map(|_| StandardNormal.sample(&mut r)).collect();
    (1..=n)
        .map(|h| {
            let delta = shift
                .iter()
                .map(|&s| {
                    let z: f64 = StandardNormal.sample(&mut r);
                    (s + z) as f32
                })
                .collect::<Vec<f32>>();
            update(h, 100, delta)
        })
        .collect()
}

/// `n` random `side` x `side` images with `channels` channels and labels in `0..classes`.
pub(crate) fn images(n: usize, side: usize, channels: usize, classes: u8) -> ImageSet {
    let mut r = rng(1, &["test-images"]);
    ImageSet {
        height: side,
        width: side,
        channels,
        pixels: (0..n * side * side * channels)
            .map(|_| r.gen_range(0..200))
            .collect(),
        labels: (0..n).map(|_| r.gen_range(0..classes)).collect(),
    }
}

/// The attack `name` built by its registered factory from the TOML `params`.
pub(crate) fn build(name: &str, params: &str) -> Result<Box<dyn Attack>, ParamError> {
    let mut reg = Registry::default();
    crate::register(&mut reg).expect("attacks register");
    reg.get::<dyn Attack>(name)
        .expect("attack is registered")
        .build(&Params::from_toml(params).expect("valid toml"))
}

/// The field an invalid parameter set is refused for.
pub(crate) fn refused_field(name: &str, params: &str) -> Option<String> {
    build(name, params).err().and_then(|e| e.field)
}
