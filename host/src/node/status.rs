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
    /// `host:port`.
    pub addr: String,
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
    /// This node's address.
    pub addr: String,
    /// `leader`, `follower`, `candidate`, `learner` or `shutdown`.
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
        let peer = |id: u64| PeerStatus {
            id,
            addr: membership
                .get_node(&id)
                .map(|n| n.addr.clone())
                .unwrap_or_default(),
            matched: matched(id),
        };
        let voters = membership.voter_ids().map(peer).collect();
        let learners = membership.learner_ids().map(peer).collect();
        let leader_addr = metrics
            .current_leader
            .and_then(|l| membership.get_node(&l))
            .map(|n| n.addr.clone());
        let machine = self.inner.machine.status();
        let plugin = machine.plugin.map(|p| PluginStatus {
            name: p.info.name.clone(),
            version: p.info.version.clone(),
            hash: p.image.hash.clone(),
            installed_at: machine.plugin_installed_at.unwrap_or(0),
        });
        NodeStatus {
            id: self.inner.id,
            addr: self.inner.addr.to_string(),
            role: role_name(metrics.state).to_string(),
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
        }
    }
}
