//! The plugin's front half, used by the HTTP server and the console: a stateless instance of
//! the cluster's current plugin (or this node's `--plugin` until the cluster has one), kept apart
//! from the state machine's instance so that parsing and rendering never contend with applies.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::plugin::{Fault, Instance, LoadedPlugin, Runtime};
use crate::raft::state_machine::Machine;

/// Why the front could not run a plugin function.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FrontError {
    /// The plugin faulted; the instance will be rebuilt for the next call.
    #[error("{0}")]
    Fault(#[from] Fault),
}

/// Front-side access to the current plugin.
pub struct Front {
    runtime: Arc<Runtime>,
    local_plugin: Arc<LoadedPlugin>,
    machine: Arc<Machine>,
    /// The instance and the hash of the plugin it was built from; rebuilt when the cluster's
    /// plugin changes or after a fault.
    slot: Mutex<Option<(String, Instance)>>,
}

impl Front {
    pub(crate) fn new(
        runtime: Arc<Runtime>,
        local_plugin: Arc<LoadedPlugin>,
        machine: Arc<Machine>,
    ) -> Self {
        Front {
            runtime,
            local_plugin,
            machine,
            slot: Mutex::new(None),
        }
    }

    /// The plugin fronts should use now.
    pub fn current_plugin(&self) -> Arc<LoadedPlugin> {
        self.machine
            .status()
            .plugin
            .unwrap_or_else(|| self.local_plugin.clone())
    }

    fn lock(&self) -> MutexGuard<'_, Option<(String, Instance)>> {
        // The slot is replaced whole; a panic mid-call leaves at worst a dead instance.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on a live front instance of the current plugin.
    ///
    /// # Errors
    /// [`FrontError::Fault`] if instantiation or the call faults.
    pub fn call<T>(
        &self,
        f: impl FnOnce(&mut Instance) -> Result<T, Fault>,
    ) -> Result<T, FrontError> {
        let plugin = self.current_plugin();
        let mut slot = self.lock();
        let stale = match &*slot {
            Some((hash, instance)) => *hash != plugin.image.hash || instance.is_dead(),
            None => true,
        };
        if stale {
            *slot = Some((
                plugin.image.hash.clone(),
                self.runtime.instantiate(&plugin)?,
            ));
        }
        match slot.as_mut() {
            Some((_, instance)) => Ok(f(instance)?),
            None => Err(FrontError::Fault(Fault::Dead)),
        }
    }
}
