//! The WebAssembly component: `wit_bindgen` exports for the `plugin` world, with this build's
//! [`Behaviour`] deciding the one export that misbehaves. Compiled for wasm32 only.
//!
//! The state is the last applied command, in a `static` `RefCell`: a component instance is
//! single-threaded and never re-enters itself, so a borrow cannot conflict.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::hint::black_box;

use crate::{Behaviour, SNAPSHOT_FORMAT, VERSION};

wit_bindgen::generate!({
    path: "../wit",
    world: "plugin",
});

use exports::reservoir::plugin::front::{
    self, ConsoleAction, ConsoleMode, HttpRequest, HttpResponse, Outcome, RouteAction,
};
use exports::reservoir::plugin::machine::{self, LogContext, PluginInfo};

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

    fn apply(_ctx: LogContext, command: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
        match BEHAVIOUR {
            Behaviour::LoopApply => spin(),
            Behaviour::GrowMemory => grow(),
            _ => {
                STATE.0.replace(command.clone());
                Ok(command)
            }
        }
    }

    fn next_deadline() -> Option<u64> {
        None
    }

    fn query(_now_ms: u64, request: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
        Ok(request)
    }

    fn snapshot() -> Vec<u8> {
        let mut bytes = SNAPSHOT_FORMAT.to_le_bytes().to_vec();
        bytes.extend_from_slice(&STATE.0.borrow());
        bytes
    }

    fn restore(snapshot: Vec<u8>) -> Result<(), String> {
        match BEHAVIOUR {
            Behaviour::TrapRestore => trap(),
            Behaviour::LoopRestore => spin(),
            Behaviour::Echo => match snapshot.split_first_chunk::<4>() {
                Some((tag, state)) if u32::from_le_bytes(*tag) == SNAPSHOT_FORMAT => {
                    STATE.0.replace(state.to_vec());
                    Ok(())
                }
                _ => Err("echo plugin reads snapshot format 1 only".into()),
            },
            // Accepts anything, so that it passes a dry run and gets installed.
            _ => {
                STATE.0.borrow_mut().clear();
                Ok(())
            }
        }
    }
}

/// A plain-text response.
fn text(status: u16, body: Vec<u8>) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "text/plain".into())],
        body,
    }
}

/// The bytes of an outcome, and whether it succeeded.
fn outcome_bytes(outcome: Outcome) -> (bool, Vec<u8>) {
    match outcome {
        Outcome::Finished(Ok(bytes)) => (true, bytes),
        Outcome::Finished(Err(bytes)) => (false, bytes),
        Outcome::Unavailable(why) => (false, why.into_bytes()),
    }
}

impl front::Guest for Component {
    fn route(request: HttpRequest) -> RouteAction {
        if BEHAVIOUR == Behaviour::Echo {
            return RouteAction::Respond(text(200, b"echo".to_vec()));
        }
        if request.method == "POST" {
            RouteAction::Write(request.body)
        } else {
            RouteAction::Read(request.body)
        }
    }

    fn render(_request: HttpRequest, outcome: Outcome) -> HttpResponse {
        match outcome {
            Outcome::Unavailable(why) => text(503, why.into_bytes()),
            finished => match outcome_bytes(finished) {
                (true, bytes) => text(200, bytes),
                (false, bytes) => text(409, bytes),
            },
        }
    }

    fn console(line: String, _mode: ConsoleMode) -> Option<ConsoleAction> {
        Some(ConsoleAction::Write(line.into_bytes()))
    }

    fn console_render(_line: String, _mode: ConsoleMode, outcome: Outcome) -> String {
        // Not UTF-8 (only if a test wrote such bytes): print nothing rather than trap.
        String::from_utf8(outcome_bytes(outcome).1).unwrap_or_default()
    }

    fn console_help(_mode: ConsoleMode) -> String {
        "<any line>  apply it as a command".into()
    }

    fn overview(_mode: ConsoleMode) -> Option<Vec<u8>> {
        None
    }

    fn render_overview(_mode: ConsoleMode, _outcome: Outcome) -> String {
        String::new()
    }

    fn describe(command: Vec<u8>, _answer: Option<Result<Vec<u8>, Vec<u8>>>) -> String {
        let mut line = String::from(BEHAVIOUR.name());
        line.push_str(if command.is_empty() {
            ": tick"
        } else {
            ": command"
        });
        line
    }

    fn topics(_command: Vec<u8>, _answer: Result<Vec<u8>, Vec<u8>>) -> Vec<String> {
        Vec::new()
    }
}
