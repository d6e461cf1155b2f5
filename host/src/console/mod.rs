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

mod commands;
mod complete;
mod input;
mod inspect;
mod members;
mod notices;
mod plugin;

use std::sync::Arc;
use std::time::Duration;

use crate::node::Node;
pub use crate::plugin::ConsoleMode;
use crate::secrets::Role;

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
/// would print: how `POST /v1/console` (and so `host ctl`) runs commands without a terminal.
pub async fn execute_line(node: &Node, line: &str, role: Role) -> String {
    match commands::execute(
        node,
        ConsoleMode::Dev,
        line.trim(),
        None,
        Origin::Remote(role),
    )
    .await
    {
        commands::Reply::Text(text) => text,
        commands::Reply::Quit => "exit only leaves an interactive console".to_string(),
    }
}

/// Runs the console on `node` until `exit`, end of input, or `shutdown` resolves.
///
/// # Errors
/// Only if the terminal cannot be set up.
pub async fn run(
    node: Node,
    mode: ConsoleMode,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    println!("{}", commands::banner(&node, mode));
    match node.wait_for_plugin(Duration::from_secs(5)).await {
        Ok(_) => {
            if let Some(view) = node.overview(mode).await {
                println!("{view}");
            }
        }
        Err(reason) => println!("{reason}; the console works meanwhile, type help."),
    }
    // Input starts after the first screen is printed, so the prompt comes last.
    let prompt = format!("node-{}> ", node.id());
    let commands = complete::command_words(&commands::help(&node, mode).await);
    let (mut lines, printer) = input::start(prompt, commands)?;
    let notice_task = tokio::spawn(notices::print_notices(node.clone(), mode, printer.clone()));
    tokio::pin!(shutdown);
    loop {
        let next = tokio::select! {
            _ = &mut shutdown => break,
            next = lines.next() => next,
        };
        let Some(line) = next else { break };
        let reply = commands::execute(
            &node,
            mode,
            line.text.trim(),
            Some(&printer),
            Origin::Terminal,
        )
        .await;
        let quit = matches!(reply, commands::Reply::Quit);
        if let commands::Reply::Text(text) = reply {
            if !text.is_empty() {
                println!("{text}");
            }
        }
        line.done();
        if quit {
            break;
        }
    }
    notice_task.abort();
    Ok(())
}
