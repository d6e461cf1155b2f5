//! What even a member may not ask: bounds on the Raft messages a peer sends, checked after the
//! TLS handshake proved membership and before openraft sees the message.
//!
//! - A term far beyond this node's current one (or near `u64::MAX`, where openraft's `term + 1`
//!   would overflow and, once persisted, keep the cluster leaderless) is refused. Honest
//!   elections move the term by one per round; pre-vote keeps a partitioned node from inflating
//!   it, so [`MAX_TERM_JUMP`] is far beyond anything legitimate.
//! - A member may only speak for itself: a vote request names its sender as the candidate, an
//!   append or a transfer notice names its sender as the leader (checked when the peer's
//!   certificate names its node id).
//! - The leadership-transfer flag lets a candidate override the leader lease. It is honoured
//!   only for the candidate the current leader named in a transfer notice within the last
//!   [`TRANSFER_WINDOW`]; otherwise the flag is cleared and the vote is judged as any other
//!   (so a member cannot force elections at will).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use openraft::raft::{AppendEntriesRequest, TransferLeaderRequest, VoteRequest};

use crate::raft::TypeConfig;

/// Most a peer's term may exceed this node's current term.
pub const MAX_TERM_JUMP: u64 = 100_000;

/// No term at or above this is ever accepted (far below `u64::MAX`).
pub const TERM_CEILING: u64 = 1 << 48;

/// How long a transfer notice authorises its candidate's flagged votes.
pub const TRANSFER_WINDOW: Duration = Duration::from_secs(10);

/// Why a peer's message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The term is out of bounds.
    #[error("term {term} refused: this node is at term {current} (at most {MAX_TERM_JUMP} ahead and below 2^48)")]
    Term {
        /// What was sent.
        term: u64,
        /// This node's term.
        current: u64,
    },
    /// The message speaks for another node than its sender.
    #[error("node {sender} sent a message as node {claimed}")]
    Impersonation {
        /// The certificate's node id.
        sender: u64,
        /// The node id in the message.
        claimed: u64,
    },
}

/// Remembers the last leadership transfer notice.
#[derive(Debug, Default)]
pub struct Guard {
    /// (candidate, the leader's term, when the notice came).
    transfer: Mutex<Option<(u64, u64, Instant)>>,
}

fn check_term(term: u64, current: u64) -> Result<(), Refusal> {
    if term >= TERM_CEILING || term > current.saturating_add(MAX_TERM_JUMP) {
        Err(Refusal::Term { term, current })
    } else {
        Ok(())
    }
}

fn check_sender(sender: Option<u64>, claimed: u64) -> Result<(), Refusal> {
    match sender {
        Some(sender) if sender != claimed => Err(Refusal::Impersonation { sender, claimed }),
        _ => Ok(()),
    }
}

impl Guard {
    /// Checks a vote or pre-vote request; clears an unauthorised transfer flag.
    ///
    /// # Errors
    /// [`Refusal`] for an out-of-bounds term or a request for another candidate.
    pub fn vote(
        &self,
        request: &mut VoteRequest<TypeConfig>,
        sender: Option<u64>,
        current_term: u64,
    ) -> Result<(), Refusal> {
        let leader = request.vote.leader_id();
        check_term(leader.term, current_term)?;
        check_sender(sender, leader.node_id)?;
        if request.leadership_transfer && !self.authorised(leader.node_id, leader.term) {
            tracing::warn!(
                candidate = leader.node_id,
                term = leader.term,
                "a vote request claims a leadership transfer nobody announced; judged as an ordinary vote"
            );
            request.leadership_transfer = false;
        }
        Ok(())
    }

    /// Checks an append: the sender is the leader it names, with a term in bounds.
    ///
    /// # Errors
    /// [`Refusal`] as for [`Guard::vote`].
    pub fn append(
        &self,
        request: &AppendEntriesRequest<TypeConfig>,
        sender: Option<u64>,
        current_term: u64,
    ) -> Result<(), Refusal> {
        let leader = request.vote.leader_id();
        check_term(leader.term, current_term)?;
        check_sender(sender, leader.node_id)
    }

    /// Checks a transfer notice and remembers whom it names.
    ///
    /// # Errors
    /// [`Refusal`] as for [`Guard::vote`].
    pub fn transfer(
        &self,
        request: &TransferLeaderRequest<TypeConfig>,
        sender: Option<u64>,
        current_term: u64,
    ) -> Result<(), Refusal> {
        let leader = request.from_leader().leader_id();
        check_term(leader.term, current_term)?;
        check_sender(sender, leader.node_id)?;
        let mut transfer = self.transfer.lock().unwrap_or_else(|p| p.into_inner());
        *transfer = Some((*request.to_node_id(), leader.term, Instant::now()));
        Ok(())
    }

    /// Checks a snapshot's sender and term.
    ///
    /// # Errors
    /// [`Refusal`] as for [`Guard::vote`].
    pub fn snapshot(
        &self,
        vote: &crate::raft::typ::Vote,
        sender: Option<u64>,
        current_term: u64,
    ) -> Result<(), Refusal> {
        let leader = vote.leader_id();
        check_term(leader.term, current_term)?;
        check_sender(sender, leader.node_id)
    }

    /// True when a transfer notice named `candidate` recently, for the term before `term`.
    fn authorised(&self, candidate: u64, term: u64) -> bool {
        let transfer = self.transfer.lock().unwrap_or_else(|p| p.into_inner());
        transfer.is_some_and(|(named, leader_term, at)| {
            named == candidate && term > leader_term && at.elapsed() < TRANSFER_WINDOW
        })
    }
}

#[cfg(test)]
mod tests {
    use openraft::Vote;

    use super::*;

    fn vote_request(term: u64, candidate: u64, transfer: bool) -> VoteRequest<TypeConfig> {
        let mut request = VoteRequest::new(Vote::new(term, candidate), None);
        request.leadership_transfer = transfer;
        request
    }

    #[test]
    fn terms_far_ahead_or_near_the_ceiling_are_refused() {
        let guard = Guard::default();
        assert!(guard
            .vote(&mut vote_request(6, 1, false), Some(1), 5)
            .is_ok());
        assert!(matches!(
            guard.vote(&mut vote_request(u64::MAX, 1, false), Some(1), 5),
            Err(Refusal::Term { .. })
        ));
        assert!(guard
            .vote(
                &mut vote_request(5 + MAX_TERM_JUMP + 1, 1, false),
                Some(1),
                5
            )
            .is_err());
    }

    #[test]
    fn a_member_cannot_ask_votes_for_another() {
        let guard = Guard::default();
        assert_eq!(
            guard.vote(&mut vote_request(6, 2, false), Some(1), 5),
            Err(Refusal::Impersonation {
                sender: 1,
                claimed: 2
            })
        );
    }

    #[test]
    fn the_transfer_flag_needs_a_notice_from_the_leader() {
        let guard = Guard::default();
        let mut unannounced = vote_request(6, 2, true);
        guard.vote(&mut unannounced, Some(2), 5).expect("in bounds");
        assert!(!unannounced.leadership_transfer, "flag cleared");

        let notice = TransferLeaderRequest::new(Vote::new_committed(5, 1), 2, None);
        guard
            .transfer(&notice, Some(1), 5)
            .expect("notice from the leader");
        let mut announced = vote_request(6, 2, true);
        guard.vote(&mut announced, Some(2), 5).expect("in bounds");
        assert!(
            announced.leadership_transfer,
            "flag kept for the named candidate"
        );
        let mut other = vote_request(6, 3, true);
        guard.vote(&mut other, Some(3), 5).expect("in bounds");
        assert!(!other.leadership_transfer, "not for anyone else");
    }
}

/// Property tests of what a member may send: any bytes on a peer route decode to an error or a
/// message, never a panic, and whatever decodes passes the guard only within its bounds.
#[cfg(test)]
mod properties {
    use openraft::raft::{AppendEntriesRequest, TransferLeaderRequest, VoteRequest};
    use openraft::Vote;
    use proptest::prelude::*;

    use super::*;
    use crate::raft::typ;

    /// Flips bytes and truncates: what a buggy or hostile member could put on the wire.
    fn mutate(mut bytes: Vec<u8>, flips: &[(usize, u8)], cut: usize) -> Vec<u8> {
        if bytes.is_empty() {
            return bytes;
        }
        for (at, xor) in flips {
            let len = bytes.len();
            bytes[at % len] ^= xor;
        }
        bytes.truncate(bytes.len().saturating_sub(cut));
        bytes
    }

    /// Whether the guard let through a term it must refuse.
    fn term_in_bounds(term: u64, current: u64) -> bool {
        term < TERM_CEILING && term <= current.saturating_add(MAX_TERM_JUMP)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic_any_peer_decoder(
            bytes in proptest::collection::vec(any::<u8>(), 0..4096)
        ) {
            let _ = postcard::from_bytes::<AppendEntriesRequest<TypeConfig>>(&bytes);
            let _ = postcard::from_bytes::<VoteRequest<TypeConfig>>(&bytes);
            let _ = postcard::from_bytes::<TransferLeaderRequest<TypeConfig>>(&bytes);
            let _ = postcard::from_bytes::<typ::Vote>(&bytes);
            let _ = postcard::from_bytes::<crate::node::peer::NodeRequest>(&bytes);
        }

        #[test]
        fn votes_that_decode_pass_the_guard_only_within_bounds(
            term in any::<u64>(),
            candidate in 0u64..8,
            sender in proptest::option::of(0u64..8),
            current in 0u64..(1 << 50),
            transfer in any::<bool>(),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            cut in 0usize..4,
        ) {
            let mut request = VoteRequest::<TypeConfig>::new(Vote::new(term, candidate), None);
            request.leadership_transfer = transfer;
            let bytes = postcard::to_stdvec(&request).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let Ok(mut decoded) = postcard::from_bytes::<VoteRequest<TypeConfig>>(&mutate(bytes, &flips, cut)) else {
                return Ok(());
            };
            let guard = Guard::default();
            if guard.vote(&mut decoded, sender, current).is_ok() {
                let leader = decoded.vote.leader_id();
                prop_assert!(term_in_bounds(leader.term, current));
                prop_assert!(sender.is_none_or(|s| s == leader.node_id));
                prop_assert!(!decoded.leadership_transfer, "no notice was given, so no transfer flag");
            }
        }

        #[test]
        fn appends_that_decode_pass_the_guard_only_within_bounds(
            term in any::<u64>(),
            leader in 0u64..8,
            sender in proptest::option::of(0u64..8),
            current in 0u64..(1 << 50),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            cut in 0usize..4,
        ) {
            let request = AppendEntriesRequest::<TypeConfig> {
                vote: Vote::new_committed(term, leader),
                prev_log_id: None,
                entries: Vec::new(),
                leader_commit: None,
            };
            let bytes = postcard::to_stdvec(&request).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let Ok(decoded) = postcard::from_bytes::<AppendEntriesRequest<TypeConfig>>(&mutate(bytes, &flips, cut)) else {
                return Ok(());
            };
            if Guard::default().append(&decoded, sender, current).is_ok() {
                let named = decoded.vote.leader_id();
                prop_assert!(term_in_bounds(named.term, current));
                prop_assert!(sender.is_none_or(|s| s == named.node_id));
            }
        }
    }
}
