//! Which watch topics changed at which log index, for Server-Sent Event streams.
//!
//! `machine.apply` answers the topics an entry changed in the same call, so following them costs
//! no plugin call at all: a task reads this node's commit announcements and records the last
//! change per topic. Anything that cannot be attributed to topics (a snapshot install, a plugin
//! swap, missed announcements) counts as a change of every topic, which costs at worst one
//! redundant event per stream.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio::sync::{broadcast, watch};

use super::Node;
use crate::raft::{ApplyOutcome, CommitKind};

/// More distinct topics than this are not tracked one by one (a plugin inventing topics without
/// bound): the table is cleared and everything counts as changed.
const MAX_TRACKED_TOPICS: usize = 100_000;

/// The last change of every topic seen by this node.
pub struct TopicChanges {
    table: Mutex<Table>,
    /// Bumped to the log index of every recorded change; streams wait on it.
    latest: watch::Sender<u64>,
}

struct Table {
    by_topic: BTreeMap<String, u64>,
    /// Every topic changed at this index (at least): node start, snapshots, plugin swaps.
    everything_at: u64,
}

impl TopicChanges {
    /// A table that treats every topic as changed at `applied`, the node's applied index when
    /// it starts following commits.
    pub(super) fn new(applied: u64) -> Self {
        TopicChanges {
            table: Mutex::new(Table {
                by_topic: BTreeMap::new(),
                everything_at: applied,
            }),
            latest: watch::channel(applied).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // Map inserts and clears only: consistent even after a panic elsewhere.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The log index of the last change of `topic` known to this node.
    pub fn last_change(&self, topic: &str) -> u64 {
        let table = self.lock();
        table
            .by_topic
            .get(topic)
            .copied()
            .unwrap_or(0)
            .max(table.everything_at)
    }

    /// Wakes whenever any topic changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.latest.subscribe()
    }

    fn record(&self, index: u64, topics: &[String]) {
        if topics.is_empty() {
            return;
        }
        {
            let mut table = self.lock();
            if table.by_topic.len() + topics.len() > MAX_TRACKED_TOPICS {
                table.by_topic.clear();
                table.everything_at = index;
            } else {
                for topic in topics {
                    table.by_topic.insert(topic.clone(), index);
                }
            }
        }
        self.latest.send_replace(index);
    }

    fn record_everything(&self, index: u64) {
        {
            let mut table = self.lock();
            table.everything_at = table.everything_at.max(index);
        }
        self.latest.send_replace(index);
    }
}

/// Follows this node's commits until `shutdown`.
pub(super) async fn follow_commits(
    node: Node,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    tokio::pin!(shutdown);
    let mut commits = node.subscribe();
    let changes = node.topic_changes();
    loop {
        let received = tokio::select! {
            _ = &mut shutdown => return,
            received = commits.recv() => received,
        };
        let event = match received {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                let applied = node.applied_index();
                tracing::debug!(
                    missed,
                    applied,
                    "commit announcements missed; all topics changed"
                );
                changes.record_everything(applied);
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        match &event.kind {
            CommitKind::Command { topics, .. } => changes.record(event.index, topics),
            CommitKind::Plugin(ApplyOutcome::PluginInstalled { .. })
            | CommitKind::Config(ApplyOutcome::Configured(_))
            | CommitKind::SnapshotInstalled => changes.record_everything(event.index),
            CommitKind::Plugin(_)
            | CommitKind::Config(_)
            | CommitKind::Checkpoint
            | CommitKind::Membership(_) => {}
        }
    }
}
