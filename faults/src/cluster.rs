//! The node processes of one run: credentials and profile in the run's directory, one `--prod`
//! `host` per namespace (`ip netns exec NS host ...`, which execs, so the child's pid is the
//! node's and signals reach it), and the process faults: kill -9, SIGSTOP/SIGCONT, wiping a
//! data dir, restarting (with `--join` after a wipe).
//!
//! Each node appends its stderr and stdout to `node-N.log` in the run directory, with a marker
//! line at every start. Children run in their own process group (a Ctrl-C at the terminal
//! reaches the harness, which then stops them) and get SIGKILL if the harness thread that
//! started them dies (`PR_SET_PDEATHSIG`): nodes are only started from the harness's main
//! thread. [`Cluster`]'s `Drop` kills whatever still runs.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};

use crate::api::{Http, PluginState, Status};
use crate::history::{secs, Clock};
use crate::net::Network;

/// The API port of every node (each has its own address).
pub const API_PORT: u16 = 8000;
/// The peer port of every node.
pub const PEER_PORT: u16 = 9000;

/// One node slot: its fixed addresses and paths, and the process while it runs.
#[derive(Debug)]
pub struct Node {
    /// Id (index in the profile).
    pub id: usize,
    /// Its namespace.
    pub ns: String,
    /// `ip:8000`.
    pub api: String,
    /// Durable log and snapshots; wiped by the membership fault.
    pub data_dir: PathBuf,
    /// Compiled plugins, kept outside the data dir so a wipe does not force a recompile.
    pub cache_dir: PathBuf,
    /// stderr and stdout of every incarnation.
    pub log: PathBuf,
    /// The running process; `None` while down.
    child: Option<Child>,
    /// Stopped with SIGSTOP and not continued yet.
    pub paused: bool,
}

impl Node {
    /// Whether a process is running (paused counts as running).
    pub fn is_up(&self) -> bool {
        self.child.is_some()
    }

    /// The process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn signal(&self, signal: i32) -> anyhow::Result<()> {
        let pid = self
            .pid()
            .ok_or_else(|| anyhow!("node {} is not running", self.id))?;
        let pid = i32::try_from(pid).context("pid out of range")?;
        // SAFETY: kill has no memory-safety preconditions; the pid is our own unreaped child,
        // so it cannot have been reused.
        let rc = unsafe { libc::kill(pid, signal) };
        if rc != 0 {
            bail!(
                "kill({pid}, {signal}) on node {}: {}",
                self.id,
                std::io::Error::last_os_error()
            );
        }
        Ok(())
    }
}

/// Where things are for a run.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The `host` binary.
    pub host: PathBuf,
    /// The plugin nodes start with (seat rules 1.x).
    pub plugin: PathBuf,
}

/// The nodes of one run.
#[derive(Debug)]
pub struct Cluster {
    /// The node slots, by id.
    pub nodes: Vec<Node>,
    /// The admin token (read from the keygen output).
    pub admin_token: String,
    paths: Paths,
    config: PathBuf,
    secrets: PathBuf,
    clock: Clock,
}

impl Cluster {
    /// Makes credentials and a profile for `net.nodes` nodes under `dir`; starts nothing.
    ///
    /// # Errors
    /// If `host keygen` fails or a file cannot be written.
    pub fn prepare(
        dir: &Path,
        net: &Network,
        paths: Paths,
        clock: Clock,
    ) -> anyhow::Result<Cluster> {
        let secrets = dir.join("secrets");
        let keygen = Command::new(&paths.host)
            .arg("keygen")
            .arg("--out")
            .arg(&secrets)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {} keygen", paths.host.display()))?;
        if !keygen.status.success() {
            bail!(
                "host keygen failed ({}): {}",
                keygen.status,
                String::from_utf8_lossy(&keygen.stderr).trim()
            );
        }
        let admin_token = std::fs::read_to_string(secrets.join("admin.token"))
            .context("reading admin.token from host keygen")?
            .trim()
            .to_string();
        let members: Vec<serde_json::Value> = (0..net.nodes)
            .map(|i| {
                serde_json::json!({
                    "api": format!("{}:{API_PORT}", net.ip(i)),
                    "peer": format!("{}:{PEER_PORT}", net.ip(i)),
                })
            })
            .collect();
        let profile = serde_json::json!({ "default": {
            "nodes": members,
            "write_timeout_ms": 2000,
            "snapshot_every": 200,
        }});
        let config = dir.join("config.json");
        std::fs::write(&config, profile.to_string()).context("writing config.json")?;
        let nodes = (0..net.nodes)
            .map(|i| Node {
                id: i,
                ns: net.ns(i),
                api: format!("{}:{API_PORT}", net.ip(i)),
                data_dir: dir.join(format!("node-{i}")),
                cache_dir: dir.join(format!("cache-{i}")),
                log: dir.join(format!("node-{i}.log")),
                child: None,
                paused: false,
            })
            .collect();
        Ok(Cluster {
            nodes,
            admin_token,
            paths,
            config,
            secrets,
            clock,
        })
    }

    /// Every node's API address, by id.
    pub fn apis(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.api.clone()).collect()
    }

    fn node(&self, id: usize) -> anyhow::Result<&Node> {
        self.nodes.get(id).ok_or_else(|| anyhow!("no node {id}"))
    }

    fn node_mut(&mut self, id: usize) -> anyhow::Result<&mut Node> {
        self.nodes
            .get_mut(id)
            .ok_or_else(|| anyhow!("no node {id}"))
    }

    /// Starts node `id` (it must be down), joining through `join` (a member's API address)
    /// when given.
    ///
    /// # Errors
    /// If the log cannot be opened or the process cannot be spawned.
    pub fn start(&mut self, id: usize, join: Option<&str>) -> anyhow::Result<()> {
        let now = self.clock.now();
        let paths = self.paths.clone();
        let (config, secrets) = (self.config.clone(), self.secrets.clone());
        let node = self.node_mut(id)?;
        if node.child.is_some() {
            bail!("node {id} is already running");
        }
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .with_context(|| format!("opening {}", node.log.display()))?;
        writeln!(
            log,
            "===== faults: node {id} started at {}s of the run{} =====",
            secs(now),
            join.map(|j| format!(" with --join {j}"))
                .unwrap_or_default()
        )
        .context("writing the node log")?;
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &node.ns])
            .arg(&paths.host)
            .arg("--id")
            .arg(id.to_string())
            .arg("--prod")
            .arg("--config-file")
            .arg(&config)
            .arg("--secrets")
            .arg(&secrets)
            .arg("--data-dir")
            .arg(&node.data_dir)
            .arg("--cache-dir")
            .arg(&node.cache_dir)
            .arg("--plugin")
            .arg(&paths.plugin);
        if let Some(via) = join {
            command.arg("--join").arg(via);
        }
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("log handle")?)
            .stderr(log)
            .process_group(0);
        // SAFETY: the closure runs in the forked child before exec and only calls prctl, which
        // is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting node {id} with ip netns exec"))?;
        node.child = Some(child);
        node.paused = false;
        Ok(())
    }

    /// Kills node `id` with SIGKILL and reaps it (nothing if it is down).
    ///
    /// # Errors
    /// If the kill or the wait fails.
    pub fn kill(&mut self, id: usize) -> anyhow::Result<()> {
        let node = self.node_mut(id)?;
        if let Some(mut child) = node.child.take() {
            child.kill().with_context(|| format!("killing node {id}"))?;
            child.wait().with_context(|| format!("reaping node {id}"))?;
        }
        node.paused = false;
        Ok(())
    }

    /// Stops node `id` with SIGSTOP.
    ///
    /// # Errors
    /// If it is down or the signal fails.
    pub fn pause(&mut self, id: usize) -> anyhow::Result<()> {
        let node = self.node_mut(id)?;
        node.signal(libc::SIGSTOP)?;
        node.paused = true;
        Ok(())
    }

    /// Continues node `id` with SIGCONT (nothing if it is not paused).
    ///
    /// # Errors
    /// If the signal fails.
    pub fn resume(&mut self, id: usize) -> anyhow::Result<()> {
        let node = self.node_mut(id)?;
        if node.paused && node.child.is_some() {
            node.signal(libc::SIGCONT)?;
        }
        node.paused = false;
        Ok(())
    }

    /// Deletes node `id`'s data dir (it must be down).
    ///
    /// # Errors
    /// If it runs or the removal fails.
    pub fn wipe(&mut self, id: usize) -> anyhow::Result<()> {
        let node = self.node(id)?;
        if node.child.is_some() {
            bail!("node {id} must be down to wipe its data dir");
        }
        if node.data_dir.exists() {
            std::fs::remove_dir_all(&node.data_dir)
                .with_context(|| format!("removing {}", node.data_dir.display()))?;
        }
        Ok(())
    }

    /// Reaps nodes that exited by themselves since the last call: `(id, status)` each.
    pub fn exited(&mut self) -> Vec<(usize, ExitStatus)> {
        let mut out = Vec::new();
        for node in &mut self.nodes {
            let done = match node.child.as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => Some(status),
                _ => None,
            };
            if let Some(status) = done {
                node.child = None;
                node.paused = false;
                out.push((node.id, status));
            }
        }
        out
    }

    /// Stops every node cleanly: SIGCONT, SIGTERM, then waits up to `timeout` for each,
    /// SIGKILL after that. Returns `(id, how it ended)` for each node that was running.
    pub fn stop_all(&mut self, timeout: Duration) -> Vec<(usize, String)> {
        for node in &mut self.nodes {
            if node.child.is_some() {
                // A stopped process would not act on SIGTERM; failure means it is gone.
                let _ = node.signal(libc::SIGCONT);
                let _ = node.signal(libc::SIGTERM);
                node.paused = false;
            }
        }
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        for node in &mut self.nodes {
            let Some(mut child) = node.child.take() else {
                continue;
            };
            let ended = loop {
                match child.try_wait() {
                    Ok(Some(status)) => break describe_exit(status),
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Ok(None) => {
                        // Reported below; the kill only makes sure it is gone.
                        let _ = child.kill();
                        let _ = child.wait();
                        break format!("did not stop within {timeout:?} of SIGTERM (killed)");
                    }
                    Err(e) => break format!("cannot be waited for: {e}"),
                }
            };
            out.push((node.id, ended));
        }
        out
    }

    /// Every node's `/v1/status`, asked in parallel (`None`: down or no answer).
    pub fn statuses(&self, http: &Http) -> Vec<Option<Status>> {
        let token = &self.admin_token;
        std::thread::scope(|scope| {
            let asks: Vec<_> = self
                .nodes
                .iter()
                .map(|node| {
                    let up = node.is_up() && !node.paused;
                    let api = &node.api;
                    scope.spawn(move || {
                        if !up {
                            return None;
                        }
                        http.admin_get(api, "/v1/status", token)
                            .and_then(|json| Status::parse(&json))
                    })
                })
                .collect();
            asks.into_iter()
                .map(|ask| ask.join().ok().flatten())
                .collect()
        })
    }

    /// Every node's `/v1/plugin` state, asked in parallel.
    pub fn plugin_states(&self, http: &Http) -> Vec<Option<PluginState>> {
        let token = &self.admin_token;
        std::thread::scope(|scope| {
            let asks: Vec<_> = self
                .nodes
                .iter()
                .map(|node| {
                    let api = &node.api;
                    scope.spawn(move || {
                        http.admin_get(api, "/v1/plugin", token)
                            .and_then(|json| PluginState::parse(&json))
                    })
                })
                .collect();
            asks.into_iter()
                .map(|ask| ask.join().ok().flatten())
                .collect()
        })
    }

    /// The node that says it leads with the highest term, among those answering.
    pub fn leader(&self, http: &Http) -> Option<usize> {
        self.statuses(http)
            .into_iter()
            .flatten()
            .filter(|s| s.role == "leader")
            .max_by_key(|s| s.term)
            .and_then(|s| usize::try_from(s.id).ok())
    }

    /// The leader every running node agrees on, if they all do and it runs and has the plugin.
    pub fn agreed_leader(&self, http: &Http) -> Option<usize> {
        let statuses = self.statuses(http);
        let mut leader = None;
        for (node, status) in self.nodes.iter().zip(&statuses) {
            if !node.is_up() {
                continue;
            }
            let status = status.as_ref()?;
            if !status.has_plugin {
                return None;
            }
            let this = status.leader_id?;
            if leader.is_some_and(|l| l != this) {
                return None;
            }
            leader = Some(this);
        }
        let leader = usize::try_from(leader?).ok()?;
        self.nodes.get(leader).filter(|n| n.is_up()).map(|_| leader)
    }
}

/// The last line of a node log that is not a heartbeat or replication retry (those repeat
/// while a peer is away and say nothing new), from the file's last 256 KiB.
pub fn last_log_line(path: &Path) -> Option<String> {
    last_log_line_with(path, "")
}

/// Like [`last_log_line`], the last such line that contains `needle`.
pub fn last_log_line_with(path: &Path, needle: &str) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(256 * 1024)))
        .ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    let text = String::from_utf8_lossy(&tail);
    text.lines()
        .rev()
        .find(|l| {
            !l.trim().is_empty()
                && l.contains(needle)
                && !["heartbeat", "ReplicationCore", "update progress", "vote"]
                    .iter()
                    .any(|noise| l.contains(noise))
        })
        .map(|l| l.chars().take(400).collect())
}

/// `exit 0`, `exit 2`, `killed by signal 6`.
pub fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                // Already gone is fine: we only make sure nothing outlives the run.
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
