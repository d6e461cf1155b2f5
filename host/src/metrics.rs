//! The node's Prometheus metrics, served at `GET /metrics` (operator role) in the OpenMetrics
//! text format.
//!
//! One [`Metrics`] is made per node in `Node::start` and handed, piece by piece, to the parts
//! that observe: the plugin runtime gets [`PluginCalls`], the durable log gets [`LogFlush`], the
//! snapshot store gets [`Snapshots`], the HTTP server counts into [`Http`], the node itself
//! times writes and follows openraft's metrics watch into [`RaftGauges`]. Every part keeps a
//! default, unregistered set when nobody hands it one (unit tests, tools), so instrumentation
//! never needs an `Option` check.
//!
//! Why hand-rolled histograms rather than `prometheus_client::metrics::histogram::Histogram`:
//! the crate's histogram takes a mutex per observation; these take three relaxed atomic adds
//! after a binary search over a fixed, static bucket list, and never allocate. Counters and
//! gauges are the crate's own (they are plain atomics). Label sets are fixed at construction
//! (call kinds, status codes 100..=599): nothing a request sends ever becomes a label, so the
//! number of series is bounded. The only allocation is at scrape time, when the text is built.
//!
//! Durations are stored in nanoseconds and fuel in units, as `u64` sums; a sum wraps only after
//! 584 years of summed time or 1.8e19 fuel units.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

/// The `content-type` of [`Metrics::encode`]'s output (OpenMetrics 1.0 text).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Bucket bounds for request-scale latencies, in seconds (100 µs to 10 s).
const LATENCY_SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Bucket bounds for fsync durations, in seconds (10 µs to 1 s).
const FSYNC_SECONDS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0,
];

/// Bucket bounds for plugin call durations, in seconds (1 µs to 1 s).
const CALL_SECONDS: &[f64] = &[
    0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
    0.0025, 0.005, 0.01, 0.1, 1.0,
];

/// Bucket bounds for fuel per call, in fuel units (about one per wasm instruction).
const FUEL_UNITS: &[f64] = &[1e3, 1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7, 3e7, 1e8, 1e9, 1e10];

/// Bucket bounds for log entries per fsync.
const BATCH_ENTRIES: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0];

/// A histogram over fixed buckets: relaxed atomics only, no lock, no allocation per observation.
///
/// Values are observed as `u64` in a raw unit (nanoseconds, fuel units, entries) and shown in
/// the exposition unit (`raw * scale`). `_count` is the sum of the bucket counts read at scrape
/// time, so it always equals the `+Inf` bucket; `_sum` may lag one in-flight observation.
#[derive(Clone, Debug)]
pub struct Histogram {
    inner: Arc<HistogramInner>,
}

#[derive(Debug)]
struct HistogramInner {
    /// Upper bounds in the exposition unit, as shown in `le`.
    bounds: &'static [f64],
    /// The same bounds in the raw unit, for the search on the observing path.
    raw_bounds: Box<[u64]>,
    /// Exposition unit per raw unit.
    scale: f64,
    /// One count per bound, then the `+Inf` bucket (not cumulative).
    counts: Box<[AtomicU64]>,
    /// Sum of the observed raw values.
    sum: AtomicU64,
}

impl Histogram {
    /// A histogram with these bucket bounds (ascending, exposition unit) and `scale` exposition
    /// units per raw unit.
    fn new(bounds: &'static [f64], scale: f64) -> Self {
        let raw_bounds = bounds.iter().map(|b| (b / scale).round() as u64).collect();
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Histogram {
            inner: Arc::new(HistogramInner {
                bounds,
                raw_bounds,
                scale,
                counts,
                sum: AtomicU64::new(0),
            }),
        }
    }

    /// A histogram of durations in seconds.
    fn seconds(bounds: &'static [f64]) -> Self {
        Histogram::new(bounds, 1e-9)
    }

    /// Counts one value in the raw unit.
    pub fn observe(&self, raw: u64) {
        let inner = &*self.inner;
        let bucket = inner.raw_bounds.partition_point(|bound| *bound < raw);
        // `counts` has one slot more than `raw_bounds`, so `bucket` is always in range.
        if let Some(count) = inner.counts.get(bucket) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        inner.sum.fetch_add(raw, Ordering::Relaxed);
    }

    /// Counts one duration (for histograms in seconds).
    pub fn observe_duration(&self, elapsed: Duration) {
        self.observe(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
    }

    /// The number of observations so far.
    pub fn count(&self) -> u64 {
        self.inner
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}

impl EncodeMetric for Histogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), fmt::Error> {
        let inner = &*self.inner;
        let mut buckets = Vec::with_capacity(inner.counts.len());
        let mut count = 0u64;
        for (i, slot) in inner.counts.iter().enumerate() {
            let n = slot.load(Ordering::Relaxed);
            count += n;
            let bound = inner.bounds.get(i).copied().unwrap_or(f64::INFINITY);
            buckets.push((bound, n));
        }
        let sum = inner.sum.load(Ordering::Relaxed) as f64 * inner.scale;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// Histograms that differ by one label whose values are fixed at construction.
#[derive(Debug)]
struct Labeled {
    label: &'static str,
    series: Vec<(&'static str, Histogram)>,
}

impl EncodeMetric for Labeled {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), fmt::Error> {
        for (value, histogram) in &self.series {
            let labels = [(self.label, *value)];
            histogram.encode(encoder.encode_family(&labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// A gauge held up while its guard lives: an open connection, an open event stream.
#[derive(Debug)]
pub struct GaugeGuard(Gauge);

impl GaugeGuard {
    /// Raises `gauge` by one until the guard is dropped.
    pub fn hold(gauge: &Gauge) -> Self {
        gauge.inc();
        GaugeGuard(gauge.clone())
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Sets a gauge from an unsigned value (saturating: gauges are `i64`).
fn set(gauge: &Gauge, value: u64) {
    gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
}

/// The node's Raft view, copied from openraft's metrics watch by one background task (the
/// scrape reads atomics only).
#[derive(Clone, Debug, Default)]
pub struct RaftGauges {
    term: Gauge,
    is_leader: Gauge,
    leader_changes: Counter,
    commit_index: Gauge,
    applied_index: Gauge,
    last_log_index: Gauge,
    snapshot_index: Gauge,
    voters: Gauge,
    learners: Gauge,
}

/// What [`RaftGauges::update`] takes from openraft's metrics (kept free of openraft types).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RaftView {
    /// Current term.
    pub term: u64,
    /// This node leads.
    pub is_leader: bool,
    /// Highest index known committed.
    pub commit_index: u64,
    /// Last index applied by this node's state machine.
    pub applied_index: u64,
    /// Last index in this node's log.
    pub last_log_index: u64,
    /// Last index covered by this node's snapshot.
    pub snapshot_index: u64,
    /// Voting members.
    pub voters: u64,
    /// Non-voting members.
    pub learners: u64,
}

impl RaftGauges {
    /// Copies a new view into the gauges.
    pub fn update(&self, view: &RaftView) {
        set(&self.term, view.term);
        self.is_leader.set(i64::from(view.is_leader));
        set(&self.commit_index, view.commit_index);
        set(&self.applied_index, view.applied_index);
        set(&self.last_log_index, view.last_log_index);
        set(&self.snapshot_index, view.snapshot_index);
        set(&self.voters, view.voters);
        set(&self.learners, view.learners);
    }

    /// Counts one change of leader seen by this node.
    pub fn leader_changed(&self) {
        self.leader_changes.inc();
    }

    fn register(&self, registry: &mut Registry) {
        registry.register("raft_term", "Current Raft term", self.term.clone());
        registry.register(
            "raft_is_leader",
            "1 if this node is the Raft leader, else 0",
            self.is_leader.clone(),
        );
        registry.register(
            "raft_leader_changes",
            "Times this node saw a new leader (another node, or the same one in a later term)",
            self.leader_changes.clone(),
        );
        registry.register(
            "raft_commit_index",
            "Highest log index known committed",
            self.commit_index.clone(),
        );
        registry.register(
            "raft_applied_index",
            "Last log index applied by this node's state machine",
            self.applied_index.clone(),
        );
        registry.register(
            "raft_last_log_index",
            "Last log index present in this node's log",
            self.last_log_index.clone(),
        );
        registry.register(
            "raft_snapshot_index",
            "Last log index covered by this node's latest snapshot",
            self.snapshot_index.clone(),
        );
        registry.register(
            "raft_voters",
            "Voting members in the current membership",
            self.voters.clone(),
        );
        registry.register(
            "raft_learners",
            "Non-voting members (learners) in the current membership",
            self.learners.clone(),
        );
    }
}

/// The durable log's group commit: one fsync per batch of appends.
#[derive(Clone, Debug)]
pub struct LogFlush {
    /// Wall time of each fsync of the log journal.
    pub fsync: Histogram,
    /// Log entries made durable by each fsync.
    pub batch: Histogram,
}

impl Default for LogFlush {
    fn default() -> Self {
        LogFlush {
            fsync: Histogram::seconds(FSYNC_SECONDS),
            batch: Histogram::new(BATCH_ENTRIES, 1.0),
        }
    }
}

/// What kind of plugin call was timed: the label `call` of the plugin metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallKind {
    /// `machine.info`.
    Info,
    /// `machine.apply`: a committed entry.
    Apply,
    /// `machine.query`.
    Query,
    /// `machine.snapshot`.
    Snapshot,
    /// `machine.restore`.
    Restore,
    /// `machine.describe`.
    Describe,
    /// `http.route`.
    Route,
    /// `http.render`.
    Render,
    /// Any call of the console front (parse, render, help, overview).
    Console,
}

impl CallKind {
    /// Every kind, in label order.
    pub const ALL: [CallKind; 9] = [
        CallKind::Info,
        CallKind::Apply,
        CallKind::Query,
        CallKind::Snapshot,
        CallKind::Restore,
        CallKind::Describe,
        CallKind::Route,
        CallKind::Render,
        CallKind::Console,
    ];

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            CallKind::Info => "info",
            CallKind::Apply => "apply",
            CallKind::Query => "query",
            CallKind::Snapshot => "snapshot",
            CallKind::Restore => "restore",
            CallKind::Describe => "describe",
            CallKind::Route => "route",
            CallKind::Render => "render",
            CallKind::Console => "console",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Plugin calls by kind: duration, fuel, and calls that ended in a fault.
#[derive(Clone, Debug)]
pub struct PluginCalls {
    inner: Arc<PluginCallsInner>,
}

#[derive(Debug)]
struct PluginCallsInner {
    /// Indexed by [`CallKind::index`].
    durations: [Histogram; 9],
    /// Indexed by [`CallKind::index`].
    fuel: [Histogram; 9],
    /// Faults by call and cause; created on the (rare) fault path only.
    traps: Family<[(&'static str, &'static str); 2], Counter>,
}

impl Default for PluginCalls {
    fn default() -> Self {
        PluginCalls {
            inner: Arc::new(PluginCallsInner {
                durations: std::array::from_fn(|_| Histogram::seconds(CALL_SECONDS)),
                fuel: std::array::from_fn(|_| Histogram::new(FUEL_UNITS, 1.0)),
                traps: Family::default(),
            }),
        }
    }
}

impl PluginCalls {
    /// Records one finished call (a faulted one too).
    pub fn observe(&self, kind: CallKind, elapsed: Duration, fuel: u64) {
        if let Some(histogram) = self.inner.durations.get(kind.index()) {
            histogram.observe_duration(elapsed);
        }
        if let Some(histogram) = self.inner.fuel.get(kind.index()) {
            histogram.observe(fuel);
        }
    }

    /// Counts a call that ended in a fault; `cause` is one of a fixed few words.
    pub fn trapped(&self, kind: CallKind, cause: &'static str) {
        self.inner
            .traps
            .get_or_create(&[("call", kind.name()), ("cause", cause)])
            .inc();
    }

    /// Calls of `kind` recorded so far.
    pub fn count(&self, kind: CallKind) -> u64 {
        self.inner
            .durations
            .get(kind.index())
            .map_or(0, Histogram::count)
    }

    fn labeled(series: &[Histogram; 9]) -> Labeled {
        Labeled {
            label: "call",
            series: CallKind::ALL
                .iter()
                .zip(series)
                .map(|(kind, h)| (kind.name(), h.clone()))
                .collect(),
        }
    }

    fn register(&self, registry: &mut Registry) {
        registry.register_with_unit(
            "host_plugin_call_duration",
            "Wall time of plugin calls on every instance of this node (the replicated one and the local ones, which also apply each entry), by call kind",
            Unit::Seconds,
            Self::labeled(&self.inner.durations),
        );
        registry.register(
            "host_plugin_call_fuel",
            "Fuel (about one unit per wasm instruction) consumed per plugin call, by call kind",
            Self::labeled(&self.inner.fuel),
        );
        registry.register(
            "host_plugin_traps",
            "Plugin calls that ended in a fault (trap, out of fuel, memory limit), by call and cause",
            self.inner.traps.clone(),
        );
    }
}

/// Answers of the public HTTP listener.
#[derive(Clone, Debug)]
pub struct Http {
    responses: Arc<StatusCounts>,
    /// Open client connections.
    pub connections: Gauge,
    /// Open Server-Sent Event streams.
    pub event_streams: Gauge,
    /// Connections that ended in an error the plugin never saw (hyper's own 400/431 answers,
    /// header timeouts, TLS failures), by [`ConnectionError`].
    connection_errors: Family<[(&'static str, &'static str); 1], Counter>,
}

impl Default for Http {
    fn default() -> Self {
        // Every kind is exported from the start, at 0: a series that appears only on its first
        // error gives `rate()` and a scraper's "before" nothing to compare with.
        let connection_errors = Family::default();
        for kind in ConnectionError::ALL {
            drop(connection_errors.get_or_create(&[("kind", kind.name())]));
        }
        Http {
            responses: Arc::new(StatusCounts::default()),
            connections: Gauge::default(),
            event_streams: Gauge::default(),
            connection_errors,
        }
    }
}

/// Why a connection of the public listener ended in an error: the label `kind` of
/// `host_http_connection_errors_total` (a fixed set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionError {
    /// A request that could not be parsed (hyper answered 400 or 431 itself).
    Parse,
    /// The request head did not arrive within the header timeout.
    HeaderTimeout,
    /// The TLS handshake failed or timed out.
    Tls,
    /// The connection broke off mid-request or mid-answer.
    Io,
}

impl ConnectionError {
    /// Every kind, in label order.
    pub const ALL: [ConnectionError; 4] = [
        ConnectionError::Parse,
        ConnectionError::HeaderTimeout,
        ConnectionError::Tls,
        ConnectionError::Io,
    ];

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            ConnectionError::Parse => "parse",
            ConnectionError::HeaderTimeout => "header_timeout",
            ConnectionError::Tls => "tls",
            ConnectionError::Io => "io",
        }
    }
}

impl Http {
    /// Counts one answer with this status code.
    pub fn answered(&self, code: u16) {
        self.responses.count(code);
    }

    /// Counts a connection that ended in an error.
    pub fn connection_failed(&self, kind: ConnectionError) {
        self.connection_errors
            .get_or_create(&[("kind", kind.name())])
            .inc();
    }
}

/// One counter per status code 100..=599, plus one for anything else: a bounded label set.
#[derive(Debug)]
struct StatusCounts {
    counts: Box<[AtomicU64]>,
}

/// The lowest code counted on its own.
const FIRST_CODE: u16 = 100;
/// Codes counted on their own: 100..=599.
const CODES: usize = 500;

impl Default for StatusCounts {
    fn default() -> Self {
        StatusCounts {
            counts: (0..=CODES).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl StatusCounts {
    fn slot(code: u16) -> usize {
        match usize::from(code.wrapping_sub(FIRST_CODE)) {
            i if i < CODES => i,
            _ => CODES,
        }
    }

    fn count(&self, code: u16) {
        if let Some(count) = self.counts.get(Self::slot(code)) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl EncodeMetric for StatusCounts {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), fmt::Error> {
        for (i, slot) in self.counts.iter().enumerate() {
            let n = slot.load(Ordering::Relaxed);
            if n == 0 {
                continue;
            }
            let code = if i < CODES {
                (usize::from(FIRST_CODE) + i).to_string()
            } else {
                "other".to_string()
            };
            let labels = [("code", code.as_str())];
            encoder
                .encode_family(&labels)?
                .encode_counter::<NoLabelSet, _, u64>(&n, None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

/// Snapshots made current on this node.
#[derive(Clone, Debug, Default)]
pub struct Snapshots {
    /// Size of the file of the current snapshot (last built or installed).
    pub size: Gauge,
    /// Snapshots this node built from its own state.
    pub builds: Counter,
    /// Snapshots received from the leader and installed.
    pub installs: Counter,
}

impl Snapshots {
    /// Records a snapshot of `bytes` made current.
    pub fn current(&self, bytes: u64) {
        set(&self.size, bytes);
    }
}

/// Every metric of one node, and the registry that encodes them.
///
/// Created once in `Node::start`; the parts that observe hold clones of its members (cheap:
/// each is an `Arc` or an atomic behind one). The registry is only read after construction,
/// so encoding needs no lock.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Raft state, from openraft's metrics watch.
    pub raft: RaftGauges,
    /// Client writes on the node that received them, from the routed command to its applied
    /// outcome back on that node.
    pub writes: Histogram,
    /// The durable log's group commit (prod mode only; empty in memory mode).
    pub log_flush: LogFlush,
    /// Plugin calls.
    pub plugin: PluginCalls,
    /// The public HTTP listener.
    pub http: Http,
    /// Snapshots.
    pub snapshots: Snapshots,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric at zero, registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let raft = RaftGauges::default();
        raft.register(&mut registry);
        let writes = Histogram::seconds(LATENCY_SECONDS);
        registry.register_with_unit(
            "host_write_duration",
            "Client writes (plugin commands) on the node that received them, from proposed to applied outcome back there (forwarding, commit and apply included)",
            Unit::Seconds,
            writes.clone(),
        );
        let log_flush = LogFlush::default();
        registry.register_with_unit(
            "host_log_fsync_duration",
            "Duration of each fsync of the durable Raft log (group commit)",
            Unit::Seconds,
            log_flush.fsync.clone(),
        );
        registry.register(
            "host_log_fsync_batch_entries",
            "Log entries made durable by one fsync of the durable Raft log",
            log_flush.batch.clone(),
        );
        let plugin = PluginCalls::default();
        plugin.register(&mut registry);
        let http = Http::default();
        registry.register(
            "host_http_responses",
            "Answers of the public HTTP listener, by status code",
            HttpResponses(http.responses.clone()),
        );
        registry.register(
            "host_http_connections",
            "Open connections to the public HTTP listener",
            http.connections.clone(),
        );
        registry.register(
            "host_http_event_streams",
            "Open Server-Sent Event streams",
            http.event_streams.clone(),
        );
        registry.register(
            "host_http_connection_errors",
            "Connections of the public listener that ended in an error no route saw, by kind: parse (hyper answered 400 or 431 itself), header_timeout, tls, io",
            http.connection_errors.clone(),
        );
        let snapshots = Snapshots::default();
        registry.register_with_unit(
            "host_snapshot_size",
            "Size of this node's current snapshot file (last built or installed)",
            Unit::Bytes,
            snapshots.size.clone(),
        );
        registry.register(
            "host_snapshot_builds",
            "Snapshots this node built",
            snapshots.builds.clone(),
        );
        registry.register(
            "host_snapshot_installs",
            "Snapshots this node received from a leader and installed",
            snapshots.installs.clone(),
        );
        Metrics {
            registry,
            raft,
            writes,
            log_flush,
            plugin,
            http,
            snapshots,
        }
    }

    /// The OpenMetrics text of every metric (serve with [`CONTENT_TYPE`]).
    ///
    /// # Errors
    /// Only if formatting fails, which writing into a `String` does not.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut text = String::with_capacity(16 << 10);
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The status counters as registered (the `Arc` shared with [`Http`]).
#[derive(Debug)]
struct HttpResponses(Arc<StatusCounts>);

impl EncodeMetric for HttpResponses {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_puts_each_value_in_the_first_bucket_at_or_above_it() {
        let h = Histogram::new(&[1.0, 10.0], 1.0);
        for v in [0, 1, 2, 10, 11, 1000] {
            h.observe(v);
        }
        let counts: Vec<u64> = h
            .inner
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts, vec![2, 2, 2]);
        assert_eq!(h.count(), 6);
        assert_eq!(h.inner.sum.load(Ordering::Relaxed), 1024);
    }

    #[test]
    fn status_codes_outside_100_to_599_share_one_series() {
        let counts = StatusCounts::default();
        counts.count(200);
        counts.count(200);
        counts.count(600);
        counts.count(99);
        assert_eq!(counts.counts[100].load(Ordering::Relaxed), 2);
        assert_eq!(counts.counts[CODES].load(Ordering::Relaxed), 2);
    }

    #[test]
    fn the_text_has_units_labels_totals_and_an_eof() {
        let metrics = Metrics::new();
        metrics.writes.observe_duration(Duration::from_millis(3));
        metrics.http.answered(200);
        metrics
            .plugin
            .observe(CallKind::Apply, Duration::from_micros(20), 5000);
        metrics.plugin.trapped(CallKind::Route, "out_of_fuel");
        metrics.raft.update(&RaftView {
            term: 3,
            is_leader: true,
            ..RaftView::default()
        });
        let text = metrics.encode().expect("encodes");
        for line in [
            "# TYPE host_write_duration_seconds histogram",
            "host_write_duration_seconds_count 1",
            "host_write_duration_seconds_bucket{le=\"0.005\"} 1",
            "host_write_duration_seconds_bucket{le=\"0.0025\"} 0",
            "host_write_duration_seconds_bucket{le=\"+Inf\"} 1",
            "host_http_responses_total{code=\"200\"} 1",
            "host_plugin_call_duration_seconds_count{call=\"apply\"} 1",
            "host_plugin_call_fuel_sum{call=\"apply\"} 5000.0",
            "host_plugin_traps_total{call=\"route\",cause=\"out_of_fuel\"} 1",
            "raft_term 3",
            "raft_is_leader 1",
            "# EOF",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in\n{text}"
            );
        }
        assert!(!text.contains("code=\"201\""), "zero codes are left out");
    }
}
