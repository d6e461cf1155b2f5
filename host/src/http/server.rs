//! The node's HTTP server: accept loop, routing, and the glue between HTTP and the node.
//!
//! # Routes
//! ```text
//! GET  /v1/status                 node status (JSON)
//! GET  /v1/plugin                 the plugin, its install history and a hash of its state
//! POST /v1/plugin                 install a plugin (component bytes): validate, then replicate
//! GET  /v1/members                voters, learners, leader, reachable (on the leader)
//! POST /v1/members                {"add":ADDR} | {"remove":ADDR,"force":bool}, "timeout_s"
//! GET  /v1/logs?from=&n=          log entries decoded by the plugin
//! POST /v1/snapshot               build a snapshot now
//! POST /v1/console                {"line":...}: run a dev-console line, {"output":...}
//! POST /v1/raft/{append,vote,pre-vote,snapshot,transfer-leader}   Raft RPC (postcard)
//! POST /v1/forward/write          a follower's write, served by the leader (postcard)
//! POST /v1/forward/read-index     a follower's read-index request (postcard)
//! *    anything else              the plugin's `route`, then a read or write, then `render`
//! ```

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use openraft::raft::{AppendEntriesRequest, TransferLeaderRequest, VoteRequest};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

use super::problem::{problem, problem_with};
use crate::node::{
    Committed, Consistency, InstallError, Installed, Members, MembershipError, MembershipRequest,
    Node, ADD_TIMEOUT, REMOVE_TIMEOUT,
};
use crate::plugin::{HttpRequest, HttpResponse, Outcome, RouteAction};
use crate::raft::network::path;
use crate::raft::typ::{Snapshot, SnapshotMeta, Vote};
use crate::raft::{ApplyOutcome, Payload, RequestKey, TypeConfig};

/// Largest public API request body.
const MAX_API_BODY: usize = 64 << 10;
/// Largest plugin component accepted by `POST /v1/plugin`.
const MAX_PLUGIN_BODY: usize = 64 << 20;
/// Largest node-to-node body (snapshots and plugin installs travel whole).
const MAX_PEER_BODY: usize = 512 << 20;

/// A complete response, as every handler but event streams produces.
pub(super) type Reply = Response<Full<Bytes>>;

/// The body type the server sends: whole bodies and event streams alike.
pub(super) type ApiBody = BoxBody<Bytes, Infallible>;

/// Widens a complete response to the server's body type.
pub(super) fn boxed(reply: Reply) -> Response<ApiBody> {
    reply.map(BodyExt::boxed)
}

/// Accepts connections until `shutdown` resolves. A failing connection ends only itself.
pub async fn serve(
    node: Node,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Usually EMFILE: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "set_nodelay");
        }
        let connection_node = node.clone();
        let stop = node.shutdown_signal();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let node = connection_node.clone();
                async move { Ok::<_, Infallible>(handle(node, request).await) }
            });
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                result = connection => if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                },
                _ = stop => {}
            }
        });
    }
}

async fn handle(node: Node, request: Request<Incoming>) -> Response<ApiBody> {
    let path = request.uri().path().to_string();
    if path == "/v1" || path.starts_with("/v1/") {
        boxed(host_route(node, request, &path).await)
    } else {
        plugin_route(node, request).await
    }
}

/// Most bytes of an oversized body read and discarded before answering 413: a client that
/// sends its whole body before reading the answer then gets the 413 instead of a reset.
const MAX_DRAIN: usize = 8 << 20;

async fn read_body(request: Request<Incoming>, limit: usize) -> Result<Bytes, Reply> {
    let too_large = || {
        problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            &format!("the limit is {limit} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_DRAIN) {
        return Err(too_large());
    }
    let mut body = request.into_body();
    let mut collected = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            problem(
                StatusCode::BAD_REQUEST,
                "bad-body",
                "Unreadable request body",
                &e.to_string(),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len());
        if seen > MAX_DRAIN {
            break;
        }
        if seen <= limit {
            collected.extend_from_slice(&data);
        }
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok(Bytes::from(collected))
}

fn postcard_reply<T: serde::Serialize>(value: &T) -> Reply {
    match postcard::to_stdvec(value) {
        Ok(bytes) => Response::new(Full::new(Bytes::from(bytes))),
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "encode",
            "Cannot encode answer",
            &e.to_string(),
        ),
    }
}

fn json_reply<T: serde::Serialize>(value: &T) -> Reply {
    match serde_json::to_vec_pretty(value) {
        Ok(bytes) => {
            let mut response = Response::new(Full::new(Bytes::from(bytes)));
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "encode",
            "Cannot encode answer",
            &e.to_string(),
        ),
    }
}

/// Decodes a postcard body, runs `f`, encodes its answer. Errors are 4xx/5xx problem replies.
async fn peer_rpc<Req, Resp, Fut>(request: Request<Incoming>, f: impl FnOnce(Req) -> Fut) -> Reply
where
    Req: serde::de::DeserializeOwned,
    Resp: serde::Serialize,
    Fut: std::future::Future<Output = Result<Resp, String>>,
{
    let body = match read_body(request, MAX_PEER_BODY).await {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let decoded: Req = match postcard::from_bytes(&body) {
        Ok(decoded) => decoded,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "bad-rpc",
                "Undecodable RPC body",
                &e.to_string(),
            )
        }
    };
    match f(decoded).await {
        Ok(answer) => postcard_reply(&answer),
        Err(reason) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "raft-stopped",
            "Raft is not running",
            &reason,
        ),
    }
}

async fn host_route(node: Node, request: Request<Incoming>, path: &str) -> Reply {
    let method = request.method().clone();
    let raft = node.inner.raft.clone();
    match (&method, path) {
        (&Method::GET, "/v1/status") => json_reply(&node.status()),
        (&Method::GET, "/v1/plugin") => match node.plugin_report().await {
            Ok(report) => json_reply(&report),
            Err(reason) => plugin_fault(&reason),
        },
        (&Method::POST, "/v1/plugin") => match read_body(request, MAX_PLUGIN_BODY).await {
            Ok(bytes) => install_reply(node.install_plugin(bytes.to_vec()).await),
            Err(reply) => reply,
        },
        (&Method::POST, path::APPEND) => {
            peer_rpc(
                request,
                |rpc: AppendEntriesRequest<TypeConfig>| async move {
                    node.precompile_installs(&rpc.entries);
                    raft.append_entries(rpc).await.map_err(|e| e.to_string())
                },
            )
            .await
        }
        (&Method::POST, path::VOTE) => {
            peer_rpc(request, |rpc: VoteRequest<TypeConfig>| async move {
                raft.vote(rpc).await.map_err(|e| e.to_string())
            })
            .await
        }
        (&Method::POST, path::PRE_VOTE) => {
            peer_rpc(request, |rpc: VoteRequest<TypeConfig>| async move {
                raft.pre_vote(rpc).await.map_err(|e| e.to_string())
            })
            .await
        }
        (&Method::POST, path::SNAPSHOT) => {
            peer_rpc(
                request,
                |(vote, meta, data): (Vote, SnapshotMeta, Vec<u8>)| async move {
                    let snapshot = Snapshot {
                        meta,
                        snapshot: std::io::Cursor::new(data),
                    };
                    raft.install_full_snapshot(vote, snapshot)
                        .await
                        .map_err(|e| e.to_string())
                },
            )
            .await
        }
        (&Method::POST, path::TRANSFER_LEADER) => {
            peer_rpc(
                request,
                |rpc: TransferLeaderRequest<TypeConfig>| async move {
                    raft.handle_transfer_leader(rpc)
                        .await
                        .map_err(|e| e.to_string())
                },
            )
            .await
        }
        (&Method::POST, crate::node::FORWARD_WRITE_PATH) => {
            peer_rpc(request, |payload: Payload| async move {
                Ok(node.handle_forwarded_write(payload).await)
            })
            .await
        }
        (&Method::POST, crate::node::FORWARD_MEMBERSHIP_PATH) => {
            peer_rpc(request, |change: MembershipRequest| async move {
                Ok(node.handle_forwarded_membership(change).await)
            })
            .await
        }
        (&Method::POST, crate::node::RETIRE_PATH) => {
            peer_rpc(request, |by: u64| async move {
                node.retire(by).await;
                Ok(())
            })
            .await
        }
        (&Method::GET, "/v1/members") => json_reply(&node.members()),
        (&Method::GET, "/v1/logs") => {
            let number = |name: &str| {
                request
                    .uri()
                    .query()
                    .unwrap_or("")
                    .split('&')
                    .find_map(|pair| {
                        let (key, value) = pair.split_once('=')?;
                        (key == name).then(|| value.parse::<u64>().ok()).flatten()
                    })
            };
            let (from, count) = (number("from"), number("n").unwrap_or(20));
            match node.logs(from, count).await {
                Ok(lines) => json_reply(&lines),
                Err(reason) => problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "log-unreadable",
                    "Cannot read the log",
                    &reason,
                ),
            }
        }
        (&Method::POST, "/v1/snapshot") => match node.snapshot_now().await {
            Ok(index) => json_reply(&serde_json::json!({ "index": index })),
            Err(reason) => problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "No snapshot",
                &reason,
            ),
        },
        (&Method::POST, "/v1/console") => {
            let body = match read_body(request, MAX_API_BODY).await {
                Ok(body) => body,
                Err(reply) => return reply,
            };
            match serde_json::from_slice::<ConsoleLine>(&body) {
                Ok(line) => json_reply(&serde_json::json!({
                    "output": crate::console::execute_line(&node, &line.line).await
                })),
                Err(e) => problem(
                    StatusCode::BAD_REQUEST,
                    "invalid-request",
                    "Invalid console line",
                    &format!("{e} (expected {{\"line\":\"status\"}})"),
                ),
            }
        }
        (&Method::POST, "/v1/members") => {
            let body = match read_body(request, MAX_API_BODY).await {
                Ok(body) => body,
                Err(reply) => return reply,
            };
            match serde_json::from_slice::<MemberChange>(&body) {
                Ok(change) => membership_reply(node.change_membership(change.into_request()).await),
                Err(e) => problem(
                    StatusCode::BAD_REQUEST,
                    "invalid-request",
                    "Invalid membership change",
                    &format!("{e} (expected {{\"add\":\"HOST:PORT\"}} or {{\"remove\":\"HOST:PORT\",\"force\":false}}, optional \"timeout_s\")"),
                ),
            }
        }
        (&Method::POST, crate::node::READ_INDEX_PATH) => {
            peer_rpc(request, |(): ()| async move {
                Ok(node.handle_read_index().await)
            })
            .await
        }
        _ => problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such host endpoint",
            &format!("{method} {path}"),
        ),
    }
}

/// The body of `POST /v1/console`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsoleLine {
    line: String,
}

/// The body of `POST /v1/members`: exactly one of `add` and `remove`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberChange {
    add: Option<String>,
    remove: Option<String>,
    #[serde(default)]
    force: bool,
    timeout_s: Option<u64>,
}

impl MemberChange {
    fn into_request(self) -> MembershipRequest {
        match (self.add, self.remove) {
            (Some(addr), None) => MembershipRequest::Add {
                addr,
                timeout_ms: self
                    .timeout_s
                    .map_or(ADD_TIMEOUT.as_millis() as u64, |s| s.saturating_mul(1000)),
            },
            (None, Some(addr)) => MembershipRequest::Remove {
                addr,
                timeout_ms: self
                    .timeout_s
                    .map_or(REMOVE_TIMEOUT.as_millis() as u64, |s| {
                        s.saturating_mul(1000)
                    }),
                force: self.force,
            },
            // Neither or both: an address nobody has, refused as malformed.
            _ => MembershipRequest::Add {
                addr: "give exactly one of add and remove".into(),
                timeout_ms: 0,
            },
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

/// The answer to `POST /v1/plugin`.
fn install_reply(result: Result<Installed, InstallError>) -> Reply {
    match result {
        Ok(installed) => {
            let mut reply = json_reply(&installed);
            *reply.status_mut() = StatusCode::CREATED;
            reply
        }
        Err(InstallError::Refused { step, reason }) => problem_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            "plugin-refused",
            "Plugin refused",
            &format!("{step}: {reason}"),
            serde_json::json!({ "step": step }),
        ),
        Err(InstallError::FailedOnApply(reason)) => problem_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            "plugin-refused",
            "Plugin refused when applied",
            &reason,
            serde_json::json!({ "step": "apply" }),
        ),
        Err(InstallError::Unchanged(reason)) => problem(
            StatusCode::CONFLICT,
            "plugin-unchanged",
            "Plugin already installed",
            &reason,
        ),
        Err(other) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Install not committed",
            &other.to_string(),
        ),
    }
}

/// Host-level read consistency, from the query string: `consistency=local` or the default.
pub(super) fn consistency_of(query: &str) -> Consistency {
    let local = query.split('&').any(|pair| pair == "consistency=local");
    if local {
        Consistency::Local
    } else {
        Consistency::Linearizable
    }
}

pub(super) fn to_reply(response: HttpResponse) -> Reply {
    let Ok(status) = StatusCode::from_u16(response.status) else {
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "plugin-response",
            "Invalid plugin response",
            "bad status code",
        );
    };
    let mut builder = Response::builder().status(status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::from(response.body)))
        .unwrap_or_else(|e| {
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "plugin-response",
                "Invalid plugin response",
                &e.to_string(),
            )
        })
}

pub(super) fn plugin_fault(detail: &str) -> Reply {
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "plugin-fault",
        "The plugin failed on this request",
        detail,
    )
}

async fn plugin_route(node: Node, request: Request<Incoming>) -> Response<ApiBody> {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|v| (name.as_str().to_string(), v.to_string()))
        })
        .collect();
    let body = match read_body(request, MAX_API_BODY).await {
        Ok(body) => body,
        Err(reply) => return boxed(reply),
    };
    let request = HttpRequest {
        method,
        path,
        query,
        headers,
        body: body.to_vec(),
    };
    let front = node.front();
    let action = match front.call(|plugin| plugin.route(&request)) {
        Ok(action) => action,
        Err(e) => return boxed(plugin_fault(&e.to_string())),
    };
    let mut replayed = false;
    let outcome = match action {
        RouteAction::Respond(response) => return boxed(to_reply(response)),
        RouteAction::Watch(watch) => return super::events::stream(node, request, watch).await,
        RouteAction::Read(query) => match node.read(&query, consistency_of(&request.query)).await {
            Ok(result) => Outcome::Finished(result),
            Err(e) => Outcome::Unavailable(e.to_string()),
        },
        RouteAction::Write(command) => {
            let payload = match request_key(&request) {
                Ok(Some(key)) => Payload::KeyedCommand { key, command },
                Ok(None) => Payload::Command(command),
                Err(detail) => {
                    return boxed(problem(
                        StatusCode::BAD_REQUEST,
                        "invalid-request",
                        "Invalid Idempotency-Key",
                        &detail,
                    ))
                }
            };
            match node.write(payload).await {
                Ok(Committed {
                    outcome: ApplyOutcome::Failed(reason),
                    ..
                }) => return boxed(plugin_fault(&reason)),
                Ok(Committed {
                    outcome: ApplyOutcome::KeyReused(reason),
                    ..
                }) => {
                    return boxed(problem(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "idempotency-key-reused",
                        "Idempotency key reused",
                        &reason,
                    ))
                }
                Ok(committed) => {
                    replayed = matches!(committed.outcome, ApplyOutcome::Replayed(_));
                    match committed.outcome.command_result() {
                        Some(result) => Outcome::Finished(result),
                        None => {
                            return boxed(plugin_fault(&format!(
                                "unexpected outcome {:?}",
                                committed.outcome
                            )))
                        }
                    }
                }
                Err(e) => Outcome::Unavailable(e.to_string()),
            }
        }
    };
    let mut reply = match front.call(|plugin| plugin.render(&request, &outcome)) {
        Ok(response) => to_reply(response),
        Err(e) => plugin_fault(&e.to_string()),
    };
    if replayed {
        reply.headers_mut().insert(
            "idempotent-replayed",
            hyper::header::HeaderValue::from_static("true"),
        );
    }
    boxed(reply)
}

/// Longest accepted `Idempotency-Key`.
const MAX_KEY_LEN: usize = 255;

/// The request's `Idempotency-Key` with a digest of the request; `Err` says why a key is
/// malformed.
fn request_key(request: &HttpRequest) -> Result<Option<RequestKey>, String> {
    let Some((_, key)) = request
        .headers
        .iter()
        .find(|(name, _)| name == "idempotency-key")
    else {
        return Ok(None);
    };
    let visible = key.bytes().all(|b| b.is_ascii_graphic());
    if key.is_empty() || key.len() > MAX_KEY_LEN || !visible {
        return Err(format!(
            "an Idempotency-Key is 1 to {MAX_KEY_LEN} visible ASCII characters"
        ));
    }
    let mut digest = Sha256::new();
    for part in [
        request.method.as_bytes(),
        request.path.as_bytes(),
        &request.body,
    ] {
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part);
    }
    Ok(Some(RequestKey {
        key: key.clone(),
        fingerprint: digest.finalize().into(),
    }))
}
