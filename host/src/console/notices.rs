//! Commit notices: every applied entry on this node, described by the plugin, as it happens.

use tokio::sync::broadcast::{self, error::RecvError};

use super::Printer;
use crate::node::Node;
use crate::plugin::ConsoleMode;
use crate::raft::state_machine::{CommitEvent, CommitKind};
use crate::raft::ApplyOutcome;

/// Prints a notice for each commit `events` (from [`Node::subscribe`]) brings, until the node
/// stops.
pub(crate) async fn print_notices(
    node: Node,
    mode: ConsoleMode,
    mut events: broadcast::Receiver<CommitEvent>,
    print: Printer,
) {
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(missed)) => {
                print(format!(
                    "({missed} commit notices skipped: the console fell behind)"
                ));
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let head = format!("[commit {} term {}]", event.index, event.term);
        let (line, redraw) = match &event.kind {
            CommitKind::Command {
                command, outcome, ..
            } => {
                let result = outcome.command_result();
                let described = node.describe(command.clone(), result).await;
                let line = match outcome {
                    ApplyOutcome::Failed(reason) => {
                        format!("{head} {described} -> failed: {reason}")
                    }
                    _ => format!("{head} {described}"),
                };
                (line, matches!(outcome, ApplyOutcome::Applied(_)))
            }
            CommitKind::Plugin(ApplyOutcome::PluginInstalled {
                name,
                version,
                hash,
            }) => (
                format!(
                    "{head} plugin {name} {version} installed ({}…)",
                    hash.get(..12).unwrap_or(hash)
                ),
                true,
            ),
            CommitKind::Plugin(ApplyOutcome::PluginRefused(reason)) => {
                (format!("{head} plugin install refused: {reason}"), false)
            }
            CommitKind::Plugin(_) | CommitKind::Checkpoint => continue,
            CommitKind::Config(ApplyOutcome::Configured(config)) => (
                format!(
                    "{head} machine config: fuel {} per call, memory {} MiB, snapshot every {} entries",
                    config.limits.fuel_per_call,
                    config.limits.memory_bytes >> 20,
                    config.snapshot_every
                ),
                false,
            ),
            CommitKind::Config(_) => continue,
            CommitKind::Membership(text) => (format!("{head} membership: {text}"), false),
            CommitKind::SnapshotInstalled => (
                format!("{head} state replaced by a snapshot from the leader"),
                true,
            ),
        };
        print(line);
        if redraw && mode == ConsoleMode::Demo {
            if let Some(view) = node.overview(mode).await {
                print(view);
            }
        }
    }
}
