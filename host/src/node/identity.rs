//! A node must not vote under the identity of a lost data dir.
//!
//! Raft's safety rests on every voter remembering its vote and its log: a node whose data dir
//! was wiped (or an in-memory node that restarted) has forgotten both, so if it took part again
//! under its old id it could vote twice in one term, or be counted in a majority for entries it
//! no longer has. Every data dir has an incarnation, and members refuse a peer whose id they
//! know with another one (`raft::transport::incarnations`): that is the guarantee. To fail
//! early with the way out, a node that is not part of a cluster yet asks the other members of
//! its profile before it takes part (before its own peer listener runs):
//! - a running cluster that knows this node's id with another incarnation: refuse to start,
//!   saying how to recover (remove and re-add it, e.g. by starting it with `--join`);
//! - a running cluster without this id: wait to be added (a node added to the profile later);
//! - otherwise (nobody answers, or a forming cluster that lists this node and has not heard
//!   from it yet): bootstrap, which is harmless when the cluster exists already.

use std::time::Duration;

use super::peer::{NodeRequest, NodeResponse};
use super::{NodeOptions, StartError, Storage};
use crate::raft::transport::{path, PeerClient};

/// How a node takes part, decided at start.
pub(super) enum Plan {
    /// It belongs to a cluster already (its log says so).
    Run,
    /// Ask the cluster at this address to add it.
    Join(String),
    /// A cluster runs without it: wait to be added (the address is a member's).
    Wait(String),
    /// No cluster runs: initialize one from the profile.
    Bootstrap,
}

/// Asks the profile's other members whether a cluster runs, and whether it lists this node.
///
/// # Errors
/// [`StartError::LostIdentity`] when a running cluster lists this node's id.
pub(super) async fn probe(
    peers: &PeerClient,
    options: &NodeOptions,
    fresh: bool,
    incarnation: u64,
) -> Result<Plan, StartError> {
    for (id, member) in &options.members {
        if *id == options.id {
            continue;
        }
        let asked = peers
            .call::<_, NodeResponse>(
                &member.peer,
                path::NODE,
                &NodeRequest::Info,
                Duration::from_secs(2),
            )
            .await;
        let Ok(NodeResponse::Info(info)) = asked else {
            continue;
        };
        if !info.initialized {
            continue;
        }
        if info.cluster != options.cluster_name {
            tracing::warn!(
                peer = %member.peer,
                theirs = %info.cluster,
                ours = %options.cluster_name,
                "a profile member belongs to another cluster; ignoring it"
            );
            continue;
        }
        if info.voters.is_empty() {
            // Initialized a moment ago, membership not published yet: a forming cluster.
            return Ok(Plan::Bootstrap);
        }
        let listed =
            info.voters.contains_key(&options.id) || info.learners.contains_key(&options.id);
        let known_as = info.incarnations.get(&options.id).copied();
        if listed && known_as.is_none_or(|known| known == incarnation) {
            // A forming cluster that has not heard from this node yet (or this very node).
            return Ok(Plan::Bootstrap);
        }
        if listed {
            let lost = match (&options.storage, fresh) {
                (Storage::Memory, _) => "keeps its state in memory, so it lost its vote record and log when it stopped (run nodes with --prod to keep them across restarts)".to_string(),
                (Storage::Durable(dir), true) => format!("has a fresh data dir ({}): its vote record and log are gone", dir.display()),
                (Storage::Durable(dir), false) => format!("has a data dir ({}) that belongs to no cluster", dir.display()),
            };
            let own = options
                .members
                .get(&options.id)
                .map_or_else(String::new, |m| m.api.clone());
            return Err(StartError::LostIdentity(format!(
                "node {id} {lost}, but the running cluster (asked {peer}) still lists node {id} as a member; \
                 it must not vote under its old identity. Remove it (host ctl --node {api} remove-node {own}) and start it \
                 with --join {api}, or restore its data dir",
                id = options.id,
                peer = member.peer,
                api = member.api,
            )));
        }
        return Ok(Plan::Wait(member.api.clone()));
    }
    Ok(Plan::Bootstrap)
}
