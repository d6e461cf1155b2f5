//! Incarnations: which data dir each member's id belongs to, so a node that lost its data dir
//! cannot take part under its old id.
//!
//! Every data dir gets a random incarnation when it is created (an in-memory node, one per
//! process start), carried in the node's peer certificate. Each node remembers the incarnation
//! it first saw for every member it talks to (on either side of a connection) and refuses a
//! member that later presents another one: that member forgot its vote and its log, and
//! letting it vote or count toward a majority could break Raft's safety. The table is kept in
//! the data dir (a durable node remembers across restarts) and a member removed from the
//! cluster is forgotten, so it can be added again fresh.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Why a peer's incarnation is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node {id} came back with another data dir (incarnation {presented:016x}, known as {known:016x}): it lost its vote record and log; remove it from the cluster and add it again")]
pub struct Mismatch {
    /// The member.
    pub id: u64,
    /// What it presented.
    pub presented: u64,
    /// What this node knows it as.
    pub known: u64,
}

/// The incarnations this node knows.
#[derive(Debug)]
pub struct Incarnations {
    /// This node's own.
    own: u64,
    /// Where the table is kept (`None`: in memory only).
    path: Option<PathBuf>,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    known: BTreeMap<u64, u64>,
    /// The current members' ids; only their incarnations are recorded.
    members: BTreeSet<u64>,
}

impl Incarnations {
    /// A table for a node of incarnation `own`, kept in `path` when given (loaded if present).
    pub fn open(own: u64, path: Option<PathBuf>) -> Self {
        let known = path
            .as_deref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|text| serde_json::from_str::<BTreeMap<u64, u64>>(&text).ok())
            .unwrap_or_default();
        Incarnations {
            own,
            path,
            inner: Mutex::new(Inner {
                known,
                members: BTreeSet::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Map updates only: consistent after a panic elsewhere.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// This node's own incarnation.
    pub fn own(&self) -> u64 {
        self.own
    }

    /// What this node knows, by member id.
    pub fn known(&self) -> BTreeMap<u64, u64> {
        self.lock().known.clone()
    }

    /// Checks a peer's presented identity: refused if its id is known with another
    /// incarnation; recorded on first sight if it is a member.
    ///
    /// # Errors
    /// [`Mismatch`] for a member that came back with another data dir.
    pub fn check(&self, id: u64, presented: u64) -> Result<(), Mismatch> {
        let mut inner = self.lock();
        match inner.known.get(&id) {
            Some(&known) if known != presented => Err(Mismatch {
                id,
                presented,
                known,
            }),
            Some(_) => Ok(()),
            None => {
                if inner.members.contains(&id) {
                    inner.known.insert(id, presented);
                    self.save(&inner.known);
                }
                Ok(())
            }
        }
    }

    /// Sets the current members: ids no longer among them are forgotten.
    pub fn set_members(&self, members: BTreeSet<u64>) {
        let mut inner = self.lock();
        let before = inner.known.len();
        inner.known.retain(|id, _| members.contains(id));
        let changed = inner.known.len() != before;
        inner.members = members;
        if changed {
            self.save(&inner.known);
        }
    }

    fn save(&self, known: &BTreeMap<u64, u64>) {
        let Some(path) = &self.path else { return };
        if let Err(e) = write_atomically(path, &serde_json::to_vec(known).unwrap_or_default()) {
            tracing::warn!(file = %path.display(), error = %e, "cannot save the members' incarnations");
        }
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let temp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The incarnation of the data dir `dir`, created (random, fsynced) on first use.
///
/// # Errors
/// If the file cannot be read or written.
pub fn of_data_dir(dir: &Path) -> std::io::Result<u64> {
    let path = dir.join("incarnation");
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(value) = u64::from_str_radix(text.trim(), 16) {
            return Ok(value);
        }
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is not a 16-digit hex number", path.display()),
        ));
    }
    std::fs::create_dir_all(dir)?;
    let value = random();
    write_atomically(&path, format!("{value:016x}\n").as_bytes())?;
    Ok(value)
}

/// A random incarnation (for an in-memory node: one per process start).
pub fn random() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        return nanos as u64 ^ u64::from(std::process::id());
    }
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_that_comes_back_with_another_incarnation_is_refused_until_removed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("incarnations.json");
        let table = Incarnations::open(1, Some(path.clone()));
        table.set_members(BTreeSet::from([1, 2, 3]));
        assert_eq!(table.check(2, 0xaa), Ok(()));
        assert_eq!(table.check(2, 0xaa), Ok(()));
        assert!(table.check(2, 0xbb).is_err());
        assert_eq!(table.check(9, 0x1), Ok(()), "non-members are not recorded");
        assert_eq!(table.check(9, 0x2), Ok(()));
        // Kept across a restart.
        let reopened = Incarnations::open(1, Some(path));
        reopened.set_members(BTreeSet::from([1, 2, 3]));
        assert!(reopened.check(2, 0xbb).is_err());
        // Removed, then added again fresh.
        reopened.set_members(BTreeSet::from([1, 3]));
        reopened.set_members(BTreeSet::from([1, 2, 3]));
        assert_eq!(reopened.check(2, 0xbb), Ok(()));
    }

    #[test]
    fn a_data_dir_keeps_its_incarnation() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = of_data_dir(dir.path()).expect("create");
        assert_eq!(of_data_dir(dir.path()).expect("read"), first);
    }
}
