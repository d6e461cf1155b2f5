//! Running WebAssembly plugins: the only place that touches wasmtime.
//!
//! - [`runtime`]: one deterministic [`Engine`](wasmtime::Engine) per process, loading and
//!   validating components, and a cache of compiled ones keyed by content hash.
//! - [`disk_cache`]: compiled components on disk, keyed by component and engine.
//! - [`instance`]: one instantiated plugin with its own `Store`, fuel and memory limits; every
//!   export as a typed method whose failures come back as [`Fault`]s instead of panics.
//! - [`types`]: host-side mirrors of the WIT types, so that `bindgen!` output never leaves
//!   this module.

mod bindings;
pub mod disk_cache;
pub mod instance;
pub mod runtime;
pub mod types;

pub use instance::{Fault, Instance};
pub use runtime::{Limits, LoadError, LoadedPlugin, PluginImage, Runtime};
pub use types::*;

#[cfg(test)]
pub(crate) mod tests;
