//! Tab completion of command names for the terminal console: the host's commands plus the
//! first word of every line of the plugin's `console-help`.

use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

/// Completes the first word of a line from a fixed list of command names.
pub(crate) struct CommandCompleter {
    words: Vec<String>,
}

impl CommandCompleter {
    /// A completer for these command names (duplicates and order do not matter).
    pub(crate) fn new(mut words: Vec<String>) -> Self {
        words.sort();
        words.dedup();
        CommandCompleter { words }
    }

    /// The names starting with what was typed, when the cursor is in the first word.
    fn candidates(&self, line: &str, pos: usize) -> Vec<String> {
        let typed = line.get(..pos).unwrap_or(line);
        if typed.contains(char::is_whitespace) {
            return Vec::new();
        }
        self.words
            .iter()
            .filter(|w| w.starts_with(typed))
            .cloned()
            .collect()
    }
}

/// The command names a help text lists: the first word of each line but the section headings
/// (lines ending with `:`).
pub(crate) fn command_words(help: &str) -> Vec<String> {
    help.lines()
        .filter(|line| !line.trim_end().ends_with(':'))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|word| word.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .collect()
}

impl Completer for CommandCompleter {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok((0, self.candidates(line, pos)))
    }
}

impl Hinter for CommandCompleter {
    type Hint = String;
}

impl Highlighter for CommandCompleter {}

impl Validator for CommandCompleter {}

impl Helper for CommandCompleter {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_the_first_word_only() {
        let completer = CommandCompleter::new(command_words(
            "Host commands:\n  help  this list\n  remove-node HOST:PORT\n  is-leader  who leads\nPlugin commands:\nplugin status\n",
        ));
        assert_eq!(completer.candidates("re", 2), ["remove-node"]);
        assert_eq!(completer.candidates("", 0).len(), 4);
        assert!(completer.candidates("remove-node 1", 13).is_empty());
        assert_eq!(completer.candidates("pl", 2), ["plugin"]);
    }
}
