//! Totals over the runs of one invocation, and the report of a failing run: seed and the
//! command that replays it, the violated checks, the offending seats' histories, the faults.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::check::{touches, Anomaly};
use crate::history::{secs, Op};
use crate::nemesis::{FaultRecord, SWAP_LABEL};
use crate::run::Report;

/// History lines printed per seat for an anomaly (the whole history is in `history.txt`).
const MAX_LINES_PER_SEAT: usize = 120;

/// What every run added up to.
#[derive(Debug, Default)]
pub struct Summary {
    /// Runs finished.
    pub runs: usize,
    /// Runs with an anomaly or a harness error.
    pub failed: Vec<u64>,
    /// Faults by kind.
    pub faults: BTreeMap<&'static str, usize>,
    /// Operations by (kind, outcome class).
    pub outcomes: BTreeMap<(&'static str, &'static str), usize>,
    /// Refusals by problem type.
    pub problems: BTreeMap<String, usize>,
    /// Anomalies by check.
    pub anomalies: BTreeMap<&'static str, usize>,
    /// Harness errors (seed, message).
    pub errors: Vec<(u64, String)>,
    /// Failover times (µs) by fault kind: from the fault to the first acknowledged write sent
    /// after it.
    pub failovers: BTreeMap<&'static str, Vec<u64>>,
    /// Faults that took the leader away with no acknowledged write sent afterwards.
    pub no_failover: BTreeMap<&'static str, usize>,
    /// Wall time of all runs.
    pub elapsed: Duration,
    /// Time spent checking.
    pub check_time: Duration,
}

/// From each leader-removing fault (once fully in place) to the first acknowledged write whose
/// last attempt was sent after that (µs); `None` if there was none.
pub fn failover_times(faults: &[FaultRecord], ops: &[Op]) -> Vec<(&'static str, Option<u64>)> {
    faults
        .iter()
        .filter(|f| f.removes_leader)
        .map(|f| {
            let first = ops
                .iter()
                .filter(|op| {
                    op.kind.is_write() && op.outcome.is_ok() && op.last_attempt >= f.effective
                })
                .map(|op| op.complete)
                .min();
            (f.label, first.map(|t| t.saturating_sub(f.effective)))
        })
        .collect()
}

impl Summary {
    /// Adds a run.
    pub fn add(&mut self, report: &Report) {
        self.runs += 1;
        self.elapsed += report.elapsed;
        self.check_time += report.check_time;
        if report.error.is_some() || !report.anomalies.is_empty() {
            self.failed.push(report.seed);
        }
        if let Some(error) = &report.error {
            self.errors.push((report.seed, error.clone()));
        }
        for fault in &report.faults {
            *self.faults.entry(fault.label).or_default() += 1;
        }
        if let Some(swap) = &report.swap {
            *self.faults.entry(SWAP_LABEL).or_default() += 1;
            if !swap.acknowledged {
                *self
                    .faults
                    .entry("plugin swap (not acknowledged)")
                    .or_default() += 1;
            }
        }
        for op in &report.ops {
            *self
                .outcomes
                .entry((op.kind.name(), op.outcome.class()))
                .or_default() += 1;
            if let crate::history::Outcome::Refused { problem, .. } = &op.outcome {
                *self.problems.entry(problem.clone()).or_default() += 1;
            }
        }
        for anomaly in &report.anomalies {
            *self.anomalies.entry(anomaly.check).or_default() += 1;
        }
        for (label, time) in failover_times(&report.faults, &report.ops) {
            match time {
                Some(t) => self.failovers.entry(label).or_default().push(t),
                None => *self.no_failover.entry(label).or_default() += 1,
            }
        }
    }

    /// Whether any run failed.
    pub fn is_failure(&self) -> bool {
        !self.failed.is_empty()
    }

    /// The summary table.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "==== summary: {} run(s), {} failed{}; {}s in all, {}s checking\n",
            self.runs,
            self.failed.len(),
            if self.failed.is_empty() {
                String::new()
            } else {
                format!(" (seeds {:?})", self.failed)
            },
            secs(self.elapsed.as_micros() as u64),
            secs(self.check_time.as_micros() as u64)
        ));
        out.push_str("faults injected:\n");
        for (label, count) in &self.faults {
            out.push_str(&format!("  {count:>5}  {label}\n"));
        }
        out.push_str("operations (ok / refused / unknown / not sent):\n");
        let kinds = ["book", "hold", "confirm", "release", "cancel", "read"];
        let mut totals = [0usize; 4];
        for kind in kinds {
            let row: Vec<usize> = ["ok", "refused", "unknown", "not-sent"]
                .iter()
                .map(|class| self.outcomes.get(&(kind, *class)).copied().unwrap_or(0))
                .collect();
            for (t, v) in totals.iter_mut().zip(&row) {
                *t += v;
            }
            out.push_str(&format!(
                "  {kind:<8} {:>7} {:>7} {:>7} {:>7}\n",
                row.first().unwrap_or(&0),
                row.get(1).unwrap_or(&0),
                row.get(2).unwrap_or(&0),
                row.get(3).unwrap_or(&0)
            ));
        }
        out.push_str(&format!(
            "  {:<8} {:>7} {:>7} {:>7} {:>7}\n",
            "all", totals[0], totals[1], totals[2], totals[3]
        ));
        if !self.problems.is_empty() {
            let list: Vec<String> = self
                .problems
                .iter()
                .map(|(p, n)| format!("{p} {n}"))
                .collect();
            out.push_str(&format!("refusals: {}\n", list.join(", ")));
        }
        out.push_str(
            "failover (fault -> first acknowledged write sent after it), min / median / max:\n",
        );
        if self.failovers.is_empty() && self.no_failover.is_empty() {
            out.push_str("  (no fault took the leader away)\n");
        }
        let labels: std::collections::BTreeSet<&&str> = self
            .failovers
            .keys()
            .chain(self.no_failover.keys())
            .collect();
        for label in labels {
            let mut times = self.failovers.get(*label).cloned().unwrap_or_default();
            times.sort_unstable();
            let none = self.no_failover.get(*label).copied().unwrap_or(0);
            let stats = match (times.first(), times.get(times.len() / 2), times.last()) {
                (Some(min), Some(median), Some(max)) => format!(
                    "{}s / {}s / {}s over {}",
                    secs(*min),
                    secs(*median),
                    secs(*max),
                    times.len()
                ),
                _ => "-".to_string(),
            };
            out.push_str(&format!(
                "  {label:<34} {stats}{}\n",
                if none > 0 {
                    format!(" ({none} with no acknowledged write before the fault healed and the run ended)")
                } else {
                    String::new()
                }
            ));
        }
        if self.anomalies.is_empty() {
            out.push_str("anomalies: none\n");
        } else {
            let list: Vec<String> = self
                .anomalies
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            out.push_str(&format!("anomalies: {}\n", list.join(", ")));
        }
        for (seed, error) in &self.errors {
            out.push_str(&format!(
                "harness error in the run with seed {seed}: {error}\n"
            ));
        }
        out
    }
}

/// The report of a failing run: replay command, anomalies with the seats' histories, faults.
pub fn render_failure(report: &Report, replay: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "==== run with seed {} FAILED; replay: {replay}\n",
        report.seed
    ));
    if let Some(error) = &report.error {
        out.push_str(&format!("harness error: {error}\n"));
    }
    for anomaly in &report.anomalies {
        out.push_str(&format!(
            "anomaly [{}]: {}\n",
            anomaly.check, anomaly.detail
        ));
        for seat in &anomaly.seats {
            out.push_str(&render_seat(report, anomaly, seat));
        }
    }
    out.push_str("faults:\n");
    for fault in &report.faults {
        out.push_str(&format!("  {}\n", fault.line()));
    }
    if let Some(swap) = &report.swap {
        out.push_str(&format!(
            "  {:>8} .. {:>8}  {SWAP_LABEL}: acknowledged {} after {} attempt(s)\n",
            secs(swap.start),
            secs(swap.end),
            swap.acknowledged,
            swap.attempts
        ));
    }
    out.push_str(&format!(
        "evidence kept in {} (node-N.log: each node's stderr; history.txt: every operation)\n",
        report.dir.display()
    ));
    out
}

/// One seat's history (around the anomaly's time when the history is long).
fn render_seat(report: &Report, anomaly: &Anomaly, seat: &str) -> String {
    let lines: Vec<&Op> = report.ops.iter().filter(|op| touches(op, seat)).collect();
    let shown: Vec<&&Op> = if lines.len() <= MAX_LINES_PER_SEAT {
        lines.iter().collect()
    } else {
        let at = anomaly.at.unwrap_or(0);
        // The operations nearest the anomaly's time, in time order.
        let mut by_distance: Vec<&&Op> = lines.iter().collect();
        by_distance.sort_by_key(|op| op.invoke.abs_diff(at).min(op.complete.abs_diff(at)));
        by_distance.truncate(MAX_LINES_PER_SEAT);
        by_distance.sort_by_key(|op| (op.invoke, op.id));
        by_distance
    };
    let mut out = format!(
        "  history of seat {seat} ({} of {} operations{}):\n",
        shown.len(),
        lines.len(),
        if shown.len() < lines.len() {
            ", those nearest the anomaly; all in history.txt"
        } else {
            ""
        }
    );
    for op in shown {
        out.push_str(&format!("    {}\n", op.line_for(Some(seat))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{op_id, OpKind, Outcome};
    use std::path::PathBuf;

    fn book(client: usize, seq: u32, t: (u64, u64), id: u64) -> Op {
        Op {
            id: op_id(client, seq),
            client,
            kind: OpKind::Book {
                seats: vec!["a1".into()],
            },
            invoke: t.0,
            complete: t.1,
            last_attempt: t.0,
            attempts: 1,
            node: 0,
            outcome: Outcome::Ok {
                id: Some(id),
                log_index: Some(id + 10),
                token: true,
                seen: Default::default(),
            },
        }
    }

    fn report() -> Report {
        Report {
            seed: 77,
            dir: PathBuf::from("/tmp/x"),
            kept: true,
            faults: vec![FaultRecord {
                label: "kill -9 leader",
                detail: "node 1 down".into(),
                leader: Some(1),
                removes_leader: true,
                start: 1_000_000,
                effective: 1_010_000,
                healed: 3_000_000,
                recovered: Some(3_100_000),
            }],
            swap: None,
            ops: vec![
                book(0, 1, (0, 10_000), 1),
                book(1, 1, (1_500_000, 1_600_000), 2),
            ],
            seats: vec!["a1".into()],
            anomalies: vec![Anomaly {
                check: "linearizable",
                detail: "seat a1: two bookings".into(),
                seats: vec!["a1".into()],
                at: Some(1_500_000),
            }],
            error: None,
            elapsed: Duration::from_secs(5),
            check_time: Duration::ZERO,
            final_applied: Some(9),
        }
    }

    #[test]
    fn a_failure_names_seed_replay_check_and_the_seat_history() {
        let text = render_failure(&report(), "scripts/faults --seed 77 --runs 1");
        assert!(text.contains("seed 77 FAILED; replay: scripts/faults --seed 77 --runs 1"));
        assert!(text.contains("anomaly [linearizable]: seat a1: two bookings"));
        assert!(text.contains("history of seat a1 (2 of 2 operations)"));
        assert!(text.contains("c0#1    book a1  -> ok id=1 index=11"));
        assert!(text.contains("c1#1    book a1  -> ok id=2 index=12"));
        assert!(text.contains("kill -9 leader: node 1 down"));
    }

    #[test]
    fn failover_counts_from_the_fault_to_the_first_write_sent_after_it() {
        let r = report();
        assert_eq!(
            failover_times(&r.faults, &r.ops),
            vec![("kill -9 leader", Some(1_600_000 - 1_010_000))]
        );
        let mut summary = Summary::default();
        summary.add(&r);
        let text = summary.render();
        assert!(text.contains("1 failed (seeds [77])"));
        assert!(text.contains("kill -9 leader                     0.590s / 0.590s / 0.590s over 1"));
        assert!(text.contains("anomalies: linearizable 1"));
    }
}
