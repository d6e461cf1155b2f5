//! What a console line does: host commands first, then the plugin's commands.

use super::Origin;
use crate::node::{ConsoleAnswer, Node, NodeStatus};
use crate::plugin::ConsoleMode;

/// The result of one console line.
pub(crate) enum Reply {
    /// Print this (and, for `host ctl`, whether the line did what was asked).
    Answer(ConsoleAnswer),
    /// Leave the console.
    Quit,
}

const HOST_HELP: &str = "\
  help              this list
  is-leader         whether this node leads, and who does
  status            role, term, leader, log and applied index, members (alias get-node-status)
  get-state         the plugin, a hash of the state, and the plugin's overview
  logs [FROM] [N]   N log entries (default the last 20) decoded by the plugin (alias get-logs)
  snapshot          build a snapshot now (and compact the log behind it)
  members           voters and learners, and who leads
  add-node HOST:PORT [SECONDS]            add a running node: learner, catch up, voter (60 s)
  remove-node HOST:PORT [--force] [SECONDS]   remove a member (15 s); --force even without quorum
  plugin status     the cluster's plugin and a hash of its state
  plugin history    every plugin install: index, name, version, hash
  plugin install PATH   (dev console) validate a component and swap it in through the log
  plugin limits     the plugin limits and snapshot spacing in force (from the log)
  exit | quit       leave the console and stop the node (Ctrl-D and Ctrl-C too)";

/// The first lines the console prints.
pub(crate) fn banner(node: &Node, mode: ConsoleMode) -> String {
    let mode = match mode {
        ConsoleMode::Demo => "demo",
        ConsoleMode::Dev => "dev",
    };
    let scheme = if node.credentials().public_tls.is_some() {
        "https"
    } else {
        "http"
    };
    format!(
        "node {} listening on {scheme}://{} (the plugin's web page and API; {mode} console: type help)",
        node.id(),
        node.member().api
    )
}

/// What a console that found no plugin (so no leader) tells its user: a leader needs a
/// majority of the voters running, and how to start the others.
pub(crate) fn quorum_hint(node: &Node) -> String {
    let status = node.status();
    let others: Vec<String> = status
        .voters
        .iter()
        .filter(|v| v.id != status.id)
        .map(|v| format!("node {} at {}", v.id, v.addr))
        .collect();
    if others.is_empty() {
        return "This node knows no other voter yet.".to_string();
    }
    let voters = others.len() + 1;
    format!(
        "A leader needs {} of the {voters} voters running; the others are {}. Start them \
         (`host --id N` in other terminals) or run the whole cluster with `host local`.",
        voters / 2 + 1,
        others.join(", ")
    )
}

/// Executes one line.
/// `progress` prints interim lines of long commands (an interactive console passes its printer).
pub(crate) async fn execute(
    node: &Node,
    mode: ConsoleMode,
    line: &str,
    progress: Option<&super::Printer>,
    origin: Origin,
) -> Reply {
    match line {
        "" => Reply::Answer(ConsoleAnswer::done("")),
        "exit" | "quit" => Reply::Quit,
        "help" => Reply::Answer(ConsoleAnswer::done(help(node, mode).await)),
        "is-leader" => Reply::Answer(ConsoleAnswer::done(is_leader(&node.status()))),
        "status" | "get-node-status" => Reply::Answer(ConsoleAnswer::done(status(&node.status()))),
        "get-state" => Reply::Answer(ConsoleAnswer::done(get_state(node, mode).await)),
        _ if line == "plugin" || line.starts_with("plugin ") => {
            Reply::Answer(super::plugin::execute(node, mode, line, origin).await)
        }
        _ => {
            if let Some(answer) = super::members::execute(node, line, progress, origin).await {
                return Reply::Answer(answer);
            }
            if let Some(answer) = super::inspect::execute(node, line, origin).await {
                return Reply::Answer(answer);
            }
            Reply::Answer(node.console_line(line, mode, origin.may_write()).await)
        }
    }
}

/// The refusal of a change asked for by a read-only operator.
pub(crate) const NEEDS_ADMIN: &str = "this command changes the cluster: it needs the admin role";

pub(crate) async fn help(node: &Node, mode: ConsoleMode) -> String {
    let plugin = node
        .console_help(mode)
        .await
        .unwrap_or_else(|e| format!("  (plugin help unavailable: {e})"));
    format!(
        "Host commands:\n{HOST_HELP}\nPlugin commands:\n{}",
        plugin.trim_end()
    )
}

/// `get-state` (the original console's name): the plugin, a hash of its state at the applied
/// index, and the plugin's overview of the state.
async fn get_state(node: &Node, mode: ConsoleMode) -> String {
    let plugin = super::plugin::execute(node, mode, "plugin status", Origin::Terminal)
        .await
        .text;
    let view = node.overview(mode).await.unwrap_or_default();
    format!("{plugin}\n{view}")
}

/// `is-leader`: yes or no, and where the leader is.
pub(crate) fn is_leader(status: &NodeStatus) -> String {
    match (status.leader_id, &status.leader_addr) {
        (Some(leader), _) if leader == status.id => {
            format!(
                "yes: node {} ({}) is the leader in term {}",
                status.id, status.addr, status.term
            )
        }
        (Some(leader), addr) => format!(
            "no: node {} is a {}; the leader is node {leader} at {} (term {})",
            status.id,
            status.role,
            addr.as_deref().unwrap_or("unknown address"),
            status.term
        ),
        (None, _) => format!(
            "no: node {} is a {} and there is no leader right now (term {})",
            status.id, status.role, status.term
        ),
    }
}

fn opt(value: Option<u64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// `status`: the node's view, one fact per line.
pub(crate) fn status(status: &NodeStatus) -> String {
    let leader = match (status.leader_id, &status.leader_addr) {
        (Some(id), Some(addr)) => format!("node {id} at {addr}"),
        (Some(id), None) => format!("node {id}"),
        (None, _) => "none".to_string(),
    };
    let members = |peers: &[crate::node::PeerStatus]| {
        peers
            .iter()
            .map(|p| match p.matched {
                Some(m) => format!("{}@{} (matched {m})", p.id, p.addr),
                None => format!("{}@{}", p.id, p.addr),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let plugin = match &status.plugin {
        Some(p) => format!(
            "{} {} ({}…, installed at {})",
            p.name,
            p.version,
            p.hash.get(..12).unwrap_or(&p.hash),
            p.installed_at
        ),
        None => "none yet".to_string(),
    };
    format!(
        "node:     {} at {} (peer {})\nrole:     {}\nterm:     {}\nleader:   {leader}\nlog:      last {}, committed {}, applied {}\nvoters:   {}\nlearners: {}\nplugin:   {plugin}",
        status.id,
        status.addr,
        status.peer,
        status.role,
        status.term,
        opt(status.last_log_index),
        opt(status.committed),
        opt(status.last_applied),
        members(&status.voters),
        if status.learners.is_empty() { "none".to_string() } else { members(&status.learners) },
    )
}
