//! The console's membership commands: `members`, `add-node ADDR [SECONDS]`,
//! `remove-node ADDR [--force] [SECONDS]`.

use std::time::Duration;

use super::commands::NEEDS_ADMIN;
use super::{Origin, Printer};
use crate::node::{ConsoleAnswer, Members, MembershipRequest, Node, ADD_TIMEOUT, REMOVE_TIMEOUT};

/// Runs a membership line; `None` if the line is not one. `progress` gets a line every second
/// while a node added with `add-node` catches up.
pub(crate) async fn execute(
    node: &Node,
    line: &str,
    progress: Option<&Printer>,
    origin: Origin,
) -> Option<ConsoleAnswer> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (command, rest) = words.split_first()?;
    if matches!(*command, "add-node" | "remove-node") && !origin.may_write() {
        return Some(ConsoleAnswer::refused(NEEDS_ADMIN));
    }
    let request = match *command {
        "members" => return Some(ConsoleAnswer::done(render(&node.members()))),
        "add-node" | "remove-node" => match parse_change(command, rest) {
            Ok(request) => request,
            Err(usage) => return Some(ConsoleAnswer::refused(usage)),
        },
        _ => return None,
    };
    let started = std::time::Instant::now();
    let reporter = match (&request, progress) {
        (MembershipRequest::Add { addr, .. }, Some(print)) => {
            print(format!(
                "adding {addr}: it joins as a learner, catches up, then becomes a voter"
            ));
            Some(tokio::spawn(report_catch_up(
                node.clone(),
                addr.clone(),
                print.clone(),
            )))
        }
        _ => None,
    };
    let outcome = node.change_membership(request).await;
    if let Some(reporter) = reporter {
        reporter.abort();
    }
    Some(match outcome {
        Ok(members) => ConsoleAnswer::done(format!(
            "done in {:.1} s\n{}",
            started.elapsed().as_secs_f64(),
            render(&members)
        )),
        Err(e) => ConsoleAnswer::refused(format!("refused: {e}")),
    })
}

/// Prints, every second, how far the node being added has replicated the log (as the leader
/// sees it; on another node, that the change is under way).
async fn report_catch_up(node: Node, addr: String, print: Printer) {
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let status = node.status();
        let target = status.last_log_index.unwrap_or(0);
        let learner = status.learners.iter().find(|p| {
            crate::node::addr::same_addr(&p.addr, &addr)
                || crate::node::addr::same_addr(&p.peer, &addr)
        });
        let line = match learner {
            Some(peer) => match peer.matched {
                Some(matched) => format!("  {addr}: {matched} of {target} log entries (learner)"),
                None => format!("  {addr}: learner, progress known to the leader only"),
            },
            None => format!("  {addr}: not a learner yet"),
        };
        print(line);
    }
}

/// The change `add-node WORDS...` or `remove-node WORDS...` asks for, or the usage line to
/// print. `host ctl --json` reads its arguments with it too, so both refuse the same typos.
///
/// # Errors
/// The usage line with what is wrong, for an unknown `command` too.
pub(crate) fn parse_change(command: &str, words: &[&str]) -> Result<MembershipRequest, String> {
    let ms = |timeout: Duration| timeout.as_millis() as u64;
    match command {
        "add-node" => match parse(words, ADD_TIMEOUT) {
            Ok((addr, timeout, false)) => Ok(MembershipRequest::Add {
                addr,
                timeout_ms: ms(timeout),
            }),
            Ok((_, _, true)) => Err("add-node takes no --force".into()),
            Err(why) => Err(format!("usage: add-node HOST:PORT [SECONDS]  ({why})")),
        },
        "remove-node" => match parse(words, REMOVE_TIMEOUT) {
            Ok((addr, timeout, force)) => Ok(MembershipRequest::Remove {
                addr,
                timeout_ms: ms(timeout),
                force,
            }),
            Err(why) => Err(format!(
                "usage: remove-node HOST:PORT [--force] [SECONDS]  ({why})"
            )),
        },
        other => Err(format!("{other:?} is not a membership command")),
    }
}

/// Longest wait a membership command may ask for (as `POST /v1/members` caps `timeout_s`).
pub(crate) const MAX_SECONDS: u64 = 3600;

/// `ADDR [--force] [SECONDS]` in any order after the address: the address, the wait, and
/// whether `--force` was given.
fn parse(words: &[&str], default: Duration) -> Result<(String, Duration, bool), String> {
    let Some((addr, rest)) = words.split_first() else {
        return Err("missing address".into());
    };
    let mut timeout = default;
    let mut force = false;
    for word in rest {
        match *word {
            "--force" => force = true,
            seconds => {
                let secs: u64 = seconds
                    .parse()
                    .map_err(|_| format!("{seconds:?} is not a number of seconds"))?;
                if secs > MAX_SECONDS {
                    return Err(format!("at most {MAX_SECONDS} seconds"));
                }
                timeout = Duration::from_secs(secs);
            }
        }
    }
    Ok((addr.to_string(), timeout, force))
}

/// `members` output: one member per line.
fn render(members: &Members) -> String {
    let mut lines = Vec::new();
    for (id, member) in &members.voters {
        let role = if members.leader == Some(*id) {
            "voter (leader)"
        } else {
            "voter"
        };
        lines.push(format!(
            "  node {id}  {}  (peer {})  {role}",
            member.api, member.peer
        ));
    }
    for (id, member) in &members.learners {
        lines.push(format!(
            "  node {id}  {}  (peer {})  learner",
            member.api, member.peer
        ));
    }
    format!("members:\n{}", lines.join("\n"))
}
