//! The event loop: an ordered queue of deliveries, timers, inputs, crashes and recoveries.

use std::collections::BTreeMap;

use rand::SeedableRng;

use super::metrics::{Finality, Metrics};
use super::network::NetConfig;
use super::{Action, Message, Node, NodeId, Time};

/// A node crashing at `at` and, optionally, recovering with its state at `recover`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Crash {
    /// The node.
    pub node: NodeId,
    /// When it stops.
    #[serde(rename = "at-us")]
    pub at: Time,
    /// When it restarts, if ever.
    #[serde(default, rename = "recover-us")]
    pub recover: Option<Time>,
}

enum Event<N: Node> {
    /// A message reached `to`'s CPU queue.
    Arrive {
        from: NodeId,
        to: NodeId,
        msg: N::Msg,
    },
    /// `to` has verified the message and handles it.
    Handle {
        from: NodeId,
        to: NodeId,
        msg: N::Msg,
    },
    Timer {
        node: NodeId,
        id: u64,
    },
    Input {
        node: NodeId,
        input: N::Input,
    },
    Crash {
        node: NodeId,
    },
    Recover {
        node: NodeId,
    },
}

/// A deterministic simulation of `nodes` on one network.
pub struct Simulation<N: Node> {
    nodes: Vec<N>,
    /// Per node: the protocol identity it acts as (its own index, or a twin's; see
    /// [`Simulation::with_twins`]).
    identity: Vec<NodeId>,
    net: NetConfig,
    now: Time,
    seq: u64,
    queue: BTreeMap<(Time, u64), Event<N>>,
    /// Per node: timer id → the queue key of its pending event.
    timers: Vec<BTreeMap<u64, (Time, u64)>>,
    crashed: Vec<bool>,
    cpu_free: Vec<Time>,
    uplink_free: Vec<Time>,
    delay_rng: securefl_api::Rng,
    loss_rng: securefl_api::Rng,
    started: bool,
    /// What the run measured so far.
    pub metrics: Metrics,
}

impl<N: Node> Simulation<N> {
    /// A simulation of `nodes` on `net`; `seed` derives the network's random streams.
    pub fn new(nodes: Vec<N>, net: NetConfig, seed: u64) -> Self {
        let n = nodes.len();
        let stream = |name: &str| {
            securefl_api::Rng::seed_from_u64(securefl_api::derive_seed(seed, &["net", name]))
        };
        Self {
            identity: (0..n).collect(),
            nodes,
            net,
            now: 0,
            seq: 0,
            queue: BTreeMap::new(),
            timers: vec![BTreeMap::new(); n],
            crashed: vec![false; n],
            cpu_free: vec![0; n],
            uplink_free: vec![0; n],
            delay_rng: stream("delay"),
            loss_rng: stream("loss"),
            started: false,
            metrics: Metrics::new(n),
        }
    }

    /// Twins (Bano et al., 2020): node `k` acts as identity `identity[k]`, so two nodes may
    /// share one identity (one key): what either sends arrives as from that identity, what is
    /// sent to the identity reaches both (partitions permitting), and both count as Byzantine.
    /// Each twin runs the honest protocol, so together they equivocate at every message type.
    pub fn with_twins(
        nodes: Vec<N>,
        identity: Vec<NodeId>,
        net: NetConfig,
        seed: u64,
    ) -> Result<Self, String> {
        if identity.len() != nodes.len() || identity.iter().any(|&i| i >= nodes.len()) {
            return Err(format!(
                "identities {identity:?} do not map {} nodes",
                nodes.len()
            ));
        }
        let mut sim = Self::new(nodes, net, seed);
        sim.identity = identity;
        Ok(sim)
    }

    /// The current simulated time.
    pub fn now(&self) -> Time {
        self.now
    }

    /// The nodes.
    pub fn nodes(&self) -> &[N] {
        &self.nodes
    }

    /// Which nodes follow the protocol (a twin never does).
    pub fn honest(&self) -> Vec<bool> {
        let twinned = |k: usize| {
            self.identity
                .iter()
                .filter(|&&i| i == self.identity[k])
                .count()
                > 1
        };
        (0..self.nodes.len())
            .map(|k| self.nodes[k].is_honest() && !twinned(k))
            .collect()
    }

    /// True while `node` is crashed.
    pub fn is_crashed(&self, node: NodeId) -> bool {
        self.crashed[node]
    }

    fn push(&mut self, at: Time, e: Event<N>) -> (Time, u64) {
        let key = (at.max(self.now), self.seq);
        self.seq += 1;
        self.queue.insert(key, e);
        key
    }

    /// Hands `input` to `node` at time `at`.
    pub fn input(&mut self, at: Time, node: NodeId, input: N::Input) {
        self.push(at, Event::Input { node, input });
    }

    /// Schedules a crash (and recovery).
    pub fn crash(&mut self, c: Crash) {
        self.push(c.at, Event::Crash { node: c.node });
        if let Some(r) = c.recover {
            self.push(r, Event::Recover { node: c.node });
        }
    }

    /// Runs events in order until `stop` holds (checked after each event), the queue is empty,
    /// or the next event lies after `deadline`. Returns true when `stop` held.
    pub fn run_until(&mut self, deadline: Time, mut stop: impl FnMut(&Self) -> bool) -> bool {
        if !self.started {
            self.started = true;
            for i in 0..self.nodes.len() {
                let actions = self.nodes[i].on_start(0);
                self.apply(i, actions);
            }
        }
        if stop(self) {
            return true;
        }
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > deadline {
                break;
            }
            let ((at, _), event) = entry.remove_entry();
            self.now = at;
            self.metrics.events += 1;
            self.step(event);
            if stop(self) {
                return true;
            }
        }
        false
    }

    fn step(&mut self, event: Event<N>) {
        let now = self.now;
        match event {
            Event::Arrive { from, to, msg } => {
                if self.crashed[to] {
                    return;
                }
                // Charged on arrival, by what the receiver's state makes it verify.
                let sigs = self.nodes[to].verify_cost(self.identity[from], &msg);
                let verify = sigs.saturating_mul(self.net.verify_us);
                let done = self.cpu_free[to].max(now).saturating_add(verify);
                self.cpu_free[to] = done;
                self.push(done, Event::Handle { from, to, msg });
            }
            Event::Handle { from, to, msg } => {
                if !self.crashed[to] {
                    let actions = self.nodes[to].on_message(now, self.identity[from], msg);
                    self.apply(to, actions);
                }
            }
            Event::Timer { node, id } => {
                self.timers[node].remove(&id);
                if !self.crashed[node] {
                    let actions = self.nodes[node].on_timer(now, id);
                    self.apply(node, actions);
                }
            }
            Event::Input { node, input } => {
                if !self.crashed[node] {
                    let actions = self.nodes[node].on_input(now, input);
                    self.apply(node, actions);
                }
            }
            Event::Crash { node } => {
                self.crashed[node] = true;
                for (_, key) in std::mem::take(&mut self.timers[node]) {
                    self.queue.remove(&key);
                }
            }
            Event::Recover { node } => {
                if self.crashed[node] {
                    self.crashed[node] = false;
                    self.cpu_free[node] = now;
                    let actions = self.nodes[node].on_recover(now);
                    self.apply(node, actions);
                }
            }
        }
    }

    fn apply(&mut self, node: NodeId, actions: Vec<Action<N::Msg>>) {
        for a in actions {
            match a {
                Action::Send { to, msg } => {
                    // To every node acting as identity `to`: itself, or both twins.
                    let mut targets: Vec<NodeId> = (0..self.nodes.len())
                        .filter(|&k| self.identity[k] == to)
                        .collect();
                    if let Some(last) = targets.pop() {
                        for k in targets {
                            self.send(node, k, msg.clone());
                        }
                        self.send(node, last, msg);
                    }
                }
                Action::Broadcast { msg } => {
                    for to in (0..self.nodes.len()).filter(|&to| to != node) {
                        self.send(node, to, msg.clone());
                    }
                }
                Action::SetTimer { id, after } => {
                    if let Some(old) = self.timers[node].remove(&id) {
                        self.queue.remove(&old);
                    }
                    let key = self.push(self.now + after, Event::Timer { node, id });
                    self.timers[node].insert(id, key);
                }
                Action::CancelTimer { id } => {
                    if let Some(old) = self.timers[node].remove(&id) {
                        self.queue.remove(&old);
                    }
                }
                Action::Finalize {
                    height,
                    digest,
                    batches,
                    contents,
                    proof,
                } => self.metrics.finalize(Finality {
                    node,
                    height,
                    digest,
                    time: self.now,
                    batches,
                    contents,
                    proof,
                }),
            }
        }
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: N::Msg) {
        if to == from {
            self.push(self.now, Event::Handle { from, to, msg });
            return;
        }
        let bytes = msg.size();
        self.metrics.sent(msg.kind(), bytes);
        let leaves = self.uplink_free[from].max(self.now) + self.net.transmit(bytes);
        self.uplink_free[from] = leaves;
        if self.net.lost(&mut self.loss_rng) {
            self.metrics.lost += 1;
            return;
        }
        let delay = self.net.delay.sample(&mut self.delay_rng, from, to);
        // Held while a partition separates the two ends at sending time, then in flight.
        let at = self.net.reachable_from(leaves, from, to) + delay;
        self.push(at, Event::Arrive { from, to, msg });
    }
}
