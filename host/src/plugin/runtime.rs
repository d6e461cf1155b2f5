//! The process-wide plugin runtime: a deterministic wasmtime [`Engine`], the limits every call
//! runs under, and a cache of compiled, validated components.
//!
//! Determinism matters because every replica must reach the same result for the same entry:
//! NaNs are canonicalised, relaxed SIMD is deterministic, threads are off, and CPU is bounded by
//! fuel (counted in instructions, so an out-of-fuel failure happens at the same point on every
//! node) rather than by wall-clock deadlines.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

use super::bindings::PluginPre;
use super::disk_cache::DiskCache;
use super::instance::{HostState, Instance};
use super::types::PluginInfo;

/// Resource bounds for plugin calls. Identical on every node of a cluster, or replicas could
/// disagree about which entry ran out of fuel.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Fuel (about one unit per wasm instruction) for one ordinary call.
    pub fuel_per_call: u64,
    /// Fuel for whole-state calls (`snapshot`, `restore`), which scale with the state size.
    pub fuel_per_state_call: u64,
    /// Cap on an instance's linear memory, in bytes.
    pub memory_bytes: usize,
    /// Cap on the wasm stack, in bytes.
    pub stack_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel_per_call: 50_000_000,
            fuel_per_state_call: 5_000_000_000,
            memory_bytes: 256 << 20,
            stack_bytes: 512 << 10,
        }
    }
}

/// A plugin as it travels through the log and snapshots: its bytes and their SHA-256.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginImage {
    /// Lower-case hex SHA-256 of `bytes`; names the plugin in status output and caches.
    pub hash: String,
    /// The component binary.
    pub bytes: Vec<u8>,
}

impl PluginImage {
    /// Wraps component bytes, computing their hash.
    pub fn new(bytes: Vec<u8>) -> Self {
        let hash = hex_sha256(&bytes);
        PluginImage { hash, bytes }
    }

    /// True when `hash` really is the hash of `bytes` (images from the network are checked).
    pub fn is_intact(&self) -> bool {
        hex_sha256(&self.bytes) == self.hash
    }

    /// The first 12 hex digits of the hash, enough for humans.
    pub fn short_hash(&self) -> &str {
        &self.hash[..self.hash.len().min(12)]
    }
}

impl fmt::Debug for PluginImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PluginImage({}, {} bytes)",
            self.short_hash(),
            self.bytes.len()
        )
    }
}

/// An error chain on one line: wasmtime's messages can span lines (e.g. byte dumps).
fn one_line(error: &wasmtime::Error) -> String {
    format!("{error:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lower-case hex SHA-256.
pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why a candidate plugin was refused; `step` says how far validation got.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The bytes are not a WebAssembly component this engine can compile.
    #[error("compile: not a valid WebAssembly component: {0}")]
    Compile(String),
    /// The component imports something; plugins must be pure.
    #[error("imports: plugins must import nothing, this one imports {0}")]
    Imports(String),
    /// The component does not export the plugin world.
    #[error("exports: the component does not implement the plugin world: {0}")]
    Exports(String),
    /// Instantiation or `info()` failed.
    #[error("info: {0}")]
    Info(String),
    /// The engine itself could not be configured.
    #[error("engine: {0}")]
    Engine(String),
}

/// A compiled component that passed validation, ready to instantiate many times.
pub struct LoadedPlugin {
    /// The bytes and hash this was compiled from.
    pub image: PluginImage,
    /// What `info()` answered during validation.
    pub info: PluginInfo,
    /// Imports resolved once, so instantiation is cheap.
    pre: PluginPre<HostState>,
}

impl fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LoadedPlugin({} {} {})",
            self.info.name,
            self.info.version,
            self.image.short_hash()
        )
    }
}

/// The engine, limits and compiled-component cache shared by every plugin instance of a node.
pub struct Runtime {
    engine: Engine,
    limits: Limits,
    /// Compiled plugins by hash. Entries live as long as the runtime: a node sees few plugins.
    cache: Mutex<BTreeMap<String, Arc<LoadedPlugin>>>,
    /// Compiled components on disk, shared across restarts.
    disk: Option<DiskCache>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Builds the deterministic engine.
    ///
    /// # Errors
    /// [`LoadError::Engine`] if wasmtime refuses the configuration.
    pub fn new(limits: Limits) -> Result<Self, LoadError> {
        // Threads stay off: wasmtime is built without its `threads` feature.
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .consume_fuel(true)
            .cranelift_nan_canonicalization(true)
            .relaxed_simd_deterministic(true)
            .max_wasm_stack(limits.stack_bytes);
        let engine = Engine::new(&config).map_err(|e| LoadError::Engine(one_line(&e)))?;
        Ok(Runtime {
            engine,
            limits,
            cache: Mutex::new(BTreeMap::new()),
            disk: None,
        })
    }

    /// Keeps compiled components in `dir` too, so restarts and swaps need not recompile.
    pub fn with_disk_cache(mut self, dir: std::path::PathBuf) -> Self {
        self.disk = Some(DiskCache::new(dir, &self.engine));
        self
    }

    /// The limits every instance of this runtime runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Compiles and validates a component, or returns the cached result for the same bytes.
    ///
    /// Validation: it compiles, imports nothing, exports the plugin world, and `info()` answers
    /// within the fuel budget.
    ///
    /// # Errors
    /// A [`LoadError`] naming the step that failed.
    pub fn load(&self, image: PluginImage) -> Result<Arc<LoadedPlugin>, LoadError> {
        if let Some(hit) = self.lock_cache().get(&image.hash) {
            return Ok(hit.clone());
        }
        let started = std::time::Instant::now();
        let cached = self
            .disk
            .as_ref()
            .and_then(|disk| disk.load(&self.engine, &image.hash));
        let from_disk = cached.is_some();
        let component = match cached {
            Some(component) => component,
            None => {
                let component = Component::new(&self.engine, &image.bytes)
                    .map_err(|e| LoadError::Compile(one_line(&e)))?;
                if let Some(disk) = &self.disk {
                    disk.store(&image.hash, &component);
                }
                component
            }
        };
        tracing::info!(
            plugin = image.short_hash(),
            from_disk,
            ms = started.elapsed().as_millis() as u64,
            "plugin component ready"
        );
        let imports: Vec<String> = component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        if !imports.is_empty() {
            return Err(LoadError::Imports(imports.join(", ")));
        }
        let linker: Linker<HostState> = Linker::new(&self.engine);
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Exports(one_line(&e)))?;
        let pre = PluginPre::new(instance_pre).map_err(|e| LoadError::Exports(one_line(&e)))?;
        let mut probe = Instance::from_pre(&self.engine, &pre, self.limits)
            .map_err(|e| LoadError::Info(e.to_string()))?;
        let info = probe.info().map_err(|e| LoadError::Info(e.to_string()))?;
        let loaded = Arc::new(LoadedPlugin { image, info, pre });
        self.lock_cache()
            .insert(loaded.image.hash.clone(), loaded.clone());
        Ok(loaded)
    }

    /// A fresh instance of a loaded plugin, with the plugin's initial state.
    ///
    /// # Errors
    /// A [`super::Fault`] if the component's start-up code traps.
    pub fn instantiate(&self, plugin: &Arc<LoadedPlugin>) -> Result<Instance, super::Fault> {
        Instance::from_pre(&self.engine, &plugin.pre, self.limits)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<LoadedPlugin>>> {
        // A panic while holding this lock would leave a consistent map (insert is atomic).
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
