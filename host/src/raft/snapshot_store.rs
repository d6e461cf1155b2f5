//! Snapshots on disk: the latest snapshot of the state machine as one file, replaced atomically.
//!
//! # Format
//! ```text
//! b"RSNAP001" | u64 LE payload length | payload = postcard((SnapshotMeta, data)) | SHA-256(payload)
//! ```
//! # Durability
//! `save` writes a temp file, fsyncs it, renames it over the name the snapshot is known by, and
//! fsyncs the directory. A crash at any point leaves either the old snapshot or the new one,
//! never a torn file; a power loss after `save` returns keeps the new one. A file that is
//! truncated or altered anyway fails its checksum and is refused with a clear error.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::typ::SnapshotMeta;

const MAGIC: &[u8; 8] = b"RSNAP001";
const PREFIX: &str = "snapshot-";
const SUFFIX: &str = ".snap";

/// Why the snapshot on disk could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotStoreError {
    /// Reading or writing the directory failed.
    #[error("snapshot store {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file is not a complete, intact snapshot.
    #[error("snapshot file {path} is corrupt: {reason} (remove it and let the node catch up from the cluster)")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl From<SnapshotStoreError> for io::Error {
    fn from(error: SnapshotStoreError) -> io::Error {
        io::Error::other(error)
    }
}

/// The folder holding the latest snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    dir: PathBuf,
}

fn io_error(path: &Path, source: io::Error) -> SnapshotStoreError {
    SnapshotStoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl SnapshotStore {
    /// Opens (creating it if needed) the snapshot folder.
    ///
    /// # Errors
    /// If the folder cannot be created.
    pub fn open(dir: &Path) -> Result<Self, SnapshotStoreError> {
        fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        Ok(SnapshotStore {
            dir: dir.to_path_buf(),
        })
    }

    fn file_name(meta: &SnapshotMeta) -> String {
        let (index, term) = meta
            .last_log_id
            .map_or((0, 0), |id| (id.index, id.leader_id.term));
        format!("{PREFIX}{index:020}-{term:020}{SUFFIX}")
    }

    /// Snapshot files present, oldest first (names sort by index).
    fn files(&self) -> Result<Vec<PathBuf>, SnapshotStoreError> {
        let mut files: Vec<PathBuf> = fs::read_dir(&self.dir)
            .map_err(|e| io_error(&self.dir, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                path.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
            })
            .collect();
        files.sort();
        Ok(files)
    }

    /// Writes a snapshot durably and removes the older ones.
    ///
    /// # Errors
    /// Any I/O failure; the previous snapshot is then still in place.
    pub fn save(&self, meta: &SnapshotMeta, data: &[u8]) -> Result<(), SnapshotStoreError> {
        let payload = postcard::to_stdvec(&(meta, data))
            .map_err(|e| io_error(&self.dir, io::Error::other(e)))?;
        let temp = self.dir.join("snapshot.tmp");
        let target = self.dir.join(Self::file_name(meta));
        {
            let mut file = File::create(&temp).map_err(|e| io_error(&temp, e))?;
            let write = |file: &mut File| -> io::Result<()> {
                file.write_all(MAGIC)?;
                file.write_all(&(payload.len() as u64).to_le_bytes())?;
                file.write_all(&payload)?;
                file.write_all(&Sha256::digest(&payload))?;
                file.sync_all()
            };
            write(&mut file).map_err(|e| io_error(&temp, e))?;
        }
        fs::rename(&temp, &target).map_err(|e| io_error(&target, e))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(&self.dir, e))?;
        for old in self.files()? {
            if old != target {
                // A leftover old snapshot wastes space but is never loaded over a newer one.
                if let Err(e) = fs::remove_file(&old) {
                    tracing::warn!(file = %old.display(), error = %e, "cannot remove old snapshot");
                }
            }
        }
        Ok(())
    }

    /// The newest snapshot, verified, or `None` if there is none.
    ///
    /// # Errors
    /// [`SnapshotStoreError::Corrupt`] for a truncated or altered file.
    pub fn load_latest(&self) -> Result<Option<(SnapshotMeta, Vec<u8>)>, SnapshotStoreError> {
        let Some(path) = self.files()?.pop() else {
            return Ok(None);
        };
        let bytes = fs::read(&path).map_err(|e| io_error(&path, e))?;
        let corrupt = |reason: &str| SnapshotStoreError::Corrupt {
            path: path.display().to_string(),
            reason: reason.to_string(),
        };
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| corrupt("bad magic"))?;
        let (len, rest) = rest
            .split_first_chunk::<8>()
            .ok_or_else(|| corrupt("truncated header"))?;
        let len =
            usize::try_from(u64::from_le_bytes(*len)).map_err(|_| corrupt("length overflows"))?;
        if rest.len() != len.saturating_add(32) {
            return Err(corrupt(&format!(
                "expected {} bytes after the header, found {}",
                len.saturating_add(32),
                rest.len()
            )));
        }
        let (payload, checksum) = rest.split_at(len);
        if Sha256::digest(payload).as_slice() != checksum {
            return Err(corrupt("checksum mismatch"));
        }
        let (meta, data): (SnapshotMeta, Vec<u8>) =
            postcard::from_bytes(payload).map_err(|e| corrupt(&format!("undecodable: {e}")))?;
        Ok(Some((meta, data)))
    }
}

#[cfg(test)]
mod tests {
    use openraft::testing::log_id;

    use super::*;
    use crate::raft::typ::StoredMembership;
    use crate::raft::TypeConfig;

    fn meta(index: u64) -> SnapshotMeta {
        SnapshotMeta {
            last_log_id: Some(log_id::<TypeConfig>(2, 0, index)),
            last_membership: StoredMembership::default(),
        }
    }

    #[test]
    fn the_latest_snapshot_survives_reopening_and_replaces_older_ones() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SnapshotStore::open(dir.path()).expect("open");
        assert!(store.load_latest().expect("empty").is_none());
        store.save(&meta(10), b"ten").expect("save");
        store.save(&meta(20), b"twenty").expect("save");
        let reopened = SnapshotStore::open(dir.path()).expect("reopen");
        let (loaded, data) = reopened.load_latest().expect("load").expect("present");
        assert_eq!(loaded, meta(20));
        assert_eq!(data, b"twenty");
        assert_eq!(
            reopened.files().expect("list").len(),
            1,
            "older snapshot removed"
        );
    }

    #[test]
    fn truncated_or_altered_files_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SnapshotStore::open(dir.path()).expect("open");
        store.save(&meta(5), b"state bytes").expect("save");
        let path = store.files().expect("list").pop().expect("one file");
        let good = fs::read(&path).expect("read");

        fs::write(&path, &good[..good.len() - 5]).expect("truncate");
        assert!(matches!(
            store.load_latest(),
            Err(SnapshotStoreError::Corrupt { .. })
        ));

        let mut altered = good.clone();
        altered[20] ^= 1;
        fs::write(&path, &altered).expect("alter");
        let err = store.load_latest().expect_err("altered");
        assert!(err.to_string().contains("checksum"), "{err}");
    }
}
