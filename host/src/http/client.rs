//! A small HTTP client for a node's public port: what `host ctl` uses for the admin endpoints
//! (with the admin token), and what `--join` and `add-node` use to learn a node's peer address
//! from its API address (`GET /v1/peer`, which needs no credential).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Largest answer read from a node.
const MAX_ANSWER: usize = 64 << 20;

/// Why a call to a node's public port failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The node could not be reached.
    #[error("cannot reach {addr}: {reason}")]
    Unreachable {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The node answered with an error status; `detail` is its problem detail (or body).
    #[error("{addr} answered {status}: {detail}")]
    Status {
        /// The address.
        addr: String,
        /// The status.
        status: u16,
        /// What the node said.
        detail: String,
    },
    /// The answer could not be read or decoded.
    #[error("{addr}: {reason}")]
    Protocol {
        /// The address.
        addr: String,
        /// What was wrong.
        reason: String,
    },
}

/// A client for one node's public port, optionally with an admin token.
#[derive(Clone, Debug)]
pub struct AdminClient {
    client: Client<HttpConnector, Full<Bytes>>,
    token: Option<String>,
}

impl AdminClient {
    /// A client sending `token` (if any) as `Authorization: Bearer`.
    pub fn new(token: Option<String>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        AdminClient {
            client: Client::builder(TokioExecutor::new()).build(connector),
            token,
        }
    }

    /// Sends one request and returns the body of a 2xx answer.
    ///
    /// # Errors
    /// [`ClientError`]: unreachable, an error status (with the node's problem detail), or an
    /// unreadable answer.
    pub async fn send(
        &self,
        method: Method,
        addr: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
        timeout: Duration,
    ) -> Result<Bytes, ClientError> {
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"));
        if let Some(token) = &self.token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some((content_type, bytes)) => {
                builder = builder.header("content-type", content_type);
                Full::new(Bytes::from(bytes))
            }
            None => Full::new(Bytes::new()),
        };
        let protocol = |reason: String| ClientError::Protocol {
            addr: addr.to_string(),
            reason,
        };
        let request = builder.body(body).map_err(|e| protocol(e.to_string()))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                if e.is_connect() {
                    ClientError::Unreachable {
                        addr: addr.to_string(),
                        reason: e.to_string(),
                    }
                } else {
                    protocol(e.to_string())
                }
            })?;
            let status = response.status();
            let bytes = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| protocol(format!("reading the answer: {e}")))?
                .to_bytes();
            if !status.is_success() {
                return Err(ClientError::Status {
                    addr: addr.to_string(),
                    status: status.as_u16(),
                    detail: problem_detail(status, &bytes),
                });
            }
            Ok(bytes)
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| ClientError::Unreachable {
                addr: addr.to_string(),
                reason: format!("no answer within {timeout:?}"),
            })?
    }

    /// A JSON exchange: optional JSON body out, JSON answer in.
    ///
    /// # Errors
    /// As for [`AdminClient::send`], or an answer that is not JSON.
    pub async fn json(
        &self,
        method: Method,
        addr: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        timeout: Duration,
    ) -> Result<serde_json::Value, ClientError> {
        let body = body.map(|json| ("application/json", json.to_string().into_bytes()));
        let bytes = self.send(method, addr, path, body, timeout).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
            addr: addr.to_string(),
            reason: format!("the answer is not JSON: {e}"),
        })
    }
}

/// The problem `detail` of an error answer, or its text.
fn problem_detail(status: StatusCode, body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["detail"].as_str().map(str::to_string))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
            if text.is_empty() {
                status.to_string()
            } else {
                text
            }
        })
}

/// Where the node whose public API is at `api_addr` has its peer channel (`GET /v1/peer`).
///
/// # Errors
/// Why the address could not be learned, as a sentence.
pub async fn peer_address_of(api_addr: &str) -> Result<String, String> {
    let answer = AdminClient::new(None)
        .json(
            Method::GET,
            api_addr,
            "/v1/peer",
            None,
            Duration::from_secs(3),
        )
        .await
        .map_err(|e| match e {
            // The caller names the address already.
            ClientError::Unreachable { reason, .. } => reason,
            other => other.to_string(),
        })?;
    answer["peer"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{api_addr} did not name its peer address"))
}
