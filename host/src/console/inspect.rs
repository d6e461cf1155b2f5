//! The console's inspection commands: `logs [FROM] [N]` (alias `get-logs`) and `snapshot`.

use super::commands::NEEDS_ADMIN;
use super::Origin;
use crate::node::{ConsoleAnswer, LogLine, Node};

/// Entries `logs` shows when no count is given.
const DEFAULT_COUNT: u64 = 20;

/// Runs an inspection line; `None` if the line is not one.
pub(crate) async fn execute(node: &Node, line: &str, origin: Origin) -> Option<ConsoleAnswer> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["snapshot"] if !origin.may_write() => Some(ConsoleAnswer::refused(NEEDS_ADMIN)),
        ["snapshot"] => Some(match node.snapshot_now().await {
            Ok(index) => ConsoleAnswer::done(format!("snapshot taken at index {index}")),
            Err(e) => ConsoleAnswer::refused(format!("no snapshot: {e}")),
        }),
        [command, rest @ ..] if *command == "logs" || *command == "get-logs" => {
            let numbers: Result<Vec<u64>, _> = rest.iter().map(|w| w.parse::<u64>()).collect();
            let (from, count) = match numbers.as_deref() {
                Ok([]) => (None, DEFAULT_COUNT),
                Ok([from]) => (Some(*from), DEFAULT_COUNT),
                Ok([from, count]) => (Some(*from), *count),
                _ => return Some(ConsoleAnswer::refused("usage: logs [FROM] [N]")),
            };
            Some(match node.logs(from, count).await {
                Ok(lines) if lines.is_empty() => ConsoleAnswer::done("no entries there"),
                Ok(lines) => ConsoleAnswer::done(render(&lines)),
                Err(e) => ConsoleAnswer::refused(e),
            })
        }
        _ => None,
    }
}

/// One line per entry: index, term, what it is.
pub(crate) fn render(lines: &[LogLine]) -> String {
    lines
        .iter()
        .map(|l| {
            format!(
                "{:>7}  term {:<3} {:<14} {}",
                l.index, l.term, l.kind, l.text
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
