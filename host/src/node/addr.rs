//! Addresses as operators write them (`host:port`), checked and compared in one place.
//!
//! Membership keeps an address exactly as it was given; two addresses name the same node when
//! they are equal as written or resolve to the same socket address (so `localhost:8001` and
//! `127.0.0.1:8001` are one node everywhere: in `remove-node`, in `status`, in `members`).

use std::net::{SocketAddr, ToSocketAddrs};

/// Resolves `host:port`, preferring IPv4 (so `localhost` means 127.0.0.1, as peers expect).
///
/// # Errors
/// Why the address does not resolve.
pub fn resolve(addr: &str) -> Result<SocketAddr, String> {
    let all: Vec<SocketAddr> = addr.to_socket_addrs().map_err(|e| e.to_string())?.collect();
    all.iter()
        .find(|a| a.is_ipv4())
        .or(all.first())
        .copied()
        .ok_or_else(|| "no address".to_string())
}

/// True for `host:port` with a non-empty host and a port from 1 to 65535.
pub fn is_host_port(addr: &str) -> bool {
    addr.rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0))
}

/// True when `a` and `b` name the same socket: equal as written, or resolving alike.
pub fn same_addr(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (resolve(a), resolve(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `addr` with its port moved by `offset` (how a profile's bare `host:port` gets its peer
/// address).
///
/// # Errors
/// If `addr` is not `host:port` or the port would leave 1..=65535.
pub fn with_port_offset(addr: &str, offset: u16) -> Result<String, String> {
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!("'{addr}' is not host:port"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("'{addr}' has no valid port"))?;
    let moved = port
        .checked_add(offset)
        .ok_or_else(|| format!("'{addr}': port {port} + {offset} is above 65535"))?;
    Ok(format!("{host}:{moved}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_resolve_alike_are_the_same_node() {
        assert!(same_addr("localhost:8001", "127.0.0.1:8001"));
        assert!(!same_addr("localhost:8001", "127.0.0.1:8002"));
        assert!(is_host_port("localhost:8001"));
        assert!(!is_host_port("localhost"));
        assert!(!is_host_port(":8001"));
        assert!(!is_host_port("h:0"));
        assert_eq!(
            with_port_offset("localhost:8001", 1000).as_deref(),
            Ok("localhost:9001")
        );
        assert!(with_port_offset("h:65000", 1000).is_err());
    }
}
