//! Rust bindings generated from `wit/plugin.wit`. Private to `plugin/`: the rest of the host
//! uses the mirrors in [`super::types`]. The full `plugin` world is generated; the host loads
//! each exported interface on its own, so that `http` and `console` may be missing.

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
});

/// The package and version this host implements, as it appears in export names.
pub const CONTRACT: &str = "reservoir:plugin@0.2.0";
/// Export name of the required state machine interface.
pub const MACHINE_EXPORT: &str = "reservoir:plugin/machine@0.2.0";
/// Export name of the optional HTTP front.
pub const HTTP_EXPORT: &str = "reservoir:plugin/http@0.2.0";
/// Export name of the optional console front.
pub const CONSOLE_EXPORT: &str = "reservoir:plugin/console@0.2.0";
