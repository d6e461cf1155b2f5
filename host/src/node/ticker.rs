//! Clock ticks through the log: when the plugin's next deadline has passed, the leader appends
//! an empty command, so timed changes (a hold expiring) happen at one log index on every
//! replica even when nobody else writes.

use std::time::Duration;

use super::{now_ms, Node};

/// Ticks are at least this far apart, even if a plugin keeps reporting a deadline in the past.
const MIN_TICK_GAP: Duration = Duration::from_millis(100);

/// How often a node that is not the leader looks again whether it has become one.
const LEADERSHIP_RECHECK: Duration = Duration::from_millis(250);

/// Longest sleep between looks at the deadline, so a clock jump cannot stall ticks for long.
const MAX_NAP: Duration = Duration::from_secs(1);

/// Runs until `shutdown`: appends a tick whenever this node leads and the deadline is due.
pub(super) async fn tick_when_due(
    node: Node,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    tokio::pin!(shutdown);
    let mut deadlines = node.inner.machine.watch_deadline();
    loop {
        let deadline = *deadlines.borrow_and_update();
        // Deadlines are in log time; the leader stamps with its log clock, never behind it.
        let now = node.inner.clock.stamp(now_ms());
        let wait_ms = deadline.map(|at| at.saturating_sub(now));
        let nap = match wait_ms {
            None => MAX_NAP,
            Some(0) if node.inner.raft.is_leader() => {
                if let Err(e) = node.write_command(Vec::new(), None).await {
                    tracing::debug!(error = %e, "tick not committed; will try again");
                }
                MIN_TICK_GAP
            }
            Some(0) => LEADERSHIP_RECHECK,
            Some(ms) => Duration::from_millis(ms).min(MAX_NAP),
        };
        tokio::select! {
            _ = &mut shutdown => return,
            changed = deadlines.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(nap) => {}
        }
    }
}
