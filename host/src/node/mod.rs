//! A node: wires the plugin runtime, the state machine, the log store, Raft, the peer network
//! and the HTTP server together, and is the embedding API the fronts and tests use.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::collections::BTreeMap;
//! use host::{Consistency, Node, NodeOptions};
//! use host::plugin::PluginImage;
//!
//! let plugin = PluginImage::new(std::fs::read("plugins/seat.wasm")?);
//! let members = BTreeMap::from([(0, "127.0.0.1:7000".to_string())]);
//! let node = Node::start(NodeOptions::new(0, members, plugin)).await?;
//! node.wait_for_plugin(std::time::Duration::from_secs(5)).await?;
//! let status = node.status();
//! println!("{} is {}", status.id, status.role);
//! node.shutdown().await;
//! # Ok(()) }
//! ```

mod front;
mod inspect;
mod membership;
mod plugin_admin;
mod status;
mod ticker;
mod topics;
mod write;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openraft::async_runtime::WatchReceiver;
use openraft::BasicNode;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

pub use front::{Front, FrontError};
pub use inspect::LogLine;
pub use membership::{
    Members, MembershipError, MembershipRequest, ADD_TIMEOUT, FORWARD_MEMBERSHIP_PATH,
    REMOVE_TIMEOUT, RETIRE_PATH,
};
pub use plugin_admin::{CurrentPlugin, InstallError, Installed, PluginReport};
pub use status::{NodeStatus, PeerStatus, PluginStatus};
pub use topics::TopicChanges;
pub use write::{
    Committed, Consistency, ReadError, WriteError, FORWARD_WRITE_PATH, READ_INDEX_PATH,
};

use crate::http::client::PeerClient;
use crate::plugin::{Limits, LoadError, LoadedPlugin, PluginImage, Runtime};
use crate::raft::durable_log::DurableLogStore;
use crate::raft::log_store::MemLogStore;
use crate::raft::network::Network;
use crate::raft::snapshot_store::SnapshotStore;
use crate::raft::state_machine::Machine;
use crate::raft::{CommitEvent, Payload, Raft, StateMachine};

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
            heartbeat_ms: 100,
            election_min_ms: 500,
            election_max_ms: 1000,
        }
    }
}

/// Where a node keeps its Raft log and snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// In memory: fast, gone when the process ends (demo and dev modes).
    Memory,
    /// On disk under this folder, fsynced before acknowledging (prod mode).
    Durable(std::path::PathBuf),
}

/// When to snapshot the state machine and compact the log.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotSettings {
    /// Snapshot once this many entries were applied since the last snapshot.
    pub every_entries: u64,
    /// Also snapshot at this interval if anything was applied since.
    pub interval: Option<Duration>,
    /// Entries kept in the log behind a snapshot, so slightly lagging followers need no snapshot.
    pub keep_entries: u64,
}

impl Default for SnapshotSettings {
    fn default() -> Self {
        SnapshotSettings {
            every_entries: 10_000,
            interval: None,
            keep_entries: 1_000,
        }
    }
}

/// Everything needed to start a node.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// This node's id: a key of `members`.
    pub id: u64,
    /// The initial cluster: node id to `host:port` (Raft RPC and HTTP API share the port).
    pub members: BTreeMap<u64, String>,
    /// Where to listen; defaults to this node's address in `members`.
    pub listen: Option<SocketAddr>,
    /// The plugin this node proposes if the cluster has none yet; also serves the fronts
    /// until the cluster's plugin is known.
    pub plugin: PluginImage,
    /// Raft timing.
    pub timing: Timing,
    /// How long a write may wait for a leader and a quorum before failing.
    pub write_timeout: Duration,
    /// Plugin resource limits.
    pub limits: Limits,
    /// Memory or disk.
    pub storage: Storage,
    /// Snapshot and compaction policy.
    pub snapshots: SnapshotSettings,
    /// Name of the cluster, recorded in a durable data dir so another cluster's dir is refused.
    pub cluster_name: String,
    /// Where compiled plugins are kept across restarts (`None`: compile in memory only).
    pub compiled_cache: Option<std::path::PathBuf>,
    /// Join the running cluster that has a member at this address instead of bootstrapping
    /// one from `members` (then `members` only needs this node's own address).
    pub join: Option<String>,
}

impl NodeOptions {
    /// Options with default timing, a 3 s write timeout and default plugin limits.
    pub fn new(id: u64, members: BTreeMap<u64, String>, plugin: PluginImage) -> Self {
        NodeOptions {
            id,
            members,
            listen: None,
            plugin,
            timing: Timing::default(),
            write_timeout: Duration::from_secs(3),
            limits: Limits::default(),
            storage: Storage::Memory,
            snapshots: SnapshotSettings::default(),
            cluster_name: "default".into(),
            compiled_cache: None,
            join: None,
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
    /// The address could not be resolved or bound.
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

pub(crate) struct NodeInner {
    pub(crate) id: u64,
    pub(crate) addr: SocketAddr,
    pub(crate) raft: Raft,
    pub(crate) machine: Arc<Machine>,
    pub(crate) local_plugin: Arc<LoadedPlugin>,
    pub(crate) peers: PeerClient,
    pub(crate) write_timeout: Duration,
    pub(crate) front: Front,
    /// Last change per watch topic, for event streams.
    topics: Arc<TopicChanges>,
    /// Held while this node (as leader) runs a membership change: one at a time.
    membership_lock: tokio::sync::Mutex<()>,
    /// Heartbeat period, for judging which peers are reachable.
    heartbeat_ms: u64,
    /// Reads this node's log for `logs`.
    log_reader: tokio::sync::Mutex<inspect::LogReader>,
    /// `--join`: a member to ask for admission.
    join: Option<String>,
    /// True once the state machine has re-applied everything committed before a restart (at
    /// once for memory storage); reads wait for it.
    pub(crate) recovered: watch::Sender<bool>,
    shutdown_tx: watch::Sender<bool>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

/// A running node. Cheap to clone; all clones drive the same node.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<NodeInner>,
}

/// Opens a durable data dir: the log (checked to belong to this node and cluster) and the state
/// machine restored from the latest snapshot. Blocking disk work, so it runs off the runtime.
async fn open_durable(
    dir: std::path::PathBuf,
    id: u64,
    cluster: String,
    runtime: Arc<Runtime>,
) -> Result<(DurableLogStore, Arc<Machine>), StartError> {
    tokio::task::spawn_blocking(move || {
        let storage_error =
            |e: &dyn std::fmt::Display| StartError::Storage(format!("{}: {e}", dir.display()));
        let log = DurableLogStore::open(&dir.join("log")).map_err(|e| storage_error(&e))?;
        log.check_identity(id, &cluster)
            .map_err(|e| storage_error(&e))?;
        let snapshots =
            SnapshotStore::open(&dir.join("snapshots")).map_err(|e| storage_error(&e))?;
        let machine = Machine::recover(runtime, snapshots).map_err(|e| storage_error(&e))?;
        Ok((log, machine))
    })
    .await
    .map_err(|e| StartError::Storage(format!("opening the data dir panicked: {e}")))?
}

fn raft_config(options: &NodeOptions) -> Result<openraft::Config, StartError> {
    openraft::Config {
        cluster_name: options.cluster_name.clone(),
        heartbeat_interval: options.timing.heartbeat_ms,
        election_timeout_min: options.timing.election_min_ms,
        election_timeout_max: options.timing.election_max_ms,
        install_snapshot_timeout: 10_000,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(options.snapshots.every_entries),
        max_in_snapshot_log_to_keep: options.snapshots.keep_entries,
        // A follower whose data dir was lost (replaced disk, wiped dir) comes back with an empty
        // log. Without this the leader's Raft core panics on the "reverted" follower and the
        // whole cluster loses its leader; with it the leader replicates to it from scratch.
        allow_log_reversion: Some(true),
        ..Default::default()
    }
    .validate()
    .map_err(|e| StartError::Raft(e.to_string()))
}

/// Milliseconds since the Unix epoch on this machine (the leader's stamp for new entries).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Resolves `host:port`, preferring IPv4 (so `localhost` means 127.0.0.1, as peers expect).
pub fn resolve(addr: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let all: Vec<SocketAddr> = addr.to_socket_addrs().map_err(|e| e.to_string())?.collect();
    all.iter()
        .find(|a| a.is_ipv4())
        .or(all.first())
        .copied()
        .ok_or_else(|| "no address".to_string())
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

/// Triggers a snapshot every `interval` when entries were applied since the last one.
async fn snapshot_on_interval(
    node: Node,
    interval: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = ticker.tick() => {}
        }
        let metrics = node.inner.raft.metrics().borrow_watched().clone();
        let applied = metrics.last_applied.map(|id| id.index);
        let snapshot = metrics.snapshot.map(|id| id.index);
        if applied > snapshot {
            if let Err(e) = node.inner.raft.trigger().snapshot().await {
                tracing::warn!(error = %e, "interval snapshot");
                return;
            }
        }
    }
}

impl Node {
    /// Starts a node: validates the plugin, binds its address, starts Raft and the HTTP server,
    /// and initializes the cluster from `members` if this node has never been part of one.
    ///
    /// # Errors
    /// [`StartError`] for an unknown id, an address that cannot be bound, or a refused plugin.
    pub async fn start(options: NodeOptions) -> Result<Node, StartError> {
        let Some(own_addr) = options.members.get(&options.id) else {
            let known: Vec<String> = options.members.keys().map(|k| k.to_string()).collect();
            return Err(StartError::UnknownId {
                id: options.id,
                known: known.join(", "),
            });
        };
        let listen = match options.listen {
            Some(addr) => addr,
            None => resolve(own_addr).map_err(|reason| StartError::Listen {
                addr: own_addr.clone(),
                reason,
            })?,
        };
        let mut runtime = Runtime::new(options.limits)?;
        if let Some(dir) = &options.compiled_cache {
            runtime = runtime.with_disk_cache(dir.clone());
        }
        let runtime = Arc::new(runtime);
        let local_plugin = runtime.load(options.plugin.clone())?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| StartError::Listen {
                addr: listen.to_string(),
                reason: e.to_string(),
            })?;
        let addr = listener.local_addr().map_err(|e| StartError::Listen {
            addr: listen.to_string(),
            reason: e.to_string(),
        })?;

        let peers = PeerClient::new();
        let config = Arc::new(raft_config(&options)?);
        let network = Network::new(peers.clone());
        let (raft, machine, log_reader) = match &options.storage {
            Storage::Memory => {
                let machine = Machine::new(runtime.clone());
                let state_machine = StateMachine::new(machine.clone());
                let log = MemLogStore::new();
                let reader = inspect::LogReader::Memory(log.clone());
                let raft = Raft::new(options.id, config, network, log, state_machine).await;
                (
                    raft.map_err(|e| StartError::Raft(e.to_string()))?,
                    machine,
                    reader,
                )
            }
            Storage::Durable(dir) => {
                let (log, machine) = open_durable(
                    dir.clone(),
                    options.id,
                    options.cluster_name.clone(),
                    runtime.clone(),
                )
                .await?;
                let mut log = log;
                let reader = inspect::LogReader::Durable(
                    openraft::storage::RaftLogStorage::get_log_reader(&mut log).await,
                );
                let state_machine = StateMachine::new(machine.clone());
                let raft = Raft::new(options.id, config, network, log, state_machine).await;
                (
                    raft.map_err(|e| StartError::Raft(e.to_string()))?,
                    machine,
                    reader,
                )
            }
        };

        // Subscribe before reading the applied index: every later commit reaches the follower.
        let commits = machine.subscribe();
        let applied = machine.status().last_applied.map_or(0, |id| id.index);
        let (shutdown_tx, _) = watch::channel(false);
        let (recovered, _) = watch::channel(options.storage == Storage::Memory);
        let front = Front::new(runtime.clone(), local_plugin.clone(), machine.clone());
        let node = Node {
            inner: Arc::new(NodeInner {
                id: options.id,
                addr,
                raft,
                machine,
                local_plugin,
                peers,
                write_timeout: options.write_timeout,
                front,
                topics: Arc::new(TopicChanges::new(applied)),
                membership_lock: tokio::sync::Mutex::new(()),
                heartbeat_ms: options.timing.heartbeat_ms,
                log_reader: tokio::sync::Mutex::new(log_reader),
                join: options.join.clone(),
                recovered,
                shutdown_tx,
                tasks: std::sync::Mutex::new(Vec::new()),
            }),
        };
        node.spawn(crate::http::server::serve(
            node.clone(),
            listener,
            node.shutdown_signal(),
        ));
        node.spawn(topics::follow_commits(
            node.clone(),
            commits,
            node.shutdown_signal(),
        ));
        node.spawn(ticker::tick_when_due(node.clone(), node.shutdown_signal()));
        node.initialize(&options.members).await?;
        node.spawn(write::bootstrap_plugin(
            node.clone(),
            node.shutdown_signal(),
        ));
        if !*node.inner.recovered.borrow() {
            node.spawn(recover(node.clone(), node.shutdown_signal()));
        }
        if let Some(interval) = options.snapshots.interval {
            node.spawn(snapshot_on_interval(
                node.clone(),
                interval,
                node.shutdown_signal(),
            ));
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

    async fn initialize(&self, members: &BTreeMap<u64, String>) -> Result<(), StartError> {
        let initialized = self
            .inner
            .raft
            .is_initialized()
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
        if initialized {
            return Ok(());
        }
        if let Some(join) = &self.inner.join {
            // Never bootstrap: ask the cluster to add this node.
            self.spawn(membership::join(
                self.clone(),
                join.clone(),
                self.shutdown_signal(),
            ));
            return Ok(());
        }
        if let Some(peer) = self.existing_cluster(members).await {
            // A node added to the profile after the cluster formed: bootstrapping would start a
            // rival membership. Wait to be added instead.
            tracing::warn!(
                peer,
                "the cluster already runs; waiting to be added (add-node {} on any member)",
                self.inner.addr
            );
            return Ok(());
        }
        let nodes: BTreeMap<u64, BasicNode> = members
            .iter()
            .map(|(id, addr)| (*id, BasicNode { addr: addr.clone() }))
            .collect();
        // Every node of a new cluster initializes with the same membership; openraft documents
        // this as safe. A node that finds the cluster formed gets `NotAllowed`, which is fine.
        if let Err(e) = self.inner.raft.initialize(nodes).await {
            tracing::debug!(error = %e, "initialize skipped");
        }
        Ok(())
    }

    /// The address of another profile member that already has a leader, if any.
    async fn existing_cluster(&self, members: &BTreeMap<u64, String>) -> Option<String> {
        for (id, addr) in members {
            if *id == self.inner.id {
                continue;
            }
            let status: Result<NodeStatus, _> = self
                .inner
                .peers
                .get_json(addr, "/v1/status", Duration::from_millis(500))
                .await;
            if status.is_ok_and(|s| s.leader_id.is_some()) {
                return Some(addr.clone());
            }
        }
        None
    }

    /// This node's id.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The address the HTTP server (API and Raft RPC) listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The plugin-facing front: routes HTTP requests and console lines through the plugin.
    pub fn front(&self) -> &Front {
        &self.inner.front
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

    /// Replicates a plugin command; see [`Node::write`].
    ///
    /// # Errors
    /// [`WriteError`] when no quorum confirms the entry within the write timeout.
    pub async fn write_command(&self, command: Vec<u8>) -> Result<Committed, WriteError> {
        self.write(Payload::Command(command)).await
    }

    /// Waits until the cluster's plugin has been applied on this node.
    ///
    /// # Errors
    /// [`PluginWaitError`] if the timeout passes first or the node stops.
    pub async fn wait_for_plugin(
        &self,
        timeout: Duration,
    ) -> Result<Arc<LoadedPlugin>, PluginWaitError> {
        let mut rx = self.inner.machine.watch_plugin();
        let waited = tokio::time::timeout(timeout, async {
            rx.wait_for(|p| p.is_some())
                .await
                .map(|plugin| plugin.clone())
                .map_err(|_| PluginWaitError::Stopped)
        })
        .await;
        match waited {
            Ok(Ok(Some(plugin))) => Ok(plugin),
            Ok(Ok(None)) | Ok(Err(_)) => Err(PluginWaitError::Stopped),
            Err(_) => Err(PluginWaitError::Timeout(timeout)),
        }
    }

    /// Stops the HTTP server, Raft and background tasks.
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
