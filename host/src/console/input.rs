//! Console input. On a terminal: rustyline (history, editing) on a blocking thread, with its
//! external printer for notices that arrive while the prompt is shown. From a pipe: plain lines,
//! so scripts and tests can drive the console.
//!
//! Each line is handed over with a [`Line::done`] handle; the reader shows the next prompt only
//! after the command's output has been printed. A line that ends the console is dropped instead
//! ([`Line::last`]), so the reader stops without starting another prompt (and raw mode). Ctrl-C
//! at the prompt ends the input as Ctrl-D does: the node stops, as in the original system.

use std::io::{BufRead, IsTerminal};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};

use rustyline::ExternalPrinter;
use tokio::sync::mpsc;

use super::complete::CommandCompleter;
use super::Printer;

/// One input line and the handle that lets the reader continue.
pub(crate) struct Line {
    pub(crate) text: String,
    ack: Option<std_mpsc::Sender<()>>,
}

impl Line {
    /// Tells the reader the line has been handled.
    pub(crate) fn done(self) {
        if let Some(ack) = self.ack {
            // The reader may have ended (Ctrl-D raced us); nothing to tell then.
            let _ = ack.send(());
        }
    }

    /// Tells the reader this was the last line: it stops without showing another prompt.
    pub(crate) fn last(self) {
        drop(self.ack);
    }
}

/// The receiving end of the reader thread.
pub(crate) struct Lines {
    rx: mpsc::Receiver<Line>,
}

impl Lines {
    /// The next line, or `None` at end of input.
    pub(crate) async fn next(&mut self) -> Option<Line> {
        self.rx.recv().await
    }
}

/// The terminal editor: history, line editing, and completion of command names.
type Editor = rustyline::Editor<CommandCompleter, rustyline::history::DefaultHistory>;

/// Starts the reader thread and returns the lines and a printer for asynchronous notices.
/// `commands` are the names Tab completes.
pub(crate) fn start(prompt: String, commands: Vec<String>) -> anyhow::Result<(Lines, Printer)> {
    let (tx, rx) = mpsc::channel(1);
    if std::io::stdin().is_terminal() {
        let mut editor = Editor::new()?;
        editor.set_helper(Some(CommandCompleter::new(commands)));
        let printer: Printer = match editor.create_external_printer() {
            Ok(external) => {
                let external = Arc::new(Mutex::new(external));
                Arc::new(move |text: String| {
                    let mut guard = external.lock().unwrap_or_else(|p| p.into_inner());
                    if guard.print(format!("{text}\n")).is_err() {
                        println!("{text}");
                    }
                })
            }
            Err(_) => Arc::new(|text: String| println!("{text}")),
        };
        std::thread::spawn(move || read_terminal(editor, prompt, tx));
        Ok((Lines { rx }, printer))
    } else {
        std::thread::spawn(move || read_pipe(tx));
        Ok((Lines { rx }, Arc::new(|text: String| println!("{text}"))))
    }
}

fn read_terminal(mut editor: Editor, prompt: String, tx: mpsc::Sender<Line>) {
    loop {
        match editor.readline(&prompt) {
            Ok(text) => {
                if !text.trim().is_empty() {
                    // History is a convenience; failing to record a line loses nothing.
                    let _ = editor.add_history_entry(text.as_str());
                }
                let (ack_tx, ack_rx) = std_mpsc::channel();
                if tx
                    .blocking_send(Line {
                        text,
                        ack: Some(ack_tx),
                    })
                    .is_err()
                {
                    return;
                }
                // Wait until the command printed its answer; an error means the console ended.
                if ack_rx.recv().is_err() {
                    return;
                }
            }
            // Ctrl-C (Interrupted), Ctrl-D (Eof) and a terminal that went away all end the input.
            Err(_) => return,
        }
    }
}

fn read_pipe(tx: mpsc::Sender<Line>) {
    let stdin = std::io::stdin();
    for text in stdin.lock().lines() {
        let Ok(text) = text else { return };
        let (ack_tx, ack_rx) = std_mpsc::channel();
        if tx
            .blocking_send(Line {
                text,
                ack: Some(ack_tx),
            })
            .is_err()
            || ack_rx.recv().is_err()
        {
            return;
        }
    }
}
