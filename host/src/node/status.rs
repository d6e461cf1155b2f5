//! What `GET /v1/status`, `is-leader` and `status` report about a node.

use openraft::async_runtime::WatchReceiver;
use openraft::ServerState;
use serde::{Deserialize, Serialize};

use super::Node;

/// A peer in the membership.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerStatus {
    /// Node id.
    pub id: u64,
    /// Its public API, `host:port` as configured.
    pub addr: String,
    /// Its peer channel, `host:port` as configured.
    pub peer: String,
    /// On the leader: the highest log index known replicated to this peer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<u64>,
}

/// The plugin the cluster runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginStatus {
    /// `info().name`.
    pub name: String,
    /// `info().version`.
    pub version: String,
    /// SHA-256 of the component.
    pub hash: String,
    /// Log index of the entry that installed it.
    pub installed_at: u64,
}

/// A node's view of itself and the cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeStatus {
    /// This node's id.
    pub id: u64,
    /// This node's public API address, as configured.
    pub addr: String,
    /// This node's peer channel address, as configured.
    pub peer: String,
    /// `leader`, `follower`, `candidate`, `learner`, `shutdown`, or `removed` once the cluster
    /// removed this node.
    pub role: String,
    /// The leader this node knows of.
    pub leader_id: Option<u64>,
    /// The leader's address.
    pub leader_addr: Option<String>,
    /// Current term.
    pub term: u64,
    /// Last log index present here.
    pub last_log_index: Option<u64>,
    /// Highest index known committed.
    pub committed: Option<u64>,
    /// Last index applied to the plugin here.
    pub last_applied: Option<u64>,
    /// Last index covered by this node's latest snapshot.
    pub snapshot: Option<u64>,
    /// Highest index removed from this node's log by compaction.
    pub purged: Option<u64>,
    /// Voting members.
    pub voters: Vec<PeerStatus>,
    /// Non-voting members.
    pub learners: Vec<PeerStatus>,
    /// The cluster's plugin, once one has been installed.
    pub plugin: Option<PluginStatus>,
    /// Log time of the last applied entry (ms since the Unix epoch).
    pub log_time_ms: u64,
    /// Set when this node's state machine stopped applying (it needs attention).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poisoned: Option<String>,
}

fn role_name(state: ServerState) -> &'static str {
    match state {
        ServerState::Leader => "leader",
        ServerState::Follower => "follower",
        ServerState::Candidate => "candidate",
        ServerState::Learner => "learner",
        ServerState::Shutdown => "shutdown",
    }
}

impl Node {
    /// The machine config (plugin limits, snapshot spacing) in force, from the log.
    pub fn machine_config(&self) -> crate::raft::MachineConfig {
        self.inner.machine.status().config
    }

    /// A consistent snapshot of this node's Raft metrics and plugin.
    pub fn status(&self) -> NodeStatus {
        let metrics = self.inner.raft.metrics().borrow_watched().clone();
        let membership = metrics.membership_config.membership();
        let matched = |id: u64| -> Option<u64> {
            metrics
                .replication
                .as_ref()
                .and_then(|r| r.get(&id).cloned().flatten())
                .map(|log_id| log_id.index)
        };
        let peer = |id: u64| {
            let member = membership.get_node(&id).cloned().unwrap_or_default();
            PeerStatus {
                id,
                addr: member.api,
                peer: member.peer,
                matched: matched(id),
            }
        };
        let voters = membership.voter_ids().map(peer).collect();
        let learners = membership.learner_ids().map(peer).collect();
        let leader_addr = metrics
            .current_leader
            .and_then(|l| membership.get_node(&l))
            .map(|n| n.api.clone());
        let machine = self.inner.machine.status();
        let plugin = machine.plugin.map(|p| PluginStatus {
            name: p.info.name.clone(),
            version: p.info.version.clone(),
            hash: p.image.hash.hex(),
            installed_at: machine.installed_at,
        });
        NodeStatus {
            id: self.inner.id,
            addr: self.inner.member.api.clone(),
            peer: self.inner.member.peer.clone(),
            role: if self.removed_by().is_some() {
                "removed".to_string()
            } else {
                role_name(metrics.state).to_string()
            },
            leader_id: metrics.current_leader,
            leader_addr,
            term: metrics.current_term,
            last_log_index: metrics.last_log_index,
            committed: metrics.cluster_committed.map(|c| c.index),
            last_applied: machine.last_applied.map(|a| a.index),
            snapshot: metrics.snapshot.map(|s| s.index),
            purged: metrics.purged.map(|p| p.index),
            voters,
            learners,
            plugin,
            log_time_ms: machine.log_time_ms,
            poisoned: machine.poisoned,
        }
    }
}
