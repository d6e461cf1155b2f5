//! Running WebAssembly plugins: the only place that touches wasmtime.
//!
//! - [`image`]: a component as it travels through the log and snapshots (bytes + SHA-256).
//! - [`limits`]: the fuel, memory and stack bounds every call runs under (replicated).
//! - [`runtime`]: deterministic engines, loading and validating components, a bounded cache of
//!   compiled ones keyed by content hash.
//! - [`compile`]: compiling a component, then handing the compiler's freed memory back.
//! - [`disk_cache`]: compiled components on disk, keyed by component and engine, size-capped.
//! - [`instance`]: one instantiated plugin with its own `Store`; every export as a typed
//!   method whose failures come back as [`Fault`]s instead of panics. The `http` and `console`
//!   fronts are optional exports.
//! - [`types`]: host-side mirrors of the WIT types, so that `bindgen!` output never leaves
//!   this module.

mod bindings;
pub mod compile;
pub mod disk_cache;
pub mod image;
pub mod instance;
pub mod limits;
pub mod runtime;
pub mod types;

pub use image::{Digest, PluginImage};
pub use instance::{Fault, Instance};
pub use limits::{Limits, LimitsError};
pub use runtime::{LoadError, LoadedPlugin, Runtime};
pub use types::*;

#[cfg(test)]
pub(crate) mod tests;
