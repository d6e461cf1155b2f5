//! A node: wires the plugin runtime, the state machine, the log store, Raft, the peer channel
//! and the public HTTP server together, and is the embedding API the fronts and tests use.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::collections::BTreeMap;
//! use host::{Node, NodeOptions};
//! use host::plugin::PluginImage;
//! use host::raft::Member;
//!
//! let plugin = PluginImage::new(std::fs::read("plugins/seat.wasm")?);
//! let member = Member { api: "127.0.0.1:7000".into(), peer: "127.0.0.1:7100".into() };
//! let node = Node::start(NodeOptions::new(0, BTreeMap::from([(0, member)]), plugin)).await?;
//! node.wait_for_plugin(std::time::Duration::from_secs(5)).await?;
//! println!("{} is {}", node.id(), node.status().role);
//! node.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! - [`addr`]: `host:port` checks and comparison.
//! - `write`: proposing on the leader, forwarding commands from followers, bootstrap install.
//! - `read`: read index and waiting for this node to apply that far.
//! - `runner`: the one flow every front uses: the plugin decides, the node reads or writes,
//!   the plugin renders.
//! - `peer`: the node's requests on the peer channel.
//! - `membership`, `plugin_admin`, `inspect`, `status`: operator actions and views.
//! - `ticker`, `topics`: clock ticks through the log; which watch topics changed when.
//! - `identity`: refusing to vote under the identity of a lost data dir.

pub mod addr;
mod identity;
mod inspect;
mod membership;
pub(crate) mod peer;
mod plugin_admin;
mod read;
mod runner;
mod status;
mod ticker;
mod topics;
mod write;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openraft::async_runtime::WatchReceiver;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

pub use inspect::LogLine;
pub use membership::{Members, MembershipError, MembershipRequest, ADD_TIMEOUT, REMOVE_TIMEOUT};
pub use peer::{NodeRequest, NodeResponse};
pub use plugin_admin::{AdminError, CurrentPlugin, Installed, PluginReport, MAX_PLUGIN_BYTES};
pub use read::{Consistency, ReadError};
pub use runner::{consistency_of, ConsoleAnswer, ServeError, Served};
pub use status::{NodeStatus, PeerStatus, PluginStatus};
pub use topics::TopicChanges;
pub use write::{Committed, WriteError};

use crate::http::HttpLimits;
use crate::metrics::{Metrics, RaftView};
use crate::plugin::{LoadError, LoadedPlugin, PluginImage, Runtime};
use crate::raft::durable_log::DurableLogStore;
use crate::raft::log_clock::LogClock;
use crate::raft::log_store::MemLogStore;
use crate::raft::snapshot_store::SnapshotStore;
use crate::raft::state_machine::local::LocalPool;
use crate::raft::transport::incarnations::{self, Incarnations};
use crate::raft::transport::{Network, PeerClient, PeerServer};
use crate::raft::{CommitEvent, Machine, MachineConfig, Member, Raft, StateMachine};
use crate::secrets::{PeerTls, PublicTls, Secrets, TokenStore};

/// Raft timing. Shorter timeouts fail over faster but risk needless elections on a busy machine.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Leader heartbeat period.
    pub heartbeat_ms: u64,
    /// Lower bound of the randomized election timeout.
    pub election_min_ms: u64,
    /// Upper bound of the randomized election timeout.
    pub election_max_ms: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            heartbeat_ms: 40,
            election_min_ms: 100,
            election_max_ms: 200,
        }
    }
}

/// Where a node keeps its Raft log and snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// Log in memory, snapshots in a temporary folder: gone when the process ends (demo and
    /// dev modes).
    Memory,
    /// On disk under this folder, fsynced before acknowledging (prod mode).
    Durable(PathBuf),
}

/// The credentials a node checks and presents.
#[derive(Clone)]
pub struct Credentials {
    /// The cluster's CA, from which the node mints its peer certificate for mutual TLS; `None`
    /// runs the peer channel in plain TCP (`--insecure`).
    pub peer: Option<Secrets>,
    /// Admin tokens accepted on the public port.
    pub tokens: Arc<TokenStore>,
    /// Client-facing TLS (`--tls-cert`/`--tls-key`), if any.
    pub public_tls: Option<PublicTls>,
}

impl Credentials {
    /// No credentials at all: the peer channel in plain TCP and every admin endpoint open.
    /// Only for benchmarks and throwaway experiments (`--insecure`).
    pub fn insecure() -> Self {
        Credentials {
            peer: None,
            tokens: Arc::new(TokenStore::empty()),
            public_tls: None,
        }
    }

    /// Credentials from a secrets folder: its CA for the peer channel, its tokens for admins.
    ///
    /// # Errors
    /// If the token file is unreadable or invalid.
    pub fn from_secrets(secrets: Secrets) -> Result<Self, crate::secrets::SecretsError> {
        Ok(Credentials {
            tokens: Arc::new(secrets.tokens()?),
            peer: Some(secrets),
            public_tls: None,
        })
    }

    /// True when nothing is checked.
    pub fn is_insecure(&self) -> bool {
        self.peer.is_none()
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("peer", &self.peer.is_some())
            .field("public_tls", &self.public_tls.is_some())
            .finish_non_exhaustive()
    }
}

/// Everything needed to start a node.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// This node's id: a key of `members` (or its own id when joining).
    pub id: u64,
    /// The initial cluster: node id to its addresses. Only bootstraps a new cluster; a running
    /// cluster's membership lives in its log.
    pub members: BTreeMap<u64, Member>,
    /// The plugin this node proposes if the cluster has none yet; also serves the fronts
    /// until the cluster's plugin is known.
    pub plugin: PluginImage,
    /// Raft timing.
    pub timing: Timing,
    /// How long a write may wait for a leader and a quorum before failing.
    pub write_timeout: Duration,
    /// The machine config (plugin limits, snapshot spacing) this node proposes when it
    /// bootstraps the cluster's plugin.
    pub config: MachineConfig,
    /// Log entries kept behind a snapshot, so slightly lagging followers need no snapshot.
    pub keep_entries: u64,
    /// Memory or disk.
    pub storage: Storage,
    /// Name of the cluster, recorded in a durable data dir so another cluster's dir is refused.
    pub cluster_name: String,
    /// Where compiled plugins are kept across restarts (`None`: compile in memory only).
    pub compiled_cache: Option<PathBuf>,
    /// Join the running cluster that has a member at this address (peer or API address)
    /// instead of bootstrapping one from `members`.
    pub join: Option<String>,
    /// Node-local plugin instances serving reads and the fronts.
    pub local_instances: usize,
    /// Connection and request limits of the public port.
    pub http: HttpLimits,
    /// What this node checks and presents.
    pub credentials: Credentials,
}

impl NodeOptions {
    /// Options with default timing and limits, memory storage and no credentials
    /// ([`Credentials::insecure`]: set real ones for anything but a local experiment).
    pub fn new(id: u64, members: BTreeMap<u64, Member>, plugin: PluginImage) -> Self {
        NodeOptions {
            id,
            members,
            plugin,
            timing: Timing::default(),
            write_timeout: Duration::from_secs(3),
            config: MachineConfig::default(),
            keep_entries: 1_000,
            storage: Storage::Memory,
            cluster_name: "default".into(),
            compiled_cache: None,
            join: None,
            local_instances: 2,
            http: HttpLimits::default(),
            credentials: Credentials::insecure(),
        }
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// `id` is not among `members`.
    #[error("node id {id} is not in the cluster (ids: {known})")]
    UnknownId {
        /// The id asked for.
        id: u64,
        /// The ids that exist.
        known: String,
    },
    /// An address could not be resolved or bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The `--plugin` component was refused.
    #[error("plugin refused at {0}")]
    Plugin(#[from] LoadError),
    /// Raft did not start.
    #[error("raft: {0}")]
    Raft(String),
    /// The data dir cannot be used (another node's, corrupt, unreadable).
    #[error("data dir {0}")]
    Storage(String),
    /// This node's identity is in use by the running cluster but its state is gone.
    #[error("{0}")]
    LostIdentity(String),
}

/// Why [`Node::wait_for_plugin`] returned without a plugin.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PluginWaitError {
    /// No plugin was committed in time: usually no quorum yet.
    #[error("no plugin committed within {0:?} (no quorum yet?)")]
    Timeout(Duration),
    /// The node stopped while waiting.
    #[error("the node stopped")]
    Stopped,
}

/// The parts of a node, shared by every clone of its [`Node`] handle.
pub(crate) struct NodeInner {
    pub(crate) id: u64,
    /// The public API's bound address.
    pub(crate) api_addr: SocketAddr,
    /// The peer channel's bound address.
    pub(crate) peer_addr: SocketAddr,
    /// This node's addresses as configured (what membership records).
    pub(crate) member: Member,
    pub(crate) raft: Raft,
    pub(crate) machine: Arc<Machine>,
    pub(crate) local: LocalPool,
    /// This node's `--plugin`, loaded.
    pub(crate) own_plugin: Arc<LoadedPlugin>,
    /// The machine config proposed at bootstrap.
    pub(crate) proposed_config: MachineConfig,
    pub(crate) peers: PeerClient,
    /// The members' incarnations (and this node's own).
    pub(crate) incarnations: Arc<Incarnations>,
    pub(crate) clock: LogClock,
    pub(crate) write_timeout: Duration,
    pub(crate) topics: Arc<TopicChanges>,
    /// Held while this node (as leader) runs a membership change: one at a time.
    pub(crate) membership_lock: tokio::sync::Mutex<()>,
    /// Heartbeat period, for judging which peers are reachable.
    pub(crate) heartbeat_ms: u64,
    /// Reads this node's log for `logs`.
    pub(crate) log_reader: tokio::sync::Mutex<inspect::LogReader>,
    pub(crate) credentials: Credentials,
    pub(crate) http: HttpLimits,
    /// True once the state machine has re-applied everything committed before a restart (at
    /// once for memory storage); reads wait for it.
    pub(crate) recovered: watch::Sender<bool>,
    /// This node's metrics, made once at start; the parts that observe hold clones of its
    /// members.
    pub(crate) metrics: Arc<Metrics>,
    shutdown_tx: watch::Sender<bool>,
    /// Set (to the leader that said so) once this node was removed from the cluster and stopped
    /// taking part; the process that runs the node stops then.
    pub(crate) removed_by: watch::Sender<Option<u64>>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
    /// Commit announcements since before the node took part (see
    /// [`Node::subscribe_from_start`]).
    first_events: std::sync::Mutex<Option<broadcast::Receiver<CommitEvent>>>,
    /// Memory mode's snapshot folder, removed when the node is dropped.
    _scratch: Option<tempfile::TempDir>,
}

/// A running node. Cheap to clone; all clones drive the same node.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<NodeInner>,
}

/// Milliseconds since the Unix epoch on this machine.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn bind(addr: &str) -> Result<TcpListener, StartError> {
    let listen = addr::resolve(addr).map_err(|reason| StartError::Listen {
        addr: addr.to_string(),
        reason,
    })?;
    TcpListener::bind(listen)
        .await
        .map_err(|e| StartError::Listen {
            addr: addr.to_string(),
            reason: e.to_string(),
        })
}

fn raft_config(options: &NodeOptions) -> Result<openraft::Config, StartError> {
    openraft::Config {
        cluster_name: options.cluster_name.clone(),
        heartbeat_interval: options.timing.heartbeat_ms,
        election_timeout_min: options.timing.election_min_ms,
        election_timeout_max: options.timing.election_max_ms,
        install_snapshot_timeout: 120_000,
        // Snapshots are taken at base points chosen by the log (see raft::state_machine), never
        // on openraft's own schedule; the node triggers openraft when one is written.
        snapshot_policy: openraft::SnapshotPolicy::Never,
        max_in_snapshot_log_to_keep: options.keep_entries,
        enable_pre_vote: Some(true),
        // A wiped node is refused at start (see `identity`), so a follower's log never goes
        // back in a running cluster; if it ever did, openraft's leader would panic without this.
        allow_log_reversion: Some(true),
        ..Default::default()
    }
    .validate()
    .map_err(|e| StartError::Raft(e.to_string()))
}

/// The opened storage of a node.
struct Opened {
    raft: Raft,
    machine: Arc<Machine>,
    /// Started before Raft, so local instances follow the tail while Raft re-applies the log
    /// at start-up instead of catching up afterwards.
    local: LocalPool,
    reader: inspect::LogReader,
    fresh: bool,
    scratch: Option<tempfile::TempDir>,
}

async fn open_storage(
    options: &NodeOptions,
    runtime: Arc<Runtime>,
    own_plugin: Arc<LoadedPlugin>,
    network: Network,
    clock: LogClock,
    metrics: &Metrics,
) -> Result<Opened, StartError> {
    let start_local = |machine: &Machine, replay_to: u64| {
        LocalPool::start(
            options.local_instances,
            machine.tail(),
            own_plugin.clone(),
            machine.take_seed().map(|seed| (seed, replay_to)),
        )
    };
    let config = Arc::new(raft_config(options)?);
    let storage_error = |e: &dyn std::fmt::Display| StartError::Storage(e.to_string());
    match &options.storage {
        Storage::Memory => {
            let scratch = tempfile::Builder::new()
                .prefix("reservoir-snapshots-")
                .tempdir()
                .map_err(|e| storage_error(&e))?;
            let store =
                SnapshotStore::open(scratch.path(), u64::MAX).map_err(|e| storage_error(&e))?;
            store.set_metrics(metrics.snapshots.clone());
            let machine = Machine::open(runtime, store).map_err(|e| storage_error(&e))?;
            let local = start_local(&machine, 0);
            let log = MemLogStore::new().with_clock(clock);
            let reader = inspect::LogReader::Memory(log.clone());
            let raft = Raft::new(
                options.id,
                config,
                network,
                log,
                StateMachine::new(machine.clone()),
            )
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
            Ok(Opened {
                raft,
                machine,
                local,
                reader,
                fresh: true,
                scratch: Some(scratch),
            })
        }
        Storage::Durable(dir) => {
            let dir = dir.clone();
            let id = options.id;
            let cluster = options.cluster_name.clone();
            let log_metrics = metrics.log_flush.clone();
            let snapshot_metrics = metrics.snapshots.clone();
            let (log, machine, fresh) = tokio::task::spawn_blocking(move || {
                let in_dir = |e: &dyn std::fmt::Display| format!("{}: {e}", dir.display());
                let open_log = || {
                    let log = DurableLogStore::open(&dir.join("log")).map_err(|e| in_dir(&e))?;
                    let fresh = log.identity().map_err(|e| in_dir(&e))?.is_none();
                    log.check_identity(id, &cluster).map_err(|e| in_dir(&e))?;
                    let log = log
                        .with_metrics(log_metrics)
                        .with_clock(clock)
                        .map_err(|e| in_dir(&e))?;
                    Ok::<_, String>((log, fresh))
                };
                let open_machine = || {
                    let store = SnapshotStore::open(&dir.join("snapshots"), 64 << 30)
                        .map_err(|e| in_dir(&e))?;
                    store.set_metrics(snapshot_metrics);
                    Machine::open(runtime, store).map_err(|e| in_dir(&e))
                };
                // The log (fjall replays its journal) and the snapshot (the plugin restores
                // it) are independent files, each about half a second or more to open at a
                // million bookings: open both at once. A log refused for its identity wins.
                std::thread::scope(|scope| {
                    let machine = std::thread::Builder::new()
                        .name("restore".into())
                        .spawn_scoped(scope, open_machine)
                        .map_err(|e| format!("cannot start the restore thread: {e}"))?;
                    let log = open_log();
                    let machine = machine
                        .join()
                        .map_err(|_| in_dir(&"restoring the latest snapshot panicked"))?;
                    let (log, fresh) = log?;
                    Ok::<_, String>((log, machine?, fresh))
                })
            })
            .await
            .map_err(|e| StartError::Storage(format!("opening the data dir panicked: {e}")))?
            .map_err(StartError::Storage)?;
            let committed = log.committed();
            let local = start_local(&machine, committed.map_or(0, |id| id.index));
            let mut log = log;
            let mut log_reader = openraft::storage::RaftLogStorage::get_log_reader(&mut log).await;
            let purged = openraft::storage::RaftLogStorage::get_log_state(&mut log)
                .await
                .map_err(|e| StartError::Storage(e.to_string()))?
                .last_purged_log_id;
            let started = std::time::Instant::now();
            let reapplied = machine
                .reapply_committed(&mut log_reader, purged, committed)
                .await
                .map_err(|e| StartError::Storage(format!("re-applying the committed log: {e}")))?;
            if reapplied > 0 {
                tracing::info!(
                    entries = reapplied,
                    ms = started.elapsed().as_millis() as u64,
                    "re-applied the committed log"
                );
            }
            let reader = inspect::LogReader::Durable(log_reader);
            let raft = Raft::new(
                options.id,
                config,
                network,
                log,
                StateMachine::new(machine.clone()),
            )
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
            Ok(Opened {
                raft,
                machine,
                local,
                reader,
                fresh,
                scratch: None,
            })
        }
    }
}

impl Node {
    /// Starts a node: validates the plugin, binds both addresses, opens storage, checks that a
    /// fresh data dir is not a lost member's, starts Raft, the peer channel and the public HTTP
    /// server, and initializes the cluster from `members` if no cluster runs yet.
    ///
    /// # Errors
    /// [`StartError`] for an unknown id, an address that cannot be bound, a refused plugin,
    /// an unusable data dir, or a lost identity.
    pub async fn start(options: NodeOptions) -> Result<Node, StartError> {
        let Some(member) = options.members.get(&options.id).cloned() else {
            let known: Vec<String> = options.members.keys().map(|k| k.to_string()).collect();
            return Err(StartError::UnknownId {
                id: options.id,
                known: known.join(", "),
            });
        };
        let metrics = Arc::new(Metrics::new());
        let mut runtime = Runtime::new().with_metrics(metrics.plugin.clone());
        if let Some(dir) = &options.compiled_cache {
            runtime = runtime.with_disk_cache(dir.clone(), 512 << 20);
        }
        let runtime = Arc::new(runtime);
        let own_plugin = runtime.load(&options.plugin, options.config.limits.stack_bytes)?;
        let api_listener = bind(&member.api).await?;
        let peer_listener = bind(&member.peer).await?;
        let local_addr = |listener: &TcpListener, addr: &str| {
            listener.local_addr().map_err(|e| StartError::Listen {
                addr: addr.to_string(),
                reason: e.to_string(),
            })
        };
        let api_addr = local_addr(&api_listener, &member.api)?;
        let peer_addr = local_addr(&peer_listener, &member.peer)?;

        let (incarnation, table_path) = match &options.storage {
            Storage::Memory => (incarnations::random(), None),
            Storage::Durable(dir) => (
                incarnations::of_data_dir(dir)
                    .map_err(|e| StartError::Storage(format!("{}: {e}", dir.display())))?,
                Some(dir.join("incarnations.json")),
            ),
        };
        let incarnations = Arc::new(Incarnations::open(incarnation, table_path));
        let peer_tls = match &options.credentials.peer {
            Some(secrets) => Some(
                PeerTls::new(secrets, options.id, incarnation)
                    .map_err(|e| StartError::Storage(e.to_string()))?,
            ),
            None => None,
        };
        let peers = PeerClient::new(peer_tls.clone(), incarnations.clone());
        let clock = LogClock::new();
        let opened = open_storage(
            &options,
            runtime.clone(),
            own_plugin.clone(),
            Network::new(peers.clone()),
            clock.clone(),
            &metrics,
        )
        .await?;
        // Nothing reaches the machine before the peer channel serves, further below.
        let first_events = opened.machine.subscribe();
        // Decide how this node takes part before any peer can reach it.
        let initialized = opened
            .raft
            .is_initialized()
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
        let plan = match (&options.join, initialized) {
            (_, true) => identity::Plan::Run,
            (Some(via), false) => identity::Plan::Join(via.clone()),
            (None, false) => identity::probe(&peers, &options, opened.fresh, incarnation).await?,
        };
        let status = opened.machine.status();
        let applied = status.last_applied.map_or(0, |id| id.index);
        let (shutdown_tx, _) = watch::channel(false);
        let (recovered, _) = watch::channel(options.storage == Storage::Memory);
        let (removed_by, _) = watch::channel(None);
        let node = Node {
            inner: Arc::new(NodeInner {
                id: options.id,
                api_addr,
                peer_addr,
                member,
                raft: opened.raft,
                machine: opened.machine,
                local: opened.local,
                own_plugin,
                proposed_config: options.config,
                peers,
                incarnations: incarnations.clone(),
                clock,
                write_timeout: options.write_timeout,
                topics: Arc::new(TopicChanges::new(applied)),
                membership_lock: tokio::sync::Mutex::new(()),
                heartbeat_ms: options.timing.heartbeat_ms,
                log_reader: tokio::sync::Mutex::new(opened.reader),
                credentials: options.credentials.clone(),
                http: options.http.clone(),
                recovered,
                metrics,
                shutdown_tx,
                removed_by,
                tasks: std::sync::Mutex::new(Vec::new()),
                first_events: std::sync::Mutex::new(Some(first_events)),
                _scratch: opened.scratch,
            }),
        };
        let peer_server = Arc::new(PeerServer::new(
            node.inner.raft.clone(),
            node.inner.machine.clone(),
            Arc::new(peer::Service { node: node.clone() }),
            peer_tls.as_ref(),
            incarnations,
        ));
        node.spawn(follow_members(node.clone(), node.shutdown_signal()));
        node.spawn(raft_metrics(node.clone(), node.shutdown_signal()));
        node.spawn(peer_server.serve(peer_listener, node.shutdown_signal()));
        node.spawn(crate::http::server::serve(
            node.clone(),
            api_listener,
            node.shutdown_signal(),
        ));
        node.spawn(topics::follow_commits(node.clone(), node.shutdown_signal()));
        node.spawn(ticker::tick_when_due(node.clone(), node.shutdown_signal()));
        node.spawn(snapshots_to_raft(node.clone(), node.shutdown_signal()));
        node.take_part(plan, &options).await;
        node.spawn(write::bootstrap_plugin(
            node.clone(),
            node.shutdown_signal(),
        ));
        if !*node.inner.recovered.borrow() {
            node.spawn(recover(node.clone(), node.shutdown_signal()));
        }
        Ok(node)
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(task);
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle);
    }

    /// Resolves when [`Node::shutdown`] is called.
    pub fn shutdown_signal(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.shutdown_tx.subscribe();
        async move {
            // An error means the sender is gone, i.e. the node is gone: shut down too.
            let _ = rx.wait_for(|stopped| *stopped).await;
        }
    }

    /// Resolves, with the id of the leader that removed it, once this node was removed from the
    /// cluster: what makes a removed node's process stop instead of lingering as a lone member.
    pub fn removed(&self) -> impl std::future::Future<Output = u64> + Send + 'static {
        let mut rx = self.inner.removed_by.subscribe();
        async move {
            let by = rx
                .wait_for(Option::is_some)
                .await
                .map(|by| by.unwrap_or_default());
            match by {
                Ok(by) => by,
                // The node is gone; nothing will ever remove it.
                Err(_) => std::future::pending().await,
            }
        }
    }

    /// The leader that removed this node from the cluster, once that happened.
    pub fn removed_by(&self) -> Option<u64> {
        *self.inner.removed_by.borrow()
    }

    async fn take_part(&self, plan: identity::Plan, options: &NodeOptions) {
        match plan {
            identity::Plan::Run => {}
            identity::Plan::Join(via) => {
                // Never bootstrap: ask the cluster to add this node.
                self.spawn(membership::join(self.clone(), via, self.shutdown_signal()));
            }
            identity::Plan::Wait(peer) => {
                // A node added to the profile after the cluster formed: bootstrapping would
                // start a rival membership. Wait to be added instead.
                tracing::warn!(
                    peer,
                    "the cluster already runs; waiting to be added (add-node {} on any member)",
                    self.inner.member.api
                );
            }
            identity::Plan::Bootstrap => {
                // Every node of a new cluster initializes with the same membership; openraft
                // documents this as safe. One that finds it formed gets `NotAllowed`: fine.
                if let Err(e) = self.inner.raft.initialize(options.members.clone()).await {
                    tracing::debug!(error = %e, "initialize skipped");
                }
            }
        }
    }

    /// This node's id.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The address the public API (HTTP) listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.api_addr
    }

    /// The address the peer channel listens on.
    pub fn peer_addr(&self) -> SocketAddr {
        self.inner.peer_addr
    }

    /// This node's addresses as configured.
    pub fn member(&self) -> &Member {
        &self.inner.member
    }

    /// The credentials this node checks.
    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    /// The public port's limits.
    pub fn http_limits(&self) -> &HttpLimits {
        &self.inner.http
    }

    /// This node's metrics (what `GET /metrics` encodes).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The node-local plugin instances.
    pub fn local(&self) -> &LocalPool {
        &self.inner.local
    }

    /// Which watch topics changed at which index, for event streams.
    pub fn topic_changes(&self) -> Arc<TopicChanges> {
        self.inner.topics.clone()
    }

    /// Index of the last entry applied on this node.
    pub fn applied_index(&self) -> u64 {
        self.inner
            .machine
            .status()
            .last_applied
            .map_or(0, |id| id.index)
    }

    /// Subscribes to announcements of every applied entry.
    pub fn subscribe(&self) -> broadcast::Receiver<CommitEvent> {
        self.inner.machine.subscribe()
    }

    /// The first call: announcements of every entry applied since before this node took part
    /// (up to the channel's buffer), so a console started after [`Node::start`] returns still
    /// notices the first commits (the membership may commit before it could subscribe). Later
    /// calls: as [`Node::subscribe`].
    pub fn subscribe_from_start(&self) -> broadcast::Receiver<CommitEvent> {
        let first = self
            .inner
            .first_events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        first.unwrap_or_else(|| self.subscribe())
    }

    /// Waits until the cluster's plugin has been applied on this node.
    ///
    /// # Errors
    /// [`PluginWaitError`] if the timeout passes first or the node stops.
    pub async fn wait_for_plugin(
        &self,
        timeout: Duration,
    ) -> Result<Arc<LoadedPlugin>, PluginWaitError> {
        let mut rx = self.inner.machine.watch_status();
        let waited = tokio::time::timeout(timeout, async {
            rx.wait_for(|status| status.plugin.is_some())
                .await
                .map(|status| status.plugin.clone())
                .map_err(|_| PluginWaitError::Stopped)
        })
        .await;
        match waited {
            Ok(Ok(Some(plugin))) => Ok(plugin),
            Ok(Ok(None)) | Ok(Err(_)) => Err(PluginWaitError::Stopped),
            Err(_) => Err(PluginWaitError::Timeout(timeout)),
        }
    }

    /// Stops the HTTP servers, Raft and background tasks.
    pub async fn shutdown(&self) {
        self.inner.shutdown_tx.send_replace(true);
        if let Err(e) = self.inner.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
        let tasks: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            // Every task watches the shutdown signal; a bounded wait guards against a stuck one.
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                tracing::warn!("a background task did not stop within 2 s");
            }
        }
    }
}

/// Waits until the log committed before a restart is re-applied (which needs a leader: the
/// cluster's commit index decides), then opens reads.
async fn recover(node: Node, shutdown: impl std::future::Future<Output = ()>) {
    tokio::select! {
        _ = shutdown => {}
        result = node.inner.raft.wait_for_recovery(None) => match result {
            Ok(metrics) => {
                tracing::info!(applied = ?metrics.last_applied, "recovered the committed log");
                node.inner.recovered.send_replace(true);
            }
            Err(e) => tracing::error!(error = %e, "recovery did not finish"),
        },
    }
}

/// Keeps the incarnation table's member set equal to the membership, so removed members are
/// forgotten (and can be added again fresh).
async fn follow_members(node: Node, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut metrics = node.inner.raft.metrics();
    loop {
        let ids = {
            let metrics = metrics.borrow_watched();
            let membership = metrics.membership_config.membership();
            membership
                .voter_ids()
                .chain(membership.learner_ids())
                .collect()
        };
        node.inner.incarnations.set_members(ids);
        tokio::select! {
            _ = &mut shutdown => return,
            changed = metrics.changed() => if changed.is_err() { return },
        }
    }
}

/// Copies openraft's metrics into the node's Raft gauges on every change, so a scrape reads
/// atomics and never the watch; counts each new leader seen (another node, or a new term).
async fn raft_metrics(node: Node, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut watch = node.inner.raft.metrics();
    let gauges = node.inner.metrics.raft.clone();
    let mut leader_seen: Option<(u64, u64)> = None;
    loop {
        let (view, leader) = {
            let m = watch.borrow_watched();
            let membership = m.membership_config.membership();
            let view = RaftView {
                term: m.current_term,
                is_leader: m.state == openraft::ServerState::Leader,
                commit_index: m.cluster_committed.map_or(0, |c| c.index),
                applied_index: m.last_applied.map_or(0, |a| a.index),
                last_log_index: m.last_log_index.unwrap_or(0),
                snapshot_index: m.snapshot.map_or(0, |s| s.index),
                voters: membership.voter_ids().count() as u64,
                learners: membership.learner_ids().count() as u64,
            };
            (view, m.current_leader.map(|l| (l, m.current_term)))
        };
        gauges.update(&view);
        if let Some((id, term)) = leader {
            let moved = leader_seen.is_none_or(|(seen, seen_term)| id != seen || term > seen_term);
            if moved {
                gauges.leader_changed();
                leader_seen = Some((id, term));
            }
        }
        tokio::select! {
            _ = &mut shutdown => return,
            changed = watch.changed() => if changed.is_err() { return },
        }
    }
}

/// Tells openraft about every snapshot the state machine writes, so it can purge the log
/// behind it and send it to followers that need it.
async fn snapshots_to_raft(node: Node, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut written = node.inner.machine.watch_snapshots();
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            changed = written.changed() => if changed.is_err() { return },
        }
        let index = *written.borrow_and_update();
        let known = node
            .inner
            .raft
            .metrics()
            .borrow_watched()
            .snapshot
            .map(|id| id.index);
        if index > known {
            if let Err(e) = node.inner.raft.trigger().snapshot().await {
                tracing::warn!(error = %e, "cannot hand the new snapshot to raft");
                return;
            }
        }
    }
}
