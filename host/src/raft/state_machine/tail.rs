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
    /// Log index of that plugin's install (0 before the first install).
    pub installed_at: u64,
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
    /// Bumped whenever the plugin or its limits may have changed (a base that does not
    /// continue the previous one): a reader at the current epoch runs the current plugin.
    epoch: u64,
    entries: Vec<TailEntry>,
    /// The last index the apply thread has finished (entries are complete up to it).
    applied: u64,
    /// The generation before the current one and its entries, when the current base only
    /// continues it (same plugin and limits, the state those entries produced): a reader
    /// there finishes those entries and goes on without a rebuild.
    previous: Option<Previous>,
}

/// A generation that the current base continues.
#[derive(Debug)]
struct Previous {
    generation: u64,
    entries: Vec<TailEntry>,
}

/// What a reader needs to catch up: the base (when it must rebuild) and the entries it lacks.
#[derive(Debug)]
pub struct CatchUp {
    /// The generation the reader is at after applying this.
    pub generation: u64,
    /// The plugin epoch the reader is at after applying this.
    pub epoch: u64,
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
                epoch: 1,
                entries: Vec::new(),
                applied,
                previous: None,
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

    /// Starts a new base. `continues` says the base's state is what the current entries
    /// produced, with the same plugin and limits (an ordinary base point): readers that applied
    /// them may go on from the new base without a rebuild. Otherwise (an install, a config
    /// change, a received snapshot) every reader rebuilds from the new base.
    pub fn rebase(&self, base: Arc<Base>, continues: bool) {
        let mut inner = self.write();
        inner.applied = inner.applied.max(base.index);
        inner.base = base;
        let entries = std::mem::take(&mut inner.entries);
        inner.previous = continues.then(|| Previous {
            generation: inner.generation,
            entries,
        });
        inner.generation += 1;
        if !continues {
            inner.epoch += 1;
        }
    }

    /// The base generation: changes with every base point.
    pub fn generation(&self) -> u64 {
        self.read().generation
    }

    /// The plugin epoch: changes whenever the plugin or its limits may have changed.
    pub fn epoch(&self) -> u64 {
        self.read().epoch
    }

    /// Appends a command the canonical instance applied or refused (it is complete, so the
    /// applied index reaches it).
    pub fn push(&self, entry: TailEntry) {
        let mut inner = self.write();
        inner.applied = inner.applied.max(entry.ctx.index);
        inner.entries.push(entry);
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
        let current = |from: usize| {
            inner
                .entries
                .get(from..)
                .unwrap_or_default()
                .iter()
                .cloned()
        };
        let (rebuild_from, entries) = match &inner.previous {
            _ if generation == inner.generation && position <= inner.entries.len() => {
                (None, current(position).collect())
            }
            Some(previous)
                if generation == previous.generation && position <= previous.entries.len() =>
            {
                let rest = previous.entries.get(position..).unwrap_or_default();
                (None, rest.iter().cloned().chain(current(0)).collect())
            }
            _ => (Some(inner.base.clone()), current(0).collect()),
        };
        CatchUp {
            generation: inner.generation,
            epoch: inner.epoch,
            rebuild_from,
            entries,
            position: inner.entries.len(),
            applied: inner.applied,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(index: u64) -> Arc<Base> {
        Arc::new(Base {
            index,
            plugin: None,
            installed_at: 0,
            limits: Limits::default(),
            state: Arc::new(Vec::new()),
        })
    }

    fn entry(index: u64) -> TailEntry {
        TailEntry {
            ctx: LogContext {
                index,
                term: 1,
                time_ms: 0,
            },
            command: Arc::from(vec![index as u8]),
        }
    }

    fn indexes(step: &CatchUp) -> Vec<u64> {
        step.entries.iter().map(|e| e.ctx.index).collect()
    }

    #[test]
    fn an_ordinary_base_point_lets_readers_go_on_without_a_rebuild() {
        let tail = Tail::new(base(0));
        let first = tail.catch_up(0, 0);
        assert!(first.rebuild_from.is_some(), "a new reader builds once");
        for i in 1..=3 {
            tail.push(entry(i));
        }
        // One reader has everything, another only the first entry.
        let done = tail.catch_up(first.generation, first.position);
        assert_eq!(indexes(&done), [1, 2, 3]);
        tail.rebase(base(3), true);
        tail.push(entry(4));

        let current = tail.catch_up(done.generation, done.position);
        assert!(current.rebuild_from.is_none());
        assert_eq!(indexes(&current), [4]);
        let behind = tail.catch_up(first.generation, 1);
        assert!(behind.rebuild_from.is_none());
        assert_eq!(
            indexes(&behind),
            [2, 3, 4],
            "the rest of its generation, then the new one"
        );
        assert_eq!(
            (behind.generation, behind.position),
            (current.generation, 1)
        );

        // Two generations back: the entries are gone, so it rebuilds.
        tail.rebase(base(4), true);
        let lost = tail.catch_up(first.generation, 1);
        assert!(lost.rebuild_from.is_some());
    }

    #[test]
    fn an_install_or_received_snapshot_makes_every_reader_rebuild() {
        let tail = Tail::new(base(0));
        let first = tail.catch_up(0, 0);
        tail.push(entry(1));
        let done = tail.catch_up(first.generation, first.position);
        let epoch = tail.epoch();
        tail.rebase(base(1), true);
        assert_eq!(
            tail.epoch(),
            epoch,
            "an ordinary base point keeps the plugin"
        );
        tail.rebase(base(1), false);
        assert_eq!(tail.epoch(), epoch + 1, "an install changes the epoch");
        let step = tail.catch_up(done.generation, done.position);
        assert_eq!(step.epoch, epoch + 1);
        assert_eq!(step.rebuild_from.map(|b| b.index), Some(1));
        assert!(step.entries.is_empty());
    }
}
