//! The process-wide plugin runtime: deterministic wasmtime engines and a bounded cache of
//! compiled, validated components.
//!
//! Determinism matters because every replica must reach the same result for the same entry:
//! NaNs are canonicalised, relaxed SIMD is deterministic, threads are off, and CPU is bounded by
//! fuel (counted in instructions, so an out-of-fuel failure happens at the same point on every
//! node) rather than by wall-clock deadlines. The wasm stack limit is a setting of the engine,
//! so there is one engine per stack limit in use (usually one).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Config, Engine};

use super::bindings::exports::reservoir::plugin::{
    console as wit_console, http as wit_http, machine as wit_machine,
};
use super::bindings::{CONSOLE_EXPORT, CONTRACT, HTTP_EXPORT, MACHINE_EXPORT};
use super::compile::compile;
use super::disk_cache::DiskCache;
use super::image::{Digest, PluginImage};
use super::instance::{HostState, Instance};
use super::limits::Limits;
use super::types::{Fronts, PluginInfo};
use super::Fault;
use crate::metrics::PluginCalls;

/// Compiled components kept in memory, at most this many bytes of compiled code (the plugins in
/// use stay alive through their own handles even when evicted here).
pub const MEMORY_CACHE_BYTES: usize = 256 << 20;

/// A deterministic engine enforcing `stack_bytes` (every engine of one stack limit compiles
/// the same code, so one may load what another compiled).
fn new_engine(stack_bytes: usize) -> Result<Engine, LoadError> {
    // Threads stay off: wasmtime is built without its `threads` feature.
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true)
        .max_wasm_stack(stack_bytes);
    Engine::new(&config).map_err(|e| LoadError::Engine(one_line(&e)))
}

/// An error chain on one line: wasmtime's messages can span lines (e.g. byte dumps).
fn one_line(error: &wasmtime::Error) -> String {
    format!("{error:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a candidate plugin was refused; the variant says how far validation got.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The bytes are not a WebAssembly component this engine can compile.
    #[error("compile: not a valid WebAssembly component: {0}")]
    Compile(String),
    /// The component imports something; plugins must be pure.
    #[error("imports: plugins must import nothing, this one imports {0}")]
    Imports(String),
    /// The component does not export the plugin contract this host implements.
    #[error("exports: {0}")]
    Exports(String),
    /// Instantiation or `info()` failed.
    #[error("info: {0}")]
    Info(String),
    /// The engine itself could not be configured.
    #[error("engine: {0}")]
    Engine(String),
}

impl LoadError {
    /// The validation step that refused the component.
    pub fn step(&self) -> &'static str {
        match self {
            LoadError::Compile(_) | LoadError::Engine(_) => "compile",
            LoadError::Imports(_) => "imports",
            LoadError::Exports(_) => "exports",
            LoadError::Info(_) => "info",
        }
    }

    /// The reason without the step name in front.
    pub fn reason(&self) -> String {
        let text = self.to_string();
        text.strip_prefix(self.step())
            .and_then(|rest| rest.strip_prefix(": "))
            .unwrap_or(&text)
            .to_string()
    }
}

/// Pre-resolved exports of a component: instantiating from these skips every name lookup.
pub(super) struct Exports {
    pub(super) pre: InstancePre<HostState>,
    pub(super) machine: wit_machine::GuestIndices,
    pub(super) http: Option<wit_http::GuestIndices>,
    pub(super) console: Option<wit_console::GuestIndices>,
}

/// A compiled component that passed validation, ready to instantiate many times.
pub struct LoadedPlugin {
    /// The bytes and hash this was compiled from.
    pub image: PluginImage,
    /// What `info()` answered during validation.
    pub info: PluginInfo,
    /// Which optional fronts it exports.
    pub fronts: Fronts,
    /// The wasm stack limit its engine enforces.
    pub stack_bytes: usize,
    engine: Engine,
    exports: Exports,
    /// Approximate size of its compiled code, for the cache's byte cap.
    compiled_bytes: usize,
    /// Where its instances record their calls (the loading runtime's).
    calls: PluginCalls,
}

impl LoadedPlugin {
    /// A fresh instance with the plugin's initial state, calls bounded by `limits` (whose stack
    /// limit must be the one this plugin was loaded for; the engine enforces that one).
    ///
    /// # Errors
    /// A [`Fault`] if the component's start-up code traps.
    pub fn instantiate(&self, limits: Limits) -> Result<Instance, Fault> {
        Instance::new(&self.engine, self, limits)
    }

    /// Where instances of this plugin record their calls.
    pub(super) fn calls(&self) -> &PluginCalls {
        &self.calls
    }

    pub(super) fn exports(&self) -> &Exports {
        &self.exports
    }
}

impl fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LoadedPlugin({} {} {})",
            self.info.name,
            self.info.version,
            self.image.hash.short()
        )
    }
}

/// The least-recently-used cache of compiled plugins.
#[derive(Default)]
struct MemoryCache {
    /// By (component hash, stack limit): the plugin and when it was last used.
    entries: BTreeMap<(Digest, usize), (Arc<LoadedPlugin>, u64)>,
    clock: u64,
}

impl MemoryCache {
    fn get(&mut self, key: &(Digest, usize)) -> Option<Arc<LoadedPlugin>> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(key).map(|(plugin, used)| {
            *used = clock;
            plugin.clone()
        })
    }

    fn insert(&mut self, plugin: Arc<LoadedPlugin>) {
        self.clock += 1;
        let key = (plugin.image.hash, plugin.stack_bytes);
        self.entries.insert(key, (plugin, self.clock));
        while self.bytes() > MEMORY_CACHE_BYTES && self.entries.len() > 1 {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(key, _)| *key);
            match oldest {
                Some(key) => {
                    self.entries.remove(&key);
                }
                None => break,
            }
        }
    }

    fn bytes(&self) -> usize {
        self.entries
            .values()
            .map(|(plugin, _)| plugin.compiled_bytes)
            .sum()
    }
}

/// The engines and compiled-component caches shared by every plugin instance of a node.
pub struct Runtime {
    /// One deterministic engine per wasm stack limit.
    engines: Mutex<BTreeMap<usize, Engine>>,
    cache: Mutex<MemoryCache>,
    /// Compiled components on disk, shared across restarts.
    disk_dir: Option<PathBuf>,
    /// Byte cap of the disk cache.
    disk_cap: u64,
    /// Where every instance of a plugin loaded here records its calls: the node's metrics, or
    /// an unregistered set for a runtime without a node.
    calls: PluginCalls,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("disk_dir", &self.disk_dir)
            .finish_non_exhaustive()
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here leaves the maps consistent (single inserts and removes).
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Runtime {
    /// A runtime with no engine built yet and no disk cache.
    pub fn new() -> Self {
        Runtime {
            engines: Mutex::new(BTreeMap::new()),
            cache: Mutex::new(MemoryCache::default()),
            disk_dir: None,
            disk_cap: 0,
            calls: PluginCalls::default(),
        }
    }

    /// Records every plugin call of instances made from plugins loaded here into `calls`
    /// (set before the first load: plugins already cached keep the set they were loaded with).
    pub fn with_metrics(mut self, calls: PluginCalls) -> Self {
        self.calls = calls;
        self
    }

    /// Keeps compiled components in `dir` too (at most `cap_bytes`, least recently used files
    /// removed first), so restarts and swaps need not recompile.
    pub fn with_disk_cache(mut self, dir: PathBuf, cap_bytes: u64) -> Self {
        self.disk_dir = Some(dir);
        self.disk_cap = cap_bytes;
        self
    }

    /// The deterministic engine enforcing `stack_bytes`.
    ///
    /// # Errors
    /// [`LoadError::Engine`] if wasmtime refuses the configuration.
    pub fn engine(&self, stack_bytes: usize) -> Result<Engine, LoadError> {
        let mut engines = lock(&self.engines);
        if let Some(engine) = engines.get(&stack_bytes) {
            return Ok(engine.clone());
        }
        let engine = new_engine(stack_bytes)?;
        engines.insert(stack_bytes, engine.clone());
        Ok(engine)
    }

    fn disk(&self, engine: &Engine) -> Option<DiskCache> {
        self.disk_dir
            .as_ref()
            .map(|dir| DiskCache::new(dir.clone(), engine, self.disk_cap))
    }

    /// Compiles and validates a component for an engine with this stack limit, or returns the
    /// cached result for the same bytes.
    ///
    /// Validation: it compiles, imports nothing, exports `machine` of this host's contract
    /// version (and `http`/`console` of it if at all), and `info()` answers within its fuel.
    ///
    /// # Errors
    /// A [`LoadError`] naming the step that failed.
    pub fn load(
        &self,
        image: &PluginImage,
        stack_bytes: usize,
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let key = (image.hash, stack_bytes);
        if let Some(hit) = lock(&self.cache).get(&key) {
            return Ok(hit);
        }
        let engine = self.engine(stack_bytes)?;
        let started = std::time::Instant::now();
        let disk = self.disk(&engine);
        let cached = disk
            .as_ref()
            .and_then(|disk| disk.load(&engine, &image.hash));
        let from_disk = cached.is_some();
        let component = match cached {
            Some(component) => component,
            None => {
                // A compiling engine of its own, dropped with the compiler's caches once done.
                let compiled = compile(new_engine(stack_bytes)?, &engine, &image.bytes)
                    .map_err(|e| LoadError::Compile(one_line(&e)))?;
                if let Some(disk) = &disk {
                    disk.store(&image.hash, &compiled.serialized);
                }
                compiled.component
            }
        };
        tracing::info!(
            plugin = %image.hash.short(),
            from_disk,
            ms = started.elapsed().as_millis() as u64,
            "plugin component ready"
        );
        let exports = resolve_exports(&engine, &component)?;
        let fronts = Fronts {
            http: exports.http.is_some(),
            console: exports.console.is_some(),
        };
        let code = component.image_range();
        let compiled_bytes = (code.end as usize)
            .saturating_sub(code.start as usize)
            .max(image.bytes.len());
        let mut loaded = LoadedPlugin {
            image: image.clone(),
            info: PluginInfo {
                name: String::new(),
                version: String::new(),
                snapshot_format: 0,
                min_restore_format: 0,
                description: String::new(),
            },
            fronts,
            stack_bytes,
            engine,
            exports,
            compiled_bytes,
            calls: self.calls.clone(),
        };
        let probe_limits = Limits {
            stack_bytes,
            ..Limits::default()
        };
        let mut probe = loaded
            .instantiate(probe_limits)
            .map_err(|e| LoadError::Info(e.to_string()))?;
        loaded.info = probe.info().map_err(|e| LoadError::Info(e.to_string()))?;
        let loaded = Arc::new(loaded);
        lock(&self.cache).insert(loaded.clone());
        Ok(loaded)
    }
}

/// Checks imports and the contract version, and resolves the exported interfaces.
fn resolve_exports(engine: &Engine, component: &Component) -> Result<Exports, LoadError> {
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    if !imports.is_empty() {
        return Err(LoadError::Imports(imports.join(", ")));
    }
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    if !exports.iter().any(|name| name == MACHINE_EXPORT) {
        let older = exports
            .iter()
            .find(|name| name.starts_with("reservoir:plugin/machine@"))
            .and_then(|name| name.split_once('@').map(|(_, v)| v.to_string()));
        return Err(LoadError::Exports(match older {
            Some(version) => format!(
                "the component implements the plugin contract reservoir:plugin@{version}, but this host needs {CONTRACT} (it lacks {MACHINE_EXPORT}); rebuild it against wit/plugin.wit"
            ),
            None => format!(
                "the component does not export {MACHINE_EXPORT} (exports: {})",
                if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") }
            ),
        }));
    }
    let linker: Linker<HostState> = Linker::new(engine);
    let pre = linker
        .instantiate_pre(component)
        .map_err(|e| LoadError::Exports(one_line(&e)))?;
    let machine = wit_machine::GuestIndices::new(&pre)
        .map_err(|e| LoadError::Exports(format!("{MACHINE_EXPORT}: {}", one_line(&e))))?;
    let http = match exports.iter().any(|name| name == HTTP_EXPORT) {
        true => Some(
            wit_http::GuestIndices::new(&pre)
                .map_err(|e| LoadError::Exports(format!("{HTTP_EXPORT}: {}", one_line(&e))))?,
        ),
        false => None,
    };
    let console = match exports.iter().any(|name| name == CONSOLE_EXPORT) {
        true => Some(
            wit_console::GuestIndices::new(&pre)
                .map_err(|e| LoadError::Exports(format!("{CONSOLE_EXPORT}: {}", one_line(&e))))?,
        ),
        false => None,
    };
    Ok(Exports {
        pre,
        machine,
        http,
        console,
    })
}
