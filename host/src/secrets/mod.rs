//! Credentials: what a cluster needs so that nobody without one changes anything.
//!
//! A secrets folder (made by `host keygen --out DIR`) holds:
//!
//! | file | what | who reads it |
//! |---|---|---|
//! | `ca.pem`, `ca.key` | the cluster CA: its key is the membership credential | every node (mints its own peer certificate from it at start) |
//! | `tokens.json` | admin tokens as SHA-256 hashes with their roles | every node (reloaded when it changes) |
//! | `admin.token`, `operator.token` | the tokens themselves | operators (`host ctl --token-file`), never nodes |
//!
//! Files are written with mode 0600 in a 0700 folder.
//!
//! - [`tokens`]: roles, hashed tokens, constant-time verification, rotation.
//! - [`tls`]: the cluster CA, per-node certificates and the rustls configurations of the peer
//!   channel (mutual TLS) and of optional client-facing TLS.

pub mod tls;
pub mod tokens;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use tls::{PeerTls, PublicTls};
pub use tokens::{Role, TokenStore};

/// File names inside a secrets folder.
pub mod files {
    /// The cluster CA certificate.
    pub const CA_CERT: &str = "ca.pem";
    /// The cluster CA key.
    pub const CA_KEY: &str = "ca.key";
    /// Hashed admin tokens with roles.
    pub const TOKENS: &str = "tokens.json";
    /// The admin role's token.
    pub const ADMIN_TOKEN: &str = "admin.token";
    /// The read-only operator role's token.
    pub const OPERATOR_TOKEN: &str = "operator.token";
}

/// Why credentials could not be made or used. Messages are one line, ready for stderr.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A file is there but not usable.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The folder lacks a file nodes need.
    #[error(
        "{dir} has no {file}: create the cluster's credentials with `host keygen --out {dir}`"
    )]
    Missing {
        /// The folder.
        dir: String,
        /// The missing file.
        file: &'static str,
    },
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> SecretsError {
    SecretsError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Writes a secret file with mode 0600 (created fresh; replaced atomically if it exists).
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<(), SecretsError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("secret"),
        std::process::id()
    ));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temp).map_err(|e| io_error(&temp, e))?;
    file.write_all(contents).map_err(|e| io_error(&temp, e))?;
    file.sync_all().map_err(|e| io_error(&temp, e))?;
    fs::rename(&temp, path).map_err(|e| io_error(path, e))
}

fn create_private_dir(dir: &Path) -> Result<(), SecretsError> {
    fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| io_error(dir, e))?;
    }
    Ok(())
}

/// What `host keygen` made.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The folder.
    pub dir: PathBuf,
    /// Files created now (existing ones are kept).
    pub created: Vec<String>,
}

/// Creates whatever of a secrets folder is missing: the cluster CA, and an `admin` and an
/// `operator` token (files kept as they are when present, so running it twice is harmless).
///
/// # Errors
/// If a file cannot be written or an existing one is unusable.
pub fn keygen(dir: &Path) -> Result<Generated, SecretsError> {
    create_private_dir(dir)?;
    let mut created = Vec::new();
    let ca_cert = dir.join(files::CA_CERT);
    let ca_key = dir.join(files::CA_KEY);
    match (ca_cert.exists(), ca_key.exists()) {
        (true, true) => {}
        (false, false) => {
            let (cert_pem, key_pem) = tls::new_ca()?;
            write_private(&ca_key, key_pem.as_bytes())?;
            write_private(&ca_cert, cert_pem.as_bytes())?;
            created.push(files::CA_KEY.to_string());
            created.push(files::CA_CERT.to_string());
        }
        _ => {
            return Err(SecretsError::Invalid {
                path: dir.display().to_string(),
                reason: "has only one of ca.pem and ca.key; remove it to make a new CA".into(),
            })
        }
    }
    let mut store = TokenStore::load(&dir.join(files::TOKENS))?;
    for (name, role, file) in [
        ("admin", Role::Admin, files::ADMIN_TOKEN),
        ("operator", Role::Operator, files::OPERATOR_TOKEN),
    ] {
        let path = dir.join(file);
        if path.exists() && store.has(name) {
            continue;
        }
        let token = store.issue(name, role)?;
        write_private(&path, format!("{token}\n").as_bytes())?;
        created.push(file.to_string());
    }
    if !created.is_empty() {
        created.push(files::TOKENS.to_string());
    }
    Ok(Generated {
        dir: dir.to_path_buf(),
        created,
    })
}

/// Issues a new token for `name` with `role` (replacing that name's old token: rotation, the old
/// one stops working as soon as nodes reload `tokens.json`), writes it to `DIR/<name>.token` and
/// returns that path.
///
/// # Errors
/// If the folder has no `tokens.json` yet, or a file cannot be written.
pub fn rotate(dir: &Path, name: &str, role: Role) -> Result<PathBuf, SecretsError> {
    let tokens = dir.join(files::TOKENS);
    if !tokens.exists() {
        return Err(SecretsError::Missing {
            dir: dir.display().to_string(),
            file: files::TOKENS,
        });
    }
    let mut store = TokenStore::load(&tokens)?;
    let token = store.issue(name, role)?;
    let path = dir.join(format!("{name}.token"));
    write_private(&path, format!("{token}\n").as_bytes())?;
    Ok(path)
}

/// Revokes `name`'s token (nodes stop accepting it when they reload `tokens.json`).
///
/// # Errors
/// If there is no such token or the file cannot be written.
pub fn revoke(dir: &Path, name: &str) -> Result<(), SecretsError> {
    let mut store = TokenStore::load(&dir.join(files::TOKENS))?;
    store.revoke(name)
}

/// The secrets folder at `dir`, created with [`keygen`] if it does not exist yet. Several nodes
/// started at once from one checkout may race here: the folder is made under a temp name and
/// renamed into place, so exactly one set of credentials wins and every node uses it.
///
/// # Errors
/// If the folder cannot be created or read.
pub fn ensure(dir: &Path) -> Result<Secrets, SecretsError> {
    if dir.join(files::CA_CERT).exists() {
        return Secrets::load(dir);
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
    let temp = parent.join(format!(
        ".{}.{}.tmp",
        dir.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("secrets"),
        std::process::id()
    ));
    keygen(&temp)?;
    if let Err(e) = fs::rename(&temp, dir) {
        // Another process made it first (or an empty folder is in the way).
        let _ = fs::remove_dir_all(&temp);
        if !dir.join(files::CA_CERT).exists() {
            return Err(io_error(dir, e));
        }
    }
    Secrets::load(dir)
}

/// A node's credentials, loaded from a secrets folder.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// The folder.
    pub dir: PathBuf,
    /// PEM of the cluster CA certificate.
    pub ca_cert_pem: String,
    /// PEM of the cluster CA key.
    pub ca_key_pem: String,
}

impl Secrets {
    /// Loads what a node needs from `dir` (CA certificate and key; the token file is opened by
    /// [`TokenStore::load`]).
    ///
    /// # Errors
    /// [`SecretsError::Missing`] naming `host keygen` when files are absent.
    pub fn load(dir: &Path) -> Result<Secrets, SecretsError> {
        let read = |file: &'static str| -> Result<String, SecretsError> {
            let path = dir.join(file);
            if !path.exists() {
                return Err(SecretsError::Missing {
                    dir: dir.display().to_string(),
                    file,
                });
            }
            warn_if_shared(&path);
            fs::read_to_string(&path).map_err(|e| io_error(&path, e))
        };
        let ca_cert_pem = read(files::CA_CERT)?;
        let ca_key_pem = read(files::CA_KEY)?;
        if !dir.join(files::TOKENS).exists() {
            return Err(SecretsError::Missing {
                dir: dir.display().to_string(),
                file: files::TOKENS,
            });
        }
        Ok(Secrets {
            dir: dir.to_path_buf(),
            ca_cert_pem,
            ca_key_pem,
        })
    }

    /// A key only the cluster's members know, derived from the CA key: what makes the
    /// entropy of a request with an idempotency key the same on every node, so a retry is
    /// answered with the same minted tokens.
    pub fn entropy_key(&self) -> [u8; 32] {
        use sha2::Digest as _;
        let mut digest = sha2::Sha256::new();
        digest.update(b"reservoir request entropy v1\0");
        digest.update(self.ca_key_pem.as_bytes());
        digest.finalize().into()
    }

    /// The token store of this folder.
    ///
    /// # Errors
    /// If `tokens.json` is unreadable or invalid.
    pub fn tokens(&self) -> Result<TokenStore, SecretsError> {
        TokenStore::load(&self.dir.join(files::TOKENS))
    }
}

/// Logs a warning when a secret file is readable by others than its owner.
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(file = %path.display(), "a secret file is readable by group or others; chmod 600 it");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_makes_private_files_and_is_idempotent() {
        let dir = tempfile::tempdir().expect("temp dir");
        let secrets = dir.path().join("secrets");
        let first = keygen(&secrets).expect("keygen");
        assert!(first.created.contains(&files::CA_KEY.to_string()));
        assert!(first.created.contains(&files::ADMIN_TOKEN.to_string()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for file in [files::CA_KEY, files::ADMIN_TOKEN, files::TOKENS] {
                let mode = fs::metadata(secrets.join(file))
                    .expect("meta")
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{file}");
            }
        }
        let admin = fs::read_to_string(secrets.join(files::ADMIN_TOKEN)).expect("token");
        let again = keygen(&secrets).expect("keygen again");
        assert!(again.created.is_empty(), "{:?}", again.created);
        assert_eq!(
            fs::read_to_string(secrets.join(files::ADMIN_TOKEN)).expect("token"),
            admin,
            "existing tokens are kept"
        );
        let loaded = Secrets::load(&secrets).expect("load");
        let store = loaded.tokens().expect("tokens");
        assert_eq!(store.verify(admin.trim()), Some(Role::Admin));
    }

    #[test]
    fn rotation_replaces_a_token_and_revocation_removes_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        keygen(dir.path()).expect("keygen");
        let old = fs::read_to_string(dir.path().join(files::ADMIN_TOKEN)).expect("token");
        let path = rotate(dir.path(), "admin", Role::Admin).expect("rotate");
        let new = fs::read_to_string(&path).expect("token");
        let store = TokenStore::load(&dir.path().join(files::TOKENS)).expect("tokens");
        assert_eq!(store.verify(new.trim()), Some(Role::Admin));
        assert_eq!(
            store.verify(old.trim()),
            None,
            "the old token no longer works"
        );
        revoke(dir.path(), "admin").expect("revoke");
        let store = TokenStore::load(&dir.path().join(files::TOKENS)).expect("tokens");
        assert_eq!(store.verify(new.trim()), None);
    }

    #[test]
    fn a_folder_without_credentials_names_keygen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = Secrets::load(dir.path()).expect_err("empty");
        assert!(err.to_string().contains("host keygen"), "{err}");
    }
}
