//! Compiled components kept on disk, so that restarts and swaps do not compile again (a debug
//! build compiles the bundled plugin in about half a second; loading it from here takes a few ms).
//!
//! A file is named by the component's SHA-256 and by the engine's compatibility hash (wasmtime
//! version, compiler settings, CPU features), so an entry compiled by another build or with
//! other settings is never used. Each file ends with the SHA-256 of its contents, checked
//! before wasmtime sees the bytes: deserialising compiled code is only sound for bytes this
//! process family wrote, and the checksum turns a damaged file into a recompile, not a crash.
//!
//! The folder is capped in bytes: after each store the least recently used files (by
//! modification time, refreshed on every load) are removed until the rest fits.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

use super::image::Digest;

/// A folder of compiled components for one engine configuration.
#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
    /// The engine's compatibility hash, in hex: part of every file name.
    engine_key: String,
    /// Most bytes the folder's cache files may take.
    cap_bytes: u64,
}

impl DiskCache {
    /// A cache in `dir` (created on first store) for components compiled by `engine`, at most
    /// `cap_bytes` on disk.
    pub fn new(dir: PathBuf, engine: &Engine, cap_bytes: u64) -> Self {
        // DefaultHasher::new() has fixed keys: the same inputs hash the same in every process.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        DiskCache {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
            cap_bytes,
        }
    }

    fn path_of(&self, component_hash: &Digest) -> PathBuf {
        self.dir
            .join(format!("{component_hash}-{}.cwasm", self.engine_key))
    }

    /// The cached compilation of the component with this hash, if a sound one is on disk.
    pub fn load(&self, engine: &Engine, component_hash: &Digest) -> Option<Component> {
        let path = self.path_of(component_hash);
        let bytes = std::fs::read(&path).ok()?;
        // Mark it recently used; failing to only makes it an earlier eviction candidate.
        if let Ok(file) = std::fs::File::options().append(true).open(&path) {
            let _ = file.set_modified(std::time::SystemTime::now());
        }
        let Some(split) = bytes.len().checked_sub(32) else {
            tracing::warn!(path = %path.display(), "compiled component cache entry too short; recompiling");
            return None;
        };
        let (compiled, checksum) = bytes.split_at(split);
        if Sha256::digest(compiled).as_slice() != checksum {
            tracing::warn!(path = %path.display(), "compiled component cache entry damaged; recompiling");
            return None;
        }
        // SAFETY: wasmtime requires that deserialised bytes come from `Component::serialize` of
        // a compatible engine. The file name carries the engine's compatibility hash and the
        // checksum proves the bytes are exactly what `store` wrote there.
        match unsafe { Component::deserialize(engine, compiled) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "compiled component cache entry refused; recompiling");
                None
            }
        }
    }

    /// Stores a compilation (`Component::serialize` of it); failures only cost a recompile
    /// later, so they are logged, not returned.
    pub fn store(&self, component_hash: &Digest, serialized: &[u8]) {
        if let Err(e) = self.try_store(component_hash, serialized) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot cache the compiled component");
        }
        if let Err(e) = self.evict() {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot trim the compiled component cache");
        }
    }

    /// Removes the least recently used cache files until the folder fits its cap.
    fn evict(&self) -> std::io::Result<()> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let is_cache_file = entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.ends_with(".cwasm"));
            if !is_cache_file {
                continue;
            }
            let meta = entry.metadata()?;
            let used = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
            files.push((used, meta.len(), entry.path()));
        }
        files.sort();
        let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
        for (_, len, path) in files {
            if total <= self.cap_bytes {
                break;
            }
            std::fs::remove_file(&path)?;
            total = total.saturating_sub(len);
        }
        Ok(())
    }

    fn try_store(&self, component_hash: &Digest, serialized: &[u8]) -> std::io::Result<()> {
        let checksum = Sha256::digest(serialized);
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path_of(component_hash);
        // Unique temp name: several nodes of a local cluster may share the folder.
        let temp = self.dir.join(format!(
            ".{component_hash}.{}.{:?}.tmp",
            std::process::id(),
            std::thread::current().id()
        ));
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(serialized)?;
        file.write_all(&checksum)?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)?;
        Ok(())
    }

    /// The folder the cache lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
