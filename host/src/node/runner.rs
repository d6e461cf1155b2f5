//! The one flow every front uses: the plugin decides what a request or console line needs
//! (on a node-local instance), the node reads or writes, and the plugin renders the outcome.
//! HTTP requests, event streams, console lines and `host ctl` all come through here, so a
//! replayed, refused, failed or unavailable outcome is treated the same way everywhere.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::read::Consistency;
use super::write::WriteError;
use super::Node;
use crate::plugin::{
    fresh_entropy, ConsoleAction, ConsoleLine, ConsoleMode, Fault, HttpRequest, HttpResponse,
    Outcome, RouteAction, WatchRequest,
};
use crate::raft::entry::{MAX_KEY_LEN, MIN_KEY_LEN};
use crate::raft::state_machine::local::{LocalError, LocalReplica};
use crate::raft::{ApplyOutcome, RequestKey};

/// What serving an HTTP request produced.
#[derive(Debug)]
pub enum Served {
    /// A response to send; `replayed` when it repeats the first answer to an idempotency key.
    Response {
        /// The plugin's response.
        response: HttpResponse,
        /// Set for an idempotent replay.
        replayed: bool,
    },
    /// The plugin asked for a live stream of this view.
    Watch(WatchRequest),
}

/// What a console line printed, and whether it did what was asked (`host ctl` exits 1 when not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleAnswer {
    /// The text the console prints.
    pub text: String,
    /// False when the line was refused or failed: unknown, malformed, refused by the rules,
    /// not permitted, or without an answer (no quorum).
    pub ok: bool,
}

impl ConsoleAnswer {
    /// A line that did what was asked.
    pub fn done(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ok: true,
        }
    }

    /// A line that was refused or failed, with the reason to print.
    pub fn refused(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ok: false,
        }
    }
}

/// Why a request could not be served; each becomes a problem response.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The plugin exports no HTTP front.
    #[error("the cluster's plugin serves no HTTP routes")]
    NoHttpFront,
    /// No local instance could take the call.
    #[error("{0}")]
    Local(#[from] LocalError),
    /// The plugin faulted on this request (on this node only, or, for a write, on every
    /// replica identically).
    #[error("{0}")]
    Fault(String),
    /// The request's idempotency key is malformed.
    #[error(
        "an Idempotency-Key is {MIN_KEY_LEN} to {MAX_KEY_LEN} visible ASCII characters and must be unguessable (a random UUID): a replay returns the first answer, tokens included"
    )]
    BadKey,
    /// The idempotency key was first used for a different request.
    #[error("{0}")]
    KeyReused(String),
}

impl From<Fault> for ServeError {
    fn from(fault: Fault) -> Self {
        match fault {
            Fault::NoFront("http") => ServeError::NoHttpFront,
            other => ServeError::Fault(other.to_string()),
        }
    }
}

/// The idempotency key of a request with a digest of the request it came with.
///
/// # Errors
/// [`ServeError::BadKey`] for a key that is too short, too long, or not visible ASCII.
fn request_key(request: &HttpRequest) -> Result<Option<RequestKey>, ServeError> {
    let Some(key) = request.header("idempotency-key") else {
        return Ok(None);
    };
    if !RequestKey::is_well_formed(key) {
        return Err(ServeError::BadKey);
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
        key: key.to_string(),
        fingerprint: digest.finalize().into(),
    }))
}

/// The entropy of a request with an idempotency key: a keyed hash of the key and the request,
/// the same on every member, so the first answer and every replay of it (on any node, after
/// any failover) mint the same tokens. Outsiders cannot compute it without the cluster's key.
fn keyed_entropy(secret: &[u8; 32], key: &RequestKey) -> [u8; crate::plugin::ENTROPY_BYTES] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(key.key.as_bytes());
    mac.update(&key.fingerprint);
    mac.finalize().into_bytes().into()
}

/// The consistency a request's query string asks for: `consistency=local` or the default.
pub fn consistency_of(query: &str) -> Consistency {
    let local = form_urlencoded::parse(query.as_bytes())
        .any(|(key, value)| key == "consistency" && value == "local");
    if local {
        Consistency::Local
    } else {
        Consistency::Linearizable
    }
}

impl Node {
    /// Runs `f` on a caught-up local instance.
    async fn on_local<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut LocalReplica) -> Result<R, Fault> + Send + 'static,
    ) -> Result<R, ServeError> {
        Ok(self.inner.local.run(f).await??)
    }

    /// Serves a public HTTP request: the plugin routes it, the node reads or writes, the plugin
    /// renders.
    ///
    /// # Errors
    /// [`ServeError`] when no answer can be rendered (the plugin has no HTTP front, faulted, or
    /// the node is overloaded); a write whose key was reused.
    pub async fn serve_http(&self, mut request: HttpRequest) -> Result<Served, ServeError> {
        // The key is checked before routing: a malformed one must not be silently ignored.
        let key = request_key(&request)?;
        if let (Some(key), Some(secrets)) = (&key, &self.inner.credentials.peer) {
            request.entropy = keyed_entropy(&secrets.entropy_key(), key);
        }
        let routed = request.clone();
        let action = self
            .on_local(move |replica| replica.stateless()?.route(&routed))
            .await?;
        match action {
            RouteAction::Respond(response) => Ok(Served::Response {
                response,
                replayed: false,
            }),
            RouteAction::Watch(watch) => Ok(Served::Watch(watch)),
            RouteAction::Read(query) => {
                let consistency = consistency_of(&request.query);
                let response = self.render_read(request, query, consistency).await?;
                Ok(Served::Response {
                    response,
                    replayed: false,
                })
            }
            RouteAction::Write(command) => {
                let (outcome, replayed) = match self.write_command(command, key).await {
                    Ok(committed) => match committed.outcome {
                        ApplyOutcome::Failed(reason) => return Err(ServeError::Fault(reason)),
                        ApplyOutcome::KeyReused(reason) => {
                            return Err(ServeError::KeyReused(reason))
                        }
                        outcome => {
                            let replayed = matches!(outcome, ApplyOutcome::Replayed(_));
                            match outcome.command_result() {
                                Some(result) => (Outcome::Written(result), replayed),
                                None => {
                                    return Err(ServeError::Fault(format!(
                                        "unexpected outcome {outcome:?}"
                                    )))
                                }
                            }
                        }
                    },
                    Err(e) => (Outcome::Unavailable(e.to_string()), false),
                };
                let response = self
                    .on_local(move |replica| {
                        replica.to_render(&outcome)?.render(&request, &outcome)
                    })
                    .await?;
                Ok(Served::Response { response, replayed })
            }
        }
    }

    /// Answers a read: makes this node's state as fresh as asked, then one call on a local
    /// instance runs the query and renders it. A state that cannot be made fresh enough is
    /// rendered as unavailable.
    ///
    /// # Errors
    /// [`ServeError`] when nothing can be rendered.
    pub async fn render_read(
        &self,
        request: HttpRequest,
        query: Vec<u8>,
        consistency: Consistency,
    ) -> Result<HttpResponse, ServeError> {
        let outcome = match self.prepare_read(consistency).await {
            Ok(_) => Outcome::Read(query),
            Err(e) => Outcome::Unavailable(e.to_string()),
        };
        self.on_local(move |replica| replica.to_render(&outcome)?.render(&request, &outcome))
            .await
    }

    /// Renders a watch's view for an event stream: the log index it reflects and the response.
    ///
    /// # Errors
    /// [`ServeError`] when nothing can be rendered.
    pub async fn render_watch(
        &self,
        request: HttpRequest,
        watch: WatchRequest,
        consistency: Consistency,
    ) -> Result<(u64, HttpResponse), ServeError> {
        let outcome = match self.prepare_read(consistency).await {
            Ok(_) => Outcome::Read(watch.query),
            Err(e) => Outcome::Unavailable(e.to_string()),
        };
        self.on_local(move |replica| {
            let response = replica.instance()?.render(&request, &outcome)?;
            Ok((replica.applied(), response))
        })
        .await
    }

    /// Runs one console line; `may_write` is false for a read-only operator (a line that would
    /// change the cluster is refused then).
    pub async fn console_line(
        &self,
        text: &str,
        mode: ConsoleMode,
        may_write: bool,
    ) -> ConsoleAnswer {
        let line = ConsoleLine {
            text: text.to_string(),
            mode,
            entropy: fresh_entropy(),
        };
        let parsed = line.clone();
        let action = match self
            .on_local(move |replica| replica.stateless()?.console_parse(&parsed))
            .await
        {
            Ok(Some(action)) => action,
            Ok(None) => {
                return ConsoleAnswer::refused(format!("unknown command '{text}' (type help)"))
            }
            Err(ServeError::Fault(reason)) if reason.contains("no console front") => {
                return ConsoleAnswer::refused("the cluster's plugin has no console commands")
            }
            Err(e) => {
                return ConsoleAnswer::refused(format!("the plugin failed on this line: {e}"))
            }
        };
        let outcome = match action {
            // The contract: `print` is a line that cannot run as given (usage, a bad argument).
            ConsoleAction::Print(text) => return ConsoleAnswer::refused(text),
            ConsoleAction::Read(query) => {
                match self.prepare_read(Consistency::Linearizable).await {
                    Ok(_) => Outcome::Read(query),
                    Err(e) => Outcome::Unavailable(e.to_string()),
                }
            }
            ConsoleAction::Write(_) if !may_write => {
                return ConsoleAnswer::refused(
                    "this command changes the cluster: it needs the admin role",
                )
            }
            ConsoleAction::Write(command) => match self.write_command(command, None).await {
                Ok(committed) => match committed.outcome.command_result() {
                    Some(result) => Outcome::Written(result),
                    None => Outcome::Unavailable(describe_outcome(&committed.outcome)),
                },
                Err(e) => Outcome::Unavailable(e.to_string()),
            },
        };
        let ok = matches!(outcome, Outcome::Read(_) | Outcome::Written(Ok(_)));
        let text = self
            .on_local(move |replica| replica.to_render(&outcome)?.console_render(&line, &outcome))
            .await;
        match text {
            Ok(text) => ConsoleAnswer { text, ok },
            Err(e) => ConsoleAnswer::refused(format!("the plugin failed rendering: {e}")),
        }
    }

    /// The plugin's overview (its main view of the state) from this node's
    /// state as is, rendered for the console; `None` when it has none.
    pub async fn overview(&self, mode: ConsoleMode) -> Option<String> {
        let query = self
            .on_local(move |replica| replica.stateless()?.overview(mode))
            .await
            .ok()??;
        let outcome = match self.prepare_read(Consistency::Local).await {
            Ok(_) => Outcome::Read(query),
            Err(e) => Outcome::Unavailable(e.to_string()),
        };
        self.on_local(move |replica| replica.instance()?.render_overview(mode, &outcome))
            .await
            .ok()
    }

    /// The plugin's console help for `mode`.
    pub async fn console_help(&self, mode: ConsoleMode) -> Result<String, ServeError> {
        self.on_local(move |replica| replica.stateless()?.console_help(mode))
            .await
    }

    /// One line about a command, as the plugin describes it.
    pub async fn describe(
        &self,
        command: Vec<u8>,
        result: Option<Result<Vec<u8>, Vec<u8>>>,
    ) -> String {
        let len = command.len();
        self.on_local(move |replica| replica.stateless()?.describe(&command, result.as_ref()))
            .await
            .unwrap_or_else(|e| format!("({len} bytes; the plugin cannot describe it: {e})"))
    }
}

/// A host-level outcome as a sentence for the console.
fn describe_outcome(outcome: &ApplyOutcome) -> String {
    match outcome {
        ApplyOutcome::Failed(reason) => format!("the plugin failed on this command: {reason}"),
        ApplyOutcome::KeyReused(reason) => reason.clone(),
        other => format!("{other:?}"),
    }
}

impl From<WriteError> for ServeError {
    fn from(error: WriteError) -> Self {
        ServeError::Fault(error.to_string())
    }
}
