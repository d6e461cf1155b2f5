//! The console's `plugin` commands: status, history, limits, and (the dev console at the
//! node's own terminal only) install from a file.

use super::Origin;
use crate::node::{AdminError, ConsoleAnswer, Node};
use crate::plugin::ConsoleMode;

/// Runs a `plugin ...` line.
pub(crate) async fn execute(
    node: &Node,
    mode: ConsoleMode,
    line: &str,
    origin: Origin,
) -> ConsoleAnswer {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["plugin", "status"] => status(node).await,
        ["plugin", "history"] => history(node).await,
        ["plugin", "limits"] => ConsoleAnswer::done(limits(node)),
        ["plugin", "install", _] if origin != Origin::Terminal => ConsoleAnswer::refused(
            "over the admin API, an install takes the component's bytes, never a path on the node: \
             POST /v1/plugin (content-type application/wasm), or `host ctl plugin install PATH`, \
             which uploads a file of your machine",
        ),
        ["plugin", "install", path] if mode == ConsoleMode::Dev => install(node, path).await,
        ["plugin", "install", _] => ConsoleAnswer::refused(
            "plugin install is a dev console command (start the node with --dev)",
        ),
        _ => ConsoleAnswer::refused(
            "usage: plugin status | plugin history | plugin limits | plugin install PATH",
        ),
    }
}

fn limits(node: &Node) -> String {
    let config = node.machine_config();
    format!(
        "fuel per call:        {}\nfuel per state call:  {}\nmemory:               {} MiB\nstack:                {} KiB\nsnapshot every:       {} entries (more when the state is large)",
        config.limits.fuel_per_call,
        config.limits.fuel_per_state_call,
        config.limits.memory_bytes >> 20,
        config.limits.stack_bytes >> 10,
        config.snapshot_every
    )
}

async fn status(node: &Node) -> ConsoleAnswer {
    match node.plugin_report().await {
        Err(e) => ConsoleAnswer::refused(format!("the plugin cannot report its state: {e}")),
        Ok(report) => match report.current {
            None => ConsoleAnswer::done("no plugin installed yet"),
            Some(p) => ConsoleAnswer::done(format!(
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
            )),
        },
    }
}

async fn history(node: &Node) -> ConsoleAnswer {
    match node.plugin_report().await {
        Err(e) => ConsoleAnswer::refused(format!("the plugin cannot report its state: {e}")),
        Ok(report) if report.history.is_empty() => ConsoleAnswer::done("no plugin installed yet"),
        Ok(report) => ConsoleAnswer::done(
            report
                .history
                .iter()
                .map(|r| {
                    format!(
                        "index {:>6}  {} {}  format {}  {}",
                        r.index,
                        r.name,
                        r.version,
                        r.snapshot_format,
                        r.hash.get(..16).unwrap_or(&r.hash)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    }
}

async fn install(node: &Node, path: &str) -> ConsoleAnswer {
    let limit = crate::node::MAX_PLUGIN_BYTES;
    match tokio::fs::metadata(path).await {
        Ok(meta) if meta.len() > limit as u64 => {
            return ConsoleAnswer::refused(format!(
                "{path} has {} bytes; a plugin is at most {limit}",
                meta.len()
            ))
        }
        Ok(meta) if !meta.is_file() => {
            return ConsoleAnswer::refused(format!("{path} is not a file"))
        }
        Ok(_) => {}
        Err(e) => return ConsoleAnswer::refused(format!("cannot read {path}: {e}")),
    }
    let bytes = match tokio::fs::read(path).await {
        Ok(bytes) => bytes,
        Err(e) => return ConsoleAnswer::refused(format!("cannot read {path}: {e}")),
    };
    match node.install_plugin(bytes).await {
        Ok(installed) => ConsoleAnswer::done(format!(
            "installed {} {} ({}) at index {}: every node switched there",
            installed.name,
            installed.version,
            installed.hash.get(..12).unwrap_or(&installed.hash),
            installed.index
        )),
        Err(AdminError::Refused { step, reason }) => ConsoleAnswer::refused(format!(
            "refused at step {step}: {reason}\nthe running plugin stays"
        )),
        Err(e) => ConsoleAnswer::refused(e.to_string()),
    }
}
