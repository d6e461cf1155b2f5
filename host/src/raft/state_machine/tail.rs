//! The committed tail: the state at the last *base point* and every command applied since, in
//! log order. The canonical instance rebuilds from it after a fault; node-local instances follow
//! it to stay as fresh as the canonical one (they apply the same commands) and rebuild from it
//! when they fault or fall behind a new base.
//!
//! Written only by the apply thread; read by any thread. Entries are shared (`Arc`), so readers
//! copy pointers, not commands, and apply outside the lock.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::plugin::{Limits, LoadedPlugin, LogContext};

/// The replicated state at a base point: every replica's canonical instance was rebuilt from
/// exactly these bytes at exactly this index.
#[derive(Debug)]
pub struct Base {
    /// Log index of the base point (0 before anything was applied).
    pub index: u64,
    /// The plugin in force there (`None` before the first install).
    pub plugin: Option<Arc<LoadedPlugin>>,
    /// The limits in force there.
    pub limits: Limits,
    /// The plugin's snapshot bytes at the base point.
    pub state: Arc<Vec<u8>>,
}

/// A command that changed (or could have changed) the state: applied or refused by the rules.
/// Commands that faulted left the state as it was and are not here.
#[derive(Debug, Clone)]
pub struct TailEntry {
    /// Where and when it was applied.
    pub ctx: LogContext,
    /// The command bytes (empty for a clock tick).
    pub command: Arc<[u8]>,
}

#[derive(Debug)]
struct Inner {
    base: Arc<Base>,
    /// Bumped whenever the base changes: a reader at another generation must rebuild.
    generation: u64,
    entries: Vec<TailEntry>,
    /// The last index the apply thread has finished (entries are complete up to it).
    applied: u64,
}

/// What a reader needs to catch up: the base (when it must rebuild) and the entries it lacks.
#[derive(Debug)]
pub struct CatchUp {
    /// The generation the reader is at after applying this.
    pub generation: u64,
    /// `Some` when the reader must rebuild from this base first (then apply all entries).
    pub rebuild_from: Option<Arc<Base>>,
    /// Entries to apply, in order.
    pub entries: Vec<TailEntry>,
    /// Position in the tail after applying them.
    pub position: usize,
    /// The applied index the reader reflects after applying them.
    pub applied: u64,
}

/// The shared tail.
#[derive(Debug)]
pub struct Tail {
    inner: RwLock<Inner>,
}

impl Tail {
    /// A tail starting at `base`, with nothing applied since.
    pub fn new(base: Arc<Base>) -> Self {
        let applied = base.index;
        Tail {
            inner: RwLock::new(Inner {
                base,
                generation: 1,
                entries: Vec::new(),
                applied,
            }),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // Writers replace or push whole values; a panic cannot leave a half-written entry.
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a new base: the entries before it are dropped.
    pub fn rebase(&self, base: Arc<Base>) {
        let mut inner = self.write();
        inner.applied = inner.applied.max(base.index);
        inner.base = base;
        inner.generation += 1;
        inner.entries.clear();
    }

    /// Appends a command the canonical instance applied or refused.
    pub fn push(&self, entry: TailEntry) {
        self.write().entries.push(entry);
    }

    /// Records that everything up to `index` has been applied.
    pub fn set_applied(&self, index: u64) {
        let mut inner = self.write();
        inner.applied = inner.applied.max(index);
    }

    /// The current base.
    pub fn base(&self) -> Arc<Base> {
        self.read().base.clone()
    }

    /// The commands since the base (for the canonical instance's rebuild).
    pub fn entries(&self) -> Vec<TailEntry> {
        self.read().entries.clone()
    }

    /// The last applied index.
    pub fn applied(&self) -> u64 {
        self.read().applied
    }

    /// What a reader at (`generation`, `position`) must do to reach the tail's end.
    pub fn catch_up(&self, generation: u64, position: usize) -> CatchUp {
        let inner = self.read();
        let same = generation == inner.generation && position <= inner.entries.len();
        let from = if same { position } else { 0 };
        CatchUp {
            generation: inner.generation,
            rebuild_from: (!same).then(|| inner.base.clone()),
            entries: inner.entries.get(from..).unwrap_or_default().to_vec(),
            position: inner.entries.len(),
            applied: inner.applied,
        }
    }
}
