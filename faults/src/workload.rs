//! The clients: each a thread doing random operations on a few seats of one showtime, under its
//! own user name, recording every operation (see [`crate::history`]).
//!
//! A client books and holds seats, confirms and releases the holds it owns, cancels the
//! bookings it owns (the tokens from the 201 answers are its only credentials) and reads the
//! seat map (linearizable). It keeps at most [`MAX_OWNED_SEATS`] seats, so the customer limit
//! stays far away and seats keep changing hands. A write whose answer is lost (timeout, broken
//! connection, 5xx) is retried on the next node with the same `Idempotency-Key`, at most
//! [`MAX_ATTEMPTS`] attempts; what the last attempt says is the operation's outcome, unknown if
//! no attempt gave a definite answer. Choices come from a per-client RNG seeded from the run's
//! seed, so a replay makes the same choices given the same outcomes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::api::{problem, Body, Http, Reply};
use crate::check::{BOOKING_GONE, HOLD_GONE};
use crate::history::{op_id, Clock, Op, OpId, OpKind, Outcome, Seen};

/// Seats a client owns at most (held or booked) before it stops taking more.
pub const MAX_OWNED_SEATS: usize = 4;
/// Attempts per operation (each on the next node).
pub const MAX_ATTEMPTS: u32 = 3;
/// Operations per client at most (a bound; the run's duration ends clients long before).
pub const MAX_OPS: u32 = 200_000;
/// Hold lifetime: no hold may expire during a run.
pub const HOLD_TTL_SECONDS: u64 = 3600;

/// What every client works on.
#[derive(Debug)]
pub struct Target {
    /// The showtime.
    pub showtime: u64,
    /// Its seats, row by row (`a1`, `a2`, ..., `b1`, ...).
    pub seats: Vec<String>,
    /// Seats per row (for adjacent pairs).
    pub row_len: usize,
    /// Every node's API address.
    pub apis: Vec<String>,
    /// Read with `?consistency=local` (may be stale): a self-test of the checker, which
    /// should then find stale reads under partitions.
    pub stale_reads: bool,
}

/// Shared between the clients and the harness.
#[derive(Debug, Default)]
pub struct Shared {
    /// Set to stop every client after its current operation.
    pub stop: AtomicBool,
    /// Completion time (µs) of the latest acknowledged write, 0 if none yet.
    pub last_ok_write: AtomicU64,
}

/// A hold this client created and may still confirm or release.
#[derive(Debug, Clone)]
struct OwnedHold {
    op: OpId,
    token: String,
    seats: Vec<String>,
}

/// A booking this client owns (it has the token).
#[derive(Debug, Clone)]
struct OwnedBooking {
    op: OpId,
    id: u64,
    token: String,
    seats: Vec<String>,
}

/// One client.
pub struct Client {
    id: usize,
    user: String,
    key_prefix: String,
    rng: SmallRng,
    http: Http,
    target: Arc<Target>,
    shared: Arc<Shared>,
    clock: Clock,
    node: usize,
    seq: u32,
    holds: Vec<OwnedHold>,
    bookings: Vec<OwnedBooking>,
}

/// A chosen operation, with what it needs to be sent.
enum Plan {
    Book(Vec<String>),
    Hold(Vec<String>),
    Confirm(usize),
    Release(usize),
    Cancel(usize),
    Read,
}

impl Client {
    /// A client; `seed` fixes its choices, `key_prefix` makes its idempotency keys unique.
    pub fn new(
        id: usize,
        seed: u64,
        key_prefix: &str,
        http: Http,
        target: Arc<Target>,
        shared: Arc<Shared>,
        clock: Clock,
    ) -> Client {
        let nodes = target.apis.len().max(1);
        Client {
            id,
            user: format!("client-{id}"),
            key_prefix: key_prefix.to_string(),
            rng: SmallRng::seed_from_u64(
                seed ^ (id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            ),
            http,
            target,
            shared,
            clock,
            node: id % nodes,
            seq: 0,
            holds: Vec::new(),
            bookings: Vec::new(),
        }
    }

    /// Runs until told to stop; returns the history.
    pub fn run(mut self) -> Vec<Op> {
        let mut ops = Vec::new();
        while !self.shared.stop.load(Ordering::Relaxed) && self.seq < MAX_OPS {
            let op = self.step();
            let ok = op.outcome.is_ok();
            if ok && op.kind.is_write() {
                self.shared
                    .last_ok_write
                    .fetch_max(op.complete, Ordering::Relaxed);
            }
            ops.push(op);
            // Pacing, not waiting for a condition: a little think time between operations,
            // more after a failure so a cluster without a leader is not flooded.
            let pause = if ok {
                self.rng.gen_range(5..30)
            } else {
                self.rng.gen_range(50..150)
            };
            std::thread::sleep(Duration::from_millis(pause));
        }
        ops
    }

    fn owned_seats(&self) -> usize {
        self.holds.iter().map(|h| h.seats.len()).sum::<usize>()
            + self.bookings.iter().map(|b| b.seats.len()).sum::<usize>()
    }

    /// One seat, or two adjacent seats of one row.
    fn pick_seats(&mut self) -> Vec<String> {
        let n = self.target.seats.len();
        let i = self.rng.gen_range(0..n.max(1));
        let row_len = self.target.row_len.max(1);
        let pair = self.rng.gen_bool(0.3) && (i % row_len) + 1 < row_len && i + 1 < n;
        let mut seats = Vec::new();
        if let Some(seat) = self.target.seats.get(i) {
            seats.push(seat.clone());
        }
        if pair {
            if let Some(seat) = self.target.seats.get(i + 1) {
                seats.push(seat.clone());
            }
        }
        seats
    }

    fn choose(&mut self) -> Plan {
        let room = self.owned_seats() + 2 <= MAX_OWNED_SEATS;
        let weights = [
            if room { 3 } else { 0 },                     // book
            if room { 3 } else { 0 },                     // hold
            if self.holds.is_empty() { 0 } else { 2 },    // confirm
            if self.holds.is_empty() { 0 } else { 1 },    // release
            if self.bookings.is_empty() { 0 } else { 2 }, // cancel
            2,                                            // read
        ];
        let total: u32 = weights.iter().sum();
        let mut roll = self.rng.gen_range(0..total);
        let mut choice = weights.len() - 1;
        for (i, w) in weights.iter().enumerate() {
            if roll < *w {
                choice = i;
                break;
            }
            roll -= w;
        }
        match choice {
            0 => Plan::Book(self.pick_seats()),
            1 => Plan::Hold(self.pick_seats()),
            2 => Plan::Confirm(self.rng.gen_range(0..self.holds.len())),
            3 => Plan::Release(self.rng.gen_range(0..self.holds.len())),
            4 => Plan::Cancel(self.rng.gen_range(0..self.bookings.len())),
            _ => Plan::Read,
        }
    }

    /// Chooses, sends and records one operation, and updates what the client owns.
    fn step(&mut self) -> Op {
        // Sometimes start at another node, so followers forward writes too.
        if self.rng.gen_bool(0.1) {
            self.node = self.rng.gen_range(0..self.target.apis.len().max(1));
        }
        self.seq += 1;
        let id = op_id(self.id, self.seq);
        let key = format!("{}-{:04}-{:08}", self.key_prefix, self.id, self.seq);
        let showtime = self.target.showtime;
        let plan = self.choose();
        let (kind, method, path, body, auth) = match &plan {
            Plan::Book(seats) => (
                OpKind::Book {
                    seats: seats.clone(),
                },
                "POST",
                format!("/api/showtimes/{showtime}/bookings"),
                Some(serde_json::json!({"seats": seats, "user": self.user}).to_string()),
                None,
            ),
            Plan::Hold(seats) => (
                OpKind::Hold {
                    seats: seats.clone(),
                },
                "POST",
                format!("/api/showtimes/{showtime}/holds"),
                Some(
                    serde_json::json!({"seats": seats, "user": self.user, "ttl_seconds": HOLD_TTL_SECONDS})
                        .to_string(),
                ),
                None,
            ),
            Plan::Confirm(i) | Plan::Release(i) => {
                let hold = self.holds.get(*i).cloned().unwrap_or(OwnedHold {
                    op: 0,
                    token: String::new(),
                    seats: Vec::new(),
                });
                let confirm = matches!(plan, Plan::Confirm(_));
                (
                    if confirm {
                        OpKind::Confirm {
                            hold: hold.op,
                            seats: hold.seats.clone(),
                        }
                    } else {
                        OpKind::Release {
                            hold: hold.op,
                            seats: hold.seats.clone(),
                        }
                    },
                    if confirm { "POST" } else { "DELETE" },
                    if confirm {
                        format!("/api/holds/{}/confirm", hold.token)
                    } else {
                        format!("/api/holds/{}", hold.token)
                    },
                    None,
                    None,
                )
            }
            Plan::Cancel(i) => {
                let booking = self.bookings.get(*i).cloned().unwrap_or(OwnedBooking {
                    op: 0,
                    id: 0,
                    token: String::new(),
                    seats: Vec::new(),
                });
                (
                    OpKind::Cancel {
                        booking: booking.op,
                        seats: booking.seats.clone(),
                    },
                    "DELETE",
                    format!("/api/bookings/{}", booking.id),
                    None,
                    Some(format!("Bearer {}", booking.token)),
                )
            }
            Plan::Read => (
                OpKind::Read,
                "GET",
                format!(
                    "/api/showtimes/{showtime}/seats{}",
                    if self.target.stale_reads { "?consistency=local" } else { "" }
                ),
                None,
                None,
            ),
        };
        let (op, token) = self.send(
            id,
            kind,
            method,
            &path,
            body.as_deref(),
            auth.as_deref(),
            &key,
        );
        self.learn(&plan, &op, token);
        op
    }

    /// Sends with retries; builds the recorded operation and returns it with the token of a
    /// successful creation's answer.
    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        id: OpId,
        kind: OpKind,
        method: &str,
        path: &str,
        body: Option<&str>,
        auth: Option<&str>,
        key: &str,
    ) -> (Op, Option<String>) {
        let nodes = self.target.apis.len().max(1);
        let invoke = self.clock.now();
        let mut last_attempt = invoke;
        let mut attempts = 0;
        let mut maybe_sent = false;
        let mut outcome = Outcome::NotSent {
            reason: "no attempt".into(),
        };
        let mut node = self.node;
        let mut token = None;
        while attempts < MAX_ATTEMPTS {
            if attempts > 0 && self.shared.stop.load(Ordering::Relaxed) {
                break;
            }
            attempts += 1;
            node = self.node;
            let api = self.target.apis.get(node).cloned().unwrap_or_default();
            let mut headers: Vec<(&str, &str)> = Vec::new();
            if kind.is_write() {
                headers.push(("idempotency-key", key));
            }
            if let Some(auth) = auth {
                headers.push(("authorization", auth));
            }
            last_attempt = self.clock.now();
            let reply = self.http.call(
                method,
                &api,
                path,
                &headers,
                body.map_or(Body::None, Body::Json),
            );
            outcome = classify(&kind, &reply);
            if outcome.is_ok() {
                token = reply
                    .ok_json()
                    .and_then(|json| json["token"].as_str().map(str::to_string));
            }
            match &outcome {
                Outcome::Ok { .. } | Outcome::Refused { .. } => break,
                Outcome::Unknown { .. } => maybe_sent = true,
                Outcome::NotSent { .. } => {}
            }
            self.node = (self.node + 1) % nodes;
        }
        if let (Outcome::NotSent { reason }, true) = (&outcome, maybe_sent) {
            outcome = Outcome::Unknown {
                reason: format!("an earlier attempt was lost; last: {reason}"),
            };
        }
        let op = Op {
            id,
            client: self.id,
            kind,
            invoke,
            complete: self.clock.now(),
            last_attempt,
            attempts,
            node,
            outcome,
        };
        (op, token)
    }

    /// Updates what the client owns from an operation's outcome and the token its answer
    /// carried.
    fn learn(&mut self, plan: &Plan, op: &Op, token: Option<String>) {
        let (ok, problem, id) = match &op.outcome {
            Outcome::Ok { id, .. } => (true, "", *id),
            Outcome::Refused { problem, .. } => (false, problem.as_str(), None),
            _ => return,
        };
        let seats = op.kind.seats().to_vec();
        match *plan {
            Plan::Hold(_) if ok => {
                if let Some(token) = token {
                    self.holds.push(OwnedHold {
                        op: op.id,
                        token,
                        seats,
                    });
                }
            }
            Plan::Book(_) if ok => {
                if let (Some(token), Some(id)) = (token, id) {
                    self.bookings.push(OwnedBooking {
                        op: op.id,
                        id,
                        token,
                        seats,
                    });
                }
            }
            Plan::Confirm(i) | Plan::Release(i) if ok || HOLD_GONE.contains(&problem) => {
                let confirmed = ok && matches!(plan, Plan::Confirm(_));
                let known = i < self.holds.len();
                if known {
                    self.holds.remove(i);
                }
                if let (true, true, Some(token), Some(id)) = (known, confirmed, token, id) {
                    self.bookings.push(OwnedBooking {
                        op: op.id,
                        id,
                        token,
                        seats,
                    });
                }
            }
            Plan::Cancel(i) if ok || BOOKING_GONE.contains(&problem) => {
                let known = i < self.bookings.len();
                if known {
                    self.bookings.remove(i);
                }
            }
            _ => {}
        }
    }
}

/// The outcome of one attempt.
fn classify(kind: &OpKind, reply: &Reply) -> Outcome {
    match reply {
        Reply::NotSent(reason) => Outcome::NotSent {
            reason: reason.clone(),
        },
        Reply::Lost(reason) => Outcome::Unknown {
            reason: reason.clone(),
        },
        Reply::Answer { status, body } if (200..300).contains(status) => {
            let Ok(json) = serde_json::from_str::<Value>(body) else {
                return Outcome::Unknown {
                    reason: format!("{status} with a body that is not JSON"),
                };
            };
            let mut seen = BTreeMap::new();
            if matches!(kind, OpKind::Read) {
                for seat in json["seats"].as_array().into_iter().flatten() {
                    if let (Some(name), Some(state)) = (
                        seat["seat"].as_str(),
                        seat["state"].as_str().and_then(Seen::parse),
                    ) {
                        seen.insert(name.to_string(), state);
                    }
                }
            }
            Outcome::Ok {
                id: json["id"].as_u64(),
                log_index: json["log_index"].as_u64(),
                token: json["token"].is_string(),
                seen,
            }
        }
        Reply::Answer { status, body } if (400..500).contains(status) => {
            let (problem, seats) = problem(body);
            if problem == "idempotency-key-reused" {
                // Our keys are never reused with another request: this answer says nothing
                // about the operation itself.
                return Outcome::Unknown {
                    reason: format!("{status} {problem}"),
                };
            }
            Outcome::Refused {
                problem,
                status: *status,
                seats,
            }
        }
        Reply::Answer { status, body } => {
            let (problem, _) = problem(body);
            Outcome::Unknown {
                reason: format!("{status} {problem}"),
            }
        }
    }
}
