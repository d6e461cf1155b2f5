//! The in-memory log store of demo and dev modes: the Raft log, vote and committed index kept in
//! a `BTreeMap` behind a mutex. Nothing survives a restart; prod mode uses a durable store.
//!
//! A std `Mutex` fits: every critical section is a few map operations with no `.await` inside.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader};

use super::log_clock::LogClock;
use super::typ::{Entry, LogId, Vote};
use super::TypeConfig;

/// A Raft log held in memory. Clones share the same log (the reader openraft asks for is a clone).
#[derive(Debug, Clone, Default)]
pub struct MemLogStore {
    inner: Arc<Mutex<MemLog>>,
    /// Raised to the leader time of every appended entry.
    clock: LogClock,
}

#[derive(Debug, Default)]
struct MemLog {
    /// Highest log id removed by compaction; reported when the log is empty.
    last_purged: Option<LogId>,
    /// Present entries by index.
    entries: BTreeMap<u64, Entry>,
    /// Highest committed log id, so a restart of the Raft core re-applies up to it.
    committed: Option<LogId>,
    vote: Option<Vote>,
}

impl MemLogStore {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raises `clock` with every entry appended from now on.
    pub fn with_clock(mut self, clock: LogClock) -> Self {
        self.clock = clock;
        self
    }

    fn lock(&self) -> MutexGuard<'_, MemLog> {
        // Every critical section leaves the maps consistent, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl RaftLogReader<TypeConfig> for MemLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        Ok(self
            .lock()
            .entries
            .range(range)
            .map(|(_, e)| e.clone())
            .collect())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        Ok(self.lock().vote)
    }
}

impl RaftLogStorage<TypeConfig> for MemLogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let log = self.lock();
        let last = log.entries.values().next_back().map(|e| e.log_id);
        Ok(LogState {
            last_purged_log_id: log.last_purged,
            last_log_id: last.or(log.last_purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        self.lock().vote = Some(*vote);
        Ok(())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        self.lock().committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(self.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        {
            let mut log = self.lock();
            for entry in entries {
                self.clock.observe([&entry]);
                log.entries.insert(entry.log_id.index, entry);
            }
        }
        // Memory is as durable as this store gets: the entries are "flushed" once inserted.
        callback.io_completed(Ok(()));
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let mut log = self.lock();
        let keep_through = last_log_id.map(|id| id.index);
        let from = keep_through.map_or(0, |i| i + 1);
        log.entries.split_off(&from);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        let mut log = self.lock();
        if log.last_purged.is_some_and(|p| p.index >= log_id.index) {
            return Ok(());
        }
        log.last_purged = Some(log_id);
        let rest = log.entries.split_off(&(log_id.index + 1));
        log.entries = rest;
        Ok(())
    }
}

#[cfg(test)]
mod tests {

    use openraft::testing::log::{StoreBuilder, Suite};
    use openraft::StorageError;

    use super::MemLogStore;
    use crate::raft::{StateMachine, TypeConfig};

    struct MemBuilder;

    impl StoreBuilder<TypeConfig, MemLogStore, StateMachine, tempfile::TempDir> for MemBuilder {
        async fn build(
            &self,
        ) -> Result<(tempfile::TempDir, MemLogStore, StateMachine), StorageError<TypeConfig>>
        {
            let (guard, machine) = crate::raft::state_machine::for_tests();
            Ok((guard, MemLogStore::new(), machine))
        }
    }

    #[tokio::test]
    async fn memory_log_store_passes_openraft_storage_suite() -> Result<(), StorageError<TypeConfig>>
    {
        Suite::test_all(MemBuilder).await
    }
}
