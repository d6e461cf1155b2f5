//! Admin tokens: bearer credentials with a role, stored only as SHA-256 hashes.
//!
//! A token is 32 random bytes in hex behind a `rsv_` prefix (256 bits: a hash of it cannot be
//! reversed or guessed, so a plain SHA-256 suffices, no password hashing). Verifying compares
//! the presented token's hash with every stored hash in constant time, without stopping at the
//! first match, so timing says nothing about which token or how much of it matched.
//!
//! # Format of `tokens.json`
//! ```text
//! {"tokens":[{"name":"admin","role":"admin","sha256":"<64 hex>"},
//!            {"name":"operator","role":"operator","sha256":"<64 hex>"}]}
//! ```
//! Nodes re-read the file when its modification time changes (checked at most once a second),
//! so rotating or revoking a token needs no restart.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{io_error, write_private, SecretsError};

/// What a credential may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read-only: status, members, logs, plugin status, metrics, every booking.
    Operator,
    /// Everything: plugin installs, membership, snapshots, limits, catalog changes.
    Admin,
}

impl Role {
    /// The name plugins see in `request.role`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
        }
    }

    /// True when this role may do what `needed` allows.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredToken {
    name: String,
    role: Role,
    /// Hex SHA-256 of the token.
    sha256: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    tokens: Vec<StoredToken>,
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    role: Role,
    hash: [u8; 32],
}

#[derive(Debug)]
struct Loaded {
    entries: Vec<Entry>,
    modified: Option<SystemTime>,
    checked: Instant,
}

/// The tokens a node accepts, from one `tokens.json` (or none: an open store accepts nothing).
#[derive(Debug)]
pub struct TokenStore {
    path: Option<PathBuf>,
    loaded: Mutex<Loaded>,
}

/// How often a node looks whether `tokens.json` changed.
const RELOAD_CHECK: Duration = Duration::from_secs(1);

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn read(path: &Path) -> Result<(Vec<Entry>, Option<SystemTime>), SecretsError> {
    if !path.exists() {
        return Ok((Vec::new(), None));
    }
    let modified = fs::metadata(path).and_then(|m| m.modified()).ok();
    let text = fs::read_to_string(path).map_err(|e| io_error(path, e))?;
    let file: TokenFile = serde_json::from_str(&text).map_err(|e| SecretsError::Invalid {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut entries = Vec::new();
    for token in file.tokens {
        let mut hash = [0u8; 32];
        hex::decode_to_slice(&token.sha256, &mut hash).map_err(|e| SecretsError::Invalid {
            path: path.display().to_string(),
            reason: format!("token {:?}: sha256 is not 64 hex digits: {e}", token.name),
        })?;
        entries.push(Entry {
            name: token.name,
            role: token.role,
            hash,
        });
    }
    Ok((entries, modified))
}

impl TokenStore {
    /// A store that accepts no token (for `--insecure` nodes, where nothing is checked).
    pub fn empty() -> Self {
        TokenStore {
            path: None,
            loaded: Mutex::new(Loaded {
                entries: Vec::new(),
                modified: None,
                checked: Instant::now(),
            }),
        }
    }

    /// Loads `path` (a missing file is an empty store that [`TokenStore::issue`] creates).
    ///
    /// # Errors
    /// If the file exists but is unreadable or invalid.
    pub fn load(path: &Path) -> Result<Self, SecretsError> {
        let (entries, modified) = read(path)?;
        Ok(TokenStore {
            path: Some(path.to_path_buf()),
            loaded: Mutex::new(Loaded {
                entries,
                modified,
                checked: Instant::now(),
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Loaded> {
        // Replaced whole on reload; never half-written.
        self.loaded.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Re-reads the file if it changed since the last look (at most once a second). A file
    /// that became invalid keeps the tokens loaded before, and says so in the log.
    fn refresh(&self, loaded: &mut Loaded) {
        let Some(path) = &self.path else { return };
        if loaded.checked.elapsed() < RELOAD_CHECK {
            return;
        }
        loaded.checked = Instant::now();
        let modified = fs::metadata(path).and_then(|m| m.modified()).ok();
        if modified == loaded.modified {
            return;
        }
        match read(path) {
            Ok((entries, modified)) => {
                tracing::info!(file = %path.display(), tokens = entries.len(), "admin tokens reloaded");
                loaded.entries = entries;
                loaded.modified = modified;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot reload admin tokens; keeping the previous ones")
            }
        }
    }

    /// The role of `token`, if it is one of the stored tokens. Constant time in the token and
    /// in which entry matches.
    pub fn verify(&self, token: &str) -> Option<Role> {
        let presented = hash(token);
        let mut loaded = self.lock();
        self.refresh(&mut loaded);
        let mut found: Option<Role> = None;
        for entry in &loaded.entries {
            let equal: bool = entry.hash.ct_eq(&presented).into();
            if equal && found.is_none_or(|role| entry.role > role) {
                found = Some(entry.role);
            }
        }
        found
    }

    /// True when a token named `name` is stored.
    pub fn has(&self, name: &str) -> bool {
        self.lock().entries.iter().any(|e| e.name == name)
    }

    /// The names and roles of the stored tokens.
    pub fn names(&self) -> Vec<(String, Role)> {
        self.lock()
            .entries
            .iter()
            .map(|e| (e.name.clone(), e.role))
            .collect()
    }

    /// Creates a fresh token for `name` (replacing that name's previous one), saves the file and
    /// returns the token: the only time it exists in clear.
    ///
    /// # Errors
    /// If the store has no file or it cannot be written.
    pub fn issue(&mut self, name: &str, role: Role) -> Result<String, SecretsError> {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(SecretsError::Invalid {
                path: name.to_string(),
                reason: "a token name is letters, digits, '-' and '_'".into(),
            });
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| SecretsError::Io {
            path: "the OS random generator".into(),
            reason: e.to_string(),
        })?;
        let token = format!("rsv_{}", hex::encode(secret));
        {
            let mut loaded = self.lock();
            loaded.entries.retain(|e| e.name != name);
            loaded.entries.push(Entry {
                name: name.to_string(),
                role,
                hash: hash(&token),
            });
        }
        self.save()?;
        Ok(token)
    }

    /// Removes `name`'s token and saves the file.
    ///
    /// # Errors
    /// If there is no such token or the file cannot be written.
    pub fn revoke(&mut self, name: &str) -> Result<(), SecretsError> {
        {
            let mut loaded = self.lock();
            let before = loaded.entries.len();
            loaded.entries.retain(|e| e.name != name);
            if loaded.entries.len() == before {
                return Err(SecretsError::Invalid {
                    path: name.to_string(),
                    reason: "no token has this name".into(),
                });
            }
        }
        self.save()
    }

    fn save(&self) -> Result<(), SecretsError> {
        let Some(path) = &self.path else {
            return Err(SecretsError::Invalid {
                path: "(none)".into(),
                reason: "this token store has no file".into(),
            });
        };
        let file = TokenFile {
            tokens: self
                .lock()
                .entries
                .iter()
                .map(|e| StoredToken {
                    name: e.name.clone(),
                    role: e.role,
                    sha256: hex::encode(e.hash),
                })
                .collect(),
        };
        let text = serde_json::to_string_pretty(&file).map_err(|e| io_error(path, e))?;
        write_private(path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_by_role_and_unknown_ones_do_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = TokenStore::load(&dir.path().join("tokens.json")).expect("load");
        let admin = store.issue("admin", Role::Admin).expect("issue");
        let operator = store.issue("ops", Role::Operator).expect("issue");
        assert!(admin.starts_with("rsv_") && admin.len() == 68);
        assert_eq!(store.verify(&admin), Some(Role::Admin));
        assert_eq!(store.verify(&operator), Some(Role::Operator));
        assert_eq!(store.verify("rsv_0000"), None);
        assert_eq!(store.verify(""), None);
        assert!(Role::Admin.allows(Role::Operator));
        assert!(!Role::Operator.allows(Role::Admin));
        let text = fs::read_to_string(dir.path().join("tokens.json")).expect("file");
        assert!(!text.contains(&admin[4..]), "tokens are stored hashed only");
    }

    #[test]
    fn a_changed_file_is_picked_up_without_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tokens.json");
        let mut writer = TokenStore::load(&path).expect("load");
        let first = writer.issue("admin", Role::Admin).expect("issue");
        let reader = TokenStore::load(&path).expect("load");
        assert_eq!(reader.verify(&first), Some(Role::Admin));
        // A modification time in the future, so the change is seen even within one clock tick.
        let second = writer.issue("admin", Role::Admin).expect("rotate");
        let later = SystemTime::now() + Duration::from_secs(5);
        fs::File::options()
            .append(true)
            .open(&path)
            .and_then(|f| f.set_modified(later))
            .expect("touch");
        reader.lock().checked = Instant::now() - RELOAD_CHECK;
        assert_eq!(reader.verify(&second), Some(Role::Admin));
        reader.lock().checked = Instant::now() - RELOAD_CHECK;
        assert_eq!(reader.verify(&first), None);
    }
}
