//! The network the nodes run in: one network namespace per node, joined by veth pairs to a
//! bridge in the root namespace, and partitions as nftables rules inside the namespaces.
//!
//! ```text
//! root namespace: bridge flt-X-br 10.250.X.1/24  (the clients live here)
//!   ├─ veth flt-X-v0 <-> flt-X-p0 in netns flt-X-n0: node 0 at 10.250.X.2
//!   ├─ veth flt-X-v1 <-> flt-X-p1 in netns flt-X-n1: node 1 at 10.250.X.3
//!   └─ ...
//! ```
//! `X` (1..=250) is derived from the process id and claimed by creating the bridge, so parallel
//! runs never share a subnet. A partition drops packets between chosen node addresses in both
//! directions (table `inet faults` in each namespace, input and output chains); the bridge
//! address is never blocked, so clients keep reaching every node's API.
//!
//! Everything is named with [`PREFIX`]; [`Network`]'s `Drop` removes what it made, and
//! [`cleanup_leftovers`] removes what a killed harness left behind.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

/// The prefix of every namespace and link this harness makes.
pub const PREFIX: &str = "flt-";

/// A failed `ip` or `nft` command.
#[derive(Debug, thiserror::Error)]
#[error("`{command}` failed: {reason}")]
pub struct NetError {
    /// The command line.
    pub command: String,
    /// Its stderr or the spawn error.
    pub reason: String,
}

/// Runs a command to completion; its stdout, or the error with its stderr.
fn run(program: &str, args: &[&str], input: Option<&str>) -> Result<String, NetError> {
    let command = format!("{program} {}", args.join(" "));
    let fail = |reason: String| NetError {
        command: command.clone(),
        reason,
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| fail(format!("writing its input: {e}")))?;
    }
    let output = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(fail(format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// Whether `program` is an executable file on `PATH`.
fn on_path(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        let file = dir.join(program);
        std::fs::metadata(&file).is_ok_and(|m| {
            use std::os::unix::fs::PermissionsExt;
            m.is_file() && m.permissions().mode() & 0o111 != 0
        })
    })
}

/// Checks that this process may build the network: root, `ip` and `nft` present.
///
/// # Errors
/// One line naming everything that is missing.
pub fn preflight() -> Result<(), String> {
    let mut missing = Vec::new();
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if uid != 0 {
        missing.push(format!("root (id -u is {uid})"));
    }
    if !on_path("ip") {
        missing.push("`ip` (iproute2)".to_string());
    }
    if !on_path("nft") {
        missing.push("`nft` (nftables)".to_string());
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "faults needs root, ip and nft to build network namespaces; missing: {}",
            missing.join(", ")
        ))
    }
}

/// The namespaces, veths and bridge of one run; removed on drop.
#[derive(Debug)]
pub struct Network {
    /// The third octet of the subnet, 1..=250.
    pub x: u8,
    /// How many nodes (namespaces).
    pub nodes: usize,
    /// Namespaces created so far (removed on drop).
    namespaces: Vec<String>,
    /// Root-side veth names created so far (removed on drop).
    links: Vec<String>,
    /// The bridge (removed on drop, last).
    bridge: String,
}

impl Network {
    /// Claims a free subnet and builds `nodes` namespaces on a bridge.
    ///
    /// # Errors
    /// The first failing command; what was made before it is removed (by `Drop`).
    pub fn create(nodes: usize) -> Result<Network, NetError> {
        let start = std::process::id() as usize;
        let mut claimed = None;
        for attempt in 0..250 {
            let x = u8::try_from((start + attempt) % 250 + 1).unwrap_or(1);
            let bridge = format!("{PREFIX}{x}-br");
            match run("ip", &["link", "add", &bridge, "type", "bridge"], None) {
                Ok(_) => {
                    claimed = Some((x, bridge));
                    break;
                }
                Err(e) if e.reason.contains("File exists") => continue,
                Err(e) => return Err(e),
            }
        }
        let Some((x, bridge)) = claimed else {
            return Err(NetError {
                command: "ip link add".into(),
                reason: format!("every {PREFIX}N-br bridge name is taken; run `faults --cleanup`"),
            });
        };
        let mut net = Network {
            x,
            nodes,
            namespaces: Vec::new(),
            links: Vec::new(),
            bridge: bridge.clone(),
        };
        let routes = run(
            "ip",
            &["-o", "route", "show", &format!("10.250.{x}.0/24")],
            None,
        )?;
        if !routes.trim().is_empty() {
            return Err(NetError {
                command: "ip route show".into(),
                reason: format!("10.250.{x}.0/24 is already routed here: {}", routes.trim()),
            });
        }
        run(
            "ip",
            &[
                "addr",
                "add",
                &format!("{}/24", net.bridge_ip()),
                "dev",
                &bridge,
            ],
            None,
        )?;
        run("ip", &["link", "set", &bridge, "up"], None)?;
        for i in 0..nodes {
            let ns = net.ns(i);
            run("ip", &["netns", "add", &ns], None)?;
            net.namespaces.push(ns.clone());
            run(
                "ip",
                &["netns", "exec", &ns, "ip", "link", "set", "lo", "up"],
                None,
            )?;
            let outside = format!("{PREFIX}{x}-v{i}");
            let inside = format!("{PREFIX}{x}-p{i}");
            run(
                "ip",
                &[
                    "link", "add", &outside, "type", "veth", "peer", "name", &inside,
                ],
                None,
            )?;
            net.links.push(outside.clone());
            run("ip", &["link", "set", &inside, "netns", &ns], None)?;
            run(
                "ip",
                &["link", "set", &outside, "master", &bridge, "up"],
                None,
            )?;
            run(
                "ip",
                &[
                    "netns",
                    "exec",
                    &ns,
                    "ip",
                    "addr",
                    "add",
                    &format!("{}/24", net.ip(i)),
                    "dev",
                    &inside,
                ],
                None,
            )?;
            run(
                "ip",
                &["netns", "exec", &ns, "ip", "link", "set", &inside, "up"],
                None,
            )?;
        }
        Ok(net)
    }

    /// Node `i`'s namespace.
    pub fn ns(&self, i: usize) -> String {
        format!("{PREFIX}{}-n{i}", self.x)
    }

    /// Node `i`'s address.
    pub fn ip(&self, i: usize) -> String {
        format!("10.250.{}.{}", self.x, i + 2)
    }

    /// The bridge's address (the clients' side).
    pub fn bridge_ip(&self) -> String {
        format!("10.250.{}.1", self.x)
    }

    /// Drops all traffic between each pair in `cut` (both directions), replacing any
    /// earlier partition; an empty `cut` heals.
    ///
    /// # Errors
    /// The first failing `nft`.
    pub fn partition(&self, cut: &BTreeSet<(usize, usize)>) -> Result<(), NetError> {
        for i in 0..self.nodes {
            let peers: BTreeSet<String> = cut
                .iter()
                .filter_map(|&(a, b)| match (a == i, b == i) {
                    (true, false) => Some(self.ip(b)),
                    (false, true) => Some(self.ip(a)),
                    _ => None,
                })
                .collect();
            // "table ...; delete table ..." removes an old table whether or not it exists.
            let mut script = String::from("table inet faults\ndelete table inet faults\n");
            if !peers.is_empty() {
                let set = peers.into_iter().collect::<Vec<_>>().join(", ");
                script.push_str(&format!(
                    "table inet faults {{\n  chain input {{ type filter hook input priority 0; policy accept; ip saddr {{ {set} }} drop; }}\n  chain output {{ type filter hook output priority 0; policy accept; ip daddr {{ {set} }} drop; }}\n}}\n"
                ));
            }
            run(
                "ip",
                &["netns", "exec", &self.ns(i), "nft", "-f", "-"],
                Some(&script),
            )?;
        }
        Ok(())
    }

    /// Removes every partition.
    ///
    /// # Errors
    /// The first failing `nft`.
    pub fn heal(&self) -> Result<(), NetError> {
        self.partition(&BTreeSet::new())
    }
}

/// Kills every process left in namespace `ns` (SIGKILL).
fn kill_namespace_processes(ns: &str) {
    if let Ok(pids) = run("ip", &["netns", "pids", ns], None) {
        for pid in pids
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            // SAFETY: kill has no memory-safety preconditions; a vanished pid is harmless.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // Best effort, in reverse order of creation: every step is independent of the others,
        // and a failure here must not hide the run's own result.
        for ns in self.namespaces.iter().rev() {
            kill_namespace_processes(ns);
            if let Err(e) = run("ip", &["netns", "del", ns], None) {
                eprintln!("faults: cleanup: {e}");
            }
        }
        for link in self.links.iter().rev() {
            // Deleting the namespace usually took the pair with it already.
            let _ = run("ip", &["link", "del", link], None);
        }
        if let Err(e) = run("ip", &["link", "del", &self.bridge], None) {
            eprintln!("faults: cleanup: {e}");
        }
    }
}

/// Removes every namespace and link named with [`PREFIX`] (and kills processes in those
/// namespaces); returns what it removed.
///
/// # Errors
/// If the namespaces or links cannot be listed.
pub fn cleanup_leftovers() -> Result<Vec<String>, NetError> {
    let mut removed = Vec::new();
    let namespaces = run("ip", &["netns", "list"], None)?;
    for ns in namespaces
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(PREFIX))
    {
        kill_namespace_processes(ns);
        match run("ip", &["netns", "del", ns], None) {
            Ok(_) => removed.push(format!("netns {ns}")),
            Err(e) => eprintln!("faults: {e}"),
        }
    }
    let links = run("ip", &["-o", "link", "show"], None)?;
    let mut names: Vec<String> = links
        .lines()
        .filter_map(|l| l.split(':').nth(1))
        .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
        .filter(|n| n.starts_with(PREFIX))
        .collect();
    // veths first, bridges last
    names.sort_by_key(|n| n.ends_with("-br"));
    for link in names {
        match run("ip", &["link", "del", &link], None) {
            Ok(_) => removed.push(format!("link {link}")),
            // The pair of a veth deleted just before is gone with it.
            Err(e) if e.reason.contains("Cannot find device") => {}
            Err(e) => eprintln!("faults: {e}"),
        }
    }
    Ok(removed)
}
