//! Operator views of a node: the log decoded entry by entry, and snapshots on demand.

use openraft::storage::RaftLogReader;
use openraft::EntryPayload;
use serde::{Deserialize, Serialize};

use super::Node;
use crate::raft::durable_log::DurableLogReader;
use crate::raft::log_store::MemLogStore;
use crate::raft::typ::Entry;
use crate::raft::Payload;

/// Reads this node's log, whichever store holds it.
pub(crate) enum LogReader {
    /// The in-memory store (a clone shares the entries).
    Memory(MemLogStore),
    /// The fjall store's reader.
    Durable(DurableLogReader),
}

impl LogReader {
    async fn entries(
        &mut self,
        from: u64,
        to_inclusive: u64,
    ) -> Result<Vec<Entry>, std::io::Error> {
        match self {
            LogReader::Memory(store) => store.try_get_log_entries(from..=to_inclusive).await,
            LogReader::Durable(reader) => reader.try_get_log_entries(from..=to_inclusive).await,
        }
    }
}

/// One log entry as `logs` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogLine {
    /// Log index.
    pub index: u64,
    /// Term of the leader that appended it.
    pub term: u64,
    /// `command`, `install-plugin`, `membership` or `blank`.
    pub kind: String,
    /// What it does, as the plugin describes commands.
    pub text: String,
}

impl Node {
    /// Up to `count` (at most 1000) entries from `from` (default: the last `count`), decoded.
    ///
    /// # Errors
    /// If the log store cannot be read.
    pub async fn logs(&self, from: Option<u64>, count: u64) -> Result<Vec<LogLine>, String> {
        let status = self.status();
        let last = status.last_log_index.unwrap_or(0);
        let first_kept = status.purged.map_or(0, |p| p + 1);
        let count = count.clamp(1, 1000);
        let start = from
            .unwrap_or_else(|| last.saturating_sub(count - 1))
            .max(first_kept);
        if start > last {
            return Ok(Vec::new());
        }
        let end = (start + count - 1).min(last);
        let entries = self
            .inner
            .log_reader
            .lock()
            .await
            .entries(start, end)
            .await
            .map_err(|e| format!("cannot read the log: {e}"))?;
        let mut lines = Vec::with_capacity(entries.len());
        for entry in &entries {
            lines.push(self.describe_entry(entry).await);
        }
        Ok(lines)
    }

    async fn describe_entry(&self, entry: &Entry) -> LogLine {
        let (kind, text) = match &entry.payload {
            EntryPayload::Blank => ("blank", "a new leader's first entry".to_string()),
            EntryPayload::Membership(m) => {
                let ids = |it: &mut dyn Iterator<Item = u64>| {
                    it.map(|id| id.to_string()).collect::<Vec<_>>().join(", ")
                };
                (
                    "membership",
                    format!(
                        "voters [{}], learners [{}]",
                        ids(&mut m.voter_ids()),
                        ids(&mut m.learner_ids())
                    ),
                )
            }
            EntryPayload::Normal(envelope) => match &envelope.payload {
                Payload::Command(command) => {
                    ("command", self.describe(command.clone(), None).await)
                }
                Payload::KeyedCommand { key, command } => (
                    "command",
                    format!(
                        "{} (idempotency key {:?})",
                        self.describe(command.clone(), None).await,
                        key.key
                    ),
                ),
                Payload::InstallPlugin {
                    image, bootstrap, ..
                } => (
                    "install-plugin",
                    format!(
                        "install plugin {}{} ({} bytes)",
                        image.hash.short(),
                        if *bootstrap { " if none yet" } else { "" },
                        image.bytes.len()
                    ),
                ),
                Payload::Configure(config) => (
                    "configure",
                    format!(
                        "limits: fuel {} per call, {} per state call, memory {} MiB, stack {} KiB; snapshot every {} entries",
                        config.limits.fuel_per_call,
                        config.limits.fuel_per_state_call,
                        config.limits.memory_bytes >> 20,
                        config.limits.stack_bytes >> 10,
                        config.snapshot_every
                    ),
                ),
                Payload::Checkpoint => ("checkpoint", "a snapshot on every replica".to_string()),
            },
        };
        LogLine {
            index: entry.log_id.index,
            term: entry.log_id.leader_id.term,
            kind: kind.to_string(),
            text,
        }
    }
}
