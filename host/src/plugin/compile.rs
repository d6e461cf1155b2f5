//! Compiling a component without keeping the compiler's memory.
//!
//! Compiling the bundled plugin allocates tens of MB (the module's translation, Cranelift's
//! per-function state, which the engine also caches for its next compile), and glibc's malloc
//! keeps freed memory mapped in the arena of the thread that used it. A node that compiled the
//! plugin at its first start stayed at 70 MB resident, against 28 MB for one that loaded it
//! from the disk cache. So compiling runs on a thread of its own, with an engine of its own
//! that is dropped afterwards, freed memory goes back to the system, and the component is
//! loaded into the node's engine from its serialised form, as from the disk cache: about
//! 40 MB after a first start.

use wasmtime::component::Component;
use wasmtime::Engine;

/// A freshly compiled component and its serialised form (what the disk cache stores).
pub struct Compiled {
    /// The component, loaded from `serialized` into the node's engine.
    pub component: Component,
    /// `Component::serialize` of it.
    pub serialized: Vec<u8>,
}

/// Compiles `wasm` with `compiler` (configured as `engine`; dropped here with what it
/// caches), releases the memory that frees, and loads the code into `engine`.
///
/// # Errors
/// Wasmtime's error when the bytes are not a valid component or do not compile.
pub fn compile(compiler: Engine, engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Compiled> {
    let serialized = std::thread::scope(|scope| {
        scope
            .spawn(move || Component::new(&compiler, wasm)?.serialize())
            .join()
            .unwrap_or_else(|_| Err(wasmtime::Error::msg("the compiler panicked")))
    })?;
    release_freed_memory();
    // SAFETY: wasmtime requires that deserialised bytes come from `Component::serialize` of a
    // compatible engine: these were serialised just above, in this process, by an engine with
    // the same configuration as `engine`.
    let component = unsafe { Component::deserialize(engine, &serialized) }?;
    Ok(Compiled {
        component,
        serialized,
    })
}

/// Returns the free memory of every malloc arena to the system (glibc only; other allocators
/// keep their own policy).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it may be called at any
    // time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
