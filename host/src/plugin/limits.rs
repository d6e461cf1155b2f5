//! Resource bounds for plugin calls: fuel per call, fuel for whole-state calls, linear memory and
//! wasm stack.
//!
//! They decide replicated outcomes (a command that runs out of fuel fails), so the ones the
//! canonical instance runs under come from the log: an install entry carries them, and a
//! limits entry changes them. A node's `config.json` only proposes them.

use serde::{Deserialize, Serialize};

/// Least and most of each limit, so that a proposal can neither starve every call nor let one
/// call take the node's memory or minutes of CPU.
pub mod bounds {
    /// Fuel for one ordinary call: 10 thousand to 10 billion units (about one per instruction).
    pub const FUEL_PER_CALL: (u64, u64) = (10_000, 10_000_000_000);
    /// Fuel for `snapshot` and `restore`: 1 million to 1 trillion units.
    pub const FUEL_PER_STATE_CALL: (u64, u64) = (1_000_000, 1_000_000_000_000);
    /// Linear memory: 16 MiB to 4 GiB.
    pub const MEMORY_BYTES: (usize, usize) = (16 << 20, 4 << 30);
    /// Wasm stack: 64 KiB to 8 MiB.
    pub const STACK_BYTES: (usize, usize) = (64 << 10, 8 << 20);
}

/// Fuel a whole-state call may use per byte of state, when that is more than
/// [`Limits::fuel_per_state_call`]: serialising or rebuilding a state costs work in proportion
/// to its size, so a fixed budget that suits a small state would fail a large one, and that
/// failure is deterministic, so it would stop every replica at the same base point. The bundled
/// plugin's restore, measured, costs under 500 units per byte.
pub const STATE_FUEL_PER_BYTE: u64 = 2_000;

/// Resource bounds for plugin calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

impl Limits {
    /// Fuel for a whole-state call on a state of about `state_bytes` bytes: the configured
    /// budget, or [`STATE_FUEL_PER_BYTE`] per byte when that is more (capped at the largest
    /// budget allowed). A function of the state bytes alone, so the same on every replica.
    pub fn state_call_fuel(&self, state_bytes: usize) -> u64 {
        let scaled = (state_bytes as u64).saturating_mul(STATE_FUEL_PER_BYTE);
        self.fuel_per_state_call
            .max(scaled.min(bounds::FUEL_PER_STATE_CALL.1))
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel_per_call: 50_000_000,
            fuel_per_state_call: 20_000_000_000,
            memory_bytes: 1 << 30,
            stack_bytes: 512 << 10,
        }
    }
}

/// A limit outside its bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} = {value} is outside {min}..={max}")]
pub struct LimitsError {
    /// Which limit.
    pub name: &'static str,
    /// The value given.
    pub value: u128,
    /// Its least value.
    pub min: u128,
    /// Its most value.
    pub max: u128,
}

fn within(name: &'static str, value: u128, (min, max): (u128, u128)) -> Result<(), LimitsError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(LimitsError {
            name,
            value,
            min,
            max,
        })
    }
}

impl Limits {
    /// Checks every limit against [`bounds`].
    ///
    /// # Errors
    /// The first limit outside its bounds.
    pub fn validate(&self) -> Result<(), LimitsError> {
        let wide = |(a, b): (u64, u64)| (u128::from(a), u128::from(b));
        let size = |(a, b): (usize, usize)| (a as u128, b as u128);
        within(
            "fuel_per_call",
            self.fuel_per_call.into(),
            wide(bounds::FUEL_PER_CALL),
        )?;
        within(
            "fuel_per_state_call",
            self.fuel_per_state_call.into(),
            wide(bounds::FUEL_PER_STATE_CALL),
        )?;
        within(
            "memory_bytes",
            self.memory_bytes as u128,
            size(bounds::MEMORY_BYTES),
        )?;
        within(
            "stack_bytes",
            self.stack_bytes as u128,
            size(bounds::STACK_BYTES),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_state_calls_get_fuel_in_proportion_to_a_large_state() {
        let limits = Limits::default();
        assert_eq!(limits.state_call_fuel(0), limits.fuel_per_state_call);
        assert_eq!(limits.state_call_fuel(1 << 20), limits.fuel_per_state_call);
        assert_eq!(
            limits.state_call_fuel(100_000_000),
            100_000_000 * STATE_FUEL_PER_BYTE
        );
        assert_eq!(
            limits.state_call_fuel(usize::MAX),
            bounds::FUEL_PER_STATE_CALL.1,
            "capped"
        );
    }

    #[test]
    fn defaults_are_within_bounds_and_extremes_are_refused() {
        assert_eq!(Limits::default().validate(), Ok(()));
        let tiny = Limits {
            fuel_per_call: 10,
            ..Limits::default()
        };
        assert_eq!(tiny.validate().map_err(|e| e.name), Err("fuel_per_call"));
        let huge = Limits {
            memory_bytes: usize::MAX,
            ..Limits::default()
        };
        assert_eq!(huge.validate().map_err(|e| e.name), Err("memory_bytes"));
    }
}
