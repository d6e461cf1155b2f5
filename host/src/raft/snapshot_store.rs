//! Snapshots on disk: one file per snapshot, replaced atomically, never by an older one.
//!
//! # Format
//! ```text
//! b"RSNAP003" | u64 LE payload length | payload = postcard((SnapshotMeta, SnapshotImage)) | SHA-256(payload)
//! ```
//! # Durability and concurrency
//! Every write goes to a temp file with a unique name, is fsynced, renamed to the snapshot's
//! own name (`snapshot-<index>-<term>.snap`) and the directory fsynced. A crash at any point
//! leaves the old snapshot, the new one, or both, never a torn file. A store-wide lock
//! serialises adopting files, so a snapshot being built and one being installed cannot
//! interleave, and the current snapshot only ever moves forward: a file older than the current
//! one is discarded instead of replacing it. Files older than the current are removed (an
//! open handle, e.g. one being streamed to a follower, keeps its data readable until closed).
//! A file that is truncated or altered anyway fails its checksum and is refused.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use sha2::{Digest, Sha256};

use super::state_machine::image::{SnapshotImage, IMAGE_VERSION};
use super::typ::SnapshotMeta;

const MAGIC: &[u8; 8] = b"RSNAP003";
const PREFIX: &str = "snapshot-";
const SUFFIX: &str = ".snap";

/// Why a snapshot could not be written or used.
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
    /// A received snapshot is larger than this node accepts.
    #[error("snapshot larger than {0} bytes refused")]
    TooLarge(u64),
}

impl From<SnapshotStoreError> for io::Error {
    fn from(error: SnapshotStoreError) -> io::Error {
        io::Error::other(error)
    }
}

fn io_error(path: &Path, source: io::Error) -> SnapshotStoreError {
    SnapshotStoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A snapshot file that is in place: its metadata and where it is.
#[derive(Debug, Clone)]
pub struct StoredSnapshot {
    /// openraft's metadata (last log id, membership).
    pub meta: SnapshotMeta,
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub len: u64,
}

/// The data openraft moves for a snapshot: an open handle to its file, so a newer snapshot
/// replacing the name cannot pull the bytes away from a transfer under way.
#[derive(Debug)]
pub struct SnapshotFile {
    /// Open for reading from the start.
    pub file: File,
    /// Size in bytes.
    pub len: u64,
    /// Where it was opened (for messages; may be gone by now). For a snapshot received from a
    /// peer: the verified temp file the store adopts once it is installed.
    pub path: PathBuf,
    /// For a received snapshot: its decoded image, so installing it does not decode it again.
    pub prepared: Option<Box<SnapshotImage>>,
}

/// The folder of snapshots.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    /// The snapshot in place, `None` before the first; held while adopting a file.
    current: Mutex<Option<StoredSnapshot>>,
    /// Makes temp names unique within the process.
    temp_counter: AtomicU64,
    /// Largest snapshot accepted from a peer.
    max_receive_bytes: u64,
    /// The node's snapshot metrics, once handed over ([`SnapshotStore::set_metrics`]).
    metrics: OnceLock<crate::metrics::Snapshots>,
}

fn sort_key(meta: &SnapshotMeta) -> (u64, u64) {
    meta.last_log_id
        .map_or((0, 0), |id| (id.index, id.leader_id.term))
}

impl SnapshotStore {
    /// Opens (creating it if needed) the snapshot folder: the newest intact file becomes the
    /// current snapshot; leftover temp files are removed.
    ///
    /// # Errors
    /// If the folder cannot be created or read, or the newest snapshot file is corrupt.
    pub fn open(dir: &Path, max_receive_bytes: u64) -> Result<Self, SnapshotStoreError> {
        fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let mut files = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
            let path = entry.map_err(|e| io_error(dir, e))?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.ends_with(".tmp") {
                // A write that never finished: nothing refers to it.
                let _ = fs::remove_file(&path);
            } else if name.starts_with(PREFIX) && name.ends_with(SUFFIX) {
                files.push(path);
            }
        }
        files.sort();
        let current = match files.pop() {
            Some(path) => {
                let (meta, _image) = read_file(&path)?;
                let len = fs::metadata(&path).map_err(|e| io_error(&path, e))?.len();
                Some(StoredSnapshot { meta, path, len })
            }
            None => None,
        };
        let store = SnapshotStore {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                current: Mutex::new(current),
                temp_counter: AtomicU64::new(0),
                max_receive_bytes,
                metrics: OnceLock::new(),
            }),
        };
        store.remove_older();
        Ok(store)
    }

    fn lock(&self) -> MutexGuard<'_, Option<StoredSnapshot>> {
        // The guarded value is replaced whole; a panic cannot leave it half-updated.
        self.inner.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records snapshots made current from now on in `metrics` (and the current one's size
    /// now). Set once, right after opening; a second call keeps the first set.
    pub fn set_metrics(&self, metrics: crate::metrics::Snapshots) {
        if let Some(current) = self.current() {
            metrics.current(current.len);
        }
        let _ = self.inner.metrics.set(metrics);
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The snapshot in place.
    pub fn current(&self) -> Option<StoredSnapshot> {
        self.lock().clone()
    }

    fn temp_path(&self) -> PathBuf {
        let n = self.inner.temp_counter.fetch_add(1, Ordering::Relaxed);
        self.inner
            .dir
            .join(format!(".{}-{n}.tmp", std::process::id()))
    }

    fn final_path(&self, meta: &SnapshotMeta) -> PathBuf {
        let (index, term) = sort_key(meta);
        self.inner
            .dir
            .join(format!("{PREFIX}{index:020}-{term:020}{SUFFIX}"))
    }

    /// Writes a snapshot durably and makes it current, unless a newer one already is (then the
    /// new file is discarded and the current one returned).
    ///
    /// # Errors
    /// Any I/O failure; the previous snapshot is then still in place.
    pub fn save(
        &self,
        meta: &SnapshotMeta,
        image: &SnapshotImage,
    ) -> Result<StoredSnapshot, SnapshotStoreError> {
        let temp = self.temp_path();
        let written = write_file(&temp, meta, image);
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        let stored = self.make_current(&temp, meta)?;
        if let Some(metrics) = self.inner.metrics.get() {
            metrics.builds.inc();
        }
        Ok(stored)
    }

    /// Makes a verified file at `temp` (written by [`SnapshotStore::save`] or received from a
    /// peer) the current snapshot, if it is newer than the current one.
    ///
    /// # Errors
    /// If the rename or the directory sync fails.
    pub fn adopt(
        &self,
        temp: &Path,
        meta: &SnapshotMeta,
    ) -> Result<StoredSnapshot, SnapshotStoreError> {
        let stored = self.make_current(temp, meta)?;
        if let Some(metrics) = self.inner.metrics.get() {
            metrics.installs.inc();
        }
        Ok(stored)
    }

    /// Renames `temp` into place if it is newer than the current snapshot.
    fn make_current(
        &self,
        temp: &Path,
        meta: &SnapshotMeta,
    ) -> Result<StoredSnapshot, SnapshotStoreError> {
        let mut current = self.lock();
        if let Some(existing) = current.as_ref() {
            if sort_key(&existing.meta) >= sort_key(meta) {
                // Never replace a newer (or the same) snapshot with an older one.
                let _ = fs::remove_file(temp);
                return Ok(existing.clone());
            }
        }
        let target = self.final_path(meta);
        let len = fs::metadata(temp).map_err(|e| io_error(temp, e))?.len();
        fs::rename(temp, &target).map_err(|e| io_error(&target, e))?;
        File::open(&self.inner.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(&self.inner.dir, e))?;
        let stored = StoredSnapshot {
            meta: meta.clone(),
            path: target,
            len,
        };
        *current = Some(stored.clone());
        drop(current);
        if let Some(metrics) = self.inner.metrics.get() {
            metrics.current(len);
        }
        self.remove_older();
        Ok(stored)
    }

    /// Removes snapshot files older than the current one.
    fn remove_older(&self) {
        let Some(current) = self.current() else {
            return;
        };
        let Ok(entries) = fs::read_dir(&self.inner.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let is_snapshot = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX));
            if is_snapshot && path < current.path {
                if let Err(e) = fs::remove_file(&path) {
                    tracing::warn!(file = %path.display(), error = %e, "cannot remove an old snapshot");
                }
            }
        }
    }

    /// Opens the current snapshot's file for streaming.
    ///
    /// # Errors
    /// If the file cannot be opened.
    pub fn open_current(&self) -> Result<Option<(SnapshotMeta, SnapshotFile)>, SnapshotStoreError> {
        let Some(current) = self.current() else {
            return Ok(None);
        };
        let file = File::open(&current.path).map_err(|e| io_error(&current.path, e))?;
        Ok(Some((
            current.meta,
            SnapshotFile {
                file,
                len: current.len,
                path: current.path,
                prepared: None,
            },
        )))
    }

    /// Starts receiving a snapshot from a peer into a new temp file.
    ///
    /// # Errors
    /// If the temp file cannot be created.
    pub fn receive(&self) -> Result<Incoming, SnapshotStoreError> {
        let path = self.temp_path();
        let file = File::create(&path).map_err(|e| io_error(&path, e))?;
        Ok(Incoming {
            writer: Some(BufWriter::with_capacity(256 << 10, file)),
            path,
            written: 0,
            max: self.inner.max_receive_bytes,
        })
    }
}

/// A snapshot arriving from a peer, written chunk by chunk (bounded memory). Dropped before
/// [`Incoming::finish`], its temp file is removed.
pub struct Incoming {
    writer: Option<BufWriter<File>>,
    path: PathBuf,
    written: u64,
    max: u64,
}

impl Incoming {
    /// Appends a chunk.
    ///
    /// # Errors
    /// I/O failures, or [`SnapshotStoreError::TooLarge`] past the size cap.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), SnapshotStoreError> {
        self.written = self.written.saturating_add(chunk.len() as u64);
        if self.written > self.max {
            return Err(SnapshotStoreError::TooLarge(self.max));
        }
        match self.writer.as_mut() {
            Some(writer) => writer.write_all(chunk).map_err(|e| io_error(&self.path, e)),
            None => Ok(()),
        }
    }

    /// Flushes and fsyncs the file, then verifies and decodes it. The file stays at the
    /// returned path (a temp name in the store's folder) for [`SnapshotStore::adopt`].
    ///
    /// # Errors
    /// I/O failures, or [`SnapshotStoreError::Corrupt`] when the bytes are not an intact
    /// snapshot.
    pub fn finish(mut self) -> Result<(PathBuf, SnapshotMeta, SnapshotImage), SnapshotStoreError> {
        let writer = self.writer.take();
        if let Some(writer) = writer {
            let file = writer
                .into_inner()
                .map_err(|e| io_error(&self.path, e.into_error()))?;
            file.sync_all().map_err(|e| io_error(&self.path, e))?;
        }
        let (meta, image) = read_file(&self.path)?;
        let path = std::mem::take(&mut self.path);
        Ok((path, meta, image))
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            // Unfinished: nothing refers to the temp file.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Hashes everything written through it.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn write_file(
    path: &Path,
    meta: &SnapshotMeta,
    image: &SnapshotImage,
) -> Result<(), SnapshotStoreError> {
    let io = |e: io::Error| io_error(path, e);
    let payload_len = postcard::experimental::serialized_size(&(meta, image))
        .map_err(|e| io(io::Error::other(e)))?;
    let file = File::create(path).map_err(io)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    out.write_all(MAGIC).map_err(io)?;
    out.write_all(&(payload_len as u64).to_le_bytes())
        .map_err(io)?;
    let mut hashing = HashingWriter {
        inner: out,
        hasher: Sha256::new(),
    };
    postcard::to_io(&(meta, image), &mut hashing).map_err(|e| io(io::Error::other(e)))?;
    let HashingWriter {
        inner: mut out,
        hasher,
    } = hashing;
    out.write_all(&hasher.finalize()).map_err(io)?;
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)
}

/// Verifies and decodes a snapshot file.
///
/// # Errors
/// [`SnapshotStoreError::Corrupt`] for anything but an intact snapshot of a known version.
pub fn read_file(path: &Path) -> Result<(SnapshotMeta, SnapshotImage), SnapshotStoreError> {
    let mut file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| io_error(path, e))?;
    decode(&bytes).map_err(|reason| SnapshotStoreError::Corrupt {
        path: path.display().to_string(),
        reason,
    })
}

/// Verifies and decodes snapshot file bytes. Never panics, whatever the bytes.
///
/// # Errors
/// Why the bytes are not an intact snapshot of a known version.
pub fn decode(bytes: &[u8]) -> Result<(SnapshotMeta, SnapshotImage), String> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| "bad magic (not a snapshot of this version)".to_string())?;
    let (len, rest) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| "truncated header".to_string())?;
    let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| "length overflows")?;
    if rest.len() != len.saturating_add(32) {
        return Err(format!(
            "expected {} bytes after the header, found {}",
            len.saturating_add(32),
            rest.len()
        ));
    }
    let (payload, checksum) = rest.split_at(len);
    if Sha256::digest(payload).as_slice() != checksum {
        return Err("checksum mismatch".into());
    }
    let (meta, image): (SnapshotMeta, SnapshotImage) =
        postcard::from_bytes(payload).map_err(|e| format!("undecodable: {e}"))?;
    if image.version != IMAGE_VERSION {
        return Err(format!(
            "snapshot image version {} is not {IMAGE_VERSION}",
            image.version
        ));
    }
    Ok((meta, image))
}

#[cfg(test)]
mod tests {
    use openraft::testing::log_id;

    use super::*;
    use crate::raft::entry::MachineConfig;
    use crate::raft::typ::StoredMembership;
    use crate::raft::TypeConfig;

    fn meta(index: u64) -> SnapshotMeta {
        SnapshotMeta {
            last_log_id: Some(log_id::<TypeConfig>(2, 0, index)),
            last_membership: StoredMembership::default(),
        }
    }

    fn image(state: &[u8]) -> SnapshotImage {
        SnapshotImage {
            version: IMAGE_VERSION,
            plugin: None,
            installed_at: 0,
            config: MachineConfig::default(),
            log_time_ms: 7,
            requests: Default::default(),
            installs: Vec::new(),
            state: std::sync::Arc::new(state.to_vec()),
        }
    }

    fn open(dir: &Path) -> SnapshotStore {
        SnapshotStore::open(dir, 1 << 30).expect("open")
    }

    #[test]
    fn the_latest_snapshot_survives_reopening_and_replaces_older_ones() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path());
        assert!(store.current().is_none());
        store.save(&meta(10), &image(b"ten")).expect("save");
        store.save(&meta(20), &image(b"twenty")).expect("save");
        let reopened = open(dir.path());
        let current = reopened.current().expect("present");
        assert_eq!(current.meta, meta(20));
        let (_, image) = read_file(&current.path).expect("read");
        assert_eq!(image.state.as_slice(), b"twenty");
        let files = fs::read_dir(dir.path()).expect("list").count();
        assert_eq!(files, 1, "older snapshot removed");
    }

    #[test]
    fn an_older_snapshot_never_replaces_a_newer_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path());
        store.save(&meta(30), &image(b"thirty")).expect("save");
        let kept = store.save(&meta(20), &image(b"twenty")).expect("save");
        assert_eq!(kept.meta, meta(30));
        assert_eq!(store.current().expect("current").meta, meta(30));
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn concurrent_saves_and_receives_end_with_the_newest_snapshot() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path());
        let mut bytes_of = Vec::new();
        for index in [40u64, 50] {
            let temp = dir.path().join(format!("src-{index}"));
            write_file(&temp, &meta(index), &image(&[index as u8; 1000])).expect("write");
            bytes_of.push((index, fs::read(&temp).expect("read")));
            fs::remove_file(&temp).expect("rm");
        }
        std::thread::scope(|scope| {
            for index in [10u64, 20, 30, 45] {
                let store = store.clone();
                scope.spawn(move || {
                    store
                        .save(&meta(index), &image(&[index as u8; 1000]))
                        .expect("save")
                });
            }
            for (index, bytes) in &bytes_of {
                let store = store.clone();
                scope.spawn(move || {
                    let mut incoming = store.receive().expect("receive");
                    for chunk in bytes.chunks(97) {
                        incoming.write(chunk).expect("chunk");
                    }
                    let (path, received, _) = incoming.finish().expect("finish");
                    assert_eq!(sort_key(&received).0, *index);
                    store.adopt(&path, &received).expect("adopt")
                });
            }
        });
        assert_eq!(store.current().expect("current").meta, meta(50));
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "only the newest file stays: {names:?}");
    }

    #[test]
    fn truncated_altered_or_oversized_files_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path());
        let stored = store.save(&meta(5), &image(b"state bytes")).expect("save");
        let good = fs::read(&stored.path).expect("read");

        assert!(decode(&good[..good.len() - 5]).is_err());
        let mut altered = good.clone();
        altered[20] ^= 1;
        assert!(decode(&altered).expect_err("altered").contains("checksum"));

        let small = SnapshotStore::open(&dir.path().join("small"), 10).expect("open");
        let mut incoming = small.receive().expect("receive");
        assert!(matches!(
            incoming.write(&good),
            Err(SnapshotStoreError::TooLarge(10))
        ));
        drop(incoming);
        assert_eq!(
            fs::read_dir(dir.path().join("small"))
                .expect("list")
                .count(),
            0,
            "an unfinished receive leaves no file"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let _ = decode(&bytes);
            let mut framed = MAGIC.to_vec();
            framed.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            framed.extend_from_slice(&bytes);
            framed.extend_from_slice(&Sha256::digest(&bytes));
            let _ = decode(&framed);
        }
    }
}
