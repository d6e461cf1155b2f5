//! `host ctl`: every console command against a running node, without a terminal, so operators
//! can script them and tests can drive them. Text output is what the console prints; with
//! `--json` the host commands answer with their HTTP endpoint's JSON. The admin token goes in
//! `Authorization: Bearer` (read from `--token-file`); `plugin install PATH` reads the file on
//! this machine and uploads its bytes. A refused or failed command (unknown, malformed, refused by
//! the rules or the membership checks, no quorum) comes back with `ok` false, so `host ctl`
//! exits 1 in both text and JSON modes.

use std::time::Duration;

use hyper::Method;
use serde_json::{json, Value};

use crate::http::client::{AdminClient, ClientError};
use crate::node::{ConsoleAnswer, MembershipRequest};

/// Longest wait for one command (an `add-node` may wait a minute for a catch-up).
const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `words` (one console line) on the node at `node` with `token`; returns what to print
/// and whether the command did what was asked.
///
/// # Errors
/// [`ClientError`] when the node cannot be reached, refuses the credential, or answers with
/// an error status.
pub async fn run(
    node: &str,
    words: &[String],
    json: bool,
    token: Option<String>,
) -> Result<ConsoleAnswer, ClientError> {
    let client = AdminClient::new(token);
    let line = words.join(" ");
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    if let ["plugin", "install", path] = words.as_slice() {
        let bytes = std::fs::read(path).map_err(|e| ClientError::Protocol {
            addr: node.to_string(),
            reason: format!("cannot read {path}: {e}"),
        })?;
        let answer = client
            .send(
                Method::POST,
                node,
                "/v1/plugin",
                Some(("application/wasm", bytes)),
                TIMEOUT,
            )
            .await?;
        let installed: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        return Ok(ConsoleAnswer::done(if json {
            pretty(&installed)
        } else {
            format!(
                "installed {} {} ({}) at index {}: every node switched there",
                installed["name"].as_str().unwrap_or("?"),
                installed["version"].as_str().unwrap_or("?"),
                installed["hash"]
                    .as_str()
                    .and_then(|h| h.get(..12))
                    .unwrap_or("?"),
                installed["index"]
            )
        }));
    }
    if !json {
        let answer = client
            .json(
                Method::POST,
                node,
                "/v1/console",
                Some(&json!({ "line": line })),
                TIMEOUT,
            )
            .await?;
        return Ok(console_answer(
            &answer,
            answer["output"].as_str().unwrap_or_default(),
        ));
    }
    let answer = match words.as_slice() {
        ["status"] | ["get-node-status"] => {
            client
                .json(Method::GET, node, "/v1/status", None, TIMEOUT)
                .await?
        }
        ["members"] => {
            client
                .json(Method::GET, node, "/v1/members", None, TIMEOUT)
                .await?
        }
        ["plugin", "status" | "history"] => {
            client
                .json(Method::GET, node, "/v1/plugin", None, TIMEOUT)
                .await?
        }
        ["plugin", "limits"] => {
            client
                .json(Method::GET, node, "/v1/config", None, TIMEOUT)
                .await?
        }
        ["logs" | "get-logs", rest @ ..] => {
            let Ok((from, n)) = crate::console::parse_logs(rest) else {
                return Ok(ConsoleAnswer::refused(crate::console::LOGS_USAGE));
            };
            let mut query = vec![format!("n={n}")];
            if let Some(from) = from {
                query.push(format!("from={from}"));
            }
            let path = format!("/v1/logs?{}", query.join("&"));
            client.json(Method::GET, node, &path, None, TIMEOUT).await?
        }
        ["snapshot"] => {
            client
                .json(Method::POST, node, "/v1/snapshot", None, TIMEOUT)
                .await?
        }
        [change @ ("add-node" | "remove-node"), rest @ ..] => {
            let body = match crate::console::parse_membership_change(change, rest) {
                Ok(MembershipRequest::Add { addr, timeout_ms }) => {
                    json!({ "add": addr, "timeout_s": timeout_ms / 1000 })
                }
                Ok(MembershipRequest::Remove {
                    addr,
                    timeout_ms,
                    force,
                }) => json!({ "remove": addr, "force": force, "timeout_s": timeout_ms / 1000 }),
                Ok(MembershipRequest::Join { .. }) => {
                    return Ok(ConsoleAnswer::refused("join is not a console command"))
                }
                Err(usage) => return Ok(ConsoleAnswer::refused(usage)),
            };
            client
                .json(Method::POST, node, "/v1/members", Some(&body), TIMEOUT)
                .await?
        }
        _ => {
            let answer = client
                .json(
                    Method::POST,
                    node,
                    "/v1/console",
                    Some(&json!({ "line": line })),
                    TIMEOUT,
                )
                .await?;
            return Ok(console_answer(&answer, &pretty(&answer)));
        }
    };
    Ok(ConsoleAnswer::done(pretty(&answer)))
}

/// `text`, refused when the `POST /v1/console` answer says the line was (a node older than the
/// `ok` field counts as done).
fn console_answer(answer: &Value, text: &str) -> ConsoleAnswer {
    ConsoleAnswer {
        text: text.to_string(),
        ok: answer["ok"].as_bool().unwrap_or(true),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
