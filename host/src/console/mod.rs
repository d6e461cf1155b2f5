//! The REPL attached to a node (demo and dev modes).
//!
//! Host commands (`help`, `is-leader`, `status`, `exit`) are answered here; every other line is
//! offered to the plugin's `console` export, which turns it into a read, a write or text. Commit
//! notices from every node's applies are printed as they happen, with the plugin's overview
//! (whatever the plugin's `overview` shows) in demo mode.
//!
//! - `complete`: Tab completion of command names.
//! - [`input`]: where lines come from: rustyline on a terminal, plain lines from a pipe.
//! - [`commands`]: what a line does.
//! - [`notices`]: the commit notice printer.
//! - `plugin`: `plugin status`, `plugin history`, `plugin install PATH`.
//! - `members`: `members`, `add-node`, `remove-node`.
//! - `inspect`: `logs`, `snapshot`.
//! - `terminal`: puts the terminal mode back on every way out.

mod commands;
mod complete;
mod input;
mod inspect;
mod members;
mod notices;
mod plugin;
mod terminal;

use std::sync::Arc;
use std::time::Duration;

use crate::node::{ConsoleAnswer, Node};
pub use crate::plugin::ConsoleMode;
use crate::secrets::Role;

pub(crate) use inspect::{parse_logs, LOGS_USAGE};
pub(crate) use members::parse_change as parse_membership_change;

/// Where console text goes: stdout, or rustyline's external printer while a prompt is shown.
pub(crate) type Printer = Arc<dyn Fn(String) + Send + Sync>;

/// Where a console line comes from, and so what it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The node's own terminal: its operator may do anything, read local files included.
    Terminal,
    /// `POST /v1/console` (`host ctl`): what the caller's admin role allows, and never a file
    /// of the node.
    Remote(Role),
}

impl Origin {
    /// True when the line may change the cluster.
    pub fn may_write(self) -> bool {
        match self {
            Origin::Terminal => true,
            Origin::Remote(role) => role.allows(Role::Admin),
        }
    }
}

/// Runs one dev-console line on `node` for a caller with `role` and returns what the console
/// would print and whether the line did what was asked: how `POST /v1/console` (and so
/// `host ctl`) runs commands without a terminal.
pub async fn execute_line(node: &Node, line: &str, role: Role) -> ConsoleAnswer {
    match commands::execute(
        node,
        ConsoleMode::Dev,
        line.trim(),
        None,
        Origin::Remote(role),
    )
    .await
    {
        commands::Reply::Answer(answer) => answer,
        commands::Reply::Quit => ConsoleAnswer::refused("exit only leaves an interactive console"),
    }
}

/// Runs the console on `node` until `exit`, Ctrl-C, end of input, or `shutdown` resolves; the
/// terminal is left in the mode it was found in, whichever way the console ends.
///
/// # Errors
/// Only if the terminal cannot be set up.
pub async fn run(
    node: Node,
    mode: ConsoleMode,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let _terminal = terminal::TerminalGuard::save();
    // Subscribed since the node started, so the first commits (membership, plugin install)
    // are noticed on every node's console, not only on the one that started first.
    let events = node.subscribe_from_start();
    println!("{}", commands::banner(&node, mode));
    tokio::pin!(shutdown);
    let first_screen = async {
        match node.wait_for_plugin(Duration::from_secs(5)).await {
            Ok(_) => {
                if let Some(view) = node.overview(mode).await {
                    println!("{view}");
                }
            }
            Err(reason) => println!(
                "{reason}; the console works meanwhile, type help.\n{}",
                commands::quorum_hint(&node)
            ),
        }
    };
    tokio::select! {
        _ = &mut shutdown => return Ok(()),
        _ = first_screen => {}
    }
    // Input starts after the first screen is printed, so the prompt comes last.
    let prompt = format!("node-{}> ", node.id());
    let commands = complete::command_words(&commands::help(&node, mode).await);
    let (mut lines, printer) = input::start(prompt, commands)?;
    let notice_task = tokio::spawn(notices::print_notices(
        node.clone(),
        mode,
        events,
        printer.clone(),
    ));
    loop {
        let next = tokio::select! {
            _ = &mut shutdown => break,
            next = lines.next() => next,
        };
        let Some(line) = next else { break };
        let text = line.text.trim().to_string();
        // A signal or the node's removal also ends a command under way (an add-node may wait
        // minutes for a catch-up): the node stops instead of finishing it first.
        let reply = tokio::select! {
            _ = &mut shutdown => {
                println!("interrupted: the node stops");
                line.last();
                break;
            }
            reply = commands::execute(&node, mode, &text, Some(&printer), Origin::Terminal) => reply,
        };
        match reply {
            commands::Reply::Quit => {
                line.last();
                break;
            }
            commands::Reply::Answer(answer) => {
                if !answer.text.is_empty() {
                    println!("{}", answer.text);
                }
                line.done();
            }
        }
    }
    notice_task.abort();
    Ok(())
}
