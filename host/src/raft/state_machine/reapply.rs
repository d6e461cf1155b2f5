//! The committed log re-applied at start-up, before Raft starts.
//!
//! A restarted node holds the latest snapshot and the log after it; everything up to the
//! committed index it saved must be applied again before it serves. openraft does that when it
//! starts, 64 entries at a time, reading a chunk and then applying it, so the apply thread
//! waits for every read (measured at 190,000 entries: 0.84 s of applying took about 1.05 s).
//! Here the next chunk is read while the apply thread works on the current one; openraft
//! then finds nothing left to re-apply. The entries and their order are the same, so the
//! canonical instance sees the same call history either way.

use std::io;

use openraft::storage::RaftLogReader;
use openraft::LogIdOptionExt;

use super::{outcomes, Machine};
use crate::raft::typ::LogId;
use crate::raft::TypeConfig;

/// Entries read and applied at a time: the read and the hand-off cost little per entry, and
/// two chunks (one being read, one being applied) are all that is held in memory.
const CHUNK: u64 = 1024;

impl Machine {
    /// Applies the entries after the last applied one up to `committed`, reading each chunk
    /// from `log` while the previous one is applied; returns how many it applied. Nothing is
    /// done when the log no longer holds the first of them (`purged` is at or past it):
    /// openraft then refuses to start with its own error.
    ///
    /// # Errors
    /// A read error, a log that misses an entry in the range, or a stopped apply thread.
    pub async fn reapply_committed<R: RaftLogReader<TypeConfig>>(
        &self,
        log: &mut R,
        purged: Option<LogId>,
        committed: Option<LogId>,
    ) -> io::Result<u64> {
        let start = self.status().last_applied.next_index();
        let end = committed.next_index();
        if start >= end || purged.next_index() > start {
            return Ok(0);
        }
        let mut next = start;
        let mut applying = None;
        while next < end {
            let chunk_end = end.min(next + CHUNK);
            let entries = log.try_get_log_entries(next..chunk_end).await?;
            let contiguous = entries.len() as u64 == chunk_end - next
                && entries.first().map(|e| e.log_id.index) == Some(next);
            if !contiguous {
                return Err(io::Error::other(format!(
                    "the log misses committed entries in {next}..{chunk_end}"
                )));
            }
            if let Some(previous) = applying.replace(self.submit_apply(entries)?) {
                outcomes(previous).await?;
            }
            next = chunk_end;
        }
        if let Some(last) = applying {
            outcomes(last).await?;
        }
        Ok(end - start)
    }
}
