//! The console's `plugin` commands: status, history, and (dev console only) install.

use crate::node::{InstallError, Node};
use crate::plugin::ConsoleMode;

/// Runs a `plugin ...` line.
pub(crate) async fn execute(node: &Node, mode: ConsoleMode, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["plugin", "status"] => status(node).await,
        ["plugin", "history"] => history(node).await,
        ["plugin", "install", path] if mode == ConsoleMode::Dev => install(node, path).await,
        ["plugin", "install", _] => {
            "plugin install is a dev console command (start the node with --dev)".to_string()
        }
        _ => "usage: plugin status | plugin history | plugin install PATH".to_string(),
    }
}

async fn status(node: &Node) -> String {
    match node.plugin_report().await {
        Err(e) => format!("the plugin cannot report its state: {e}"),
        Ok(report) => match report.current {
            None => "no plugin installed yet".to_string(),
            Some(p) => format!(
                "plugin:    {} {} - {}\nhash:      {}\ninstalled: at index {}\nsnapshots: writes format {}, reads {} and newer\nstate:     sha256 {} at applied index {}",
                p.name,
                p.version,
                p.description,
                p.hash,
                p.installed_at,
                p.snapshot_format,
                p.min_restore_format,
                report.state_hash.unwrap_or_default(),
                report.applied
            ),
        },
    }
}

async fn history(node: &Node) -> String {
    match node.plugin_report().await {
        Err(e) => format!("the plugin cannot report its state: {e}"),
        Ok(report) if report.history.is_empty() => "no plugin installed yet".to_string(),
        Ok(report) => report
            .history
            .iter()
            .map(|r| {
                format!(
                    "index {:>6}  {} {}  format {}  {}",
                    r.index,
                    r.name,
                    r.version,
                    r.snapshot_format,
                    &r.hash[..r.hash.len().min(16)]
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

async fn install(node: &Node, path: &str) -> String {
    let bytes = match tokio::fs::read(path).await {
        Ok(bytes) => bytes,
        Err(e) => return format!("cannot read {path}: {e}"),
    };
    match node.install_plugin(bytes).await {
        Ok(installed) => format!(
            "installed {} {} ({}) at index {}: every node switched there",
            installed.name,
            installed.version,
            &installed.hash[..installed.hash.len().min(12)],
            installed.index
        ),
        Err(InstallError::Refused { step, reason }) => {
            format!("refused at step {step}: {reason}\nthe running plugin stays")
        }
        Err(e) => format!("{e}"),
    }
}
