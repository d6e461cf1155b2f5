//! The group-commit flusher of [`DurableLogStore`](super::DurableLogStore): one thread that makes
//! appended entries durable with as few fsyncs as possible, then completes their `IOFlushed`
//! callbacks.
//!
//! `append` writes its entries into fjall's journal (the OS page cache) and queues its callback
//! here. The flusher takes *everything* queued, issues one fsync, then completes all those
//! callbacks in queue order. While that fsync runs, new appends keep writing and queueing; the next
//! fsync takes them all. Under load many appends share one fsync.
//!
//! Why a dedicated std thread and not a tokio task: its whole life is blocking (waiting on the
//! queue, fsync), so a thread of its own keeps it off the runtime's workers and out of the
//! blocking pool, and it can be joined from `Drop` in any context.
//!
//! Why it fsyncs its own handle on fjall's active journal file instead of calling
//! `Database::persist`: fjall holds its journal writer lock for the whole of `persist`, fsync
//! included, and every write batch takes that lock. Each append issued during an fsync would
//! then wait for it, and a single appender (openraft's log I/O is one) could never put more than
//! one append into one fsync. `fsync(2)` applies to the file, not to the descriptor, so syncing
//! our own descriptor of the journal file flushes every byte fjall wrote into it, with no fjall
//! lock held; see [`Syncer::JournalFile`] for why this covers journal rotation too.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use openraft::storage::IOFlushed;

use super::{DurableLogError, FlushStats};
use crate::raft::TypeConfig;

/// One append waiting for its fsync.
pub(super) struct Pending {
    /// Completed once the fsync covering the append's entries has returned.
    pub callback: IOFlushed<TypeConfig>,
    /// How many entries the append wrote (for [`FlushStats`]).
    pub entries: u64,
}

/// State shared by the store and its flusher thread: the poison flag and the counters.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Set once, by the first failed fsync or write, with what failed. From then on every write
    /// is refused and every queued callback fails (a failed fsync may have dropped dirty pages:
    /// nothing written before it can be vouched for). Never cleared; reopen the store to retry.
    poisoned: OnceLock<String>,
    /// fsyncs issued by the flusher.
    fsyncs: AtomicU64,
    /// Appends whose callbacks the flusher completed with `Ok`.
    appends_flushed: AtomicU64,
    /// Entries in those appends.
    entries_flushed: AtomicU64,
    /// The node's fsync metrics, once handed over (`DurableLogStore::with_metrics`); set at most
    /// once, before the store is given to Raft.
    pub metrics: OnceLock<crate::metrics::LogFlush>,
}

impl Shared {
    /// `Err(Poisoned)` once a write or fsync has failed.
    pub fn check_writable(&self) -> Result<(), DurableLogError> {
        match self.poisoned.get() {
            Some(cause) => Err(DurableLogError::Poisoned {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Refuses all further writes. The first cause is kept.
    pub fn poison(&self, cause: String) {
        tracing::error!(%cause, "durable log store poisoned: refusing further writes");
        // A second failure after the first one adds nothing: the first cause is what broke.
        let _ = self.poisoned.set(cause);
    }

    /// The counters so far.
    pub fn stats(&self) -> FlushStats {
        FlushStats {
            fsyncs: self.fsyncs.load(Ordering::Relaxed),
            appends_flushed: self.appends_flushed.load(Ordering::Relaxed),
            entries_flushed: self.entries_flushed.load(Ordering::Relaxed),
        }
    }
}

/// How the flusher makes the journal durable.
pub(super) enum Syncer {
    /// `fsync` our own descriptor of fjall's active journal, the highest-numbered `N.jnl` in the
    /// data dir (fjall 3.1 layout), listed afresh before every fsync. An append queued its
    /// callback after its write batch returned, so its bytes are in the journal file `J` that was
    /// active then, and `J` exists (fjall fsyncs the directory when it creates a journal):
    /// - if `J` is still the newest file, our fsync covers the bytes;
    /// - if fjall rotated to a newer journal since, it fsynced `J` (`PersistMode::SyncAll`) under
    ///   its lock before switching, so the bytes are already durable.
    ///
    /// If the layout ever changes (no `*.jnl` found), the fsync fails and poisons the store: loud,
    /// never silently undurable.
    JournalFile {
        /// The data dir, where fjall keeps its journals.
        dir: PathBuf,
        /// The journal last synced, kept open until a newer one appears.
        open: Option<(u64, File)>,
    },
    /// Benchmark baseline: `Database::persist(SyncAll)`, fjall's own fsync, which holds fjall's
    /// journal lock while it runs (appends wait for it).
    #[cfg(test)]
    Engine(fjall::Database),
    /// Tests: a stand-in fsync, to inject failures.
    #[cfg(test)]
    Custom(Box<dyn FnMut() -> io::Result<()> + Send>),
}

impl Syncer {
    fn sync(&mut self) -> Result<(), DurableLogError> {
        match self {
            Syncer::JournalFile { dir, open } => sync_newest_journal(dir, open).map_err(Into::into),
            #[cfg(test)]
            Syncer::Engine(db) => db.persist(fjall::PersistMode::SyncAll).map_err(Into::into),
            #[cfg(test)]
            Syncer::Custom(f) => f().map_err(Into::into),
        }
    }
}

/// fsyncs the newest journal in `dir`, reopening it when fjall has rotated to a new one.
fn sync_newest_journal(dir: &Path, open: &mut Option<(u64, File)>) -> io::Result<()> {
    // A journal can vanish between listing and opening only if fjall sealed it (fsyncing it),
    // flushed its memtable and deleted it; listing again finds its successor. Three rounds are
    // plenty: that takes a whole memtable flush each time.
    for _ in 0..3 {
        let Some(newest) = newest_journal(dir)? else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "no fjall journal (*.jnl) in {}: has fjall's file layout changed?",
                    dir.display()
                ),
            ));
        };
        if let Some((id, file)) = open.as_ref() {
            if *id == newest {
                return file.sync_all();
            }
        }
        // Opened for appending only to hold write access (some platforms refuse to sync a
        // read-only descriptor); nothing is ever written through it.
        match OpenOptions::new()
            .append(true)
            .open(dir.join(format!("{newest}.jnl")))
        {
            Ok(file) => {
                file.sync_all()?;
                *open = Some((newest, file));
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "fjall's journal in {} kept rotating away while syncing it",
        dir.display()
    )))
}

/// The highest journal number in `dir`.
fn newest_journal(dir: &Path) -> io::Result<Option<u64>> {
    let mut newest = None;
    for dirent in std::fs::read_dir(dir)? {
        let name = dirent?.file_name();
        let id = name
            .to_str()
            .and_then(|n| n.strip_suffix(".jnl"))
            .and_then(|n| n.parse::<u64>().ok());
        newest = newest.max(id);
    }
    Ok(newest)
}

/// The flusher thread and the queue into it. Dropping it closes the queue, lets the thread
/// flush and complete everything still queued, and joins it.
pub(super) struct Flusher {
    /// The queue's only sender. `None` only inside `drop`, where taking it closes the queue.
    tx: Option<Sender<Pending>>,
    /// Joined in `drop`. `None` only inside `drop`.
    thread: Option<JoinHandle<()>>,
}

impl Flusher {
    /// Starts the thread.
    ///
    /// # Errors
    ///
    /// The OS refused to start a thread.
    pub fn spawn(syncer: Syncer, shared: Arc<Shared>) -> io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("raft-log-flusher".into())
            .spawn(move || run(rx, syncer, &shared))?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues `pending` for the next fsync; gives it back if the thread is gone.
    pub fn submit(&self, pending: Pending) -> Result<(), Pending> {
        match &self.tx {
            Some(tx) => tx.send(pending).map_err(|mpsc::SendError(p)| p),
            None => Err(pending),
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once it has flushed what is queued.
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the raft log flusher thread panicked");
            }
        }
    }
}

/// The thread: wait for work, take all of it, one fsync, complete every callback.
fn run(rx: Receiver<Pending>, mut syncer: Syncer, shared: &Shared) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        group.extend(rx.try_iter());
        let outcome = flush(&mut syncer, shared, &group);
        // Completed in queue order, so openraft's flushed watermark only moves forward.
        for pending in group {
            let result = match &outcome {
                Ok(()) => Ok(()),
                Err(cause) => Err(io::Error::other(format!(
                    "log entries not durable: {cause}"
                ))),
            };
            pending.callback.io_completed(result);
        }
    }
}

/// One fsync for `group`, unless the store is poisoned. `Err` carries the cause.
fn flush(syncer: &mut Syncer, shared: &Shared, group: &[Pending]) -> Result<(), String> {
    if let Some(cause) = shared.poisoned.get() {
        return Err(cause.clone());
    }
    let started = std::time::Instant::now();
    let synced = syncer.sync();
    let elapsed = started.elapsed();
    match synced {
        Ok(()) => {
            let entries: u64 = group.iter().map(|p| p.entries).sum();
            if let Some(metrics) = shared.metrics.get() {
                metrics.fsync.observe_duration(elapsed);
                metrics.batch.observe(entries);
            }
            // Counted before the callbacks fire, so whoever awaits a callback sees its flush.
            shared.fsyncs.fetch_add(1, Ordering::Relaxed);
            shared
                .appends_flushed
                .fetch_add(group.len() as u64, Ordering::Relaxed);
            shared.entries_flushed.fetch_add(entries, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => {
            let cause = format!("fsync of the raft log failed: {e}");
            shared.poison(cause.clone());
            Err(cause)
        }
    }
}
