//! The host's `/v1` endpoints and `/metrics`. Every one but `/v1/peer` and
//! `/v1/openapi.json` needs an admin credential: the operator role reads, the admin role
//! changes. The caller is checked before any body is read.
//!
//! [`ROUTES`] is the one list of what is served here: authorization reads it, and so does the
//! OpenAPI document (`super::openapi`), so the two cannot drift apart.
//!
//! # Routes
//! ```text
//! GET  /v1/peer            (no credential) {"peer": "host:port"}: where this node's peer channel listens
//! GET  /v1/openapi.json    (no credential) the OpenAPI 3.1 document of these routes
//! GET  /v1/status          operator  node status
//! GET  /v1/members         operator  voters, learners, leader, reachable
//! POST /v1/members         admin     {"add":ADDR} | {"remove":ADDR,"force":bool} (+ "timeout_s")
//! GET  /v1/plugin          operator  the plugin, its install history, the machine config, a state hash
//! POST /v1/plugin          admin     install a plugin (content-type application/wasm, at most 64 MiB)
//! GET  /v1/config          operator  the machine config (plugin limits, snapshot spacing)
//! PUT  /v1/config          admin     change it (JSON; fields left out keep their value)
//! GET  /v1/logs?from=&n=   operator  log entries decoded by the plugin
//! POST /v1/snapshot        admin     a snapshot on every replica, now
//! POST /v1/console         operator  {"line":...}: one dev-console line (changes need admin):
//!                                     {"output": text, "ok": false when refused or failed}
//! GET  /metrics            operator  Prometheus metrics (OpenMetrics text)
//! ```

use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;

use super::auth::require;
use super::problem::{json_reply, problem, problem_with, Reply};
use crate::node::{
    AdminError, Installed, Members, MembershipError, MembershipRequest, Node, ADD_TIMEOUT,
    REMOVE_TIMEOUT,
};
use crate::plugin::Limits;
use crate::raft::MachineConfig;
use crate::secrets::Role;

/// Largest plugin component accepted by `POST /v1/plugin`.
const MAX_PLUGIN_BODY: usize = 64 << 20;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Access {
    /// Anyone: nothing secret, nothing changed.
    Public,
    /// A bearer token of at least this role.
    Needs(Role),
}

/// One method on one path.
#[derive(Debug)]
pub(super) struct Route {
    /// The method, as in the request line.
    pub method: &'static str,
    /// The exact path (queries aside).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// One line about it, the OpenAPI summary.
    pub summary: &'static str,
}

/// Every route served by [`route`], with the role it needs.
pub(super) const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/v1/peer",
        access: Access::Public,
        summary: "Where this node's peer channel listens (used by joining nodes)",
    },
    Route {
        method: "GET",
        path: "/v1/openapi.json",
        access: Access::Public,
        summary: "This document",
    },
    Route {
        method: "GET",
        path: "/v1/status",
        access: Access::Needs(Role::Operator),
        summary: "This node's view of itself and the cluster",
    },
    Route {
        method: "GET",
        path: "/v1/members",
        access: Access::Needs(Role::Operator),
        summary: "Voters, learners, the leader and (on the leader) who is reachable",
    },
    Route {
        method: "POST",
        path: "/v1/members",
        access: Access::Needs(Role::Admin),
        summary: "Add a node, or remove one",
    },
    Route {
        method: "GET",
        path: "/v1/plugin",
        access: Access::Needs(Role::Operator),
        summary: "The plugin, its install history, the machine config and a state hash",
    },
    Route {
        method: "POST",
        path: "/v1/plugin",
        access: Access::Needs(Role::Admin),
        summary: "Install a plugin on every replica (a WebAssembly component, at most 64 MiB)",
    },
    Route {
        method: "GET",
        path: "/v1/config",
        access: Access::Needs(Role::Operator),
        summary: "The machine config: plugin limits and snapshot spacing",
    },
    Route {
        method: "PUT",
        path: "/v1/config",
        access: Access::Needs(Role::Admin),
        summary: "Change the machine config (fields left out keep their value)",
    },
    Route {
        method: "GET",
        path: "/v1/logs",
        access: Access::Needs(Role::Operator),
        summary: "Log entries, described by the plugin",
    },
    Route {
        method: "POST",
        path: "/v1/snapshot",
        access: Access::Needs(Role::Admin),
        summary: "Take a snapshot on every replica now",
    },
    Route {
        method: "POST",
        path: "/v1/console",
        access: Access::Needs(Role::Operator),
        summary: "Run one console line (commands that change anything need the admin role)",
    },
    Route {
        method: "GET",
        path: "/metrics",
        access: Access::Needs(Role::Operator),
        summary: "Prometheus metrics of this node (OpenMetrics text)",
    },
];

/// True for the paths this module serves (the rest goes to the plugin).
pub(super) fn serves(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/") || path == "/metrics"
}

fn not_allowed(method: &Method, path: &str) -> Reply {
    let allow: Vec<&str> = ROUTES
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.method)
        .collect();
    let mut reply = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        &format!("{method} {path}; allowed: {}", allow.join(", ")),
    );
    if let Ok(value) = hyper::header::HeaderValue::from_str(&allow.join(", ")) {
        reply.headers_mut().insert(hyper::header::ALLOW, value);
    }
    reply
}

fn unsupported_type(expected: &str) -> Reply {
    problem(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "Unsupported content type",
        &format!("send content-type: {expected}"),
    )
}

fn has_content_type(request: &Request<Incoming>, expected: &str) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// Serves one `/v1` or `/metrics` request.
pub(super) async fn route(node: Node, request: Request<Incoming>) -> Reply {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    if !ROUTES.iter().any(|r| r.path == path) {
        return problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such host endpoint",
            &format!("{method} {path}"),
        );
    }
    let Some(found) = ROUTES
        .iter()
        .find(|r| r.path == path && r.method == method.as_str())
    else {
        return not_allowed(&method, &path);
    };
    let role = match found.access {
        Access::Public => None,
        Access::Needs(needed) => match require(&node, request.headers(), needed) {
            Ok(role) => Some(role),
            Err(reply) => return *reply,
        },
    };
    let limits = node.http_limits().clone();
    match (method, path.as_str()) {
        (Method::GET, "/v1/peer") => json_reply(&serde_json::json!({ "peer": node.member().peer })),
        (Method::GET, "/v1/openapi.json") => super::openapi::reply(),
        (Method::GET, "/metrics") => metrics_reply(&node),
        (Method::GET, "/v1/status") => json_reply(&node.status()),
        (Method::GET, "/v1/members") => json_reply(&node.members()),
        (Method::GET, "/v1/plugin") => match node.plugin_report().await {
            Ok(report) => json_reply(&report),
            Err(reason) => problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The plugin cannot report its state",
                &reason,
            ),
        },
        (Method::GET, "/v1/config") => json_reply(&ConfigJson::from(node.machine_config())),
        (Method::GET, "/v1/logs") => {
            let query = request.uri().query().unwrap_or("").to_string();
            let number = |name: &str| -> Result<Option<u64>, String> {
                match form_urlencoded::parse(query.as_bytes()).find(|(key, _)| key == name) {
                    None => Ok(None),
                    Some((_, value)) => value
                        .parse::<u64>()
                        .map(Some)
                        .map_err(|_| format!("{name}={value:?} is not a whole number")),
                }
            };
            let (from, n) = match (number("from"), number("n")) {
                (Ok(from), Ok(n)) => (from, n.unwrap_or(20)),
                (Err(why), _) | (_, Err(why)) => return invalid("Invalid log range", &why),
            };
            match node.logs(from, n).await {
                Ok(lines) => json_reply(&lines),
                Err(reason) => problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "log-unreadable",
                    "Cannot read the log",
                    &reason,
                ),
            }
        }
        (Method::POST, "/v1/plugin") => {
            if !has_content_type(&request, "application/wasm") {
                return unsupported_type("application/wasm");
            }
            let (parts, body) = request.into_parts();
            match super::body::read_large(
                &parts.headers,
                body,
                MAX_PLUGIN_BODY,
                limits.body_timeout * 4,
            )
            .await
            {
                Ok(bytes) => install_reply(node.install_plugin(bytes.to_vec()).await),
                Err(reply) => reply,
            }
        }
        (Method::POST, "/v1/snapshot") => match node.snapshot_now().await {
            Ok(index) => json_reply(&serde_json::json!({ "index": index })),
            Err(e) => admin_error(&e),
        },
        (method, path) => {
            // Every JSON-bodied route needs a credential; a public one has no handler here.
            let Some(role) = role else {
                return problem(
                    StatusCode::NOT_FOUND,
                    "not-found",
                    "No such host endpoint",
                    &format!("{method} {path}"),
                );
            };
            if !has_content_type(&request, "application/json") {
                return unsupported_type("application/json");
            }
            let (parts, body) = request.into_parts();
            let body =
                match super::body::read(&parts.headers, body, limits.max_body, limits.body_timeout)
                    .await
                {
                    Ok(body) => body,
                    Err(reply) => return reply,
                };
            json_route(node, method, path, role, &body).await
        }
    }
}

/// The JSON-bodied changes.
async fn json_route(node: Node, method: Method, path: &str, role: Role, body: &[u8]) -> Reply {
    match (method, path) {
        (Method::POST, "/v1/console") => match serde_json::from_slice::<ConsoleLine>(body) {
            Ok(line) => {
                let answer = crate::console::execute_line(&node, &line.line, role).await;
                json_reply(&serde_json::json!({ "output": answer.text, "ok": answer.ok }))
            }
            Err(e) => invalid("Invalid console line", &format!("{e} (expected {{\"line\":\"status\"}})")),
        },
        (Method::POST, "/v1/members") => match serde_json::from_slice::<MemberChange>(body) {
            Ok(change) => match change.into_request() {
                Some(request) => membership_reply(node.change_membership(request).await),
                None => invalid("Invalid membership change", "give exactly one of add and remove"),
            },
            Err(e) => invalid(
                "Invalid membership change",
                &format!("{e} (expected {{\"add\":\"HOST:PORT\"}} or {{\"remove\":\"HOST:PORT\",\"force\":false}}, optional \"timeout_s\")"),
            ),
        },
        (Method::PUT, "/v1/config") => match serde_json::from_slice::<ConfigJson>(body) {
            Ok(change) => {
                let config = change.apply_to(node.machine_config());
                match node.configure(config).await {
                    Ok(config) => json_reply(&ConfigJson::from(config)),
                    Err(e) => admin_error(&e),
                }
            }
            Err(e) => invalid("Invalid config", &e.to_string()),
        },
        (method, path) => problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such host endpoint",
            &format!("{method} {path}"),
        ),
    }
}

/// The node's metrics in the OpenMetrics text format.
fn metrics_reply(node: &Node) -> Reply {
    match node.metrics().encode() {
        Ok(text) => {
            let mut reply =
                hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(text)));
            reply.headers_mut().insert(
                CONTENT_TYPE,
                hyper::header::HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
            );
            reply
        }
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "metrics",
            "Cannot encode the metrics",
            &e.to_string(),
        ),
    }
}

fn invalid(title: &str, detail: &str) -> Reply {
    problem(StatusCode::BAD_REQUEST, "invalid-request", title, detail)
}

/// The body of `POST /v1/console`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsoleLine {
    line: String,
}

/// The body of `POST /v1/members`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberChange {
    add: Option<String>,
    remove: Option<String>,
    #[serde(default)]
    force: bool,
    timeout_s: Option<u64>,
}

impl MemberChange {
    fn into_request(self) -> Option<MembershipRequest> {
        let timeout = |default: std::time::Duration| {
            self.timeout_s.map_or(default.as_millis() as u64, |s| {
                s.min(3600).saturating_mul(1000)
            })
        };
        match (&self.add, &self.remove) {
            (Some(addr), None) => Some(MembershipRequest::Add {
                addr: addr.clone(),
                timeout_ms: timeout(ADD_TIMEOUT),
            }),
            (None, Some(addr)) => Some(MembershipRequest::Remove {
                addr: addr.clone(),
                timeout_ms: timeout(REMOVE_TIMEOUT),
                force: self.force,
            }),
            _ => None,
        }
    }
}

/// The machine config in operator units (`GET`/`PUT /v1/config`); every field optional in a
/// `PUT`.
#[derive(Debug, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigJson {
    fuel_per_call: Option<u64>,
    fuel_per_state_call: Option<u64>,
    memory_mib: Option<usize>,
    stack_kib: Option<usize>,
    snapshot_every: Option<u64>,
}

impl From<MachineConfig> for ConfigJson {
    fn from(config: MachineConfig) -> Self {
        ConfigJson {
            fuel_per_call: Some(config.limits.fuel_per_call),
            fuel_per_state_call: Some(config.limits.fuel_per_state_call),
            memory_mib: Some(config.limits.memory_bytes >> 20),
            stack_kib: Some(config.limits.stack_bytes >> 10),
            snapshot_every: Some(config.snapshot_every),
        }
    }
}

impl ConfigJson {
    fn apply_to(&self, current: MachineConfig) -> MachineConfig {
        let limits = current.limits;
        MachineConfig {
            limits: Limits {
                fuel_per_call: self.fuel_per_call.unwrap_or(limits.fuel_per_call),
                fuel_per_state_call: self
                    .fuel_per_state_call
                    .unwrap_or(limits.fuel_per_state_call),
                memory_bytes: self
                    .memory_mib
                    .map_or(limits.memory_bytes, |mib| mib.saturating_mul(1 << 20)),
                stack_bytes: self
                    .stack_kib
                    .map_or(limits.stack_bytes, |kib| kib.saturating_mul(1 << 10)),
            },
            snapshot_every: self.snapshot_every.unwrap_or(current.snapshot_every),
        }
    }
}

/// The answer to `POST /v1/members`.
fn membership_reply(result: Result<Members, MembershipError>) -> Reply {
    let (status, kind) = match &result {
        Ok(members) => return json_reply(members),
        Err(MembershipError::BadAddress(_)) => (StatusCode::BAD_REQUEST, "invalid-request"),
        Err(MembershipError::AlreadyMember { .. } | MembershipError::IdTaken { .. }) => {
            (StatusCode::CONFLICT, "already-member")
        }
        Err(MembershipError::NotMember(_)) => (StatusCode::NOT_FOUND, "not-member"),
        Err(MembershipError::Busy) => (StatusCode::CONFLICT, "membership-busy"),
        Err(MembershipError::NoQuorum { .. } | MembershipError::LastVoter(_)) => {
            (StatusCode::CONFLICT, "no-quorum")
        }
        Err(MembershipError::Unreachable { .. }) => (StatusCode::BAD_GATEWAY, "unreachable"),
        Err(MembershipError::Timeout { .. }) => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    let detail = result.err().map(|e| e.to_string()).unwrap_or_default();
    problem(status, kind, "Membership change refused", &detail)
}

/// The problem for an admin change that was not made.
fn admin_error(error: &AdminError) -> Reply {
    match error {
        AdminError::Refused { step, reason } => problem_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            if step == "limits" {
                "config-refused"
            } else {
                "plugin-refused"
            },
            "Refused",
            &format!("{step}: {reason}"),
            serde_json::json!({ "step": step }),
        ),
        AdminError::FailedOnApply(reason) => problem_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            "refused-when-applied",
            "Refused when applied",
            reason,
            serde_json::json!({ "step": "apply" }),
        ),
        AdminError::Unchanged(reason) => problem(
            StatusCode::CONFLICT,
            "plugin-unchanged",
            "Plugin already installed",
            reason,
        ),
        other => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Not committed",
            &other.to_string(),
        ),
    }
}

/// The answer to `POST /v1/plugin`.
fn install_reply(result: Result<Installed, AdminError>) -> Reply {
    match result {
        Ok(installed) => {
            let mut reply = json_reply(&installed);
            *reply.status_mut() = StatusCode::CREATED;
            reply
        }
        Err(AdminError::FailedOnApply(reason)) => problem_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            "plugin-refused",
            "Plugin refused when applied",
            &reason,
            serde_json::json!({ "step": "apply" }),
        ),
        Err(e) => admin_error(&e),
    }
}
