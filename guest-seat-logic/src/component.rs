//! The WebAssembly component boundary: the only module that runs `wit_bindgen::generate!`
//! (world `plugin` of contract 0.2.0: `machine`, `http` and `console`).
//!
//! It converts the generated WIT types to the plain mirrors in [`crate::contract`] and delegates
//! every export to the library, so all logic stays testable natively. Compiled for wasm32 only.
//!
//! The state lives in a `thread_local!` `RefCell`: a component instance is single-threaded and
//! never re-enters itself, so a `RefCell` borrow cannot conflict and no lock (or poisoning) is
//! involved. It starts as the first-start state and is replaced whole by `restore`. The fronts'
//! `render` functions read it (contract 0.2.0 answers `outcome.read` from this instance's state).

use std::cell::RefCell;

use crate::contract;
use crate::Machine;

wit_bindgen::generate!({
    path: "../wit",
    world: "plugin",
});

use exports::reservoir::plugin::{console, http, machine};

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

    fn apply(ctx: machine::LogContext, command: Vec<u8>) -> machine::Applied {
        let ctx = contract::LogContext {
            index: ctx.index,
            term: ctx.term,
            time_ms: ctx.time_ms,
        };
        let applied = MACHINE.with(|m| m.borrow_mut().apply(&ctx, &command));
        machine::Applied {
            result: applied.result,
            topics: applied.topics,
            next_deadline: applied.next_deadline,
        }
    }

    fn query(now_ms: u64, request: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
        MACHINE.with(|m| m.borrow().query(now_ms, &request))
    }

    fn snapshot() -> Vec<u8> {
        MACHINE.with(|m| m.borrow().snapshot())
    }

    fn restore(snapshot: Vec<u8>) -> Result<Option<u64>, String> {
        MACHINE.with(|m| m.borrow_mut().restore(&snapshot))
    }

    fn describe(command: Vec<u8>, result: Option<Result<Vec<u8>, Vec<u8>>>) -> String {
        crate::describe::describe(&command, result)
    }
}

impl http::Guest for Component {
    fn route(request: http::Request) -> http::Action {
        match crate::http::route(&request_from(request)) {
            contract::HttpAction::Read(bytes) => http::Action::Read(bytes),
            contract::HttpAction::Write(bytes) => http::Action::Write(bytes),
            contract::HttpAction::Respond(response) => {
                http::Action::Respond(response_into(response))
            }
            contract::HttpAction::Watch(watch) => http::Action::Watch(http::WatchRequest {
                topic: watch.topic,
                query: watch.query,
                event: watch.event,
            }),
        }
    }

    fn render(request: http::Request, outcome: http::Outcome) -> http::Response {
        let outcome = match outcome {
            http::Outcome::Written(result) => contract::Outcome::Written(result),
            http::Outcome::Read(query) => contract::Outcome::Read(query),
            http::Outcome::Unavailable(text) => contract::Outcome::Unavailable(text),
        };
        let request = request_from(request);
        response_into(MACHINE.with(|m| crate::http::render(&m.borrow(), &request, outcome)))
    }
}

impl console::Guest for Component {
    fn parse(line: console::Line) -> Option<console::Action> {
        crate::console::parse(&line_from(line)).map(|action| match action {
            contract::ConsoleAction::Read(bytes) => console::Action::Read(bytes),
            contract::ConsoleAction::Write(bytes) => console::Action::Write(bytes),
            contract::ConsoleAction::Print(text) => console::Action::Print(text),
        })
    }

    fn render(line: console::Line, outcome: console::Outcome) -> String {
        let line = line_from(line);
        let outcome = console_outcome(outcome);
        MACHINE.with(|m| crate::console::render(&m.borrow(), &line, outcome))
    }

    fn help(mode: console::Mode) -> String {
        crate::console::help(mode_from(mode))
    }

    fn overview(mode: console::Mode) -> Option<Vec<u8>> {
        crate::console::overview(mode_from(mode))
    }

    fn render_overview(mode: console::Mode, outcome: console::Outcome) -> String {
        let outcome = console_outcome(outcome);
        MACHINE.with(|m| crate::console::render_overview(&m.borrow(), mode_from(mode), outcome))
    }
}

/// Generated request to mirror.
fn request_from(request: http::Request) -> contract::HttpRequest {
    contract::HttpRequest {
        method: request.method,
        path: request.path,
        query: request.query,
        headers: request.headers,
        body: request.body,
        role: request.role,
        entropy: request.entropy,
        now_ms: request.now_ms,
    }
}

/// Mirror response to generated.
fn response_into(response: contract::HttpResponse) -> http::Response {
    http::Response {
        status: response.status,
        headers: response.headers,
        body: response.body,
    }
}

/// Generated console line to mirror.
fn line_from(line: console::Line) -> contract::ConsoleLine {
    contract::ConsoleLine {
        text: line.text,
        mode: mode_from(line.mode),
        entropy: line.entropy,
    }
}

/// Generated console outcome to mirror.
fn console_outcome(outcome: console::Outcome) -> contract::Outcome {
    match outcome {
        console::Outcome::Written(result) => contract::Outcome::Written(result),
        console::Outcome::Read(query) => contract::Outcome::Read(query),
        console::Outcome::Unavailable(text) => contract::Outcome::Unavailable(text),
    }
}

/// Generated console mode to mirror.
fn mode_from(mode: console::Mode) -> contract::ConsoleMode {
    match mode {
        console::Mode::Demo => contract::ConsoleMode::Demo,
        console::Mode::Dev => contract::ConsoleMode::Dev,
    }
}
