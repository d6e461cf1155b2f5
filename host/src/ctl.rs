//! `host ctl`: every console command against a running node, without a terminal, so operators
//! can script them and tests can drive them. Text output is what the console prints; with
//! `--json` the host commands answer with their HTTP endpoint's JSON.

use std::time::Duration;

use serde_json::{json, Value};

use crate::http::client::{PeerClient, PeerError};

/// Longest wait for one command (an `add-node` may wait a minute for a catch-up).
const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `words` (one console line) on the node at `node`; returns what to print.
///
/// # Errors
/// [`PeerError`] when the node cannot be reached or answers with an error status.
pub async fn run(node: &str, words: &[String], json: bool) -> Result<String, PeerError> {
    let client = PeerClient::new();
    let line = words.join(" ");
    if !json {
        let answer: Value = client
            .post_json(node, "/v1/console", &json!({ "line": line }), TIMEOUT)
            .await?;
        return Ok(answer["output"].as_str().unwrap_or_default().to_string());
    }
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let answer: Value = match words.as_slice() {
        ["status"] | ["get-node-status"] => client.get_json(node, "/v1/status", TIMEOUT).await?,
        ["members"] => client.get_json(node, "/v1/members", TIMEOUT).await?,
        ["plugin", "status" | "history"] => client.get_json(node, "/v1/plugin", TIMEOUT).await?,
        ["logs" | "get-logs", rest @ ..] => {
            let mut query = Vec::new();
            if let Some(from) = rest.first() {
                query.push(format!("from={from}"));
            }
            if let Some(n) = rest.get(1) {
                query.push(format!("n={n}"));
            }
            let path = format!("/v1/logs?{}", query.join("&"));
            client.get_json(node, &path, TIMEOUT).await?
        }
        ["snapshot"] => {
            client
                .post_json(node, "/v1/snapshot", &json!({}), TIMEOUT)
                .await?
        }
        ["add-node", addr, rest @ ..] => {
            let mut body = json!({ "add": addr });
            if let Some(Ok(secs)) = rest.first().map(|s| s.parse::<u64>()) {
                body["timeout_s"] = json!(secs);
            }
            client
                .post_json(node, "/v1/members", &body, TIMEOUT)
                .await?
        }
        ["remove-node", addr, rest @ ..] => {
            let mut body = json!({ "remove": addr, "force": rest.contains(&"--force") });
            if let Some(secs) = rest.iter().find_map(|s| s.parse::<u64>().ok()) {
                body["timeout_s"] = json!(secs);
            }
            client
                .post_json(node, "/v1/members", &body, TIMEOUT)
                .await?
        }
        _ => {
            client
                .post_json(node, "/v1/console", &json!({ "line": line }), TIMEOUT)
                .await?
        }
    };
    Ok(serde_json::to_string_pretty(&answer).unwrap_or_else(|_| answer.to_string()))
}
