//! `host local`: a whole local cluster from one command. Nodes 1..n run as child processes of
//! this one (their output goes to `<data-dir>/node-<id>.log`), node 0 runs in this process with
//! the console attached. Leaving the console stops the children.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Child node processes, killed and reaped on drop so none outlives the console.
pub struct Children {
    children: Vec<(u64, Child)>,
}

impl Drop for Children {
    fn drop(&mut self) {
        for (id, child) in &mut self.children {
            if let Err(e) = child.kill() {
                tracing::debug!(id, error = %e, "child already gone");
            }
            // Reap it so no zombie is left; the exit status is of no interest after a kill.
            let _ = child.wait();
        }
    }
}

/// What `host local` needs to start the other nodes.
#[derive(Debug, Clone)]
pub struct LocalCluster {
    /// The config file the children read.
    pub config_file: PathBuf,
    /// The profile.
    pub profile: String,
    /// The plugin every node starts with.
    pub plugin: PathBuf,
    /// Number of nodes in the profile.
    pub nodes: u64,
    /// Where child logs go.
    pub log_dir: PathBuf,
    /// The cluster's credentials, shared by every node.
    pub secrets: PathBuf,
    /// Extra flags for the children (e.g. `--dev`).
    pub extra_args: Vec<String>,
}

impl LocalCluster {
    /// Spawns nodes `1..nodes` as headless children of the current executable.
    ///
    /// # Errors
    /// If the executable cannot be found, the log directory created, or a child spawned.
    pub fn spawn_others(&self) -> anyhow::Result<Children> {
        let exe = std::env::current_exe()?;
        std::fs::create_dir_all(&self.log_dir)?;
        let mut children = Children {
            children: Vec::new(),
        };
        for id in 1..self.nodes {
            let log_path = self.log_dir.join(format!("node-{id}.log"));
            let log = std::fs::File::create(&log_path)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", log_path.display()))?;
            let child = Command::new(&exe)
                .arg("--id")
                .arg(id.to_string())
                .arg("--config")
                .arg(&self.profile)
                .arg("--config-file")
                .arg(&self.config_file)
                .arg("--plugin")
                .arg(&self.plugin)
                .arg("--secrets")
                .arg(&self.secrets)
                .arg("--no-console")
                .args(&self.extra_args)
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .map_err(|e| anyhow::anyhow!("cannot start node {id}: {e}"))?;
            children.children.push((id, child));
        }
        Ok(children)
    }

    /// Log path of a child, for messages.
    pub fn log_path(&self, id: u64) -> PathBuf {
        Path::new(&self.log_dir).join(format!("node-{id}.log"))
    }
}
