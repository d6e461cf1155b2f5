//! The peer listener: accepts only members (mutual TLS with the cluster CA), serves Raft RPC,
//! snapshot streams and the node's own requests over HTTP/2.
//!
//! Order of checks for every connection and request: connection cap, TLS handshake with a
//! client certificate from the cluster CA (a stranger is dropped here, logged once a minute per
//! source address), then per request: method and path, a body size cap and read deadline,
//! decoding, the [`Guard`]'s bounds, and only then openraft or the node.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use openraft::async_runtime::WatchReceiver;
use openraft::raft::{AppendEntriesRequest, TransferLeaderRequest, VoteRequest};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use super::guard::Guard;
use super::incarnations::Incarnations;
use super::{limits, path};
use crate::raft::snapshot_store::SnapshotFile;
use crate::raft::typ::{Entry, Snapshot, Vote};
use crate::raft::{Machine, Raft, TypeConfig};
use crate::secrets::tls::peer_identity;
use crate::secrets::PeerTls;

/// Most peer connections at once (members need a handful each).
pub const MAX_CONNECTIONS: usize = 256;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long reading a request body may take (snapshots excepted: they stream to disk).
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a snapshot stream may take.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(600);

/// The node's side of the peer channel: its own requests, typed by the node.
pub trait PeerService: Send + Sync + 'static {
    /// What peers ask the node (forwarded writes, read index, membership, ...).
    type Request: DeserializeOwned + Send + 'static;
    /// What it answers.
    type Response: Serialize + Send + 'static;

    /// Serves one request from the member `sender` (its certificate's node id; `None` on an
    /// `--insecure` node).
    fn handle(
        &self,
        sender: Option<u64>,
        request: Self::Request,
    ) -> impl Future<Output = Self::Response> + Send;

    /// Called with the entries of every accepted append, before Raft stores them (the node
    /// starts compiling plugin installs early).
    fn appended(&self, entries: &[Entry]);

    /// True for the requests the member `sender`, refused for its incarnation, may still make:
    /// learning why it is refused, and asking to be added again.
    fn allowed_when_refused(&self, sender: Option<u64>, request: &Self::Request) -> bool;
}

/// Logs refused connections at most once a minute per source address.
#[derive(Default)]
struct RefusalLog {
    last: Mutex<HashMap<IpAddr, Instant>>,
}

impl RefusalLog {
    fn warn(&self, from: SocketAddr, reason: &str) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.len() > 10_000 {
            last.clear();
        }
        let now = Instant::now();
        let due = last
            .get(&from.ip())
            .is_none_or(|at| now.duration_since(*at) > Duration::from_secs(60));
        if due {
            last.insert(from.ip(), now);
            tracing::warn!(%from, %reason, "peer connection refused (further refusals from this address are not logged for a minute)");
        }
    }
}

/// The peer listener's shared state.
pub struct PeerServer<S: PeerService> {
    raft: Raft,
    machine: Arc<Machine>,
    service: Arc<S>,
    tls: Option<TlsAcceptor>,
    incarnations: Arc<Incarnations>,
    guard: Guard,
    refusals: RefusalLog,
    connections: Arc<Semaphore>,
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, text: impl Into<String>) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(text.into())));
    *response.status_mut() = status;
    response
}

fn postcard_reply<T: Serialize>(value: &T) -> Reply {
    match postcard::to_stdvec(value) {
        Ok(bytes) => Response::new(Full::new(Bytes::from(bytes))),
        Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, format!("encode: {e}")),
    }
}

impl<S: PeerService> PeerServer<S> {
    /// A server for `raft` and `machine`, serving `service`'s requests; `tls: None` serves
    /// plain TCP (an `--insecure` node). Members presenting another incarnation than the one
    /// `incarnations` knows are refused.
    pub fn new(
        raft: Raft,
        machine: Arc<Machine>,
        service: Arc<S>,
        tls: Option<&PeerTls>,
        incarnations: Arc<Incarnations>,
    ) -> Self {
        PeerServer {
            raft,
            machine,
            service,
            tls: tls.map(|tls| TlsAcceptor::from(tls.server.clone())),
            incarnations,
            guard: Guard::default(),
            refusals: RefusalLog::default(),
            connections: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        }
    }

    /// Accepts peer connections until `shutdown` resolves.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) {
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => return,
                accepted = listener.accept() => accepted,
            };
            let (stream, from) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "peer accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = self.connections.clone().try_acquire_owned() else {
                self.refusals.warn(from, "too many peer connections");
                continue;
            };
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(error = %e, "set_nodelay");
            }
            let server = self.clone();
            tokio::spawn(async move {
                let _permit = permit;
                server.connection(stream, from).await;
            });
        }
    }

    async fn connection(self: Arc<Self>, stream: tokio::net::TcpStream, from: SocketAddr) {
        let mut builder = http2::Builder::new(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .max_concurrent_streams(512)
            .initial_stream_window_size(4 << 20)
            .initial_connection_window_size(16 << 20)
            .max_frame_size(256 << 10)
            .max_header_list_size(16 << 10)
            .keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(10));
        match &self.tls {
            Some(acceptor) => {
                let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                let stream = match handshake.await {
                    Ok(Ok(stream)) => stream,
                    // A connection closed during the handshake (a member's timed-out dial, a
                    // port scan) is no refusal of a credential.
                    Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                        return tracing::debug!(%from, "peer connection closed during the TLS handshake");
                    }
                    Ok(Err(e)) => return self.refusals.warn(from, &format!("TLS: {e}")),
                    Err(_) => return self.refusals.warn(from, "TLS handshake timed out"),
                };
                let Some(identity) = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .and_then(peer_identity)
                else {
                    return self.refusals.warn(from, "the certificate names no member");
                };
                let server = self.clone();
                let service = service_fn(move |request| {
                    let server = server.clone();
                    async move {
                        // Checked on every request: an incarnation is recorded once its id is a
                        // member, which may be after the connection opened.
                        let refused = server
                            .incarnations
                            .check(identity.id, identity.incarnation)
                            .err();
                        if let Some(mismatch) = &refused {
                            server.refusals.warn(from, &mismatch.to_string());
                        }
                        Ok::<_, Infallible>(
                            server
                                .handle(Some(identity.id), refused.map(|m| m.to_string()), request)
                                .await,
                        )
                    }
                });
                if let Err(e) = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(%from, error = %e, "peer connection ended");
                }
            }
            None => {
                let server = self.clone();
                let service = service_fn(move |request| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(server.handle(None, None, request).await) }
                });
                if let Err(e) = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(%from, error = %e, "peer connection ended");
                }
            }
        }
    }

    fn current_term(&self) -> u64 {
        self.raft.metrics().borrow_watched().current_term
    }

    /// Serves one request from `sender`; `refused` says why its incarnation is refused (then
    /// only the service's read-only requests are served).
    async fn handle(
        &self,
        sender: Option<u64>,
        refused: Option<String>,
        request: Request<Incoming>,
    ) -> Reply {
        if request.method() != Method::POST {
            return reply(StatusCode::METHOD_NOT_ALLOWED, "peer routes take POST");
        }
        let route = request.uri().path().to_string();
        if let Some(reason) = refused {
            if route != path::NODE {
                return reply(StatusCode::FORBIDDEN, reason);
            }
            return self
                .rpc(
                    request,
                    limits::SMALL,
                    |node_request: S::Request| async move {
                        if !self.service.allowed_when_refused(sender, &node_request) {
                            return Err(reason);
                        }
                        Ok::<_, String>(self.service.handle(sender, node_request).await)
                    },
                )
                .await;
        }
        match route.as_str() {
            path::APPEND => {
                self.rpc(
                    request,
                    limits::APPEND,
                    |rpc: AppendEntriesRequest<TypeConfig>| async move {
                        self.guard
                            .append(&rpc, sender, self.current_term())
                            .map_err(|e| e.to_string())?;
                        self.service.appended(&rpc.entries);
                        self.raft
                            .append_entries(rpc)
                            .await
                            .map_err(|e| e.to_string())
                    },
                )
                .await
            }
            path::VOTE | path::PRE_VOTE => {
                let pre_vote = route == path::PRE_VOTE;
                self.rpc(
                    request,
                    limits::SMALL,
                    |mut rpc: VoteRequest<TypeConfig>| async move {
                        self.guard
                            .vote(&mut rpc, sender, self.current_term())
                            .map_err(|e| e.to_string())?;
                        let answer = if pre_vote {
                            self.raft.pre_vote(rpc).await
                        } else {
                            self.raft.vote(rpc).await
                        };
                        answer.map_err(|e| e.to_string())
                    },
                )
                .await
            }
            path::TRANSFER_LEADER => {
                self.rpc(
                    request,
                    limits::SMALL,
                    |rpc: TransferLeaderRequest<TypeConfig>| async move {
                        self.guard
                            .transfer(&rpc, sender, self.current_term())
                            .map_err(|e| e.to_string())?;
                        self.raft
                            .handle_transfer_leader(rpc)
                            .await
                            .map_err(|e| e.to_string())
                    },
                )
                .await
            }
            path::SNAPSHOT => self.snapshot(sender, request).await,
            path::NODE => {
                self.rpc(
                    request,
                    limits::NODE,
                    |node_request: S::Request| async move {
                        Ok::<_, String>(self.service.handle(sender, node_request).await)
                    },
                )
                .await
            }
            _ => reply(StatusCode::NOT_FOUND, format!("no peer route {route}")),
        }
    }

    /// Reads a capped body within the deadline, decodes it, runs `f`, encodes its answer.
    async fn rpc<Req, Resp, Fut>(
        &self,
        request: Request<Incoming>,
        limit: usize,
        f: impl FnOnce(Req) -> Fut,
    ) -> Reply
    where
        Req: DeserializeOwned,
        Resp: Serialize,
        Fut: Future<Output = Result<Resp, String>>,
    {
        let body = Limited::new(request.into_body(), limit).collect();
        let body = match tokio::time::timeout(BODY_TIMEOUT, body).await {
            Ok(Ok(body)) => body.to_bytes(),
            Ok(Err(e)) => return reply(StatusCode::PAYLOAD_TOO_LARGE, format!("body: {e}")),
            Err(_) => return reply(StatusCode::REQUEST_TIMEOUT, "body not received in time"),
        };
        let decoded: Req = match postcard::from_bytes(&body) {
            Ok(decoded) => decoded,
            Err(e) => return reply(StatusCode::BAD_REQUEST, format!("undecodable: {e}")),
        };
        match f(decoded).await {
            Ok(answer) => postcard_reply(&answer),
            Err(reason) => reply(StatusCode::FORBIDDEN, reason),
        }
    }

    /// Receives a streamed snapshot into a temp file (bounded memory), verifies it completely
    /// (checksum, decoding, a restore into a fresh plugin instance) and only then hands it to
    /// Raft: an error inside openraft's install would stop this node's Raft.
    async fn snapshot(&self, sender: Option<u64>, request: Request<Incoming>) -> Reply {
        let received =
            tokio::time::timeout(SNAPSHOT_TIMEOUT, self.receive_snapshot(sender, request));
        let (vote, snapshot) = match received.await {
            Ok(Ok(received)) => received,
            Ok(Err((status, reason))) => {
                tracing::warn!(%reason, "snapshot from the leader refused");
                return reply(status, reason);
            }
            Err(_) => return reply(StatusCode::REQUEST_TIMEOUT, "snapshot not received in time"),
        };
        let temp = snapshot.snapshot.path.clone();
        let installed = self.raft.install_full_snapshot(vote, snapshot).await;
        // Installed: the store renamed the file into place. Refused (older than what this node
        // has, or a stale leader): nothing refers to it any more.
        let _ = std::fs::remove_file(&temp);
        match installed {
            Ok(answer) => postcard_reply(&answer),
            Err(e) => reply(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        }
    }

    async fn receive_snapshot(
        &self,
        sender: Option<u64>,
        request: Request<Incoming>,
    ) -> Result<(Vote, Snapshot), (StatusCode, String)> {
        let bad = |reason: String| (StatusCode::BAD_REQUEST, reason);
        let mut body = request.into_body();
        let mut buffer = Vec::new();
        let mut header: Option<Vote> = None;
        let mut incoming = self
            .machine
            .store()
            .receive()
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| bad(format!("snapshot stream: {e}")))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if header.is_some() {
                incoming
                    .write(&data)
                    .map_err(|e| (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()))?;
                continue;
            }
            buffer.extend_from_slice(&data);
            let Some((len, rest)) = buffer.split_first_chunk::<4>() else {
                continue;
            };
            let len = u32::from_le_bytes(*len) as usize;
            if len > limits::SNAPSHOT_HEADER {
                return Err(bad(format!("snapshot header of {len} bytes")));
            }
            if rest.len() < len {
                continue;
            }
            let vote: Vote = postcard::from_bytes(&rest[..len])
                .map_err(|e| bad(format!("snapshot header: {e}")))?;
            self.guard
                .snapshot(&vote, sender, self.current_term())
                .map_err(|e| (StatusCode::FORBIDDEN, e.to_string()))?;
            incoming
                .write(&rest[len..])
                .map_err(|e| (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()))?;
            header = Some(vote);
            buffer = Vec::new();
        }
        let vote = header.ok_or_else(|| bad("snapshot stream ended before its header".into()))?;
        let machine = self.machine.clone();
        let verified = tokio::task::spawn_blocking(move || {
            let (path, meta, image) = incoming.finish().map_err(|e| e.to_string())?;
            machine.validate_image(&image)?;
            let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
            let len = file.metadata().map_err(|e| e.to_string())?.len();
            Ok::<_, String>(Snapshot {
                meta,
                snapshot: SnapshotFile {
                    file,
                    len,
                    path,
                    prepared: Some(Box::new(image)),
                },
            })
        })
        .await
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|reason| (StatusCode::UNPROCESSABLE_ENTITY, reason))?;
        Ok((vote, verified))
    }
}
