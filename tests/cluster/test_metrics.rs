//! `GET /metrics` scraped from real prod-mode nodes while they take bookings, parsed with a
//! strict OpenMetrics text parser; and `GET /v1/openapi.json`: every documented route is served
//! with the credential the document names.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::util::*;

/// One sample line: metric name, labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// One metric family: `# TYPE`, optional `# HELP` and `# UNIT`, and its samples.
#[derive(Debug, Default)]
struct MetricFamily {
    kind: String,
    samples: Vec<Sample>,
}

/// A parsed exposition: family name to family.
#[derive(Debug)]
struct Scrape {
    families: BTreeMap<String, MetricFamily>,
}

/// The sample-name suffixes a family of `kind` may use.
fn suffixes(kind: &str) -> &'static [&'static str] {
    match kind {
        "counter" => &["_total", "_created"],
        "histogram" => &["_bucket", "_sum", "_count", "_created"],
        "gauge" | "unknown" | "info" | "stateset" => &[""],
        _ => &[],
    }
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `{a="1",b="x\"y"}` (the braces already removed) into a map; rejects anything malformed.
fn parse_labels(mut text: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    while !text.is_empty() {
        let (name, rest) = text
            .split_once("=\"")
            .unwrap_or_else(|| panic!("label without =\" in {line:?}"));
        assert!(is_name(name), "bad label name {name:?} in {line:?}");
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => panic!("bad escape {other:?} in {line:?}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value in {line:?}"),
            }
        };
        assert!(
            labels.insert(name.to_string(), value).is_none(),
            "label {name} twice in {line:?}"
        );
        text = &rest[end + 1..];
        if let Some(after) = text.strip_prefix(',') {
            text = after;
            assert!(!text.is_empty(), "trailing comma in {line:?}");
        } else {
            assert!(text.is_empty(), "junk after a label in {line:?}");
        }
    }
    labels
}

fn parse_value(text: &str, line: &str) -> f64 {
    match text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        _ => text
            .parse::<f64>()
            .unwrap_or_else(|e| panic!("bad value {text:?} ({e}) in {line:?}")),
    }
}

/// Parses the OpenMetrics text format strictly: every line is a descriptor of the current
/// family, a sample of it, or the final `# EOF`; anything else fails the test.
fn parse(text: &str) -> Scrape {
    let mut families: BTreeMap<String, MetricFamily> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut ended = false;
    for line in text.split_terminator('\n') {
        assert!(!ended, "a line after # EOF: {line:?}");
        if line == "# EOF" {
            ended = true;
            continue;
        }
        if let Some(descriptor) = line.strip_prefix("# ") {
            let mut parts = descriptor.splitn(3, ' ');
            let (Some(keyword), Some(name)) = (parts.next(), parts.next()) else {
                panic!("bad descriptor {line:?}");
            };
            assert!(is_name(name), "bad metric name in {line:?}");
            let rest = parts.next().unwrap_or("");
            if current.as_deref() != Some(name) {
                assert!(
                    !families.contains_key(name),
                    "family {name} declared twice ({line:?})"
                );
                families.insert(name.to_string(), MetricFamily::default());
                current = Some(name.to_string());
            }
            let family = families.get_mut(name).expect("just inserted");
            match keyword {
                "TYPE" => {
                    assert!(!suffixes(rest).is_empty(), "unknown type in {line:?}");
                    family.kind = rest.to_string();
                }
                "HELP" => {}
                "UNIT" => assert!(
                    name.ends_with(&format!("_{rest}")),
                    "the name must end with its unit: {line:?}"
                ),
                _ => panic!("unknown descriptor {line:?}"),
            }
            continue;
        }
        let family_name = current
            .clone()
            .unwrap_or_else(|| panic!("a sample before any # TYPE: {line:?}"));
        let family = families.get_mut(&family_name).expect("current family");
        assert!(!family.kind.is_empty(), "a sample before # TYPE: {line:?}");
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value in {line:?}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (
                name,
                parse_labels(
                    labels
                        .strip_suffix('}')
                        .unwrap_or_else(|| panic!("unclosed labels in {line:?}")),
                    line,
                ),
            ),
            None => (series, BTreeMap::new()),
        };
        let suffix = name
            .strip_prefix(family_name.as_str())
            .unwrap_or_else(|| panic!("sample {name} outside its family {family_name}"));
        assert!(
            suffixes(&family.kind).contains(&suffix),
            "sample {name} does not fit a {} family",
            family.kind
        );
        family.samples.push(Sample {
            name: name.to_string(),
            labels,
            value: parse_value(value, line),
        });
    }
    assert!(ended, "no # EOF at the end");
    let scrape = Scrape { families };
    scrape.check_histograms();
    scrape
}

impl Scrape {
    fn family(&self, name: &str) -> &MetricFamily {
        self.families
            .get(name)
            .unwrap_or_else(|| panic!("no family {name}"))
    }

    /// The value of the sample `name` with exactly `labels` (0 when absent: counters by code
    /// appear on first use).
    fn value(&self, family: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.family(family)
            .samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map_or(0.0, |s| s.value)
    }

    fn gauge(&self, name: &str) -> f64 {
        self.value(name, name, &[])
    }

    /// Sum of `host_http_responses_total` over 2xx codes.
    fn http_2xx(&self) -> f64 {
        self.family("host_http_responses")
            .samples
            .iter()
            .filter(|s| s.labels.get("code").is_some_and(|c| c.starts_with('2')))
            .map(|s| s.value)
            .sum()
    }

    /// Every histogram: per label set, `le` ascending and ending in `+Inf`, bucket counts never
    /// falling, `_count` equal to the `+Inf` bucket, `_sum` not negative (zero when empty).
    fn check_histograms(&self) {
        for (name, family) in &self.families {
            if family.kind != "histogram" {
                continue;
            }
            let mut series: BTreeMap<BTreeMap<String, String>, Vec<&Sample>> = BTreeMap::new();
            for sample in &family.samples {
                let mut key = sample.labels.clone();
                key.remove("le");
                series.entry(key).or_default().push(sample);
            }
            for (labels, samples) in series {
                let mut last_le = f64::NEG_INFINITY;
                let mut last_count = 0.0;
                let (mut sum, mut count) = (None, None);
                for sample in samples {
                    match sample.name.strip_prefix(name.as_str()) {
                        Some("_bucket") => {
                            let le = parse_value(&sample.labels["le"], &sample.name);
                            assert!(le > last_le, "{name}{labels:?}: le not ascending");
                            assert!(
                                sample.value >= last_count,
                                "{name}{labels:?}: bucket counts fall at le={le}"
                            );
                            last_le = le;
                            last_count = sample.value;
                        }
                        Some("_sum") => sum = Some(sample.value),
                        Some("_count") => count = Some(sample.value),
                        _ => {}
                    }
                }
                assert_eq!(last_le, f64::INFINITY, "{name}{labels:?}: no +Inf bucket");
                let count = count.unwrap_or_else(|| panic!("{name}{labels:?}: no _count"));
                let sum = sum.unwrap_or_else(|| panic!("{name}{labels:?}: no _sum"));
                assert_eq!(count, last_count, "{name}{labels:?}: _count != +Inf bucket");
                assert!(sum >= 0.0, "{name}{labels:?}: negative _sum");
                if count == 0.0 {
                    assert_eq!(sum, 0.0, "{name}{labels:?}: a sum without observations");
                }
            }
        }
    }
}

/// Scrapes `addr` with the operator token.
fn scrape(addr: &str) -> Scrape {
    let answer = operator_get(addr, "/metrics").unwrap_or_else(|| panic!("no answer from {addr}"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer
            .content_type
            .starts_with("application/openmetrics-text"),
        "content-type {}",
        answer.content_type
    );
    parse(&answer.body)
}

fn histogram_count(scrape: &Scrape, family: &str, labels: &[(&str, &str)]) -> f64 {
    scrape.value(family, &format!("{family}_count"), labels)
}

#[test]
fn the_parser_refuses_what_is_not_openmetrics() {
    let good = "# TYPE a counter\na_total 1\n# TYPE b histogram\nb_sum 0.5\nb_count 1\nb_bucket{le=\"1.0\"} 1\nb_bucket{le=\"+Inf\"} 1\n# EOF\n";
    assert_eq!(parse(good).value("a", "a_total", &[]), 1.0);
    for bad in [
        "# TYPE a counter\na_total 1\n",                       // no EOF
        "a 1\n# EOF\n",                                         // no TYPE
        "# TYPE a counter\na 1\n# EOF\n",                       // counter without _total
        "# TYPE a gauge\na{x=\"1} 1\n# EOF\n",                  // unterminated label
        "# TYPE b histogram\nb_sum 1\nb_count 2\nb_bucket{le=\"+Inf\"} 1\n# EOF\n", // count != +Inf
        "# TYPE b histogram\nb_sum 1\nb_count 1\nb_bucket{le=\"1.0\"} 2\nb_bucket{le=\"+Inf\"} 1\n# EOF\n", // falling
    ] {
        let caught = std::panic::catch_unwind(|| parse(bad));
        assert!(caught.is_err(), "accepted {bad:?}");
    }
}

#[test]
fn metrics_rise_under_load_and_agree_with_status() {
    let mut cluster = Cluster::configure_with(3, json!({"snapshot_every": 64}));
    for id in 0..3 {
        cluster.spawn_prod(id);
    }
    let leader = cluster.wait_for_leader(Duration::from_secs(60));
    let addrs = cluster.addrs.clone();
    for showtime in [90, 91] {
        create_showtime(&addrs[leader], showtime, 12, 20);
    }
    raise_customer_limit(&addrs[leader]);
    // Every node has applied the setup before the baseline, so its writes are not counted in
    // the load below.
    settled_state(&addrs, Duration::from_secs(30));

    // Without a token: 401 with a Bearer challenge, like every operator endpoint.
    let anonymous = request("GET", &addrs[0], "/metrics", None, &[]);
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(anonymous.problem_type(), "/problems/unauthorized");
    assert!(anonymous
        .header("www-authenticate")
        .is_some_and(|v| v.starts_with("Bearer")));

    let before: Vec<Scrape> = addrs.iter().map(|a| scrape(a)).collect();

    // 300 bookings of distinct seats from 3 clients, spread over the 3 nodes.
    const WRITES: usize = 300;
    const CLIENTS: usize = 3;
    let seats: Vec<(u32, String)> = [90u32, 91]
        .iter()
        .flat_map(|st| {
            (b'a'..=b'l')
                .flat_map(move |r| (1..=20).map(move |n| (*st, format!("{}{n}", r as char))))
        })
        .take(WRITES)
        .collect();
    let seats = Arc::new(seats);
    let ok_per_node: Arc<Vec<AtomicUsize>> =
        Arc::new((0..3).map(|_| AtomicUsize::new(0)).collect());
    let done = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (seats, ok, done, addrs) = (
                seats.clone(),
                ok_per_node.clone(),
                done.clone(),
                addrs.clone(),
            );
            std::thread::spawn(move || {
                for (i, (showtime, seat)) in seats.iter().enumerate().skip(client).step_by(CLIENTS)
                {
                    if started.elapsed() > Duration::from_secs(90) {
                        return;
                    }
                    let node = i % addrs.len();
                    let body = json!({"seats": [seat], "user": format!("m{client}")}).to_string();
                    let answer = try_request(
                        "POST",
                        &addrs[node],
                        &format!("/api/showtimes/{showtime}/bookings"),
                        Some(&body),
                        &[],
                    );
                    if answer.is_some_and(|a| a.status == 201) {
                        ok[node].fetch_add(1, Ordering::Relaxed);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    // Scrape the leader and a follower while the load runs: every scrape must parse.
    let during: Arc<Mutex<Vec<(usize, Scrape)>>> = Arc::default();
    let scraper = {
        let (during, finished, addrs) = (during.clone(), finished.clone(), addrs.clone());
        let follower = (leader + 1) % 3;
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !finished.load(Ordering::Relaxed) && Instant::now() < deadline {
                for node in [leader, follower] {
                    let scraped = scrape(&addrs[node]);
                    during.lock().expect("lock").push((node, scraped));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    // A scrape in the middle of the load, to compare with one after it.
    wait_until(
        Duration::from_secs(90),
        "a third of the bookings sent",
        || (done.load(Ordering::Relaxed) >= WRITES / 3).then_some(()),
    );
    let middle = scrape(&addrs[leader]);
    for client in clients {
        client.join().expect("client thread");
    }
    finished.store(true, Ordering::Relaxed);
    scraper.join().expect("scraper thread");
    let ok: Vec<usize> = ok_per_node
        .iter()
        .map(|n| n.load(Ordering::Relaxed))
        .collect();
    let total_ok: usize = ok.iter().sum();
    // Every check below is relative to the writes that succeeded; a loaded machine may time a
    // few out (2 s write timeout), but most must go through.
    assert!(
        total_ok >= WRITES / 2,
        "most bookings succeed: {ok:?}\n{}",
        cluster.diagnose()
    );
    assert!(
        !during.lock().expect("lock").is_empty(),
        "scraped during the load"
    );
    settled_state(&addrs, Duration::from_secs(30));
    let after: Vec<Scrape> = addrs.iter().map(|a| scrape(a)).collect();

    // Commit and applied index rise between a scrape during the load and one after it.
    for gauge in [
        "raft_commit_index",
        "raft_applied_index",
        "raft_last_log_index",
    ] {
        assert!(
            after[leader].gauge(gauge) > middle.gauge(gauge),
            "{gauge}: {} then {}",
            middle.gauge(gauge),
            after[leader].gauge(gauge)
        );
    }
    for node in 0..3 {
        let (b, a) = (&before[node], &after[node]);
        // Each node timed at least every write it was sent.
        let writes = histogram_count(a, "host_write_duration_seconds", &[])
            - histogram_count(b, "host_write_duration_seconds", &[]);
        assert!(
            writes >= ok[node] as f64,
            "node {node}: write histogram grew by {writes}, {} writes succeeded there",
            ok[node]
        );
        // Every node applied every booking through the plugin.
        let apply = [("call", "apply")];
        let applied = histogram_count(a, "host_plugin_call_duration_seconds", &apply)
            - histogram_count(b, "host_plugin_call_duration_seconds", &apply);
        assert!(
            applied >= total_ok as f64,
            "node {node}: {applied} apply calls for {total_ok} bookings"
        );
        assert!(
            histogram_count(a, "host_plugin_call_fuel", &apply)
                >= histogram_count(a, "host_plugin_call_duration_seconds", &apply),
            "fuel is recorded with each call"
        );
        let route = [("call", "route")];
        assert!(
            histogram_count(a, "host_plugin_call_duration_seconds", &route) > 0.0,
            "node {node} routed requests through the plugin"
        );
        // 2xx answers rose by at least the successful bookings (and the scrapes themselves).
        assert!(
            a.http_2xx() - b.http_2xx() >= ok[node] as f64,
            "node {node}: 2xx rose by {}",
            a.http_2xx() - b.http_2xx()
        );
        // Prod mode: the durable log fsynced in groups.
        assert!(histogram_count(a, "host_log_fsync_duration_seconds", &[]) > 0.0);
        assert!(
            a.value(
                "host_log_fsync_batch_entries",
                "host_log_fsync_batch_entries_sum",
                &[]
            ) >= total_ok as f64,
            "node {node}: every booking's entry was fsynced"
        );
        assert_eq!(a.gauge("raft_voters"), 3.0);
        assert_eq!(a.gauge("raft_learners"), 0.0);
        assert!(a.value("raft_leader_changes", "raft_leader_changes_total", &[]) >= 1.0);
        assert!(a.gauge("host_http_connections") >= 1.0, "this scrape's own");
    }
    // With a snapshot every 64 entries, the leader built snapshots of some size.
    let snapshots = wait_until(Duration::from_secs(30), "a snapshot built", || {
        let s = scrape(&addrs[leader]);
        (s.value("host_snapshot_builds", "host_snapshot_builds_total", &[]) >= 1.0).then_some(s)
    });
    assert!(snapshots.gauge("host_snapshot_size_bytes") > 0.0);
    assert!(snapshots.gauge("raft_snapshot_index") > 0.0);

    // An open event stream is counted while it is open.
    {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&addrs[0]).expect("connect");
        write!(
            stream,
            "GET /api/showtimes/90/events HTTP/1.1\r\nhost: {}\r\n\r\n",
            addrs[0]
        )
        .expect("send");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).expect("answer");
        assert_eq!(&head, b"HTTP/1.1 200", "the stream opened");
        wait_until(Duration::from_secs(10), "the stream counted", || {
            (scrape(&addrs[0]).gauge("host_http_event_streams") >= 1.0).then_some(())
        });
    }

    // A request hyper refuses itself (no route sees it) is counted as a connection error.
    {
        use std::io::{Read, Write};
        let parse_errors = |addr: &str| {
            scrape(addr).value(
                "host_http_connection_errors",
                "host_http_connection_errors_total",
                &[("kind", "parse")],
            )
        };
        // Every kind is exported from the start (at 0 until its first error).
        let kinds: Vec<String> = scrape(&addrs[0])
            .family("host_http_connection_errors")
            .samples
            .iter()
            .filter_map(|s| s.labels.get("kind").cloned())
            .collect();
        assert_eq!(kinds.len(), 4, "one series per kind: {kinds:?}");
        let before = parse_errors(&addrs[0]);
        let mut stream = std::net::TcpStream::connect(&addrs[0]).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.write_all(b"GARBAGE\r\n\r\n").expect("send garbage");
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).expect("answer");
        assert_eq!(&head, b"HTTP/1.1 400", "hyper refuses the garbage");
        drop(stream);
        wait_until(Duration::from_secs(10), "the parse error counted", || {
            (parse_errors(&addrs[0]) >= before + 1.0).then_some(())
        });
    }

    // Term and leadership agree with /v1/status on every node (read while nothing changes).
    for addr in &addrs {
        wait_until(Duration::from_secs(10), "metrics agree with status", || {
            let first = operator_get(addr, "/v1/status")?.json();
            let metrics = scrape(addr);
            let second = operator_get(addr, "/v1/status")?.json();
            if first["term"] != second["term"] || first["role"] != second["role"] {
                return None;
            }
            let term = first["term"].as_f64()?;
            let leads = if first["role"] == "leader" { 1.0 } else { 0.0 };
            assert_eq!(metrics.gauge("raft_term"), term, "{addr}: term");
            assert_eq!(metrics.gauge("raft_is_leader"), leads, "{addr}: is_leader");
            Some(())
        });
    }
}

/// The token header for an operation's `x-role`.
fn credential(role: &str) -> Vec<(&'static str, String)> {
    match role {
        "none" => vec![],
        "operator" => vec![operator()],
        "admin" => vec![admin()],
        other => panic!("unknown x-role {other}"),
    }
}

#[test]
fn every_documented_route_is_served_with_its_credential() {
    let cluster = Cluster::start(1);
    let addr = &cluster.addrs[0];
    let answer = request("GET", addr, "/v1/openapi.json", None, &[]);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.content_type.starts_with("application/json"));
    let doc: Value = answer.json();
    assert!(doc["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.1")));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    let mut seen = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let method = method.to_ascii_uppercase();
            let role = operation["x-role"].as_str().expect("x-role");
            // Harmless bodies: refused ones (400, 415, 422) still prove the route is served.
            let (body, content_type): (Option<Vec<u8>>, &str) =
                match (method.as_str(), path.as_str()) {
                    ("POST", "/v1/members") => (Some(b"{}".to_vec()), "application/json"),
                    ("POST", "/v1/plugin") => {
                        (Some(b"not a component".to_vec()), "application/wasm")
                    }
                    ("PUT", "/v1/config") => {
                        (Some(br#"{"no_such_field":1}"#.to_vec()), "application/json")
                    }
                    ("POST", "/v1/console") => {
                        (Some(br#"{"line":"status"}"#.to_vec()), "application/json")
                    }
                    _ => (None, ""),
                };
            let send = |headers: &[(&str, String)]| {
                let mut call = ureq::request(&method, &format!("http://{addr}{path}"));
                for (name, value) in headers {
                    call = call.set(name, value);
                }
                let result = match &body {
                    Some(body) => call.set("content-type", content_type).send_bytes(body),
                    None => call.call(),
                };
                match result {
                    Ok(response) => response.status(),
                    Err(ureq::Error::Status(status, _)) => status,
                    Err(e) => panic!("{method} {path}: {e}"),
                }
            };
            let status = send(&credential(role));
            assert!(
                status != 404 && status != 405,
                "{method} {path} with the {role} role answered {status}"
            );
            assert!(status < 500, "{method} {path} answered {status}");
            if role != "none" {
                assert_eq!(send(&[]), 401, "{method} {path} without a token");
            }
            if role == "admin" {
                assert_eq!(
                    send(&[operator()]),
                    403,
                    "{method} {path} with only the operator role"
                );
            }
            seen.insert(format!("{method} {path}"));
        }
    }
    for needed in [
        "GET /metrics",
        "GET /v1/status",
        "POST /v1/members",
        "GET /v1/openapi.json",
    ] {
        assert!(seen.contains(needed), "{needed} is documented");
    }
    // And what is not documented is not served.
    let auth = operator();
    assert_eq!(
        request("GET", addr, "/v1/nothing", None, &[(auth.0, &auth.1)]).status,
        404
    );
    assert_eq!(
        request("DELETE", addr, "/v1/status", None, &[(auth.0, &auth.1)]).status,
        405
    );
    assert_eq!(
        request("POST", addr, "/metrics", None, &[(auth.0, &auth.1)]).status,
        405
    );
}
