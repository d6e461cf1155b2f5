//! Rust bindings generated from `wit/plugin.wit`. Private to `plugin/`: the rest of the host
//! uses the mirrors in [`super::types`].

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
});
