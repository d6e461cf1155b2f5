//! Which watch topics changed at which log index, for Server-Sent Event streams.
//!
//! A task follows this node's commits and asks the plugin's `topics` what each applied command
//! changed (while no stream is open, commits are only queued, and the next stream to open
//! attributes them: no plugin call per commit when nobody watches). Streams wake on every recorded change and compare their topic's last change with
//! the index they last sent. Anything the node cannot attribute to topics (a snapshot install, a
//! plugin swap, missed announcements) counts as a change of every topic, which costs at worst
//! one redundant event.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};

use super::Node;
use crate::raft::state_machine::CommitKind;
use crate::raft::{ApplyOutcome, CommitEvent};

/// More distinct topics than this are not tracked one by one (a plugin inventing topics without
/// bound): the table is cleared and everything counts as changed.
const MAX_TRACKED_TOPICS: usize = 100_000;

/// The last change of every topic seen by this node.
pub struct TopicChanges {
    table: Mutex<Table>,
    /// Bumped to the log index of every recorded change; streams wait on it.
    latest: watch::Sender<u64>,
    /// Open streams. With none, commits are only queued in the table's backlog (no plugin
    /// call per commit); the next stream to open attributes them first.
    watchers: Arc<AtomicUsize>,
}

/// Commits not yet attributed to topics: (index, command, answer).
type Backlog = VecDeque<(u64, Vec<u8>, Result<Vec<u8>, Vec<u8>>)>;

/// Commits kept unattributed while nobody watches; older ones count as changes of everything.
const MAX_BACKLOG: usize = 4096;

/// Counts one open stream for as long as it lives.
pub struct WatcherGuard(Arc<AtomicUsize>);

impl Drop for WatcherGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Table {
    by_topic: BTreeMap<String, u64>,
    backlog: Backlog,
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
                backlog: VecDeque::new(),
                everything_at: applied,
            }),
            latest: watch::channel(applied).0,
            watchers: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Registers an open stream until the guard is dropped.
    pub fn watch(&self) -> WatcherGuard {
        self.watchers.fetch_add(1, Ordering::Relaxed);
        WatcherGuard(self.watchers.clone())
    }

    fn watched(&self) -> bool {
        self.watchers.load(Ordering::Relaxed) > 0
    }

    /// Queues a commit for later attribution (nobody watches now).
    fn defer(&self, index: u64, command: Vec<u8>, answer: Result<Vec<u8>, Vec<u8>>) {
        let mut table = self.lock();
        if table.backlog.len() >= MAX_BACKLOG {
            if let Some((dropped, _, _)) = table.backlog.pop_front() {
                table.everything_at = table.everything_at.max(dropped);
            }
        }
        table.backlog.push_back((index, command, answer));
    }

    /// Attributes every queued commit to its topics; a stream calls this when it opens.
    pub fn catch_up(&self, node: &Node) {
        let backlog = std::mem::take(&mut self.lock().backlog);
        for (index, command, answer) in backlog {
            match node.front().call(|plugin| plugin.topics(&command, &answer)) {
                Ok(topics) => self.record(index, topics),
                Err(_) => self.record_everything(index),
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
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

    fn record(&self, index: u64, topics: Vec<String>) {
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
                    // Max, not insert: a stream's catch-up and the follower may interleave.
                    let last = table.by_topic.entry(topic).or_insert(index);
                    *last = (*last).max(index);
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
    mut commits: broadcast::Receiver<CommitEvent>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    tokio::pin!(shutdown);
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
        match event.kind {
            CommitKind::Command { command, outcome } => {
                let answer = match outcome {
                    ApplyOutcome::Applied(bytes) => Ok(bytes),
                    ApplyOutcome::Rejected(bytes) => Err(bytes),
                    _ => continue,
                };
                if !changes.watched() {
                    changes.defer(event.index, command, answer);
                    // A stream may have opened (and caught up) just before the defer.
                    if changes.watched() {
                        changes.catch_up(&node);
                    }
                    continue;
                }
                match node.front().call(|plugin| plugin.topics(&command, &answer)) {
                    Ok(topics) => changes.record(event.index, topics),
                    Err(e) => {
                        tracing::warn!(error = %e, "plugin topics failed; all topics changed");
                        changes.record_everything(event.index);
                    }
                }
            }
            CommitKind::Plugin(ApplyOutcome::PluginInstalled { .. })
            | CommitKind::SnapshotInstalled => changes.record_everything(event.index),
            CommitKind::Plugin(_) | CommitKind::Membership(_) => {}
        }
    }
}
