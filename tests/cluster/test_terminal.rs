//! The console on a real terminal: `host local` in a tmux pane (a pseudo-terminal with a shell,
//! as a user runs it). A line typed in one write runs at once, `exit` and Ctrl-C both stop the
//! cluster, and the shell's terminal is sane afterwards (`stty -a` shows `icanon`, `echo` and
//! `isig` back on).

use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::util::*;

/// A tmux server of its own (a private socket) with one pane running a plain shell.
struct Pane {
    socket: String,
}

impl Pane {
    /// Starts a shell in a 150x50 pane, in `dir`.
    fn start(dir: &Path) -> Pane {
        let socket = format!("reservoir-test-{}", std::process::id());
        let pane = Pane { socket };
        let started = pane.tmux(&[
            "new-session",
            "-d",
            "-x",
            "150",
            "-y",
            "50",
            "-c",
            &dir.display().to_string(),
            "env -i PATH=/usr/bin:/bin TERM=xterm-256color PS1='shell$ ' bash --norc --noprofile",
        ]);
        assert!(
            started.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&started.stderr)
        );
        pane.wait_for("shell$", Duration::from_secs(10));
        pane
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux is installed (scripts/test installs it)")
    }

    /// Types `text` as one write to the terminal (a paste): `send-keys -l` sends it literally.
    fn type_at_once(&self, text: &str) {
        let sent = self.tmux(&["send-keys", "-t", "0", "-l", text]);
        assert!(sent.status.success(), "tmux send-keys failed");
    }

    /// Sends a key by name, e.g. `C-c`.
    fn key(&self, name: &str) {
        let sent = self.tmux(&["send-keys", "-t", "0", name]);
        assert!(sent.status.success(), "tmux send-keys {name} failed");
    }

    /// The pane's text, with its scrollback.
    fn screen(&self) -> String {
        let captured = self.tmux(&["capture-pane", "-p", "-t", "0", "-S", "-2000"]);
        String::from_utf8_lossy(&captured.stdout).into_owned()
    }

    /// Waits until the pane shows `needle` `times` times in all.
    fn wait_for_count(&self, needle: &str, times: usize, timeout: Duration) -> String {
        let mut last = String::new();
        let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_until(timeout, needle, || {
                last = self.screen();
                (last.matches(needle).count() >= times).then(|| last.clone())
            })
        }));
        match found {
            Ok(screen) => screen,
            Err(_) => panic!("the pane never showed {needle:?} {times} times; it shows:\n{last}"),
        }
    }

    fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for_count(needle, 1, timeout)
    }

    /// Clears the screen and the scrollback, so counting starts again from one shell prompt.
    fn clear(&self) {
        self.type_at_once("clear\r");
        wait_until(Duration::from_secs(10), "the screen is cleared", || {
            let cleared = self.tmux(&["clear-history", "-t", "0"]);
            assert!(cleared.status.success(), "tmux clear-history failed");
            (self.screen().trim() == "shell$").then_some(())
        });
    }

    /// Runs `stty -a` in the pane's shell and asserts a cooked terminal: canonical input, echo
    /// and signals on. `prompts` is how many shell prompts the pane showed before.
    fn assert_sane(&self, prompts: usize) {
        self.type_at_once("stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo -e isig | sort | tr '\\n' ,; echo\r");
        let screen = self.wait_for_count("shell$", prompts + 1, Duration::from_secs(10));
        assert!(
            screen.contains("echo,icanon,isig,"),
            "the terminal is not sane after the console ended:\n{screen}"
        );
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        // Ends the shell and anything still running in it.
        let _ = self.tmux(&["kill-server"]);
    }
}

/// True while something accepts connections at `addr`.
fn listening(addr: &str) -> bool {
    TcpStream::connect_timeout(
        &addr.parse().expect("a socket address"),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// Waits until no node of the local cluster listens any more.
fn wait_stopped(cluster: &Cluster) {
    for addr in &cluster.addrs {
        wait_until(Duration::from_secs(10), "the local cluster stopped", || {
            (!listening(addr)).then_some(())
        });
    }
}

/// The command line that runs `host local` on the test's profile.
fn host_local(cluster: &Cluster) -> String {
    format!(
        "{} local --config-file {} --plugin {} --data-dir {}\r",
        host_bin(),
        cluster.config.display(),
        seat_plugin().display(),
        cluster.dir.path().join("local").display()
    )
}

#[test]
fn a_pasted_line_runs_at_once_and_exit_or_ctrl_c_leave_the_terminal_sane() {
    let cluster = Cluster::configure(3);
    let pane = Pane::start(cluster.dir.path());

    // `exit`: the line "a1" arrives in one write and runs without another key press.
    pane.type_at_once(&host_local(&cluster));
    // The seat map shows once the cluster has a leader and its plugin (at start, or with the
    // plugin's commit notice on a slow start); only then can a booking succeed.
    pane.wait_for("Showtime 1 (", Duration::from_secs(90));
    pane.wait_for("node-0>", Duration::from_secs(30));
    pane.type_at_once("a1\r");
    pane.wait_for("Booked a1 for demo", Duration::from_secs(30));
    pane.type_at_once("exit\r");
    pane.wait_for_count("shell$", 2, Duration::from_secs(30));
    wait_stopped(&cluster);
    pane.assert_sane(2);

    // Ctrl-C at the prompt stops the node (and the local cluster), as in the original system.
    pane.clear();
    pane.type_at_once(&host_local(&cluster));
    pane.wait_for("node-0>", Duration::from_secs(60));
    pane.key("C-c");
    pane.wait_for_count("shell$", 2, Duration::from_secs(30));
    wait_stopped(&cluster);
    pane.assert_sane(2);
}
