//! Idempotency keys as replicated state: which client request keys were applied, with the
//! outcome each produced, so that a retried request (even at a new leader after a failover)
//! gets the first answer instead of being applied twice.
//!
//! The table lives beside the plugin's state in the state machine and travels in snapshots.
//! Keys are forgotten [`RETENTION_MS`] of log time after their first use, at the first entry
//! applied after that, so every replica forgets a key at the same index. The table holds at
//! most [`MAX_KEYS`] keys: when a new key would exceed that, the oldest key is forgotten first
//! (a retry with a forgotten key applies its request again), so a flood of keys costs bounded
//! memory and snapshot space.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::raft::entry::{ApplyOutcome, RequestKey};

/// How long a key is remembered, in log time: 24 hours.
pub const RETENTION_MS: u64 = 24 * 60 * 60 * 1000;

/// Most keys remembered at once.
pub const MAX_KEYS: usize = 50_000;

/// One remembered request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Remembered {
    /// Digest of the request the key first came with.
    fingerprint: [u8; 32],
    /// What applying it produced.
    outcome: ApplyOutcome,
    /// Leader time of the entry that applied it.
    at_ms: u64,
}

/// What the table says about an incoming keyed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// First use of the key: apply the command.
    New,
    /// The same request was applied before: answer this again.
    Replay(ApplyOutcome),
    /// The key was used for a different request.
    Reused,
}

/// The applied request keys, in a shape that snapshots deterministically.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestKeys {
    by_key: BTreeMap<String, Remembered>,
    /// `(at_ms, key)` so that forgetting old keys is a range removal, not a scan.
    by_time: BTreeSet<(u64, String)>,
}

impl RequestKeys {
    /// Looks a request up without changing anything.
    pub fn lookup(&self, key: &RequestKey) -> Lookup {
        match self.by_key.get(&key.key) {
            None => Lookup::New,
            Some(seen) if seen.fingerprint == key.fingerprint => {
                Lookup::Replay(seen.outcome.clone())
            }
            Some(_) => Lookup::Reused,
        }
    }

    /// Records the outcome of a request applied for the first time.
    pub fn remember(&mut self, key: &RequestKey, outcome: ApplyOutcome, at_ms: u64) {
        let previous = self.by_key.insert(
            key.key.clone(),
            Remembered {
                fingerprint: key.fingerprint,
                outcome,
                at_ms,
            },
        );
        if let Some(previous) = previous {
            self.by_time.remove(&(previous.at_ms, key.key.clone()));
        }
        self.by_time.insert((at_ms, key.key.clone()));
        while self.by_key.len() > MAX_KEYS {
            let Some((_, oldest)) = self.by_time.pop_first() else {
                break;
            };
            self.by_key.remove(&oldest);
        }
    }

    /// Forgets every key first used more than [`RETENTION_MS`] before `now_ms`.
    pub fn expire(&mut self, now_ms: u64) {
        let cutoff = now_ms.saturating_sub(RETENTION_MS);
        while let Some((at_ms, key)) = self.by_time.first().cloned() {
            if at_ms >= cutoff {
                break;
            }
            self.by_time.pop_first();
            self.by_key.remove(&key);
        }
    }

    /// Number of remembered keys.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// True when no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, body: u8) -> RequestKey {
        RequestKey {
            key: name.to_string(),
            fingerprint: [body; 32],
        }
    }

    #[test]
    fn same_request_replays_and_another_request_is_refused() {
        let mut keys = RequestKeys::default();
        assert_eq!(keys.lookup(&key("k", 1)), Lookup::New);
        keys.remember(&key("k", 1), ApplyOutcome::Applied(vec![7]), 1_000);
        assert_eq!(
            keys.lookup(&key("k", 1)),
            Lookup::Replay(ApplyOutcome::Applied(vec![7]))
        );
        assert_eq!(keys.lookup(&key("k", 2)), Lookup::Reused);
        assert_eq!(keys.lookup(&key("other", 1)), Lookup::New);
    }

    #[test]
    fn keys_are_forgotten_after_the_retention_period_only() {
        let mut keys = RequestKeys::default();
        keys.remember(&key("old", 1), ApplyOutcome::Rejected(vec![]), 1_000);
        keys.remember(&key("new", 1), ApplyOutcome::Rejected(vec![]), 5_000);
        keys.expire(1_000 + RETENTION_MS);
        assert_eq!(keys.len(), 2, "exactly at the limit the key is still kept");
        keys.expire(1_001 + RETENTION_MS);
        assert_eq!(keys.lookup(&key("old", 1)), Lookup::New);
        assert_ne!(keys.lookup(&key("new", 1)), Lookup::New);
        assert_eq!(keys.len(), 1);
    }

    #[test]
    fn a_full_table_forgets_its_oldest_key_first() {
        let mut keys = RequestKeys::default();
        for i in 0..=MAX_KEYS {
            keys.remember(&key(&format!("k{i}"), 1), ApplyOutcome::Nothing, i as u64);
        }
        assert_eq!(keys.len(), MAX_KEYS);
        assert_eq!(keys.lookup(&key("k0", 1)), Lookup::New, "the oldest went");
        assert_ne!(keys.lookup(&key("k1", 1)), Lookup::New);
        assert_ne!(keys.lookup(&key(&format!("k{MAX_KEYS}"), 1)), Lookup::New);
    }

    #[test]
    fn survives_a_postcard_round_trip() {
        let mut keys = RequestKeys::default();
        keys.remember(&key("a", 3), ApplyOutcome::Applied(vec![1, 2]), 9);
        let bytes = postcard::to_stdvec(&keys).expect("encode");
        let back: RequestKeys = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(back, keys);
    }
}
