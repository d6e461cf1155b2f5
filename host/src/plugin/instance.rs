//! One live plugin instance: a `Store` with its fuel and memory limits, and a typed method per
//! export of the plugin world.
//!
//! A trap leaves a component instance unusable (its invariants may be half-updated), so after
//! the first [`Fault`] every later call answers [`Fault::Dead`] and the owner must build a new
//! instance (see `raft::state_machine` for how the replicated state is rebuilt). Not shared
//! across threads: every instance has one owner (the apply thread, or one local worker).

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder, Trap};

use super::bindings::exports::reservoir::plugin::{
    console as wit_console, http as wit_http, machine as wit_machine,
};
use super::limits::Limits;
use super::runtime::LoadedPlugin;
use super::types::*;
use crate::metrics::{CallKind, PluginCalls};

/// Per-store host data: only the memory limiter (plugins import nothing).
pub struct HostState {
    limits: StoreLimits,
    /// Unused by plugins today; kept because generated bindings may expect a table.
    _table: ResourceTable,
}

fn store_limits(memory_bytes: usize) -> StoreLimits {
    StoreLimitsBuilder::new()
        .memory_size(memory_bytes)
        .instances(4)
        .tables(16)
        .memories(4)
        .trap_on_grow_failure(true)
        .build()
}

/// Why a plugin call produced no answer. Deterministic for deterministic causes: the same
/// entry runs out of fuel or memory at the same point on every replica whose instance has the
/// same call history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Fault {
    /// The call used up its fuel budget (an endless or too expensive computation).
    #[error("the plugin ran out of fuel (budget {0} units)")]
    OutOfFuel(u64),
    /// The plugin asked for more linear memory than the cap allows.
    #[error("the plugin exceeded its memory limit of {0} bytes")]
    MemoryLimit(usize),
    /// The plugin trapped (a panic, `unreachable`, out-of-bounds access, stack overflow...).
    #[error("the plugin trapped: {0}")]
    Trap(String),
    /// An earlier fault killed this instance.
    #[error("the plugin instance is dead after an earlier fault")]
    Dead,
    /// The plugin does not export the front this call needs.
    #[error("the plugin has no {0} front")]
    NoFront(&'static str),
}

/// The exported interfaces of one instance.
struct Guests {
    machine: wit_machine::Guest,
    http: Option<wit_http::Guest>,
    console: Option<wit_console::Guest>,
}

/// An instantiated plugin.
pub struct Instance {
    store: Store<HostState>,
    guests: Guests,
    limits: Limits,
    dead: bool,
    /// Fuel the last call consumed, for metrics and for tests that calibrate budgets.
    last_fuel_used: u64,
    /// Size of the state as last seen by `restore` or `snapshot`, which scales the budget of
    /// the next whole-state call (see [`Limits::state_call_fuel`]).
    state_bytes: usize,
    /// Where every call's duration, fuel and fault are recorded (the node's metrics).
    calls: PluginCalls,
}

impl Instance {
    pub(super) fn new(
        engine: &Engine,
        plugin: &LoadedPlugin,
        limits: Limits,
    ) -> Result<Self, Fault> {
        let state = HostState {
            limits: store_limits(limits.memory_bytes),
            _table: ResourceTable::new(),
        };
        let mut store = Store::new(engine, state);
        store.limiter(|state| &mut state.limits);
        let fuel = limits.fuel_per_state_call;
        store
            .set_fuel(fuel)
            .map_err(|e| Fault::Trap(format!("{e:#}")))?;
        let exports = plugin.exports();
        let instance = exports
            .pre
            .instantiate(&mut store)
            .map_err(|e| classify(e, limits, fuel))?;
        let machine = exports
            .machine
            .load(&mut store, &instance)
            .map_err(|e| classify(e, limits, fuel))?;
        let http = match &exports.http {
            Some(indices) => Some(
                indices
                    .load(&mut store, &instance)
                    .map_err(|e| classify(e, limits, fuel))?,
            ),
            None => None,
        };
        let console = match &exports.console {
            Some(indices) => Some(
                indices
                    .load(&mut store, &instance)
                    .map_err(|e| classify(e, limits, fuel))?,
            ),
            None => None,
        };
        Ok(Instance {
            store,
            guests: Guests {
                machine,
                http,
                console,
            },
            limits,
            dead: false,
            last_fuel_used: 0,
            state_bytes: 0,
            calls: plugin.calls().clone(),
        })
    }

    /// Fuel consumed by the most recent call (its whole budget if it ran out).
    pub fn last_fuel_used(&self) -> u64 {
        self.last_fuel_used
    }

    /// True once a fault has made this instance unusable.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// The limits calls run under now.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Changes the fuel budgets and the memory cap for later calls. (The stack limit belongs to
    /// the engine: changing it needs a new instance.)
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
        self.store.data_mut().limits = store_limits(limits.memory_bytes);
    }

    /// Runs one export with `fuel`, recording its duration and fuel (two clock reads and a few
    /// atomic adds: small beside the cheapest plugin call).
    fn call<T>(
        &mut self,
        kind: CallKind,
        fuel: u64,
        f: impl FnOnce(&Guests, &mut Store<HostState>) -> wasmtime::Result<T>,
    ) -> Result<T, Fault> {
        if self.dead {
            return Err(Fault::Dead);
        }
        if let Err(e) = self.store.set_fuel(fuel) {
            return Err(Fault::Trap(format!("cannot set fuel: {e:#}")));
        }
        let started = std::time::Instant::now();
        let outcome = f(&self.guests, &mut self.store);
        self.last_fuel_used = fuel.saturating_sub(self.store.get_fuel().unwrap_or(0));
        self.calls
            .observe(kind, started.elapsed(), self.last_fuel_used);
        match outcome {
            Ok(value) => Ok(value),
            Err(error) => {
                self.dead = true;
                let fault = classify(error, self.limits, fuel);
                self.calls.trapped(kind, fault_cause(&fault));
                Err(fault)
            }
        }
    }

    /// `machine.info`.
    pub fn info(&mut self) -> Result<PluginInfo, Fault> {
        let fuel = self.limits.fuel_per_call;
        let info = self.call(CallKind::Info, fuel, |me, s| me.machine.call_info(s))?;
        Ok(PluginInfo {
            name: info.name,
            version: info.version,
            snapshot_format: info.snapshot_format,
            min_restore_format: info.min_restore_format,
            description: info.description,
        })
    }

    /// `machine.apply`.
    pub fn apply(&mut self, ctx: LogContext, command: &[u8]) -> Result<Applied, Fault> {
        let fuel = self.limits.fuel_per_call;
        let ctx = wit_machine::LogContext {
            index: ctx.index,
            term: ctx.term,
            time_ms: ctx.time_ms,
        };
        let applied = self.call(CallKind::Apply, fuel, |me, s| {
            me.machine.call_apply(s, ctx, command)
        })?;
        Ok(Applied {
            result: applied.result,
            topics: applied.topics,
            next_deadline: applied.next_deadline,
        })
    }

    /// `machine.query`.
    pub fn query(
        &mut self,
        now_ms: u64,
        request: &[u8],
    ) -> Result<Result<Vec<u8>, Vec<u8>>, Fault> {
        let fuel = self.limits.fuel_per_call;
        self.call(CallKind::Query, fuel, |me, s| {
            me.machine.call_query(s, now_ms, request)
        })
    }

    /// `machine.snapshot`.
    pub fn snapshot(&mut self) -> Result<Vec<u8>, Fault> {
        let fuel = self.limits.state_call_fuel(self.state_bytes);
        let bytes = self.call(CallKind::Snapshot, fuel, |me, s| {
            me.machine.call_snapshot(s)
        })?;
        self.state_bytes = bytes.len();
        Ok(bytes)
    }

    /// `machine.restore`: `Ok(Ok(next_deadline))`, or `Ok(Err(reason))` when the plugin
    /// refuses the bytes.
    pub fn restore(&mut self, snapshot: &[u8]) -> Result<Result<Option<u64>, String>, Fault> {
        let fuel = self.limits.state_call_fuel(snapshot.len());
        self.state_bytes = snapshot.len();
        self.call(CallKind::Restore, fuel, |me, s| {
            me.machine.call_restore(s, snapshot)
        })
    }

    /// `machine.describe`: one line about a command, with its result when known.
    pub fn describe(
        &mut self,
        command: &[u8],
        result: Option<&Result<Vec<u8>, Vec<u8>>>,
    ) -> Result<String, Fault> {
        let fuel = self.limits.fuel_per_call;
        let result = result.map(|r| r.as_ref().map(Vec::as_slice).map_err(Vec::as_slice));
        self.call(CallKind::Describe, fuel, |me, s| {
            me.machine.call_describe(s, command, result)
        })
    }

    /// Which fronts this instance has.
    pub fn fronts(&self) -> Fronts {
        Fronts {
            http: self.guests.http.is_some(),
            console: self.guests.console.is_some(),
        }
    }

    /// `http.route`.
    pub fn route(&mut self, request: &HttpRequest) -> Result<RouteAction, Fault> {
        if self.guests.http.is_none() {
            return Err(Fault::NoFront("http"));
        }
        let fuel = self.limits.fuel_per_call;
        let request = to_wit_request(request);
        let action = self.call(CallKind::Route, fuel, |me, s| match &me.http {
            Some(http) => http.call_route(s, &request),
            None => Err(wasmtime::format_err!("no http front")),
        })?;
        Ok(match action {
            wit_http::Action::Respond(r) => RouteAction::Respond(from_wit_response(r)),
            wit_http::Action::Read(q) => RouteAction::Read(q),
            wit_http::Action::Write(c) => RouteAction::Write(c),
            wit_http::Action::Watch(w) => RouteAction::Watch(WatchRequest {
                topic: w.topic,
                query: w.query,
                event: w.event,
            }),
        })
    }

    /// `http.render`.
    pub fn render(
        &mut self,
        request: &HttpRequest,
        outcome: &Outcome,
    ) -> Result<HttpResponse, Fault> {
        if self.guests.http.is_none() {
            return Err(Fault::NoFront("http"));
        }
        let fuel = self.limits.fuel_per_call;
        let request = to_wit_request(request);
        let outcome = match outcome {
            Outcome::Written(result) => wit_http::Outcome::Written(result.clone()),
            Outcome::Read(query) => wit_http::Outcome::Read(query.clone()),
            Outcome::Unavailable(reason) => wit_http::Outcome::Unavailable(reason.clone()),
        };
        let response = self.call(CallKind::Render, fuel, |me, s| match &me.http {
            Some(http) => http.call_render(s, &request, &outcome),
            None => Err(wasmtime::format_err!("no http front")),
        })?;
        Ok(from_wit_response(response))
    }

    fn console_front(&self) -> Result<(), Fault> {
        match self.guests.console {
            Some(_) => Ok(()),
            None => Err(Fault::NoFront("console")),
        }
    }

    /// `console.parse`: `None` when the plugin does not know the command.
    pub fn console_parse(&mut self, line: &ConsoleLine) -> Result<Option<ConsoleAction>, Fault> {
        self.console_front()?;
        let fuel = self.limits.fuel_per_call;
        let line = to_wit_line(line);
        let action = self.call(CallKind::Console, fuel, |me, s| match &me.console {
            Some(console) => console.call_parse(s, &line),
            None => Err(wasmtime::format_err!("no console front")),
        })?;
        Ok(action.map(|a| match a {
            wit_console::Action::Read(q) => ConsoleAction::Read(q),
            wit_console::Action::Write(c) => ConsoleAction::Write(c),
            wit_console::Action::Print(t) => ConsoleAction::Print(t),
        }))
    }

    /// `console.render`.
    pub fn console_render(
        &mut self,
        line: &ConsoleLine,
        outcome: &Outcome,
    ) -> Result<String, Fault> {
        self.console_front()?;
        let fuel = self.limits.fuel_per_call;
        let line = to_wit_line(line);
        let outcome = to_wit_console_outcome(outcome);
        self.call(CallKind::Console, fuel, |me, s| match &me.console {
            Some(console) => console.call_render(s, &line, &outcome),
            None => Err(wasmtime::format_err!("no console front")),
        })
    }

    /// `console.help`.
    pub fn console_help(&mut self, mode: ConsoleMode) -> Result<String, Fault> {
        self.console_front()?;
        let fuel = self.limits.fuel_per_call;
        self.call(CallKind::Console, fuel, |me, s| match &me.console {
            Some(console) => console.call_help(s, to_wit_mode(mode)),
            None => Err(wasmtime::format_err!("no console front")),
        })
    }

    /// `console.overview`: the query whose rendering the console shows.
    pub fn overview(&mut self, mode: ConsoleMode) -> Result<Option<Vec<u8>>, Fault> {
        self.console_front()?;
        let fuel = self.limits.fuel_per_call;
        self.call(CallKind::Console, fuel, |me, s| match &me.console {
            Some(console) => console.call_overview(s, to_wit_mode(mode)),
            None => Err(wasmtime::format_err!("no console front")),
        })
    }

    /// `console.render-overview`.
    pub fn render_overview(
        &mut self,
        mode: ConsoleMode,
        outcome: &Outcome,
    ) -> Result<String, Fault> {
        self.console_front()?;
        let fuel = self.limits.fuel_per_call;
        let outcome = to_wit_console_outcome(outcome);
        self.call(CallKind::Console, fuel, |me, s| match &me.console {
            Some(console) => console.call_render_overview(s, to_wit_mode(mode), &outcome),
            None => Err(wasmtime::format_err!("no console front")),
        })
    }
}

/// The `cause` label of a fault in the metrics: a fixed word per kind of fault.
fn fault_cause(fault: &Fault) -> &'static str {
    match fault {
        Fault::OutOfFuel(_) => "out_of_fuel",
        Fault::MemoryLimit(_) => "memory_limit",
        Fault::Trap(_) => "trap",
        Fault::Dead => "dead",
        Fault::NoFront(_) => "no_front",
    }
}

/// Names the cause of a failed call.
pub(super) fn classify(error: wasmtime::Error, limits: Limits, fuel: u64) -> Fault {
    let trap = error.downcast_ref::<Trap>().copied();
    if trap == Some(Trap::OutOfFuel) {
        return Fault::OutOfFuel(fuel);
    }
    let text = format!("{error:#}");
    if text.contains("growing memory") || text.contains("memory minimum size") {
        return Fault::MemoryLimit(limits.memory_bytes);
    }
    // Name the trap itself ("wasm `unreachable` instruction executed"), not the backtrace that
    // wraps it: backtraces are long, and identical replicas print them anyway.
    match trap {
        Some(trap) => Fault::Trap(trap.to_string()),
        None => Fault::Trap(error.root_cause().to_string()),
    }
}

fn to_wit_mode(mode: ConsoleMode) -> wit_console::Mode {
    match mode {
        ConsoleMode::Demo => wit_console::Mode::Demo,
        ConsoleMode::Dev => wit_console::Mode::Dev,
    }
}

fn to_wit_line(line: &ConsoleLine) -> wit_console::Line {
    wit_console::Line {
        text: line.text.clone(),
        mode: to_wit_mode(line.mode),
        entropy: line.entropy.to_vec(),
    }
}

fn to_wit_console_outcome(outcome: &Outcome) -> wit_console::Outcome {
    match outcome {
        Outcome::Written(result) => wit_console::Outcome::Written(result.clone()),
        Outcome::Read(query) => wit_console::Outcome::Read(query.clone()),
        Outcome::Unavailable(reason) => wit_console::Outcome::Unavailable(reason.clone()),
    }
}

fn to_wit_request(request: &HttpRequest) -> wit_http::Request {
    wit_http::Request {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        headers: request.headers.clone(),
        body: request.body.clone(),
        role: request.role.clone(),
        entropy: request.entropy.to_vec(),
        now_ms: request.now_ms,
    }
}

fn from_wit_response(response: wit_http::Response) -> HttpResponse {
    HttpResponse {
        status: response.status,
        headers: response.headers,
        body: response.body,
    }
}
