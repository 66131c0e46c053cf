//! The network model: per-link delays, bandwidth, loss and partitions.
//!
//! A message from `a` to `b` leaves when `a`'s uplink is free (messages queue behind each
//! other at `bandwidth` bytes per second, so a broadcast of a large block takes `n − 1`
//! transmissions), travels for a delay drawn from [`Delay`], and is lost with probability
//! `loss`. During a [`Partition`] messages between its groups are held and delivered when it
//! heals (links are reliable, as TCP with retransmission makes them): a partition delays, loss
//! drops.

use rand_distr::{Distribution, LogNormal};
use serde::Deserialize;

use super::{NodeId, Time};

/// One-way propagation delay of a message.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Delay {
    /// Always `us` microseconds.
    Constant {
        /// The delay.
        us: Time,
    },
    /// Uniform in `[min-us, max-us]`.
    Uniform {
        /// Smallest delay.
        #[serde(rename = "min-us")]
        min_us: Time,
        /// Largest delay.
        #[serde(rename = "max-us")]
        max_us: Time,
    },
    /// Log-normal with the given median and shape: a heavy right tail.
    LogNormal {
        /// The median delay.
        #[serde(rename = "median-us")]
        median_us: Time,
        /// The standard deviation of the delay's logarithm.
        sigma: f64,
    },
    /// A one-way latency matrix between regions; node `i` lives in region `region[i % len]`.
    Regions {
        /// Region of each node (cycled when shorter than the node list).
        region: Vec<usize>,
        /// `latency-us[a][b]`: one-way delay from region `a` to region `b`.
        #[serde(rename = "latency-us")]
        latency_us: Vec<Vec<Time>>,
    },
}

impl Delay {
    /// Checks the parameters; the message names the problem.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Self::Constant { .. } => Ok(()),
            Self::Uniform { min_us, max_us } if min_us > max_us => {
                Err(format!("uniform delay: min-us {min_us} > max-us {max_us}"))
            }
            Self::Uniform { .. } => Ok(()),
            Self::LogNormal { sigma, .. } if !(sigma.is_finite() && *sigma >= 0.0) => Err(format!(
                "log-normal delay: sigma {sigma} is not a number ≥ 0"
            )),
            Self::LogNormal { .. } => Ok(()),
            Self::Regions { region, latency_us } => {
                let k = latency_us.len();
                if region.is_empty() || latency_us.iter().any(|row| row.len() != k) {
                    return Err("regions delay: `latency-us` must be a square matrix and `region` non-empty".into());
                }
                match region.iter().find(|&&r| r >= k) {
                    Some(r) => Err(format!(
                        "regions delay: region {r} has no row in `latency-us` ({k} regions)"
                    )),
                    None => Ok(()),
                }
            }
        }
    }

    /// A delay for a message from `from` to `to`.
    pub fn sample(&self, rng: &mut impl rand::Rng, from: NodeId, to: NodeId) -> Time {
        match self {
            Self::Constant { us } => *us,
            Self::Uniform { min_us, max_us } => rng.gen_range(*min_us..=*max_us),
            Self::LogNormal { median_us, sigma } => {
                let d = LogNormal::new((*median_us as f64).max(1.0).ln(), *sigma)
                    .expect("checked sigma");
                d.sample(rng).round() as Time
            }
            Self::Regions { region, latency_us } => {
                let r = |i: NodeId| region[i % region.len()];
                latency_us[r(from)][r(to)]
            }
        }
    }
}

/// A network split during `[start-us, heal-us)`: nodes in different groups cannot reach each
/// other; their messages wait for the heal. Nodes in no group form one more group together.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Partition {
    /// When the split begins.
    pub start_us: Time,
    /// When it heals.
    pub heal_us: Time,
    /// The groups.
    pub groups: Vec<Vec<NodeId>>,
}

impl Partition {
    fn group_of(&self, node: NodeId) -> usize {
        self.groups
            .iter()
            .position(|g| g.contains(&node))
            .unwrap_or(self.groups.len())
    }

    /// True when `a` and `b` are cut apart at time `t`.
    pub fn separates(&self, t: Time, a: NodeId, b: NodeId) -> bool {
        (self.start_us..self.heal_us).contains(&t) && self.group_of(a) != self.group_of(b)
    }
}

/// The network a simulation runs on.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NetConfig {
    /// Propagation delay.
    #[serde(default = "default_delay")]
    pub delay: Delay,
    /// Uplink bandwidth of every node in bytes per second (0: unlimited).
    #[serde(default)]
    pub bandwidth: u64,
    /// Probability that a message is lost.
    #[serde(default)]
    pub loss: f64,
    /// Network splits.
    #[serde(default)]
    pub partitions: Vec<Partition>,
    /// CPU time to verify one signature at the receiver (each node is a single-server queue).
    #[serde(default = "default_verify_us")]
    pub verify_us: Time,
}

fn default_delay() -> Delay {
    Delay::Uniform {
        min_us: 5_000,
        max_us: 15_000,
    }
}

/// An ed25519 verification on one core, about 50 µs.
fn default_verify_us() -> Time {
    50
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            delay: default_delay(),
            bandwidth: 0,
            loss: 0.0,
            partitions: Vec::new(),
            verify_us: default_verify_us(),
        }
    }
}

impl NetConfig {
    /// Checks the parameters for `n` nodes; the message names the field and the problem.
    pub fn check(&self, n: usize) -> Result<(), String> {
        self.delay.check()?;
        if !(0.0..1.0).contains(&self.loss) {
            return Err(format!("loss {} is not a probability in [0, 1)", self.loss));
        }
        for p in &self.partitions {
            if p.heal_us < p.start_us {
                return Err(format!(
                    "partition heals at {} before it starts at {}",
                    p.heal_us, p.start_us
                ));
            }
            if let Some(bad) = p.groups.iter().flatten().find(|&&i| i >= n) {
                return Err(format!(
                    "partition names node {bad}, but there are {n} nodes"
                ));
            }
        }
        Ok(())
    }

    /// The earliest time from `t` at which `a` and `b` are not cut apart.
    pub fn reachable_from(&self, t: Time, a: NodeId, b: NodeId) -> Time {
        let mut at = t;
        // Partitions may overlap or follow each other: move past each one that cuts at `at`.
        while let Some(p) = self.partitions.iter().find(|p| p.separates(at, a, b)) {
            at = p.heal_us;
        }
        at
    }

    /// Transmission time of `bytes` on an uplink.
    pub fn transmit(&self, bytes: u64) -> Time {
        if self.bandwidth == 0 {
            0
        } else {
            (bytes * 1_000_000).div_ceil(self.bandwidth)
        }
    }

    /// True when a message is lost (one draw from the loss stream).
    pub fn lost(&self, rng: &mut impl rand::Rng) -> bool {
        self.loss > 0.0 && rng.r#gen::<f64>() < self.loss
    }
}
