//! One live plugin instance: a `Store` with its fuel and memory limits, and a typed method per
//! export of the plugin world.
//!
//! A trap leaves a component instance unusable (its invariants may be half-updated), so after
//! the first [`Fault`] every later call answers [`Fault::Dead`] and the owner must build a new
//! instance (see `raft::state_machine` for how the replicated state is rebuilt).

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder, Trap};

use super::bindings::exports::reservoir::plugin::front as wit;
use super::bindings::exports::reservoir::plugin::machine as wit_machine;
use super::bindings::{Plugin, PluginPre};
use super::runtime::Limits;
use super::types::*;

/// Per-store host data: only the memory limiter (plugins import nothing).
pub struct HostState {
    limits: StoreLimits,
    /// Unused by plugins today; kept because generated bindings may expect a table.
    _table: ResourceTable,
}

/// Why a plugin call produced no answer. Deterministic for deterministic causes: the same
/// entry runs out of fuel or memory at the same point on every replica.
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
}

/// An instantiated plugin. Not shared across threads: callers wrap it in a lock.
pub struct Instance {
    store: Store<HostState>,
    bindings: Plugin,
    limits: Limits,
    dead: bool,
    /// Fuel the last call consumed, for metrics and for tests that calibrate budgets.
    last_fuel_used: u64,
}

impl Instance {
    pub(super) fn from_pre(
        engine: &Engine,
        pre: &PluginPre<HostState>,
        limits: Limits,
    ) -> Result<Self, Fault> {
        let state = HostState {
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .instances(4)
                .tables(16)
                .memories(4)
                .trap_on_grow_failure(true)
                .build(),
            _table: ResourceTable::new(),
        };
        let mut store = Store::new(engine, state);
        store.limiter(|state| &mut state.limits);
        store
            .set_fuel(limits.fuel_per_state_call)
            .map_err(|e| Fault::Trap(format!("{e:#}")))?;
        let bindings = pre
            .instantiate(&mut store)
            .map_err(|e| classify(e, limits, limits.fuel_per_state_call))?;
        Ok(Instance {
            store,
            bindings,
            limits,
            dead: false,
            last_fuel_used: 0,
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

    fn call<T>(
        &mut self,
        fuel: u64,
        f: impl FnOnce(&Plugin, &mut Store<HostState>) -> wasmtime::Result<T>,
    ) -> Result<T, Fault> {
        if self.dead {
            return Err(Fault::Dead);
        }
        if let Err(e) = self.store.set_fuel(fuel) {
            return Err(Fault::Trap(format!("cannot set fuel: {e:#}")));
        }
        let outcome = f(&self.bindings, &mut self.store);
        self.last_fuel_used = fuel.saturating_sub(self.store.get_fuel().unwrap_or(0));
        match outcome {
            Ok(value) => Ok(value),
            Err(error) => {
                self.dead = true;
                Err(classify(error, self.limits, fuel))
            }
        }
    }

    /// `machine.info`.
    pub fn info(&mut self) -> Result<PluginInfo, Fault> {
        let fuel = self.limits.fuel_per_call;
        let info = self.call(fuel, |b, s| b.reservoir_plugin_machine().call_info(s))?;
        Ok(PluginInfo {
            name: info.name,
            version: info.version,
            snapshot_format: info.snapshot_format,
            min_restore_format: info.min_restore_format,
            description: info.description,
        })
    }

    /// `machine.apply`: `Ok(Ok(bytes))` applied, `Ok(Err(bytes))` refused by the rules.
    pub fn apply(
        &mut self,
        ctx: LogContext,
        command: &[u8],
    ) -> Result<Result<Vec<u8>, Vec<u8>>, Fault> {
        let fuel = self.limits.fuel_per_call;
        let ctx = wit_machine::LogContext {
            index: ctx.index,
            term: ctx.term,
            leader_time_ms: ctx.leader_time_ms,
        };
        self.call(fuel, |b, s| {
            b.reservoir_plugin_machine().call_apply(s, ctx, command)
        })
    }

    /// `machine.next-deadline`: the leader time at which the state has something timed to do.
    pub fn next_deadline(&mut self) -> Result<Option<u64>, Fault> {
        let fuel = self.limits.fuel_per_call;
        self.call(fuel, |b, s| {
            b.reservoir_plugin_machine().call_next_deadline(s)
        })
    }

    /// `machine.query`.
    pub fn query(
        &mut self,
        now_ms: u64,
        request: &[u8],
    ) -> Result<Result<Vec<u8>, Vec<u8>>, Fault> {
        let fuel = self.limits.fuel_per_call;
        self.call(fuel, |b, s| {
            b.reservoir_plugin_machine().call_query(s, now_ms, request)
        })
    }

    /// `machine.snapshot`.
    pub fn snapshot(&mut self) -> Result<Vec<u8>, Fault> {
        let fuel = self.limits.fuel_per_state_call;
        self.call(fuel, |b, s| b.reservoir_plugin_machine().call_snapshot(s))
    }

    /// `machine.restore`: `Ok(Err(reason))` when the plugin refuses the bytes.
    pub fn restore(&mut self, snapshot: &[u8]) -> Result<Result<(), String>, Fault> {
        let fuel = self.limits.fuel_per_state_call;
        self.call(fuel, |b, s| {
            b.reservoir_plugin_machine().call_restore(s, snapshot)
        })
    }

    /// `front.route`.
    pub fn route(&mut self, request: &HttpRequest) -> Result<RouteAction, Fault> {
        let fuel = self.limits.fuel_per_call;
        let request = to_wit_request(request);
        let action = self.call(fuel, |b, s| {
            b.reservoir_plugin_front().call_route(s, &request)
        })?;
        Ok(match action {
            wit::RouteAction::Read(q) => RouteAction::Read(q),
            wit::RouteAction::Write(c) => RouteAction::Write(c),
            wit::RouteAction::Respond(r) => RouteAction::Respond(from_wit_response(r)),
            wit::RouteAction::Watch(w) => RouteAction::Watch(WatchRequest {
                topic: w.topic,
                query: w.query,
                event: w.event,
            }),
        })
    }

    /// `front.render`.
    pub fn render(
        &mut self,
        request: &HttpRequest,
        outcome: &Outcome,
    ) -> Result<HttpResponse, Fault> {
        let fuel = self.limits.fuel_per_call;
        let request = to_wit_request(request);
        let outcome = to_wit_outcome(outcome);
        let response = self.call(fuel, |b, s| {
            b.reservoir_plugin_front()
                .call_render(s, &request, &outcome)
        })?;
        Ok(from_wit_response(response))
    }

    /// `front.console`: `None` when the plugin does not know the command.
    pub fn console(
        &mut self,
        line: &str,
        mode: ConsoleMode,
    ) -> Result<Option<ConsoleAction>, Fault> {
        let fuel = self.limits.fuel_per_call;
        let action = self.call(fuel, |b, s| {
            b.reservoir_plugin_front()
                .call_console(s, line, to_wit_mode(mode))
        })?;
        Ok(action.map(|a| match a {
            wit::ConsoleAction::Read(q) => ConsoleAction::Read(q),
            wit::ConsoleAction::Write(c) => ConsoleAction::Write(c),
            wit::ConsoleAction::Print(t) => ConsoleAction::Print(t),
        }))
    }

    /// `front.console-render`.
    pub fn console_render(
        &mut self,
        line: &str,
        mode: ConsoleMode,
        outcome: &Outcome,
    ) -> Result<String, Fault> {
        let fuel = self.limits.fuel_per_call;
        let outcome = to_wit_outcome(outcome);
        self.call(fuel, |b, s| {
            b.reservoir_plugin_front()
                .call_console_render(s, line, to_wit_mode(mode), &outcome)
        })
    }

    /// `front.console-help`.
    pub fn console_help(&mut self, mode: ConsoleMode) -> Result<String, Fault> {
        let fuel = self.limits.fuel_per_call;
        self.call(fuel, |b, s| {
            b.reservoir_plugin_front()
                .call_console_help(s, to_wit_mode(mode))
        })
    }

    /// `front.overview`: the query whose rendering the console shows.
    pub fn overview(&mut self, mode: ConsoleMode) -> Result<Option<Vec<u8>>, Fault> {
        let fuel = self.limits.fuel_per_call;
        self.call(fuel, |b, s| {
            b.reservoir_plugin_front()
                .call_overview(s, to_wit_mode(mode))
        })
    }

    /// `front.render-overview`.
    pub fn render_overview(
        &mut self,
        mode: ConsoleMode,
        outcome: &Outcome,
    ) -> Result<String, Fault> {
        let fuel = self.limits.fuel_per_call;
        let outcome = to_wit_outcome(outcome);
        self.call(fuel, |b, s| {
            b.reservoir_plugin_front()
                .call_render_overview(s, to_wit_mode(mode), &outcome)
        })
    }

    /// `front.describe`: one line about a command, with its result when known.
    pub fn describe(
        &mut self,
        command: &[u8],
        result: Option<&Result<Vec<u8>, Vec<u8>>>,
    ) -> Result<String, Fault> {
        let fuel = self.limits.fuel_per_call;
        let result = result.map(|r| r.as_ref().map(Vec::as_slice).map_err(Vec::as_slice));
        self.call(fuel, |b, s| {
            b.reservoir_plugin_front().call_describe(s, command, result)
        })
    }

    /// `front.topics`: which watch streams a committed command wakes.
    pub fn topics(
        &mut self,
        command: &[u8],
        answer: &Result<Vec<u8>, Vec<u8>>,
    ) -> Result<Vec<String>, Fault> {
        let fuel = self.limits.fuel_per_call;
        let answer = answer.as_ref().map(Vec::as_slice).map_err(Vec::as_slice);
        self.call(fuel, |b, s| {
            b.reservoir_plugin_front().call_topics(s, command, answer)
        })
    }
}

/// Names the cause of a failed call.
fn classify(error: wasmtime::Error, limits: Limits, fuel: u64) -> Fault {
    let trap = error.downcast_ref::<Trap>().copied();
    if trap == Some(Trap::OutOfFuel) {
        return Fault::OutOfFuel(fuel);
    }
    let text = format!("{error:#}");
    if text.contains("growing memory") {
        return Fault::MemoryLimit(limits.memory_bytes);
    }
    // Name the trap itself ("wasm `unreachable` instruction executed"), not the backtrace that
    // wraps it: backtraces are long, and identical replicas print them anyway.
    match trap {
        Some(trap) => Fault::Trap(trap.to_string()),
        None => Fault::Trap(error.root_cause().to_string()),
    }
}

fn to_wit_mode(mode: ConsoleMode) -> wit::ConsoleMode {
    match mode {
        ConsoleMode::Demo => wit::ConsoleMode::Demo,
        ConsoleMode::Dev => wit::ConsoleMode::Dev,
    }
}

fn to_wit_request(request: &HttpRequest) -> wit::HttpRequest {
    wit::HttpRequest {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        headers: request.headers.clone(),
        body: request.body.clone(),
    }
}

fn to_wit_outcome(outcome: &Outcome) -> wit::Outcome {
    match outcome {
        Outcome::Finished(result) => wit::Outcome::Finished(result.clone()),
        Outcome::Unavailable(reason) => wit::Outcome::Unavailable(reason.clone()),
    }
}

fn from_wit_response(response: wit::HttpResponse) -> HttpResponse {
    HttpResponse {
        status: response.status,
        headers: response.headers,
        body: response.body,
    }
}
