//! The WebAssembly component: `wit_bindgen` exports for contract 0.2.0, with this build's
//! [`Behaviour`] deciding the one export that misbehaves and the world it exports (echo:
//! `plugin`; machine-only: `state-machine`; the misbehaving ones: `http-plugin`). Compiled for
//! wasm32 only.
//!
//! The state is the last applied command, in a `static` `RefCell`: a component instance is
//! single-threaded and never re-enters itself, so a borrow cannot conflict.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::hint::black_box;

use crate::{Behaviour, SNAPSHOT_FORMAT, VERSION};

#[cfg(feature = "machine-only")]
wit_bindgen::generate!({
    path: "../wit",
    world: "state-machine",
});

#[cfg(any(
    feature = "trap-restore",
    feature = "loop-apply",
    feature = "grow-memory",
    feature = "loop-restore",
    feature = "wrong-info"
))]
wit_bindgen::generate!({
    path: "../wit",
    world: "http-plugin",
});

#[cfg(not(any(
    feature = "trap-restore",
    feature = "loop-apply",
    feature = "grow-memory",
    feature = "loop-restore",
    feature = "wrong-info",
    feature = "machine-only"
)))]
wit_bindgen::generate!({
    path: "../wit",
    world: "plugin",
});

use exports::reservoir::plugin::machine::{self, Applied, LogContext, PluginInfo};

/// This build's misbehaviour.
const BEHAVIOUR: Behaviour = Behaviour::of_build();

/// The last applied command (empty at start); what `snapshot` writes after the format tag.
static STATE: State = State(RefCell::new(Vec::new()));

/// The plugin state, shareable as a `static`.
struct State(RefCell<Vec<u8>>);

// SAFETY: a component instance is single-threaded (wasm32-unknown-unknown without the threads
// proposal), so the cell is never touched by two threads.
unsafe impl Sync for State {}

/// The exported component.
struct Component;

export!(Component);

/// Traps the instance: the `unreachable` instruction, without panic machinery.
fn trap() -> ! {
    core::arch::wasm32::unreachable()
}

/// Spins forever on a counter the optimiser cannot see through; only fuel stops it.
fn spin() -> ! {
    let mut counter = 0u64;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

/// Allocates and fills 64 KiB chunks forever; it ends when `memory.grow` fails and the allocator
/// aborts (a trap), or when fuel runs out.
fn grow() -> ! {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        chunks.push(black_box(vec![0xa5; 64 * 1024]));
        black_box(&chunks);
    }
}

impl machine::Guest for Component {
    fn info() -> PluginInfo {
        if BEHAVIOUR == Behaviour::WrongInfo {
            trap();
        }
        PluginInfo {
            name: BEHAVIOUR.name().into(),
            version: VERSION.into(),
            snapshot_format: SNAPSHOT_FORMAT,
            min_restore_format: SNAPSHOT_FORMAT,
            description: BEHAVIOUR.description().into(),
        }
    }

    fn apply(_ctx: LogContext, command: Vec<u8>) -> Applied {
        match BEHAVIOUR {
            Behaviour::LoopApply => spin(),
            Behaviour::GrowMemory => grow(),
            _ => {
                STATE.0.replace(command.clone());
                Applied {
                    result: Ok(command),
                    topics: Vec::new(),
                    next_deadline: None,
                }
            }
        }
    }

    fn query(_now_ms: u64, request: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
        Ok(request)
    }

    fn snapshot() -> Vec<u8> {
        let mut bytes = SNAPSHOT_FORMAT.to_le_bytes().to_vec();
        bytes.extend_from_slice(&STATE.0.borrow());
        bytes
    }

    fn restore(snapshot: Vec<u8>) -> Result<Option<u64>, String> {
        match BEHAVIOUR {
            Behaviour::TrapRestore => trap(),
            Behaviour::LoopRestore => spin(),
            Behaviour::Echo | Behaviour::MachineOnly => match snapshot.split_first_chunk::<4>() {
                Some((tag, state)) if u32::from_le_bytes(*tag) == SNAPSHOT_FORMAT => {
                    STATE.0.replace(state.to_vec());
                    Ok(None)
                }
                _ => {
                    let mut why = String::from(BEHAVIOUR.name());
                    why.push_str(" plugin reads snapshot format 1 only");
                    Err(why)
                }
            },
            // Accepts anything, so that it passes a dry run and gets installed.
            _ => {
                STATE.0.borrow_mut().clear();
                Ok(None)
            }
        }
    }

    fn describe(command: Vec<u8>, _result: Option<Result<Vec<u8>, Vec<u8>>>) -> String {
        let mut line = String::from(BEHAVIOUR.name());
        line.push_str(if command.is_empty() {
            ": tick"
        } else {
            ": command"
        });
        line
    }
}

/// The HTTP front of every build but machine-only.
#[cfg(not(feature = "machine-only"))]
mod front {
    use alloc::vec;
    use alloc::vec::Vec;

    use super::exports::reservoir::plugin::http::{self, Action, Outcome, Request, Response};
    use super::{Component, BEHAVIOUR};
    use crate::Behaviour;

    /// A plain-text response.
    fn text(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body,
        }
    }

    impl http::Guest for Component {
        fn route(request: Request) -> Action {
            if BEHAVIOUR == Behaviour::Echo {
                return Action::Respond(text(200, b"echo".to_vec()));
            }
            if request.method == "POST" {
                Action::Write(request.body)
            } else {
                Action::Read(request.body)
            }
        }

        fn render(_request: Request, outcome: Outcome) -> Response {
            match outcome {
                Outcome::Written(Ok(bytes)) => text(200, bytes),
                Outcome::Written(Err(bytes)) => text(409, bytes),
                // The answer to a query is the query itself (as `machine.query` answers).
                Outcome::Read(query) => text(200, query),
                Outcome::Unavailable(why) => text(503, why.into_bytes()),
            }
        }
    }
}

/// The console front of the echo plugin.
#[cfg(not(any(
    feature = "trap-restore",
    feature = "loop-apply",
    feature = "grow-memory",
    feature = "loop-restore",
    feature = "wrong-info",
    feature = "machine-only"
)))]
mod console_front {
    use alloc::string::String;
    use alloc::vec::Vec;

    use super::exports::reservoir::plugin::console::{self, Action, Line, Mode, Outcome};
    use super::Component;

    impl console::Guest for Component {
        fn parse(line: Line) -> Option<Action> {
            Some(Action::Write(line.text.into_bytes()))
        }

        fn render(_line: Line, outcome: Outcome) -> String {
            let bytes = match outcome {
                Outcome::Written(Ok(bytes) | Err(bytes)) | Outcome::Read(bytes) => bytes,
                Outcome::Unavailable(why) => why.into_bytes(),
            };
            // Not UTF-8 (only if a test wrote such bytes): print nothing rather than trap.
            String::from_utf8(bytes).unwrap_or_default()
        }

        fn help(_mode: Mode) -> String {
            "<any line>  apply it as a command".into()
        }

        fn overview(_mode: Mode) -> Option<Vec<u8>> {
            None
        }

        fn render_overview(_mode: Mode, _outcome: Outcome) -> String {
            String::new()
        }
    }
}
