//! Client requests: the pending queue, the request timer, and relaying requests that stay
//! outstanding.
//!
//! The client multicasts each batch to every replica, so in the fault-free case the primary
//! holds every request and nobody relays anything: the message count stays exactly
//! `2n(n − 1)` per block. A replica can miss a batch, though (it was crashed when the batch
//! arrived), and if the primary missed it, only the replicas holding it time out; when they are
//! at most f, they cannot force a view change on their own and the batch is never ordered.
//! TOCS (§4.4–4.5) has the backups relay requests to the primary and start their timers, so
//! here a replica whose request timer fires while it holds unexecuted batches multicasts them
//! as REQUEST messages (the primary and every other replica get them) before it asks for a view
//! change: the primary appends them to its pending queue (deduplicated by batch id and by what
//! it executed) and orders them, and every replica that did not hold them starts its own
//! timer, so that f + 1 replicas time out together if the primary still does not order them.
//! Relaying waits for a timeout, so it costs nothing while requests get ordered.

use super::replica::{Out, Replica};
use crate::sim::{Action, Batch};

/// The most batches one replica relays when its request timer fires (the oldest first).
const RELAY_MAX: usize = 64;

impl Replica {
    /// A replica waiting for a request to execute starts the timer if it is not running. The
    /// primary runs it too: a primary whose proposals do not commit (its backups are stuck in
    /// another view, or withhold their votes) joins the backups' request for a view change.
    pub(super) fn await_requests(&mut self, out: &mut Out) {
        if self.active && !self.pending.is_empty() && !self.view_timer {
            self.arm_view_timer(out);
        }
    }

    /// A request, from the client or relayed by a replica: queued unless it is already pending
    /// or executed; the primary orders it, and the request timer starts.
    pub(super) fn on_request(&mut self, batch: Batch, out: &mut Out) {
        if self.executed_ids.contains(&batch.id) || self.pending_ids.contains_key(&batch.id) {
            return;
        }
        self.pending.insert(self.arrivals, batch);
        self.pending_ids.insert(batch.id, self.arrivals);
        self.arrivals += 1;
        self.propose(out);
        self.await_requests(out);
    }

    /// The view-change timer fired: no request executed in time (or no NEW-VIEW arrived). The
    /// replica relays the batches it still holds, then moves to the next view.
    pub(super) fn on_view_timer(&mut self, out: &mut Out) {
        self.view_timer = false;
        for &batch in self.pending.values().take(RELAY_MAX) {
            out.push(Action::Broadcast {
                msg: super::messages::Msg::Request(batch),
            });
        }
        self.start_view_change(self.view.saturating_add(1), out);
    }
}
