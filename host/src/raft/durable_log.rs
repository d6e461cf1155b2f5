//! The durable Raft log of prod mode: log entries, the vote, the committed log id and the last
//! purged log id in a fjall database, one data dir per node. It mirrors
//! [`MemLogStore`](super::log_store::MemLogStore) and adds what a disk needs: fsync placement,
//! group commit, recovery checks and poisoning.
//!
//! # Format
//!
//! ```text
//! keyspace `meta`   b"vote"         postcard(Vote)
//!                   b"committed"    postcard(Option<LogId>)
//!                   b"last_purged"  postcard(LogId)
//!                   b"identity"     postcard(Identity)   written by check_identity
//! keyspace `logs`   index as 8 big-endian bytes (key order = index order) -> postcard(Entry)
//! ```
//!
//! # Durability
//!
//! Every write is one fjall write batch, and fjall's journal replays a batch whole or not at all.
//!
//! - **The process is killed** (crash, `kill -9`): everything whose call has returned survives.
//!   Each batch reaches the OS (fjall `PersistMode::Buffer`) before the call returns, and the OS
//!   writes it out even though the process is gone.
//! - **Power loss or OS crash**: what was fsynced survives: the vote (fsynced before
//!   [`save_vote`](RaftLogStorage::save_vote) returns), every appended entry whose `IOFlushed`
//!   callback reported `Ok`, and everything written before that fsync (the journal is one
//!   ordered file). Later writes may be lost, but only from the end: the store comes back as it
//!   was at some moment, a prefix of its writes, never with a hole. So a surviving committed id
//!   never points past the entries written before it, and a purge or truncation is either all
//!   there or not at all.
//!
//! # Group commit
//!
//! `append` returns as soon as its entries are written; its `IOFlushed` callback goes to a
//! flusher thread that takes everything queued, issues one fsync, and only then fires all
//! those callbacks. [`flush_stats`](DurableLogStore::flush_stats) counts fsyncs and entries.
//! The flusher syncs fjall's journal file without taking fjall's journal lock, so appends keep
//! going while the disk works (the `flusher` module says why and why it is safe).
//!
//! # Blocking
//!
//! fjall is synchronous. Calls that may touch the disk (any write; reads of entries that may
//! sit in table files) run under `tokio::task::spawn_blocking`. The vote, committed id and last
//! purged id are also cached in memory (loaded and checked at open, updated after each durable
//! write), so `read_vote` and `read_committed` never block, and so are the newest entries
//! (the `recent` module), so replication and the apply read what was just appended without a
//! hop to the blocking pool.

mod flusher;
mod recent;

use std::fmt;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, OwnedWriteBatch, PersistMode};
use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use self::flusher::{Flusher, Pending, Shared, Syncer};
use self::recent::RecentEntries;
use super::log_clock::LogClock;
use super::typ::{Entry, LogId, Vote};
use super::TypeConfig;

/// The on-disk format this build writes and reads, recorded in [`Identity`].
pub const FORMAT_VERSION: u32 = 1;

const META: &str = "meta";
const LOGS: &str = "logs";
const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const LAST_PURGED: &str = "last_purged";
const IDENTITY: &str = "identity";

/// Memtable sizes: fjall replays its journal at open, and the journal keeps everything not yet
/// flushed into tables, so small memtables keep a restart short. With fjall's defaults (64 MiB
/// memtables, 512 MiB of journal) a node that had taken 300,000 bookings replayed a 37 MB
/// journal for 1.3 s before it could start. The meta keyspace changes with every commit (the
/// committed id): its memtable must rotate too, or it pins every journal file since the start.
const LOGS_MEMTABLE_BYTES: u64 = 8 << 20;
const META_MEMTABLE_BYTES: u64 = 1 << 20;
/// The journal size at which fjall flushes every keyspace regardless (its least allowed value).
const MAX_JOURNAL_BYTES: u64 = 64 << 20;

/// Which node and cluster a data dir belongs to, so a node never runs on another node's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// [`FORMAT_VERSION`] of the build that created the dir.
    pub format_version: u32,
    /// The Raft node id.
    pub node_id: u64,
    /// The cluster's name (its profile in `config.json`).
    pub cluster: String,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "node {} of cluster {:?} (format {})",
            self.node_id, self.cluster, self.format_version
        )
    }
}

/// What the group-commit flusher has done since the store was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushStats {
    /// fsyncs issued for appended entries (not counting `save_vote`'s own).
    pub fsyncs: u64,
    /// Appends whose callback was completed with `Ok`.
    pub appends_flushed: u64,
    /// Entries in those appends.
    pub entries_flushed: u64,
}

impl FlushStats {
    /// Entries made durable per fsync (0 before the first fsync).
    pub fn entries_per_fsync(&self) -> f64 {
        if self.fsyncs == 0 {
            0.0
        } else {
            self.entries_flushed as f64 / self.fsyncs as f64
        }
    }
}

/// Why the durable log store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DurableLogError {
    /// The storage engine failed: I/O, or its own files are damaged.
    #[error("storage engine: {0}")]
    Storage(#[from] fjall::Error),
    /// The storage engine could not open the data dir: I/O, or its files are damaged.
    #[error("cannot open the raft log in {}: {source}", dir.display())]
    Open {
        /// The data dir.
        dir: PathBuf,
        /// What the engine reported.
        source: fjall::Error,
    },
    /// Another process has the data dir open.
    #[error("data dir {} is in use by another process", dir.display())]
    Locked {
        /// The data dir.
        dir: PathBuf,
    },
    /// The storage engine panicked while opening the data dir (damaged files it did not expect).
    #[error("data dir {} cannot be opened, its files look damaged: {message}", dir.display())]
    Unrecoverable {
        /// The data dir.
        dir: PathBuf,
        /// The engine's panic message.
        message: String,
    },
    /// An I/O error outside the engine.
    #[error("I/O: {0}")]
    Io(#[from] io::Error),
    /// A stored record does not decode.
    #[error("corrupt {what} in keyspace `{keyspace}`: {reason}")]
    Corrupt {
        /// `meta` or `logs`.
        keyspace: &'static str,
        /// Which record: `vote`, `entry at index 7`, ...
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The data dir belongs to another node or cluster.
    #[error("data dir belongs to {found}, but this is {expected}")]
    DataDirMismatch {
        /// This node.
        expected: Identity,
        /// What the data dir says.
        found: Identity,
    },
    /// The data dir was written in a format this build does not read.
    #[error("data dir has format version {found}; this build reads version {supported}")]
    Version {
        /// What the data dir says.
        found: u32,
        /// [`FORMAT_VERSION`].
        supported: u32,
    },
    /// A write or fsync failed earlier: the store refuses writes until it is reopened.
    #[error("log store refuses writes after an earlier failure: {cause}")]
    Poisoned {
        /// The failure that poisoned the store.
        cause: String,
    },
    /// A record could not be encoded.
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// Which record.
        what: &'static str,
        /// Why.
        source: postcard::Error,
    },
    /// The group-commit flusher thread is gone (it panicked).
    #[error("the log flusher thread is gone")]
    FlusherGone,
    /// A blocking storage task panicked or was cancelled.
    #[error("storage task failed: {0}")]
    Task(String),
}

impl From<DurableLogError> for io::Error {
    fn from(e: DurableLogError) -> Self {
        match e {
            DurableLogError::Io(e) | DurableLogError::Storage(fjall::Error::Io(e)) => e,
            e @ DurableLogError::Corrupt { .. } => io::Error::new(io::ErrorKind::InvalidData, e),
            e => io::Error::other(e),
        }
    }
}

/// The durable Raft log. Clones share one open database and one flusher thread; the database
/// closes (after a last fsync of queued appends) when the last clone and reader are dropped.
#[derive(Clone)]
pub struct DurableLogStore {
    inner: Arc<Inner>,
    /// Raised to the leader time of every appended entry.
    clock: LogClock,
}

/// The reader openraft's replication tasks use: reads only, sharing the store's database.
#[derive(Clone)]
pub struct DurableLogReader {
    inner: Arc<Inner>,
}

struct Inner {
    /// Closes the flusher's queue and joins it on drop, after it has flushed and completed
    /// everything queued (so the last drop waits for at most one fsync). First field, so it
    /// drops before the handles below.
    flusher: Flusher,
    /// Poison flag and counters, shared with the flusher thread.
    shared: Arc<Shared>,
    /// Copies of the small `meta` records, loaded at open and replaced after each write of them
    /// succeeds. A std `Mutex`: every critical section is a copy, never held across `.await`.
    cache: Mutex<MetaCache>,
    /// The newest entries, so replication and the apply read them without fjall.
    recent: RecentEntries,
    db: Database,
    meta: Keyspace,
    logs: Keyspace,
    dir: PathBuf,
}

#[derive(Debug, Default)]
struct MetaCache {
    vote: Option<Vote>,
    committed: Option<LogId>,
    last_purged: Option<LogId>,
}

impl fmt::Debug for DurableLogStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DurableLogStore")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for DurableLogReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DurableLogReader")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

impl DurableLogStore {
    /// Opens (or creates) the log in `dir`, replays fjall's journal, and checks that the stored
    /// vote, committed id, last purged id, identity and the first and last entries decode.
    ///
    /// Blocking (journal replay, fsyncs): from async code, call it inside `spawn_blocking`.
    ///
    /// # Errors
    ///
    /// [`Locked`](DurableLogError::Locked) if another process has `dir` open; `Open`,
    /// `Unrecoverable`, `Corrupt` or `Storage` if its files are damaged; `Version` if it was written by an
    /// incompatible build; `Io` if the flusher thread cannot start.
    pub fn open(dir: &Path) -> Result<Self, DurableLogError> {
        Self::open_with(dir, |dir, _db| Syncer::JournalFile {
            dir: dir.to_path_buf(),
            open: None,
        })
    }

    fn open_with(
        dir: &Path,
        syncer: impl FnOnce(&Path, &Database) -> Syncer,
    ) -> Result<Self, DurableLogError> {
        // Engine errors while opening say which data dir could not be opened.
        Self::open_checked(dir, syncer).map_err(|e| match e {
            DurableLogError::Storage(source) => DurableLogError::Open {
                dir: dir.to_path_buf(),
                source,
            },
            e => e,
        })
    }

    fn open_checked(
        dir: &Path,
        syncer: impl FnOnce(&Path, &Database) -> Syncer,
    ) -> Result<Self, DurableLogError> {
        let db = open_database(dir)?;
        // Both names are valid keyspace names (fjall panics only on invalid ones).
        let meta = db.keyspace(META, || {
            KeyspaceCreateOptions::default().max_memtable_size(META_MEMTABLE_BYTES)
        })?;
        let logs = db.keyspace(LOGS, || {
            KeyspaceCreateOptions::default().max_memtable_size(LOGS_MEMTABLE_BYTES)
        })?;

        let cache = MetaCache {
            vote: get_meta(&meta, VOTE)?,
            committed: get_meta::<Option<LogId>>(&meta, COMMITTED)?.flatten(),
            last_purged: get_meta(&meta, LAST_PURGED)?,
        };
        if let Some(identity) = get_meta::<Identity>(&meta, IDENTITY)? {
            check_version(&identity)?;
        }

        let shared = Arc::new(Shared::default());
        let flusher = Flusher::spawn(syncer(dir, &db), Arc::clone(&shared))?;
        let inner = Inner {
            flusher,
            shared,
            cache: Mutex::new(cache),
            recent: RecentEntries::default(),
            db,
            meta,
            logs,
            dir: dir.to_path_buf(),
        };
        // The ends of the log are what a restart reads first: check they decode now.
        inner.first_entry()?;
        inner.check_tail()?;
        tracing::info!(dir = %dir.display(), state = ?inner.log_state()?, "opened the raft log");
        Ok(Self {
            inner: Arc::new(inner),
            clock: LogClock::new(),
        })
    }

    /// Records every fsync's duration and batch size in `metrics` from now on.
    pub fn with_metrics(self, metrics: crate::metrics::LogFlush) -> Self {
        // Set once, right after opening; a second call keeps the first set.
        let _ = self.inner.shared.metrics.set(metrics);
        self
    }

    /// Raises `clock` with every entry appended from now on, and now with the log's last entry.
    ///
    /// # Errors
    /// If the last entry cannot be read.
    pub fn with_clock(mut self, clock: LogClock) -> Result<Self, DurableLogError> {
        if let Some(last) = self.inner.last_entry()? {
            clock.observe([&last]);
        }
        self.clock = clock;
        Ok(self)
    }

    /// Records `node_id` and `cluster` as the owners of this data dir if none are recorded yet
    /// (fsynced), and checks them otherwise. Blocking (one fsync on first use).
    ///
    /// # Errors
    ///
    /// [`DataDirMismatch`](DurableLogError::DataDirMismatch) if the dir belongs to another node
    /// id or cluster; `Version` for an incompatible format; `Corrupt`, `Storage` or `Poisoned`
    /// if the record cannot be read or written.
    pub fn check_identity(&self, node_id: u64, cluster: &str) -> Result<(), DurableLogError> {
        let expected = Identity {
            format_version: FORMAT_VERSION,
            node_id,
            cluster: cluster.to_owned(),
        };
        match get_meta::<Identity>(&self.inner.meta, IDENTITY)? {
            Some(found) => {
                check_version(&found)?;
                if found.node_id != expected.node_id || found.cluster != expected.cluster {
                    return Err(DurableLogError::DataDirMismatch { expected, found });
                }
                Ok(())
            }
            None => {
                let mut batch = self.inner.batch(PersistMode::SyncAll)?;
                batch.insert(&self.inner.meta, IDENTITY, encode("identity", &expected)?);
                self.inner.commit(batch)
            }
        }
    }

    /// The recorded owner of this data dir, if [`check_identity`](Self::check_identity) ran.
    ///
    /// # Errors
    ///
    /// The record cannot be read or does not decode.
    pub fn identity(&self) -> Result<Option<Identity>, DurableLogError> {
        get_meta(&self.inner.meta, IDENTITY)
    }

    /// The committed log id saved last: where openraft's re-apply at start-up ends.
    pub fn committed(&self) -> Option<LogId> {
        self.inner.cache().committed
    }

    /// What the group-commit flusher has done so far.
    pub fn flush_stats(&self) -> FlushStats {
        self.inner.shared.stats()
    }

    /// The data dir.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Runs `f` on the blocking pool.
    async fn blocking<T, F>(&self, f: F) -> Result<T, io::Error>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, DurableLogError> + Send + 'static,
    {
        blocking(&self.inner, f).await
    }
}

/// Opens fjall in `dir`, turning a panic inside its recovery (it has `expect`s on what it reads)
/// into an error: a damaged data dir must fail the open, not the process.
fn open_database(dir: &Path) -> Result<Database, DurableLogError> {
    let opened = catch_unwind(AssertUnwindSafe(|| {
        Database::builder(dir)
            .max_journaling_size(MAX_JOURNAL_BYTES)
            .open()
    }));
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(fjall::Error::Locked)) => Err(DurableLogError::Locked {
            dir: dir.to_path_buf(),
        }),
        Ok(Err(e)) => Err(e.into()),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(DurableLogError::Unrecoverable {
                dir: dir.to_path_buf(),
                message,
            })
        }
    }
}

fn check_version(identity: &Identity) -> Result<(), DurableLogError> {
    if identity.format_version == FORMAT_VERSION {
        Ok(())
    } else {
        Err(DurableLogError::Version {
            found: identity.format_version,
            supported: FORMAT_VERSION,
        })
    }
}

async fn blocking<T, F>(inner: &Arc<Inner>, f: F) -> Result<T, io::Error>
where
    T: Send + 'static,
    F: FnOnce(&Inner) -> Result<T, DurableLogError> + Send + 'static,
{
    let inner = Arc::clone(inner);
    match tokio::task::spawn_blocking(move || f(&inner)).await {
        Ok(result) => result.map_err(io::Error::from),
        Err(join) => Err(DurableLogError::Task(join.to_string()).into()),
    }
}

fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, DurableLogError> {
    postcard::to_stdvec(value).map_err(|source| DurableLogError::Encode { what, source })
}

/// Decodes a whole record: trailing bytes are corruption too.
fn decode<T: DeserializeOwned>(
    keyspace: &'static str,
    what: impl FnOnce() -> String,
    bytes: &[u8],
) -> Result<T, DurableLogError> {
    let corrupt = |reason: String| DurableLogError::Corrupt {
        keyspace,
        what: what(),
        reason,
    };
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(corrupt(format!("{} trailing bytes", rest.len()))),
        Err(e) => Err(corrupt(e.to_string())),
    }
}

fn get_meta<T: DeserializeOwned>(
    meta: &Keyspace,
    key: &'static str,
) -> Result<Option<T>, DurableLogError> {
    match meta.get(key)? {
        Some(bytes) => decode(META, || key.to_owned(), &bytes).map(Some),
        None => Ok(None),
    }
}

/// Decodes one `logs` record and checks that its key and its entry agree on the index.
fn decode_entry(key: &[u8], value: &[u8]) -> Result<Entry, DurableLogError> {
    let index = <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| DurableLogError::Corrupt {
            keyspace: LOGS,
            what: format!("key {key:02x?}"),
            reason: format!("expected 8 bytes, got {}", key.len()),
        })?;
    let entry: Entry = decode(LOGS, || format!("entry at index {index}"), value)?;
    if entry.log_id.index != index {
        return Err(DurableLogError::Corrupt {
            keyspace: LOGS,
            what: format!("entry at index {index}"),
            reason: format!("it says it is at index {}", entry.log_id.index),
        });
    }
    Ok(entry)
}

/// `range` as inclusive `[first, last]` indexes, `None` if it is empty.
fn inclusive(range: &impl RangeBounds<u64>) -> Option<(u64, u64)> {
    let first = match range.start_bound() {
        Bound::Included(&i) => i,
        Bound::Excluded(&i) => i.checked_add(1)?,
        Bound::Unbounded => 0,
    };
    let last = match range.end_bound() {
        Bound::Included(&i) => i,
        Bound::Excluded(&i) => i.checked_sub(1)?,
        Bound::Unbounded => u64::MAX,
    };
    (first <= last).then_some((first, last))
}

impl Inner {
    fn cache(&self) -> MutexGuard<'_, MetaCache> {
        // Every critical section is a plain copy or assignment, so a poisoned lock still holds
        // consistent values.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new write batch with `mode`, or `Poisoned`.
    fn batch(&self, mode: PersistMode) -> Result<OwnedWriteBatch, DurableLogError> {
        self.shared.check_writable()?;
        Ok(self.db.batch().durability(Some(mode)))
    }

    /// Commits `batch`. A failed commit poisons the store: fjall poisons itself too, and what
    /// reached the journal is unknown.
    fn commit(&self, batch: OwnedWriteBatch) -> Result<(), DurableLogError> {
        batch.commit().map_err(|e| {
            self.shared
                .poison(format!("write to the raft log failed: {e}"));
            DurableLogError::from(e)
        })
    }

    fn first_entry(&self) -> Result<Option<Entry>, DurableLogError> {
        match self.logs.first_key_value() {
            Some(guard) => {
                let (key, value) = guard.into_inner()?;
                decode_entry(&key, &value).map(Some)
            }
            None => Ok(None),
        }
    }

    fn last_entry(&self) -> Result<Option<Entry>, DurableLogError> {
        match self.logs.last_key_value() {
            Some(guard) => {
                let (key, value) = guard.into_inner()?;
                decode_entry(&key, &value).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Checks that the last entry decodes and that the log reaches the committed id. openraft
    /// saves a committed id only after appending the entries it covers, so a log that ends
    /// before it has lost entries (a damaged journal that fjall cut short): refusing to start
    /// beats silently forgetting entries this node acknowledged.
    fn check_tail(&self) -> Result<(), DurableLogError> {
        let last = self.log_state()?.last_log_id;
        let committed = self.cache().committed;
        if let Some(committed) = committed {
            if last.is_none_or(|last| last.index < committed.index) {
                return Err(DurableLogError::Corrupt {
                    keyspace: LOGS,
                    what: "end of the log".to_owned(),
                    reason: format!(
                        "the log ends at index {}, but entries up to index {} were committed",
                        last.map_or_else(|| "(none)".to_owned(), |l| l.index.to_string()),
                        committed.index
                    ),
                });
            }
        }
        Ok(())
    }

    fn entries(&self, first: u64, last: u64) -> Result<Vec<Entry>, DurableLogError> {
        self.logs
            .range(first.to_be_bytes()..=last.to_be_bytes())
            .map(|guard| {
                let (key, value) = guard.into_inner()?;
                decode_entry(&key, &value)
            })
            .collect()
    }

    /// The keys of the entries in `[first, last]`.
    fn keys(&self, first: u64, last: u64) -> Result<Vec<fjall::UserKey>, DurableLogError> {
        self.logs
            .range(first.to_be_bytes()..=last.to_be_bytes())
            .map(|guard| guard.key().map_err(DurableLogError::from))
            .collect()
    }

    fn save_vote(&self, vote: Vote) -> Result<(), DurableLogError> {
        // The one write fsynced before it returns: a vote granted and then forgotten in a power
        // loss lets this node vote twice in one term.
        let mut batch = self.batch(PersistMode::SyncAll)?;
        batch.insert(&self.meta, VOTE, encode("vote", &vote)?);
        self.commit(batch)?;
        self.cache().vote = Some(vote);
        Ok(())
    }

    fn save_committed(&self, committed: Option<LogId>) -> Result<(), DurableLogError> {
        // No fsync. Losing the latest committed id in a power loss only makes the restarted
        // node re-apply less at startup; it catches up at the next commit it sees (and the node
        // waits for recovery before serving reads). It never points past the log that survives:
        // the entries were written before it, and recovery keeps a prefix of the writes.
        let mut batch = self.batch(PersistMode::Buffer)?;
        batch.insert(&self.meta, COMMITTED, encode("committed", &committed)?);
        self.commit(batch)?;
        self.cache().committed = committed;
        Ok(())
    }

    /// Writes `entries` (one batch, visible to readers when this returns) and queues
    /// `callback` for the flusher's next fsync. On error the callback fails too.
    fn append(
        &self,
        entries: &[Entry],
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), DurableLogError> {
        let written = self.write_entries(entries);
        if let Err(e) = written {
            callback.io_completed(Err(io::Error::other(e.to_string())));
            return Err(e);
        }
        self.recent.appended(entries);
        let pending = Pending {
            callback,
            entries: entries.len() as u64,
        };
        if let Err(pending) = self.flusher.submit(pending) {
            let e = DurableLogError::FlusherGone;
            pending
                .callback
                .io_completed(Err(io::Error::other(e.to_string())));
            return Err(e);
        }
        Ok(())
    }

    fn write_entries(&self, entries: &[Entry]) -> Result<(), DurableLogError> {
        // Buffer, not fsync: the bytes reach the OS now (readable, and surviving a killed
        // process); the flusher fsyncs them, together with whatever else is queued.
        let mut batch = self.batch(PersistMode::Buffer)?;
        for entry in entries {
            batch.insert(
                &self.logs,
                entry.log_id.index.to_be_bytes(),
                encode("entry", entry)?,
            );
        }
        self.commit(batch)
    }

    fn truncate_after(&self, last_log_id: Option<LogId>) -> Result<(), DurableLogError> {
        let first = match last_log_id {
            Some(id) => match id.index.checked_add(1) {
                Some(first) => first,
                None => return Ok(()),
            },
            None => 0,
        };
        // No fsync here. openraft truncates only before appending what replaces the removed
        // entries, and it learns that append is durable only from its `IOFlushed` callback. The
        // flusher fires that callback after an fsync that starts after the append's write, and
        // the journal is one ordered file, so that fsync also makes this earlier truncation
        // durable. If power fails before it, the removed entries come back, but nothing that
        // depended on their removal was acknowledged: as if the truncating message never came.
        let keys = self.keys(first, u64::MAX)?;
        if keys.is_empty() {
            self.recent.truncated_from(first);
            return Ok(());
        }
        // One batch: all the entries go, or none (never a hole).
        let mut batch = self.batch(PersistMode::Buffer)?;
        for key in keys {
            batch.remove(&self.logs, key);
        }
        self.commit(batch)?;
        self.recent.truncated_from(first);
        Ok(())
    }

    fn purge(&self, log_id: LogId) -> Result<(), DurableLogError> {
        if self
            .cache()
            .last_purged
            .is_some_and(|p| p.index >= log_id.index)
        {
            return Ok(());
        }
        // `last_purged` and the removals in one atomic batch: a log whose first entries are
        // gone but whose `last_purged` is not recorded cannot restart ("try to get log at index
        // 0"). No fsync: openraft purges only entries a snapshot already covers, so if a power
        // loss undoes the purge, the entries and the old `last_purged` come back together.
        let mut batch = self.batch(PersistMode::Buffer)?;
        batch.insert(&self.meta, LAST_PURGED, encode("last_purged", &log_id)?);
        for key in self.keys(0, log_id.index)? {
            batch.remove(&self.logs, key);
        }
        self.commit(batch)?;
        self.recent.purged_through(log_id.index);
        self.cache().last_purged = Some(log_id);
        Ok(())
    }

    fn log_state(&self) -> Result<LogState<TypeConfig>, DurableLogError> {
        let last_purged = self.cache().last_purged;
        let last = self.last_entry()?.map(|e| e.log_id);
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last.or(last_purged),
        })
    }
}

/// Reads go to the blocking pool: an old entry may have to come from a table file on disk.
async fn read_entries<RB: RangeBounds<u64>>(
    inner: &Arc<Inner>,
    range: RB,
) -> Result<Vec<Entry>, io::Error> {
    let Some((first, last)) = inclusive(&range) else {
        return Ok(Vec::new());
    };
    // The newest entries come from memory on this task; older ones may need the disk.
    if let Some(entries) = inner.recent.get(first, last) {
        return Ok(entries);
    }
    blocking(inner, move |inner| inner.entries(first, last)).await
}

impl RaftLogReader<TypeConfig> for DurableLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + fmt::Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        read_entries(&self.inner, range).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        Ok(self.inner.cache().vote)
    }
}

impl RaftLogReader<TypeConfig> for DurableLogReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + fmt::Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        read_entries(&self.inner, range).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        Ok(self.inner.cache().vote)
    }
}

impl RaftLogStorage<TypeConfig> for DurableLogStore {
    type LogReader = DurableLogReader;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        // The last entry may sit in a table file: blocking pool.
        self.blocking(Inner::log_state).await
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        DurableLogReader {
            inner: Arc::clone(&self.inner),
        }
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        let vote = *vote;
        // An fsync: blocking pool.
        self.blocking(move |inner| inner.save_vote(vote)).await
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        // A small write, but fjall may stall writers while it catches up with compaction:
        // blocking pool.
        self.blocking(move |inner| inner.save_committed(committed))
            .await
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(self.inner.cache().committed)
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
        let entries: Vec<Entry> = entries.into_iter().collect();
        self.clock.observe(&entries);
        // Encoding and a write(2) of possibly large entries, and fjall may stall writers:
        // blocking pool. The callback goes along, so it is queued right after the write even
        // if this future is dropped meanwhile. This returns without waiting for the fsync.
        self.blocking(move |inner| inner.append(&entries, callback))
            .await
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        // A scan of the tail and a write: blocking pool.
        self.blocking(move |inner| inner.truncate_after(last_log_id))
            .await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        // A scan of the head (may read table files) and a write: blocking pool.
        self.blocking(move |inner| inner.purge(log_id)).await
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use openraft::entry::RaftEntry;
    use openraft::storage::{IOFlushed, RaftLogStorage};
    use openraft::testing::log::{StoreBuilder, Suite};
    use openraft::testing::log_id;
    use openraft::type_config::TypeConfigExt;
    use openraft::{RaftLogReader, StorageError};
    use tempfile::TempDir;

    use super::flusher::Syncer;
    use super::*;
    use crate::raft::{Envelope, Payload, StateMachine, TypeConfig};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    struct DurableBuilder;

    impl StoreBuilder<TypeConfig, DurableLogStore, StateMachine, (TempDir, TempDir)>
        for DurableBuilder
    {
        async fn build(
            &self,
        ) -> Result<((TempDir, TempDir), DurableLogStore, StateMachine), StorageError<TypeConfig>>
        {
            let read_err = |e: &dyn std::error::Error| {
                StorageError::read(TypeConfig::err_from_string(e.to_string()))
            };
            let dir = tempfile::tempdir().map_err(|e| read_err(&e))?;
            let store = DurableLogStore::open(dir.path()).map_err(|e| read_err(&e))?;
            let (snapshots, machine) = crate::raft::state_machine::for_tests();
            Ok(((dir, snapshots), store, machine))
        }
    }

    #[tokio::test]
    async fn durable_log_store_passes_openraft_storage_suite(
    ) -> Result<(), StorageError<TypeConfig>> {
        Suite::test_all(DurableBuilder).await
    }

    /// An entry carrying a small command, so the payload round-trips through postcard too.
    fn entry(term: u64, index: u64) -> Entry {
        Entry::new_normal(
            log_id::<TypeConfig>(term, 1, index),
            Envelope {
                leader_time_ms: 1_000 + index,
                payload: Payload::Command(vec![index as u8; 100]),
            },
        )
    }

    fn entries(term: u64, indexes: std::ops::RangeInclusive<u64>) -> Vec<Entry> {
        indexes.map(|i| entry(term, i)).collect()
    }

    /// Appends and waits until the flusher reports the entries durable.
    async fn append_flushed(store: &mut DurableLogStore, entries: Vec<Entry>) -> io::Result<()> {
        let (tx, rx) = TypeConfig::oneshot();
        store.append(entries, IOFlushed::signal(tx)).await?;
        rx.await.map_err(io::Error::other)?
    }

    fn ids(entries: &[Entry]) -> Vec<LogId> {
        entries.iter().map(|e| e.log_id).collect()
    }

    async fn all_entries(store: &mut DurableLogStore) -> io::Result<Vec<Entry>> {
        store.try_get_log_entries(..).await
    }

    /// Writes `value` under `key` in `keyspace` straight through fjall, bypassing the store.
    fn write_raw(dir: &Path, keyspace: &str, key: &[u8], value: &[u8]) -> TestResult {
        let db = Database::builder(dir).open()?;
        let ks = db.keyspace(keyspace, KeyspaceCreateOptions::default)?;
        ks.insert(key, value)?;
        db.persist(PersistMode::SyncAll)?;
        Ok(())
    }

    #[tokio::test]
    async fn vote_and_committed_survive_reopen() -> TestResult {
        let dir = tempfile::tempdir()?;
        let vote = Vote::new(3, 2);
        {
            let mut store = DurableLogStore::open(dir.path())?;
            append_flushed(&mut store, entries(3, 1..=4)).await?;
            store.save_vote(&vote).await?;
            store
                .save_committed(Some(log_id::<TypeConfig>(3, 1, 4)))
                .await?;
        }
        let mut store = DurableLogStore::open(dir.path())?;
        assert_eq!(store.read_vote().await?, Some(vote));
        assert_eq!(
            store.read_committed().await?,
            Some(log_id::<TypeConfig>(3, 1, 4))
        );
        Ok(())
    }

    #[tokio::test]
    async fn flushed_entries_survive_reopen() -> TestResult {
        let dir = tempfile::tempdir()?;
        {
            let mut store = DurableLogStore::open(dir.path())?;
            append_flushed(&mut store, entries(1, 0..=9)).await?;
            append_flushed(&mut store, entries(2, 10..=19)).await?;
        }
        // Twice: a reopen must not change what the next reopen sees.
        for _ in 0..2 {
            let mut store = DurableLogStore::open(dir.path())?;
            let got = all_entries(&mut store).await?;
            let want: Vec<Entry> = entries(1, 0..=9)
                .into_iter()
                .chain(entries(2, 10..=19))
                .collect();
            assert_eq!(ids(&got), ids(&want));
            assert_eq!(
                format!("{got:?}"),
                format!("{want:?}"),
                "payloads round-trip"
            );
            let state = store.get_log_state().await?;
            assert_eq!(state.last_log_id, Some(log_id::<TypeConfig>(2, 1, 19)));
            assert_eq!(state.last_purged_log_id, None);
        }
        Ok(())
    }

    #[tokio::test]
    async fn truncation_survives_reopen() -> TestResult {
        let dir = tempfile::tempdir()?;
        {
            let mut store = DurableLogStore::open(dir.path())?;
            append_flushed(&mut store, entries(1, 0..=9)).await?;
            store
                .truncate_after(Some(log_id::<TypeConfig>(1, 1, 5)))
                .await?;
            // The replacement append's fsync is what makes the truncation durable.
            append_flushed(&mut store, entries(2, 6..=7)).await?;
        }
        let mut store = DurableLogStore::open(dir.path())?;
        let want: Vec<Entry> = entries(1, 0..=5)
            .into_iter()
            .chain(entries(2, 6..=7))
            .collect();
        assert_eq!(ids(&all_entries(&mut store).await?), ids(&want));
        assert_eq!(
            store.get_log_state().await?.last_log_id,
            Some(log_id::<TypeConfig>(2, 1, 7))
        );

        // Truncating everything leaves an empty log.
        store.truncate_after(None).await?;
        append_flushed(&mut store, Vec::new()).await?;
        drop(store);
        let mut store = DurableLogStore::open(dir.path())?;
        assert!(all_entries(&mut store).await?.is_empty());
        assert_eq!(store.get_log_state().await?.last_log_id, None);
        Ok(())
    }

    #[tokio::test]
    async fn purge_then_reopen_reports_last_purged_as_last_log_id() -> TestResult {
        let dir = tempfile::tempdir()?;
        let purged = log_id::<TypeConfig>(1, 1, 9);
        {
            let mut store = DurableLogStore::open(dir.path())?;
            append_flushed(&mut store, entries(1, 0..=9)).await?;
            store.purge(log_id::<TypeConfig>(1, 1, 4)).await?;
            // Purging up to an older id is a no-op, never a step back.
            store.purge(log_id::<TypeConfig>(1, 1, 2)).await?;
            assert_eq!(
                ids(&all_entries(&mut store).await?),
                ids(&entries(1, 5..=9))
            );
            store.purge(purged).await?;
            append_flushed(&mut store, Vec::new()).await?;
        }
        let mut store = DurableLogStore::open(dir.path())?;
        assert!(all_entries(&mut store).await?.is_empty());
        let state = store.get_log_state().await?;
        assert_eq!(state.last_purged_log_id, Some(purged));
        assert_eq!(
            state.last_log_id,
            Some(purged),
            "an empty log reports last_purged"
        );

        // The log goes on after the purged id.
        append_flushed(&mut store, entries(1, 10..=11)).await?;
        drop(store);
        let mut store = DurableLogStore::open(dir.path())?;
        assert_eq!(
            ids(&all_entries(&mut store).await?),
            ids(&entries(1, 10..=11))
        );
        assert_eq!(
            store.get_log_state().await?.last_purged_log_id,
            Some(purged)
        );
        Ok(())
    }

    #[tokio::test]
    async fn identity_mismatch_is_refused() -> TestResult {
        let dir = tempfile::tempdir()?;
        {
            let store = DurableLogStore::open(dir.path())?;
            assert_eq!(store.identity()?, None);
            store.check_identity(1, "default")?;
            store.check_identity(1, "default")?;
        }
        let store = DurableLogStore::open(dir.path())?;
        assert_eq!(
            store.identity()?,
            Some(Identity {
                format_version: FORMAT_VERSION,
                node_id: 1,
                cluster: "default".into()
            })
        );
        store.check_identity(1, "default")?;
        for (node_id, cluster) in [(2, "default"), (1, "other")] {
            match store.check_identity(node_id, cluster) {
                Err(DurableLogError::DataDirMismatch { expected, found }) => {
                    assert_eq!(
                        (expected.node_id, expected.cluster.as_str()),
                        (node_id, cluster)
                    );
                    assert_eq!((found.node_id, found.cluster.as_str()), (1, "default"));
                }
                other => panic!("expected DataDirMismatch, got {other:?}"),
            }
        }
        let message = store.check_identity(2, "default").unwrap_err().to_string();
        assert!(
            message.contains("node 1 of cluster \"default\""),
            "{message}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn newer_format_version_is_refused_at_open() -> TestResult {
        let dir = tempfile::tempdir()?;
        DurableLogStore::open(dir.path())?.check_identity(1, "default")?;
        let future = Identity {
            format_version: FORMAT_VERSION + 1,
            node_id: 1,
            cluster: "default".into(),
        };
        write_raw(
            dir.path(),
            META,
            IDENTITY.as_bytes(),
            &postcard::to_stdvec(&future)?,
        )?;
        match DurableLogStore::open(dir.path()) {
            Err(DurableLogError::Version { found, supported }) => {
                assert_eq!((found, supported), (FORMAT_VERSION + 1, FORMAT_VERSION));
            }
            other => panic!("expected Version, got {other:?}"),
        }
        Ok(())
    }

    #[tokio::test]
    async fn garbage_in_logs_is_an_error_not_a_panic() -> TestResult {
        let dir = tempfile::tempdir()?;
        {
            let mut store = DurableLogStore::open(dir.path())?;
            append_flushed(&mut store, entries(1, 1..=5)).await?;
        }

        // In the middle: open succeeds (it checks the ends), reading it fails.
        write_raw(dir.path(), LOGS, &3u64.to_be_bytes(), &[0xff, 0xff, 0xff])?;
        {
            let mut store = DurableLogStore::open(dir.path())?;
            let err = store.try_get_log_entries(1..=5).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            assert!(err.to_string().contains("entry at index 3"), "{err}");
            // The entries around it still read.
            assert_eq!(
                ids(&store.try_get_log_entries(4..).await?),
                ids(&entries(1, 4..=5))
            );
        }

        // An entry stored under the wrong index.
        write_raw(
            dir.path(),
            LOGS,
            &3u64.to_be_bytes(),
            &postcard::to_stdvec(&entry(1, 9))?,
        )?;
        {
            let mut store = DurableLogStore::open(dir.path())?;
            let err = store.try_get_log_entries(3..=3).await.unwrap_err();
            assert!(err.to_string().contains("says it is at index 9"), "{err}");
        }

        // At the end: open refuses.
        write_raw(dir.path(), LOGS, &5u64.to_be_bytes(), b"garbage!")?;
        match DurableLogStore::open(dir.path()) {
            Err(DurableLogError::Corrupt { keyspace, what, .. }) => {
                assert_eq!((keyspace, what.as_str()), (LOGS, "entry at index 5"));
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }

        // A key that is no index at all.
        write_raw(
            dir.path(),
            LOGS,
            &5u64.to_be_bytes(),
            &postcard::to_stdvec(&entry(1, 5))?,
        )?;
        write_raw(
            dir.path(),
            LOGS,
            b"\xff\xff\xff\xff\xff\xff\xff\xff\xff",
            b"",
        )?;
        let err = DurableLogStore::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("expected 8 bytes, got 9"), "{err}");
        Ok(())
    }

    #[tokio::test]
    async fn garbage_in_meta_is_an_error_not_a_panic() -> TestResult {
        for key in [VOTE, COMMITTED, LAST_PURGED, IDENTITY] {
            let dir = tempfile::tempdir()?;
            DurableLogStore::open(dir.path())?.check_identity(1, "default")?;
            write_raw(dir.path(), META, key.as_bytes(), &[0x80])?;
            match DurableLogStore::open(dir.path()) {
                Err(DurableLogError::Corrupt { keyspace, what, .. }) => {
                    assert_eq!((keyspace, what.as_str()), (META, key));
                }
                other => panic!("{key}: expected Corrupt, got {other:?}"),
            }
        }

        // Trailing bytes after a valid record are corruption too.
        let dir = tempfile::tempdir()?;
        let mut vote = postcard::to_stdvec(&Vote::new(1, 1))?;
        vote.push(0);
        write_raw(dir.path(), META, VOTE.as_bytes(), &vote)?;
        let err = DurableLogStore::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("1 trailing bytes"), "{err}");
        Ok(())
    }

    #[tokio::test]
    async fn a_log_that_ends_before_committed_is_refused() -> TestResult {
        let dir = tempfile::tempdir()?;
        {
            let mut store = DurableLogStore::open(dir.path())?;
            append_flushed(&mut store, entries(1, 1..=5)).await?;
            store
                .save_committed(Some(log_id::<TypeConfig>(1, 1, 5)))
                .await?;
        }
        {
            // The tail disappears behind the store's back, as from a damaged journal.
            let db = Database::builder(dir.path()).open()?;
            let logs = db.keyspace(LOGS, KeyspaceCreateOptions::default)?;
            logs.remove(5u64.to_be_bytes())?;
            logs.remove(4u64.to_be_bytes())?;
            db.persist(PersistMode::SyncAll)?;
        }
        let err = DurableLogStore::open(dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .contains("the log ends at index 3, but entries up to index 5 were committed"),
            "{err}"
        );
        Ok(())
    }

    /// Copies the regular files of `from` into `to`, keeping the tree.
    fn copy_tree(from: &Path, to: &Path) -> io::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        std::fs::create_dir_all(to)?;
        for dirent in std::fs::read_dir(from)? {
            let dirent = dirent?;
            let target = to.join(dirent.file_name());
            if dirent.file_type()?.is_dir() {
                files.extend(copy_tree(&dirent.path(), &target)?);
            } else {
                std::fs::copy(dirent.path(), &target)?;
                files.push(target);
            }
        }
        Ok(files)
    }

    #[tokio::test]
    async fn damaged_data_dir_fails_open_without_panicking() -> TestResult {
        let pristine = tempfile::tempdir()?;
        {
            let mut store = DurableLogStore::open(pristine.path())?;
            store.check_identity(1, "default")?;
            append_flushed(&mut store, entries(1, 1..=50)).await?;
            store.save_vote(&Vote::new(1, 1)).await?;
            // Move part of the log into table files, so damage there is tried too.
            store.inner.logs.rotate_memtable_and_wait()?;
            store.inner.meta.rotate_memtable_and_wait()?;
            append_flushed(&mut store, entries(1, 51..=60)).await?;
            store
                .save_committed(Some(log_id::<TypeConfig>(1, 1, 60)))
                .await?;
        }
        let scratch = tempfile::tempdir()?;
        let files = copy_tree(pristine.path(), &scratch.path().join("probe"))?;
        let mut refused = 0;
        for (n, file) in files.iter().enumerate() {
            let relative = file
                .strip_prefix(scratch.path().join("probe"))?
                .to_path_buf();
            for damage in ["truncate", "scribble"] {
                let dir = scratch.path().join(format!("{n}-{damage}"));
                copy_tree(pristine.path(), &dir)?;
                let target = dir.join(&relative);
                let mut bytes = std::fs::read(&target)?;
                // Journals are preallocated and zero-filled: damage the part in use.
                let used = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                match damage {
                    "truncate" => bytes.truncate(used / 2),
                    _ => {
                        for b in bytes.iter_mut().skip((used / 2).saturating_sub(8)).take(16) {
                            *b ^= 0x5a;
                        }
                    }
                }
                std::fs::write(&target, bytes)?;
                // Either a clear error, or a store that reads without panicking.
                match DurableLogStore::open(&dir) {
                    Err(e) => {
                        refused += 1;
                        eprintln!("{} {damage}: {e}", relative.display());
                    }
                    Ok(mut store) => {
                        // What opens reads whole, and is the log or a prefix of it (a journal
                        // cut short loses its tail, as in a power loss).
                        let got = all_entries(&mut store).await?;
                        let state = store.get_log_state().await?;
                        eprintln!(
                            "{} {damage}: opened, {} entries",
                            relative.display(),
                            got.len()
                        );
                        assert_eq!(ids(&got), ids(&entries(1, 1..=got.len() as u64)));
                        assert_eq!(state.last_log_id, got.last().map(|e| e.log_id));
                    }
                }
            }
        }
        assert!(refused > 0, "some damage must be detected");

        // The version marker is fjall's own first check.
        let dir = scratch.path().join("version");
        copy_tree(pristine.path(), &dir)?;
        std::fs::write(dir.join("version"), b"garbage")?;
        assert!(DurableLogStore::open(&dir).is_err());
        Ok(())
    }

    #[tokio::test]
    async fn second_open_of_a_data_dir_is_refused() -> TestResult {
        let dir = tempfile::tempdir()?;
        let _store = DurableLogStore::open(dir.path())?;
        match DurableLogStore::open(dir.path()) {
            Err(DurableLogError::Locked { dir: locked }) => assert_eq!(locked, dir.path()),
            other => panic!("expected Locked, got {other:?}"),
        }
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn back_to_back_appends_share_fsyncs() -> TestResult {
        const N: u64 = 300;
        let dir = tempfile::tempdir()?;
        let mut store = DurableLogStore::open(dir.path())?;
        let mut receivers = Vec::new();
        for i in 1..=N {
            let (tx, rx) = TypeConfig::oneshot();
            store.append([entry(1, i)], IOFlushed::signal(tx)).await?;
            receivers.push(rx);
        }
        for (i, rx) in receivers.into_iter().enumerate() {
            rx.await
                .map_err(io::Error::other)?
                .map_err(|e| format!("callback {i}: {e}"))?;
        }
        let stats = store.flush_stats();
        eprintln!(
            "{N} single-entry appends: {} fsyncs, {:.1} entries per fsync",
            stats.fsyncs,
            stats.entries_per_fsync()
        );
        assert_eq!(stats.appends_flushed, N);
        assert_eq!(stats.entries_flushed, N);
        assert!(stats.fsyncs < N, "group commit: {stats:?}");
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn appends_keep_flushing_across_journal_rotation() -> TestResult {
        // fjall rotates its journal past 64 MB, when a memtable flush comes by.
        let dir = tempfile::tempdir()?;
        // Incompressible (xorshift) bytes: fjall compresses large journal values one by one.
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let noise: Vec<u8> = (0..1 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let big = |index: u64| {
            Entry::new_normal(
                log_id::<TypeConfig>(1, 1, index),
                Envelope {
                    leader_time_ms: index,
                    payload: Payload::Command(noise.clone()),
                },
            )
        };
        {
            let mut store = DurableLogStore::open(dir.path())?;
            for i in 1..=70 {
                append_flushed(&mut store, vec![big(i)]).await?;
            }
            store.inner.logs.rotate_memtable_and_wait()?;
            assert!(
                dir.path().join("1.jnl").exists(),
                "the journal did not rotate; this test needs another way to force it"
            );
            append_flushed(&mut store, entries(1, 71..=80)).await?;
            assert_eq!(store.flush_stats().entries_flushed, 80);
        }
        let mut store = DurableLogStore::open(dir.path())?;
        let got = all_entries(&mut store).await?;
        assert_eq!(ids(&got[70..]), ids(&entries(1, 71..=80)));
        assert_eq!(got.len(), 80);
        Ok(())
    }

    /// A stand-in fsync that waits for a token per call, announcing each call.
    fn gated_syncer() -> (
        impl FnOnce(&Path, &Database) -> Syncer,
        mpsc::Sender<()>,
        mpsc::Receiver<()>,
    ) {
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let syncer = move |_: &Path, _: &Database| {
            Syncer::Custom(Box::new(move || {
                // The test outlives the store; a closed channel only means it is over.
                let _ = started_tx.send(());
                gate_rx
                    .recv()
                    .map_err(|_| io::Error::other("test gate closed"))
            }))
        };
        (syncer, gate_tx, started_rx)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn append_returns_before_fsync_and_readers_see_entries() -> TestResult {
        let dir = tempfile::tempdir()?;
        let (syncer, gate, started) = gated_syncer();
        let mut store = DurableLogStore::open_with(dir.path(), syncer)?;
        let mut reader = store.get_log_reader().await;

        let (tx1, mut rx1) = TypeConfig::oneshot();
        store.append([entry(1, 1)], IOFlushed::signal(tx1)).await?;
        started.recv_timeout(Duration::from_secs(10))?;
        // The flusher is stuck in its fsync; more appends still return, and all are readable.
        let (tx2, rx2) = TypeConfig::oneshot();
        store.append([entry(1, 2)], IOFlushed::signal(tx2)).await?;
        let (tx3, rx3) = TypeConfig::oneshot();
        store
            .append(entries(1, 3..=4), IOFlushed::signal(tx3))
            .await?;
        assert_eq!(
            ids(&reader.try_get_log_entries(..).await?),
            ids(&entries(1, 1..=4))
        );
        assert!(rx1.try_recv().is_err(), "callback fired before its fsync");

        // First fsync done: only the first append is flushed; the other two share the next.
        gate.send(())?;
        rx1.await??;
        started.recv_timeout(Duration::from_secs(10))?;
        gate.send(())?;
        rx2.await??;
        rx3.await??;
        assert_eq!(
            store.flush_stats(),
            FlushStats {
                fsyncs: 2,
                appends_flushed: 3,
                entries_flushed: 4
            }
        );
        Ok(())
    }

    #[tokio::test]
    async fn failed_fsync_fails_callbacks_and_poisons_the_store() -> TestResult {
        let dir = tempfile::tempdir()?;
        let mut store = DurableLogStore::open_with(dir.path(), |_, _| {
            Syncer::Custom(Box::new(|| Err(io::Error::other("injected EIO"))))
        })?;
        let (tx, rx) = TypeConfig::oneshot();
        store.append([entry(1, 1)], IOFlushed::signal(tx)).await?;
        let err = rx.await?.unwrap_err();
        assert!(err.to_string().contains("injected EIO"), "{err}");

        // Every write is refused from now on, and a refused append fails its callback too.
        let (tx, rx) = TypeConfig::oneshot();
        let refused = store
            .append([entry(1, 2)], IOFlushed::signal(tx))
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("refuses writes"), "{refused}");
        assert!(rx.await?.is_err());
        assert!(store.save_vote(&Vote::new(1, 1)).await.is_err());
        assert!(store.save_committed(None).await.is_err());
        assert!(store.truncate_after(None).await.is_err());
        assert!(store.purge(log_id::<TypeConfig>(1, 1, 1)).await.is_err());
        assert!(store.check_identity(1, "default").is_err());
        // Reads still work.
        assert_eq!(
            ids(&all_entries(&mut store).await?),
            ids(&entries(1, 1..=1))
        );
        assert_eq!(store.flush_stats().fsyncs, 0);
        Ok(())
    }

    /// Appended entries per second and entries per fsync, for 1 and 64 concurrent appenders,
    /// with this store's fsync and with fjall's `Database::persist` for comparison. Run with
    /// `cargo test -p host --lib durable_log::tests::bench -- --ignored --nocapture`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "benchmark: slow, prints numbers"]
    async fn bench_group_commit() -> TestResult {
        type MakeSyncer = fn(&Path, &Database) -> Syncer;
        let own: MakeSyncer = |dir, _| Syncer::JournalFile {
            dir: dir.to_path_buf(),
            open: None,
        };
        let engine: MakeSyncer = |_, db| Syncer::Engine(db.clone());
        println!("syncer   appenders  waits  entries  entries/s  fsyncs  entries/fsync");
        for (name, make) in [("journal", own), ("persist", engine)] {
            for (appenders, per_appender, wait) in
                [(1, 300, true), (1, 3000, false), (64, 50, true)]
            {
                let dir = tempfile::tempdir()?;
                let store = DurableLogStore::open_with(dir.path(), make)?;
                let start = Instant::now();
                let mut tasks = tokio::task::JoinSet::new();
                for a in 0..appenders {
                    let mut store = store.clone();
                    tasks.spawn(async move {
                        let mut pending = Vec::new();
                        for i in 0..per_appender {
                            let index = a * 1_000_000 + i;
                            let (tx, rx) = TypeConfig::oneshot();
                            store
                                .append([entry(1, index)], IOFlushed::signal(tx))
                                .await?;
                            if wait {
                                rx.await.map_err(io::Error::other)??;
                            } else {
                                pending.push(rx);
                            }
                        }
                        for rx in pending {
                            rx.await.map_err(io::Error::other)??;
                        }
                        Ok::<_, io::Error>(())
                    });
                }
                while let Some(done) = tasks.join_next().await {
                    done??;
                }
                let elapsed = start.elapsed().as_secs_f64();
                let stats = store.flush_stats();
                println!(
                    "{name:8} {appenders:9}  {wait:5}  {:7}  {:9.0}  {:6}  {:13.1}",
                    stats.entries_flushed,
                    stats.entries_flushed as f64 / elapsed,
                    stats.fsyncs,
                    stats.entries_per_fsync()
                );
            }
        }
        Ok(())
    }
}
