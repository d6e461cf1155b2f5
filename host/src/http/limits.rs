//! Connection hygiene for the public port: how many connections and event streams, in total and
//! per client address, how long a request's headers and body may take, how large a body may be,
//! and which `Host` names are served.
//!
//! Counting is done with small RAII guards, so a connection or stream that ends in any way
//! (closed, timed out, panicked task) gives its slot back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The public port's limits, from the profile's `http` section (defaults here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// Open connections at once, all clients together.
    pub max_connections: usize,
    /// Open connections at once from one client address.
    pub max_connections_per_ip: usize,
    /// Time for a request's headers to arrive; also how long an idle keep-alive connection is
    /// kept (hyper restarts this timer while waiting for the next request).
    pub header_timeout: Duration,
    /// Time for a request's whole body to arrive.
    pub body_timeout: Duration,
    /// Largest request body of the public API and the JSON admin endpoints.
    pub max_body: usize,
    /// Open event streams at once, all clients together.
    pub max_streams: usize,
    /// Open event streams at once from one client address.
    pub max_streams_per_ip: usize,
    /// `Host` names served (without port); empty: any.
    pub allowed_hosts: Vec<String>,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: 4096,
            max_connections_per_ip: 256,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_body: 64 << 10,
            max_streams: 1024,
            max_streams_per_ip: 32,
            allowed_hosts: Vec::new(),
        }
    }
}

impl HttpLimits {
    /// True when a request's `Host` header is served (no allow-list, or listed; the port and
    /// letter case do not matter).
    pub fn host_allowed(&self, host: Option<&str>) -> bool {
        if self.allowed_hosts.is_empty() {
            return true;
        }
        let Some(host) = host else { return false };
        let name = match host.rsplit_once(':') {
            // `[::1]:8001` and `name:8001`; a bare IPv6 literal has more colons.
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        let name = name.trim_start_matches('[').trim_end_matches(']');
        self.allowed_hosts
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(name))
    }
}

/// Why a slot was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// The total is reached.
    Total,
    /// This client address has its share.
    PerClient,
}

/// Counts open slots in total and per client address.
#[derive(Debug)]
pub struct Counter {
    max_total: usize,
    max_per_ip: usize,
    counts: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// Holds one slot; gives it back on drop.
#[derive(Debug)]
pub struct Slot {
    counter: Arc<Counter>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counter.lock();
        counts.0 = counts.0.saturating_sub(1);
        if let Some(n) = counts.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.1.remove(&self.ip);
            }
        }
    }
}

impl Counter {
    /// A counter allowing `max_total` slots, `max_per_ip` per address.
    pub fn new(max_total: usize, max_per_ip: usize) -> Arc<Counter> {
        Arc::new(Counter {
            max_total,
            max_per_ip,
            counts: Mutex::new((0, HashMap::new())),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, HashMap<IpAddr, usize>)> {
        // Plain integer updates: consistent even after a panic elsewhere.
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot for `ip`, or says which limit is reached.
    ///
    /// # Errors
    /// [`Full`] when no slot is free for this client.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Full> {
        let mut counts = self.lock();
        if counts.0 >= self.max_total {
            return Err(Full::Total);
        }
        let mine = counts.1.get(&ip).copied().unwrap_or(0);
        if mine >= self.max_per_ip {
            return Err(Full::PerClient);
        }
        counts.0 += 1;
        counts.1.insert(ip, mine + 1);
        Ok(Slot {
            counter: self.clone(),
            ip,
        })
    }

    /// Slots in use now.
    pub fn in_use(&self) -> usize {
        self.lock().0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_in_total_and_per_client_and_given_back_on_drop() {
        let counter = Counter::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        let a1 = counter.acquire(a).expect("slot");
        let _a2 = counter.acquire(a).expect("slot");
        assert_eq!(counter.acquire(a).err(), Some(Full::PerClient));
        let _b1 = counter.acquire(b).expect("slot");
        assert_eq!(counter.acquire(b).err(), Some(Full::Total));
        drop(a1);
        let _b2 = counter.acquire(b).expect("a slot was given back");
        assert_eq!(counter.in_use(), 3);
    }

    #[test]
    fn the_host_allow_list_ignores_ports_and_case() {
        let limits = HttpLimits {
            allowed_hosts: vec!["localhost".into(), "tickets.example".into()],
            ..HttpLimits::default()
        };
        assert!(limits.host_allowed(Some("localhost:8001")));
        assert!(limits.host_allowed(Some("Tickets.Example")));
        assert!(!limits.host_allowed(Some("evil.example:8001")));
        assert!(!limits.host_allowed(None));
        assert!(HttpLimits::default().host_allowed(None));
    }
}
