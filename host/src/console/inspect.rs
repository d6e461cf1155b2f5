//! The console's inspection commands: `logs [FROM] [N]` (alias `get-logs`) and `snapshot`.

use super::commands::NEEDS_ADMIN;
use super::Origin;
use crate::node::{ConsoleAnswer, LogLine, Node};

/// Entries `logs` shows when no count is given.
const DEFAULT_COUNT: u64 = 20;

/// How `logs` is used, printed when its arguments are wrong.
pub(crate) const LOGS_USAGE: &str = "usage: logs [FROM] [N]";

/// `[FROM] [N]` after `logs`: the first index (`None`: the last entries) and the count.
/// `host ctl --json` checks its arguments with it too.
///
/// # Errors
/// When there are more than two words or one is not a number.
pub(crate) fn parse_logs(words: &[&str]) -> Result<(Option<u64>, u64), ()> {
    let numbers: Vec<u64> = words
        .iter()
        .map(|w| w.parse::<u64>().map_err(|_| ()))
        .collect::<Result<_, _>>()?;
    match numbers.as_slice() {
        [] => Ok((None, DEFAULT_COUNT)),
        [from] => Ok((Some(*from), DEFAULT_COUNT)),
        [from, count] => Ok((Some(*from), *count)),
        _ => Err(()),
    }
}

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
            let Ok((from, count)) = parse_logs(rest) else {
                return Some(ConsoleAnswer::refused(LOGS_USAGE));
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
