//! HTTP to the nodes: one blocking request with a bounded timeout, its answer classified as an
//! answer, "not sent" (the connection could not be made: nothing reached the node) or "lost"
//! (sent, then no complete answer: it may or may not have happened), and the few admin calls
//! the harness makes.
//!
//! Every request opens a new connection (no pool): a pooled connection to a node killed since
//! would fail after the request was written, turning a refused connection (certainly nothing
//! happened) into a lost one (maybe something happened).

use std::time::Duration;

use serde_json::Value;

/// What came back.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete HTTP answer.
    Answer {
        /// Status code.
        status: u16,
        /// Body text.
        body: String,
    },
    /// The connection could not be made; nothing was sent.
    NotSent(String),
    /// Sent, and then no complete answer (timeout, reset).
    Lost(String),
}

impl Reply {
    /// The body as JSON, for a 2xx answer.
    pub fn ok_json(&self) -> Option<Value> {
        match self {
            Reply::Answer { status, body } if (200..300).contains(status) => {
                serde_json::from_str(body).ok()
            }
            _ => None,
        }
    }

    /// A short description for logs.
    pub fn describe(&self) -> String {
        match self {
            Reply::Answer { status, body } => {
                let text: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
                let text: String = text.chars().take(300).collect();
                format!("{status} {text}")
            }
            Reply::NotSent(e) => format!("not sent: {e}"),
            Reply::Lost(e) => format!("no answer: {e}"),
        }
    }
}

/// A request body.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// No body.
    None,
    /// A JSON text.
    Json(&'a str),
    /// A WebAssembly component.
    Wasm(&'a [u8]),
}

/// A client with one timeout for every request.
#[derive(Debug, Clone)]
pub struct Http {
    agent: ureq::Agent,
}

impl Http {
    /// A client whose requests each end within `timeout` (connect, send and read together).
    pub fn new(timeout: Duration) -> Http {
        Http {
            agent: ureq::AgentBuilder::new()
                .timeout(timeout)
                .timeout_connect(timeout.min(Duration::from_secs(1)))
                .max_idle_connections(0)
                .redirects(0)
                .build(),
        }
    }

    /// Sends one request to `http://{addr}{path}`.
    pub fn call(
        &self,
        method: &str,
        addr: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
    ) -> Reply {
        let mut request = self.agent.request(method, &format!("http://{addr}{path}"));
        for (name, value) in headers {
            request = request.set(name, value);
        }
        let result = match body {
            Body::None => request.call(),
            Body::Json(text) => request
                .set("content-type", "application/json")
                .send_string(text),
            Body::Wasm(bytes) => request
                .set("content-type", "application/wasm")
                .send_bytes(bytes),
        };
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(transport)) => {
                let reason = transport.to_string();
                return match transport.kind() {
                    ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Dns => {
                        Reply::NotSent(reason)
                    }
                    _ => Reply::Lost(reason),
                };
            }
        };
        let status = response.status();
        match response.into_string() {
            Ok(body) => Reply::Answer { status, body },
            Err(e) => Reply::Lost(format!("reading the body: {e}")),
        }
    }

    /// An admin GET answering JSON; `None` unless 200 with JSON.
    pub fn admin_get(&self, addr: &str, path: &str, token: &str) -> Option<Value> {
        let auth = format!("Bearer {token}");
        self.call("GET", addr, path, &[("authorization", &auth)], Body::None)
            .ok_json()
    }
}

/// A problem answer's type (its last path segment, `seat-taken`) and the seats it names.
pub fn problem(body: &str) -> (String, Vec<String>) {
    let Ok(json) = serde_json::from_str::<Value>(body) else {
        return (String::new(), Vec::new());
    };
    let kind = json["type"]
        .as_str()
        .map(|t| t.rsplit('/').next().unwrap_or(t).to_string())
        .unwrap_or_default();
    let seats = json["seats"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    (kind, seats)
}

/// What `GET /v1/status` says about a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Its id.
    pub id: u64,
    /// `leader`, `follower`, `candidate`, `learner`, ...
    pub role: String,
    /// The leader it knows of.
    pub leader_id: Option<u64>,
    /// Its term.
    pub term: u64,
    /// Its last applied index.
    pub last_applied: u64,
    /// Voter ids in its membership.
    pub voters: Vec<u64>,
    /// Whether the plugin is installed.
    pub has_plugin: bool,
}

impl Status {
    /// Parses a `/v1/status` answer.
    pub fn parse(json: &Value) -> Option<Status> {
        Some(Status {
            id: json["id"].as_u64()?,
            role: json["role"].as_str().unwrap_or("").to_ascii_lowercase(),
            leader_id: json["leader_id"].as_u64(),
            term: json["term"].as_u64().unwrap_or(0),
            last_applied: json["last_applied"].as_u64().unwrap_or(0),
            voters: json["voters"]
                .as_array()
                .map(|v| v.iter().filter_map(|m| m["id"].as_u64()).collect())
                .unwrap_or_default(),
            has_plugin: !json["plugin"].is_null(),
        })
    }
}

/// What `GET /v1/plugin` says: applied index, state hash and current plugin version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginState {
    /// The last applied index.
    pub applied: u64,
    /// SHA-256 of the plugin's state at `applied`.
    pub state_hash: String,
    /// The current plugin's version.
    pub version: String,
}

impl PluginState {
    /// Parses a `/v1/plugin` answer.
    pub fn parse(json: &Value) -> Option<PluginState> {
        Some(PluginState {
            applied: json["applied"].as_u64()?,
            state_hash: json["state_hash"].as_str()?.to_string(),
            version: json["current"]["version"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_reads_type_and_seats() {
        let (kind, seats) = problem(
            r#"{"type":"/problems/seat-taken","status":409,"seats":["a1","b2"],"showtime":6}"#,
        );
        assert_eq!(kind, "seat-taken");
        assert_eq!(seats, vec!["a1".to_string(), "b2".to_string()]);
        assert_eq!(problem("not json"), (String::new(), vec![]));
    }

    #[test]
    fn status_parses_the_v1_answer() {
        let json: Value = serde_json::from_str(
            r#"{"id":1,"role":"leader","leader_id":1,"term":3,"last_applied":9,"voters":[{"id":0},{"id":1}],"plugin":{"version":"1.1.0"}}"#,
        )
        .expect("test JSON");
        let status = Status::parse(&json).expect("parses");
        assert_eq!(status.role, "leader");
        assert_eq!(status.voters, vec![0, 1]);
        assert!(status.has_plugin);
    }
}
