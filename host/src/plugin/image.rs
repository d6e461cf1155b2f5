//! A plugin as it travels through the log and snapshots: the component's bytes and their
//! SHA-256, which names the plugin in status output, caches and install history.

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// A SHA-256 digest. Fixed-size on the wire, so nothing a peer sends can make it malformed.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        Digest(Sha256::digest(bytes).into())
    }

    /// Lower-case hex of all 32 bytes.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 12 hex digits, enough for humans.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..6])
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.short())
    }
}

/// A component and its hash. The bytes are shared (`Bytes`), so the copies Raft makes of an
/// entry do not copy the component.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginImage {
    /// SHA-256 of `bytes`.
    pub hash: Digest,
    /// The component binary.
    pub bytes: Bytes,
}

impl PluginImage {
    /// Wraps component bytes, computing their hash.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        PluginImage {
            hash: Digest::of(&bytes),
            bytes,
        }
    }

    /// True when `hash` really is the hash of `bytes` (images from the network are checked).
    pub fn is_intact(&self) -> bool {
        Digest::of(&self.bytes) == self.hash
    }
}

impl fmt::Debug for PluginImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PluginImage({}, {} bytes)",
            self.hash.short(),
            self.bytes.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tampered_bytes_are_detected_and_hashes_print_as_hex() {
        let image = PluginImage::new(b"component".to_vec());
        assert!(image.is_intact());
        assert_eq!(image.hash.hex().len(), 64);
        assert_eq!(image.hash.short().len(), 12);
        let mut bytes = image.bytes.to_vec();
        bytes[0] ^= 1;
        let tampered = PluginImage {
            hash: image.hash,
            bytes: bytes.into(),
        };
        assert!(!tampered.is_intact());
    }
}
