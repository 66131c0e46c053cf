//! `pathological`: McMahan et al. 2017 shards, each hospital holding exactly k classes.
//!
//! Each class is cut into shards (at most one per hospital, sized as equally as the class sizes
//! allow, every class used when `hospitals * k` is at least the number of classes),
//! `hospitals * k` shards in all; shards are dealt at random, k per hospital, and
//! repaired by swaps so that each hospital's k shards come from k distinct classes.
//!
//! Unlike McMahan et al.'s random dealing of label-sorted shards, where a client may get two
//! shards of one class, every hospital here holds exactly k distinct classes.

use rand::Rng as _;
use rand::seq::SliceRandom;
use securefl_api::{Factory, ParamError, PartitionCtx, Partitioner, PluginError, PluginInfo, Rng};
use serde::Deserialize;

use super::{by_class, check_common, finish, invalid, min_samples};

/// Random deals tried before the deterministic column deal is used.
const DEAL_ATTEMPTS: usize = 100;

/// The parameters of `pathological`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PathologicalParams {
    /// Classes each hospital holds (`k`, at least 1).
    pub classes_per_hospital: usize,
}

/// Shards of k distinct classes per hospital.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pathological {
    k: usize,
}

impl Pathological {
    /// A partitioner giving each hospital `k` classes (`k >= 1`).
    pub fn new(k: usize) -> Result<Self, ParamError> {
        if k == 0 {
            return Err(ParamError::field(
                "classes-per-hospital",
                "must be at least 1",
            ));
        }
        Ok(Self { k })
    }
}

impl Partitioner for Pathological {
    fn split(&self, ctx: &PartitionCtx, labels: &[u8]) -> Result<Vec<Vec<usize>>, PluginError> {
        const NAME: &str = "pathological";
        check_common(NAME, ctx, labels)?;
        let (h, k) = (ctx.hospitals, self.k);
        if k > ctx.classes {
            let msg = format!(
                "{k} classes per hospital exceeds the {} classes",
                ctx.classes
            );
            return Err(invalid(NAME, msg));
        }
        let groups = by_class(labels, ctx.classes);
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        let per_class = allocate(&sizes, h, h * k).ok_or_else(|| {
            let msg = format!(
                "the data cannot give each of {h} hospitals {k} distinct classes (each class \
                 gives at most one shard per hospital and has to fill it)"
            );
            invalid(NAME, msg)
        })?;
        let mut rng = securefl_api::rng(ctx.seed, &[NAME, "shards"]);
        let shards = make_shards(&groups, &per_class, &mut rng);
        let classes: Vec<usize> = shards.iter().map(|(c, _)| *c).collect();
        let owner = assign(&classes, h, k, &mut rng);
        let mut parts = vec![Vec::new(); h];
        for ((_, idx), &o) in shards.iter().zip(&owner) {
            parts[o].extend_from_slice(idx);
        }
        let min = min_samples(ctx);
        if let Some((j, p)) = parts.iter().enumerate().find(|(_, p)| p.len() < min) {
            let msg = format!(
                "with {k} classes per hospital, hospital {j} gets only {} images (min-samples \
                 is {min}); lower hospitals or min-samples",
                p.len()
            );
            return Err(invalid(NAME, msg));
        }
        Ok(finish(parts))
    }
}

/// Shards per class: `total` in all, at most `min(h, size)` per class.
///
/// Every class with images first gets one shard (the largest classes when `total` is too small
/// for all), then the rest go where they keep shard sizes most equal (D'Hondt).
/// `None` when the caps cannot reach `total`.
fn allocate(sizes: &[usize], h: usize, total: usize) -> Option<Vec<usize>> {
    let caps: Vec<usize> = sizes.iter().map(|&n| n.min(h)).collect();
    if caps.iter().sum::<usize>() < total {
        return None;
    }
    let mut by_size: Vec<usize> = (0..sizes.len()).filter(|&c| caps[c] > 0).collect();
    by_size.sort_by_key(|&c| (std::cmp::Reverse(sizes[c]), c));
    let mut shards = vec![0usize; sizes.len()];
    by_size.iter().take(total).for_each(|&c| shards[c] = 1);
    for _ in by_size.len().min(total)..total {
        let best = (0..sizes.len())
            .filter(|&c| shards[c] < caps[c])
            .max_by(|&a, &b| {
                let lhs = sizes[a] * (shards[b] + 1);
                lhs.cmp(&(sizes[b] * (shards[a] + 1))).then(b.cmp(&a))
            })?;
        shards[best] += 1;
    }
    Some(shards)
}

/// Shuffles each class and cuts it into its near-equal shards: (class, indices).
fn make_shards(
    groups: &[Vec<usize>],
    per_class: &[usize],
    rng: &mut Rng,
) -> Vec<(usize, Vec<usize>)> {
    let mut shards = Vec::new();
    for (c, (group, &s)) in groups.iter().zip(per_class).enumerate() {
        let mut idx = group.clone();
        idx.shuffle(rng);
        let base = idx.len().checked_div(s).unwrap_or(0);
        let extra = idx.len().checked_rem(s).unwrap_or(0);
        let mut rest = idx.as_slice();
        for i in 0..s {
            let (take, tail) = rest.split_at(base + usize::from(i < extra));
            shards.push((c, take.to_vec()));
            rest = tail;
        }
    }
    shards
}

/// The hospital of each shard: k shards of distinct classes per hospital.
fn assign(classes: &[usize], h: usize, k: usize, rng: &mut Rng) -> Vec<usize> {
    for _ in 0..DEAL_ATTEMPTS {
        let mut order: Vec<usize> = (0..classes.len()).collect();
        order.shuffle(rng);
        if repair(&mut order, classes, k, rng) {
            return owners(&order, k);
        }
    }
    column_deal(classes, h, rng)
}

/// Slot `i` of `order` belongs to hospital `i / k`; the owner of each shard.
fn owners(order: &[usize], k: usize) -> Vec<usize> {
    let mut owner = vec![0; order.len()];
    for (slot, &shard) in order.iter().enumerate() {
        owner[shard] = slot / k;
    }
    owner
}

/// Swaps shards until no hospital holds a class twice; false if stuck.
fn repair(order: &mut [usize], classes: &[usize], k: usize, rng: &mut Rng) -> bool {
    let t = order.len();
    let class_at = |order: &[usize], s: usize| classes[order[s]];
    let clash = |order: &[usize], s: usize, c: usize| {
        let start = s / k * k;
        (start..start + k).any(|o| o != s && class_at(order, o) == c)
    };
    for slot in 0..t {
        if !clash(order, slot, class_at(order, slot)) {
            continue;
        }
        let offset = rng.gen_range(0..t);
        let found = (0..t).map(|i| (i + offset) % t).find(|&other| {
            other / k != slot / k
                && !clash(order, slot, class_at(order, other))
                && !clash(order, other, class_at(order, slot))
        });
        match found {
            Some(other) => order.swap(slot, other),
            None => return false,
        }
    }
    true
}

/// The always-valid fallback: classes in random order, each class's shards contiguous, shard
/// `p` to hospital `p mod h` (a class has at most `h` shards, so never twice per hospital).
fn column_deal(classes: &[usize], h: usize, rng: &mut Rng) -> Vec<usize> {
    let n_classes = classes.iter().max().map_or(0, |m| m + 1);
    let mut rank: Vec<usize> = (0..n_classes).collect();
    rank.shuffle(rng);
    let mut seq: Vec<usize> = (0..classes.len()).collect();
    seq.sort_by_key(|&s| rank[classes[s]]);
    let mut hospitals: Vec<usize> = (0..h).collect();
    hospitals.shuffle(rng);
    let mut owner = vec![0; classes.len()];
    for (p, &s) in seq.iter().enumerate() {
        owner[s] = hospitals[p % h];
    }
    owner
}

/// The registry factory of `pathological` (parameter `classes-per-hospital`).
pub fn factory() -> Factory<dyn Partitioner> {
    let info = PluginInfo::new(
        "pathological",
        env!("CARGO_PKG_VERSION"),
        "pathological non-IID: label-sorted shards, exactly k classes per hospital",
    )
    .cite(
        "McMahan et al., Communication-efficient learning of deep networks from decentralized \
         data, AISTATS 2017",
    );
    Factory::new(info, |params| {
        let p: PathologicalParams = params.parse()?;
        Ok(Box::new(Pathological::new(p.classes_per_hospital)?) as Box<dyn Partitioner>)
    })
}
