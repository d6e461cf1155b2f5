//! Puts the terminal back as the console found it, on every way out.
//!
//! rustyline switches the terminal to raw mode while it reads a line and restores it when
//! `readline` returns. A console that ends while a read is under way (`exit` typed as the
//! reader starts the next prompt, a shutdown signal, a removed node, an error, a panic) would
//! otherwise leave the shell without echo and without Ctrl-C. The guard saves the mode when the
//! console starts and writes it back when dropped, so every path out of the console restores it.

use std::io::IsTerminal;
use std::os::fd::AsFd;

use nix::sys::termios::{self, SetArg, Termios};

/// Restores stdin's terminal mode when dropped; does nothing when stdin is not a terminal.
pub(crate) struct TerminalGuard {
    /// The mode found at start; `None` when stdin is not a terminal (a pipe, a file).
    saved: Option<Termios>,
}

impl TerminalGuard {
    /// Remembers stdin's terminal mode.
    pub(crate) fn save() -> Self {
        let stdin = std::io::stdin();
        let saved = if stdin.is_terminal() {
            termios::tcgetattr(stdin.as_fd()).ok()
        } else {
            None
        };
        Self { saved }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            // Nothing more can be done if the terminal went away; the process is ending anyway.
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
    }
}
