//! The WebAssembly component boundary: the only module that runs `wit_bindgen::generate!`.
//!
//! It converts the generated WIT types to the plain mirrors in [`crate::contract`] and delegates
//! every export to the library, so all logic stays testable natively. Compiled for wasm32 only.
//!
//! The state lives in a `thread_local!` `RefCell`: a component instance is single-threaded and
//! never re-enters itself, so a `RefCell` borrow cannot conflict and no lock (or poisoning) is
//! involved. It starts as the first-start state and is replaced whole by `restore`.

use std::cell::RefCell;

use crate::contract;
use crate::Machine;

wit_bindgen::generate!({
    path: "../wit",
    world: "plugin",
});

use exports::reservoir::plugin::{front, machine};

thread_local! {
    /// The replica's state machine, for the life of the component instance.
    static MACHINE: RefCell<Machine> = RefCell::new(Machine::new());
}

/// The exported component.
struct Component;

export!(Component);

impl machine::Guest for Component {
    fn info() -> machine::PluginInfo {
        let info = Machine::info();
        machine::PluginInfo {
            name: info.name,
            version: info.version,
            snapshot_format: info.snapshot_format,
            min_restore_format: info.min_restore_format,
            description: info.description,
        }
    }

    fn apply(ctx: machine::LogContext, command: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
        let ctx = contract::LogContext {
            index: ctx.index,
            term: ctx.term,
            leader_time_ms: ctx.leader_time_ms,
        };
        MACHINE.with(|m| m.borrow_mut().apply(&ctx, &command))
    }

    fn next_deadline() -> Option<u64> {
        MACHINE.with(|m| m.borrow().next_deadline())
    }

    fn query(now_ms: u64, request: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
        MACHINE.with(|m| m.borrow().query(now_ms, &request))
    }

    fn snapshot() -> Vec<u8> {
        MACHINE.with(|m| m.borrow().snapshot())
    }

    fn restore(snapshot: Vec<u8>) -> Result<(), String> {
        MACHINE.with(|m| m.borrow_mut().restore(&snapshot))
    }
}

impl front::Guest for Component {
    fn route(request: front::HttpRequest) -> front::RouteAction {
        match crate::http::route(&request_from(request)) {
            contract::RouteAction::Read(bytes) => front::RouteAction::Read(bytes),
            contract::RouteAction::Write(bytes) => front::RouteAction::Write(bytes),
            contract::RouteAction::Respond(response) => {
                front::RouteAction::Respond(response_into(response))
            }
            contract::RouteAction::Watch(watch) => front::RouteAction::Watch(front::WatchRequest {
                topic: watch.topic,
                query: watch.query,
                event: watch.event,
            }),
        }
    }

    fn render(request: front::HttpRequest, outcome: front::Outcome) -> front::HttpResponse {
        response_into(crate::http::render(
            &request_from(request),
            outcome_from(outcome),
        ))
    }

    fn console(line: String, mode: front::ConsoleMode) -> Option<front::ConsoleAction> {
        crate::console::console(&line, mode_from(mode)).map(|action| match action {
            contract::ConsoleAction::Read(bytes) => front::ConsoleAction::Read(bytes),
            contract::ConsoleAction::Write(bytes) => front::ConsoleAction::Write(bytes),
            contract::ConsoleAction::Print(text) => front::ConsoleAction::Print(text),
        })
    }

    fn console_render(line: String, mode: front::ConsoleMode, outcome: front::Outcome) -> String {
        crate::console::console_render(&line, mode_from(mode), outcome_from(outcome))
    }

    fn console_help(mode: front::ConsoleMode) -> String {
        crate::console::console_help(mode_from(mode))
    }

    fn overview(mode: front::ConsoleMode) -> Option<Vec<u8>> {
        crate::console::overview(mode_from(mode))
    }

    fn render_overview(mode: front::ConsoleMode, outcome: front::Outcome) -> String {
        crate::console::render_overview(mode_from(mode), outcome_from(outcome))
    }

    fn describe(command: Vec<u8>, answer: Option<Result<Vec<u8>, Vec<u8>>>) -> String {
        crate::console::describe(&command, answer)
    }

    fn topics(command: Vec<u8>, answer: Result<Vec<u8>, Vec<u8>>) -> Vec<String> {
        crate::topics::topics(&command, &answer)
    }
}

/// Generated request to mirror.
fn request_from(request: front::HttpRequest) -> contract::HttpRequest {
    contract::HttpRequest {
        method: request.method,
        path: request.path,
        query: request.query,
        headers: request.headers,
        body: request.body,
    }
}

/// Mirror response to generated.
fn response_into(response: contract::HttpResponse) -> front::HttpResponse {
    front::HttpResponse {
        status: response.status,
        headers: response.headers,
        body: response.body,
    }
}

/// Generated outcome to mirror.
fn outcome_from(outcome: front::Outcome) -> contract::Outcome {
    match outcome {
        front::Outcome::Finished(result) => contract::Outcome::Finished(result),
        front::Outcome::Unavailable(text) => contract::Outcome::Unavailable(text),
    }
}

/// Generated console mode to mirror.
fn mode_from(mode: front::ConsoleMode) -> contract::ConsoleMode {
    match mode {
        front::ConsoleMode::Demo => contract::ConsoleMode::Demo,
        front::ConsoleMode::Dev => contract::ConsoleMode::Dev,
    }
}
