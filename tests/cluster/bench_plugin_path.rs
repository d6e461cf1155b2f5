//! Benchmark (release build, ignored by default): what one booking costs in the plugin, as
//! WebAssembly through the host's runtime (fuel metering, component lifting and lowering) and
//! as the same rules compiled natively, in one process and one run:
//! `cargo test --release -p host --test cluster plugin_path -- --ignored --nocapture`.
//!
//! Both sides run the same flow a node runs for an HTTP booking: `http.route` turns the request
//! into a command, `machine.apply` applies it, `http.render` renders the result. Every booking
//! is a fresh seat (distinct customers, 240 seats per showtime), so the state grows through the
//! run as it does under load.

use std::time::{Duration, Instant};

use guest_seat_logic as native;
use host::plugin::{
    HttpRequest, HttpResponse, Instance, Limits, LogContext, Outcome, PluginImage, RouteAction,
    Runtime,
};

use crate::util::seat_plugin;

/// Bookings per side.
const BOOKINGS: u32 = 20_000;
const ROWS: u8 = 12;
const SEATS_PER_ROW: u32 = 20;

/// One way to run the plugin's calls.
trait PluginPath {
    /// `http.route`: the command to replicate, or the response when there is none.
    fn route(&mut self, request: &HttpRequest) -> Result<Vec<u8>, (u16, Vec<u8>)>;
    /// `machine.apply`.
    fn apply(&mut self, ctx: LogContext, command: &[u8]) -> Result<Vec<u8>, Vec<u8>>;
    /// `http.render` of a write's result: status and body.
    fn render(&mut self, request: &HttpRequest, result: Result<Vec<u8>, Vec<u8>>)
        -> (u16, Vec<u8>);
}

/// The component, through the host's runtime.
struct Wasm(Instance);

impl PluginPath for Wasm {
    fn route(&mut self, request: &HttpRequest) -> Result<Vec<u8>, (u16, Vec<u8>)> {
        match self.0.route(request).expect("route") {
            RouteAction::Write(command) => Ok(command),
            RouteAction::Respond(HttpResponse { status, body, .. }) => Err((status, body)),
            other => panic!("unexpected action {other:?}"),
        }
    }

    fn apply(&mut self, ctx: LogContext, command: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        self.0.apply(ctx, command).expect("apply").result
    }

    fn render(
        &mut self,
        request: &HttpRequest,
        result: Result<Vec<u8>, Vec<u8>>,
    ) -> (u16, Vec<u8>) {
        let response = self
            .0
            .render(request, &Outcome::Written(result))
            .expect("render");
        (response.status, response.body)
    }
}

/// The same rules compiled into this test.
struct Native(native::Machine);

fn native_request(request: &HttpRequest) -> native::contract::HttpRequest {
    native::contract::HttpRequest {
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

impl PluginPath for Native {
    fn route(&mut self, request: &HttpRequest) -> Result<Vec<u8>, (u16, Vec<u8>)> {
        match native::http::route(&native_request(request)) {
            native::contract::HttpAction::Write(command) => Ok(command),
            native::contract::HttpAction::Respond(r) => Err((r.status, r.body)),
            _ => panic!("unexpected action"),
        }
    }

    fn apply(&mut self, ctx: LogContext, command: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        let ctx = native::contract::LogContext {
            index: ctx.index,
            term: ctx.term,
            time_ms: ctx.time_ms,
        };
        self.0.apply(&ctx, command).result
    }

    fn render(
        &mut self,
        request: &HttpRequest,
        result: Result<Vec<u8>, Vec<u8>>,
    ) -> (u16, Vec<u8>) {
        let response = native::http::render(
            &self.0,
            &native_request(request),
            native::contract::Outcome::Written(result),
        );
        (response.status, response.body)
    }
}

fn request(path: &str, body: serde_json::Value, admin: bool, n: u32) -> HttpRequest {
    let mut entropy = [0u8; 32];
    entropy[..4].copy_from_slice(&n.to_le_bytes());
    HttpRequest {
        method: "POST".into(),
        path: path.into(),
        query: String::new(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
        role: admin.then(|| "admin".to_string()),
        entropy,
        now_ms: 1_800_000_000_000,
    }
}

/// Time spent in each call over the run.
#[derive(Default)]
struct Spent {
    route: Duration,
    apply: Duration,
    render: Duration,
}

/// Routes, applies and renders one request; the response's status and body.
fn run_one(
    path: &mut dyn PluginPath,
    request: &HttpRequest,
    index: &mut u64,
    spent: &mut Spent,
) -> (u16, Vec<u8>) {
    let started = Instant::now();
    let command = match path.route(request) {
        Ok(command) => command,
        Err((status, body)) => panic!(
            "route answered {status}: {}",
            String::from_utf8_lossy(&body)
        ),
    };
    let routed = Instant::now();
    *index += 1;
    let ctx = LogContext {
        index: *index,
        term: 1,
        time_ms: 1_800_000_000_000 + *index,
    };
    let result = path.apply(ctx, &command);
    let applied = Instant::now();
    let response = path.render(request, result);
    spent.route += routed - started;
    spent.apply += applied - routed;
    spent.render += applied.elapsed();
    response
}

/// The whole flow on one side: a theater, the showtimes, then `bookings` bookings by `users`
/// customers.
fn measure(path: &mut dyn PluginPath, bookings: u32, users: u32) -> Spent {
    let mut index = 0;
    let mut setup = Spent::default();
    let rows: Vec<_> = (0..ROWS)
        .map(|r| serde_json::json!({"row": ((b'a' + r) as char).to_string(), "seats": SEATS_PER_ROW}))
        .collect();
    let theater = request(
        "/api/theaters",
        serde_json::json!({"name": "Bench hall", "location": "bench", "rows": rows}),
        true,
        0,
    );
    let (status, body) = run_one(path, &theater, &mut index, &mut setup);
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let theater: serde_json::Value = serde_json::from_slice(&body).expect("theater json");
    let theater_id = theater["id"].as_u64().expect("theater id");
    let per_showtime = u32::from(ROWS) * SEATS_PER_ROW;
    let showtimes = bookings.div_ceil(per_showtime);
    for s in 0..showtimes {
        let body = serde_json::json!({"id": 5000 + s, "movie_id": 1, "theater_id": theater_id,
            "starts_at": "2027-01-31T20:00:00Z", "price_cents": 1000});
        let (status, body) = run_one(
            path,
            &request("/api/showtimes", body, true, s),
            &mut index,
            &mut setup,
        );
        assert_eq!(
            status,
            201,
            "showtime {s}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let mut spent = Spent::default();
    for n in 0..bookings {
        let showtime = 5000 + n / per_showtime;
        let seat = n % per_showtime;
        let row = (b'a' + (seat / SEATS_PER_ROW) as u8) as char;
        let body = serde_json::json!({"seats": [format!("{row}{}", seat % SEATS_PER_ROW + 1)],
            "user": format!("u{}", n % users.max(1))});
        let path_ = format!("/api/showtimes/{showtime}/bookings");
        let (status, body) = run_one(
            path,
            &request(&path_, body, false, n),
            &mut index,
            &mut spent,
        );
        assert_eq!(
            status,
            201,
            "booking {n}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    spent
}

fn per_call(total: Duration) -> f64 {
    total.as_secs_f64() * 1e6 / f64::from(BOOKINGS)
}

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn plugin_path_benchmark() {
    let runtime = Runtime::new();
    let image = PluginImage::new(std::fs::read(seat_plugin()).expect("plugins/seat.wasm"));
    let limits = Limits::default();
    let plugin = runtime.load(&image, limits.stack_bytes).expect("load");
    let mut wasm = Wasm(plugin.instantiate(limits).expect("instantiate"));
    let mut native = Native(native::Machine::new());
    let sides: [(&str, &mut dyn PluginPath); 2] = [("wasm", &mut wasm), ("native", &mut native)];
    let mut figures = Vec::new();
    for (name, side) in sides {
        let spent = measure(side, BOOKINGS, BOOKINGS);
        figures.push((name, spent));
    }
    for (name, spent) in &figures {
        println!(
            "PLUGIN {name} bookings={BOOKINGS} route_us={:.2} apply_us={:.2} render_us={:.2} total_us={:.2}",
            per_call(spent.route),
            per_call(spent.apply),
            per_call(spent.render),
            per_call(spent.route + spent.apply + spent.render)
        );
    }
    let total = |s: &Spent| (s.route + s.apply + s.render).as_secs_f64();
    println!(
        "PLUGIN wasm/native = {:.2} (route {:.2}, apply {:.2}, render {:.2})",
        total(&figures[0].1) / total(&figures[1].1),
        figures[0].1.route.as_secs_f64() / figures[1].1.route.as_secs_f64(),
        figures[0].1.apply.as_secs_f64() / figures[1].1.apply.as_secs_f64(),
        figures[0].1.render.as_secs_f64() / figures[1].1.render.as_secs_f64(),
    );
}

/// Benchmark (release build, ignored by default): how long a rebuild from snapshot bytes takes
/// (what every base point and every restart pays), in the component and natively, for a state
/// of `RESTORE_BOOKINGS` (default 300,000) one-seat bookings by 64 customers, as the fill
/// benchmark makes:
/// `cargo test --release -p host --test cluster restore_benchmark -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn restore_benchmark() {
    let bookings: u32 = std::env::var("RESTORE_BOOKINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let mut native = Native(native::Machine::new());
    measure(&mut native, bookings, 64);
    let started = Instant::now();
    let bytes = native.0.snapshot();
    let native_snapshot = started.elapsed();

    let runtime = Runtime::new();
    let image = PluginImage::new(std::fs::read(seat_plugin()).expect("plugins/seat.wasm"));
    let limits = Limits::default();
    let plugin = runtime.load(&image, limits.stack_bytes).expect("load");
    let started = Instant::now();
    let mut wasm = plugin.instantiate(limits).expect("instantiate");
    wasm.restore(&bytes).expect("call").expect("restored");
    let wasm_restore = started.elapsed();
    let started = Instant::now();
    let written = wasm.snapshot().expect("snapshot");
    let wasm_snapshot = started.elapsed();
    assert_eq!(written, bytes, "the component writes back what it restored");

    let started = Instant::now();
    let mut again = native::Machine::new();
    again.restore(&bytes).expect("restored natively");
    let native_restore = started.elapsed();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "RESTORE bookings={bookings} bytes={} wasm_restore_ms={:.0} native_restore_ms={:.0} \
         wasm_snapshot_ms={:.0} native_snapshot_ms={:.0} restore_wasm/native={:.2}",
        bytes.len(),
        ms(wasm_restore),
        ms(native_restore),
        ms(wasm_snapshot),
        ms(native_snapshot),
        wasm_restore.as_secs_f64() / native_restore.as_secs_f64()
    );
}
