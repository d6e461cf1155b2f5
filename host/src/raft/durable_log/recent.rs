//! The newest entries of the log, kept in memory as they were appended, so the reads that
//! follow every append (replication to the followers, then the apply once committed) are
//! answered without the blocking pool, fjall or decoding.
//!
//! Why: fjall is synchronous, so a read of the log goes through `spawn_blocking`, which wakes a
//! sleeping thread. At one client that hop sat twice on the path of every booking (openraft's
//! log-stage histograms: the leader read the entry to replicate it and again to apply it). etcd
//! keeps its unstable tail in memory for the same reason.
//!
//! The window holds a contiguous run of entries ending at the newest one written, bounded in
//! count and bytes; anything outside it (a follower far behind, a restart) is read from fjall.
//! It only ever holds entries fjall holds too: [`RecentEntries::appended`] runs after the write
//! succeeded, and truncations and purges drop entries from it after fjall's.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use openraft::EntryPayload;

use crate::raft::typ::Entry;
use crate::raft::Payload;

/// At most this many entries are kept.
const MAX_ENTRIES: usize = 4096;
/// And at most about this many payload bytes.
const MAX_BYTES: usize = 8 << 20;
/// What an entry is counted as besides its payload (ids, envelope, allocation).
const ENTRY_OVERHEAD: usize = 96;

/// The in-memory window of the newest entries (see the module docs).
#[derive(Default)]
pub(super) struct RecentEntries {
    window: Mutex<Window>,
}

#[derive(Default)]
struct Window {
    entries: VecDeque<Entry>,
    bytes: usize,
}

impl RecentEntries {
    /// Records entries fjall has just written. A batch that does not continue the window
    /// (after a truncation the window did not see, or a gap) replaces it.
    pub fn appended(&self, entries: &[Entry]) {
        let Some(first) = entries.first() else {
            return;
        };
        let mut window = self.lock();
        window.truncate_from(first.log_id.index);
        if window
            .last_index()
            .is_some_and(|last| last + 1 != first.log_id.index)
        {
            window.clear();
        }
        for entry in entries {
            window.bytes += approx_bytes(entry);
            window.entries.push_back(entry.clone());
        }
        while window.entries.len() > MAX_ENTRIES || window.bytes > MAX_BYTES {
            window.pop_front();
        }
    }

    /// Forgets the entries from index `first` on (fjall removed them).
    pub fn truncated_from(&self, first: u64) {
        self.lock().truncate_from(first);
    }

    /// Forgets the entries up to and including index `last` (fjall purged them).
    pub fn purged_through(&self, last: u64) {
        let mut window = self.lock();
        while window
            .entries
            .front()
            .is_some_and(|e| e.log_id.index <= last)
        {
            window.pop_front();
        }
    }

    /// Copies of the entries `first..=last` when the window holds all of them; `None` sends
    /// the caller to fjall.
    pub fn get(&self, first: u64, last: u64) -> Option<Vec<Entry>> {
        let window = self.lock();
        let start = window.entries.front()?.log_id.index;
        if first < start || last > window.last_index()? || first > last {
            return None;
        }
        let skip = usize::try_from(first - start).ok()?;
        let take = usize::try_from(last - first + 1).ok()?;
        Some(
            window
                .entries
                .iter()
                .skip(skip)
                .take(take)
                .cloned()
                .collect(),
        )
    }

    fn lock(&self) -> MutexGuard<'_, Window> {
        // Every critical section leaves the window consistent or empty: a panic elsewhere
        // cannot leave it half-updated in a way that matters, so a poisoned lock is used as is.
        self.window.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Window {
    fn last_index(&self) -> Option<u64> {
        self.entries.back().map(|e| e.log_id.index)
    }

    fn truncate_from(&mut self, first: u64) {
        while self.entries.back().is_some_and(|e| e.log_id.index >= first) {
            if let Some(entry) = self.entries.pop_back() {
                self.bytes = self.bytes.saturating_sub(approx_bytes(&entry));
            }
        }
    }

    fn pop_front(&mut self) {
        if let Some(entry) = self.entries.pop_front() {
            self.bytes = self.bytes.saturating_sub(approx_bytes(&entry));
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

/// The memory an entry is counted as: its payload bytes plus a fixed overhead.
fn approx_bytes(entry: &Entry) -> usize {
    let payload = match &entry.payload {
        EntryPayload::Normal(envelope) => match &envelope.payload {
            Payload::InstallPlugin { image, .. } => image.bytes.len(),
            other => other.command().map_or(0, <[u8]>::len),
        },
        EntryPayload::Blank | EntryPayload::Membership(_) => 0,
    };
    payload + ENTRY_OVERHEAD
}

#[cfg(test)]
mod tests {
    use openraft::entry::RaftEntry;
    use openraft::testing::log_id;

    use crate::raft::TypeConfig;

    use super::*;

    fn entries(term: u64, indexes: std::ops::RangeInclusive<u64>) -> Vec<Entry> {
        indexes
            .map(|i| Entry::new_blank(log_id::<TypeConfig>(term, 0, i)))
            .collect()
    }

    fn indexes(got: Option<Vec<Entry>>) -> Option<Vec<(u64, u64)>> {
        got.map(|es| {
            es.iter()
                .map(|e| (e.log_id.leader_id.term, e.log_id.index))
                .collect()
        })
    }

    #[test]
    fn answers_only_ranges_it_holds_whole() {
        let recent = RecentEntries::default();
        assert_eq!(recent.get(1, 1).map(|v| v.len()), None);
        recent.appended(&entries(1, 5..=9));
        assert_eq!(indexes(recent.get(6, 7)), Some(vec![(1, 6), (1, 7)]));
        assert_eq!(recent.get(5, 9).map(|v| v.len()), Some(5));
        assert!(recent.get(4, 6).is_none(), "starts before the window");
        assert!(recent.get(8, 10).is_none(), "ends after the window");
        assert!(recent.get(7, 6).is_none(), "empty range");
    }

    #[test]
    fn a_truncation_and_a_conflicting_append_replace_the_tail() {
        let recent = RecentEntries::default();
        recent.appended(&entries(1, 1..=6));
        recent.truncated_from(5);
        assert!(recent.get(5, 5).is_none());
        recent.appended(&entries(2, 5..=5));
        assert_eq!(indexes(recent.get(4, 5)), Some(vec![(1, 4), (2, 5)]));
        // An append overlapping the window without a truncation first: the new entries win.
        recent.appended(&entries(3, 3..=3));
        assert_eq!(
            indexes(recent.get(1, 3)),
            Some(vec![(1, 1), (1, 2), (3, 3)])
        );
        assert!(recent.get(4, 4).is_none());
    }

    #[test]
    fn a_gap_restarts_the_window_and_purges_drop_the_head() {
        let recent = RecentEntries::default();
        recent.appended(&entries(1, 1..=3));
        recent.appended(&entries(1, 10..=11));
        assert!(recent.get(3, 3).is_none());
        assert_eq!(recent.get(10, 11).map(|v| v.len()), Some(2));
        recent.purged_through(10);
        assert!(recent.get(10, 10).is_none());
        assert_eq!(indexes(recent.get(11, 11)), Some(vec![(1, 11)]));
    }

    #[test]
    fn the_window_stays_within_its_bounds() {
        let recent = RecentEntries::default();
        let last = MAX_ENTRIES as u64 + 100;
        for index in 1..=last {
            recent.appended(&entries(1, index..=index));
        }
        assert!(
            recent.get(100, 100).is_none(),
            "the oldest entries were dropped"
        );
        assert_eq!(recent.get(last - 9, last).map(|v| v.len()), Some(10));
        let window = recent.lock();
        assert_eq!(window.entries.len(), MAX_ENTRIES);
        assert_eq!(window.bytes, MAX_ENTRIES * ENTRY_OVERHEAD);
    }
}
