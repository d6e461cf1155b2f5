//! Capability tokens: the secrets that make a customer the owner of a hold or a booking.
//!
//! Possession of a token is the credential; a display name proves nothing. A token is minted by
//! the front (`http.route`, `console.parse`) from the request's 32 random bytes (`entropy`,
//! fresh per request, identical in the route and the render of one request), and only its
//! SHA-256 [`Digest`] travels further: the command in the log carries the digest, the state
//! stores the digest, and every lookup hashes the token it is shown. The front's render mints the
//! same token again from the same entropy and returns it once, in the answer to the request that
//! created it, after checking that its digest is the one the state machine recorded. So no log
//! entry, snapshot, listing or event ever holds a token.
//!
//! # Format
//!
//! ```text
//! token    = prefix secret
//! prefix   = "h_" (hold) | "b_" (booking)
//! secret   = 32 * base64url-char          ; 24 bytes (192 bits), no padding
//! material = SHA-256("seat-logic/token/v1/" kind "/" entropy)[0..24]
//! digest   = SHA-256(token as UTF-8)
//! ```

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Least entropy the host must supply for a token to be minted (128 bits).
pub const MIN_ENTROPY_BYTES: usize = 16;

/// Bytes of secret material in a token.
const SECRET_BYTES: usize = 24;

/// Characters of a token: the 2-character prefix and the base64url secret.
pub const TOKEN_CHARS: usize = 2 + SECRET_BYTES * 4 / 3;

/// SHA-256 of a token: what commands, the state and snapshots hold instead of the token.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Digest(pub [u8; 32]);

impl fmt::Debug for Digest {
    /// The first 4 bytes in hex: enough to tell digests apart in test output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, ..] = self.0;
        write!(f, "Digest({a:02x}{b:02x}{c:02x}{d:02x}..)")
    }
}

impl Digest {
    /// Compares two digests in time independent of where they differ.
    pub fn matches(&self, other: &Digest) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// What a token makes its holder the owner of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A hold: `h_...`.
    Hold,
    /// A booking: `b_...`.
    Booking,
}

impl Kind {
    /// The token's prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Hold => "h_",
            Kind::Booking => "b_",
        }
    }

    /// The kind's name in the derivation label.
    fn label(self) -> &'static [u8] {
        match self {
            Kind::Hold => b"hold",
            Kind::Booking => b"booking",
        }
    }
}

/// The host supplied fewer than [`MIN_ENTROPY_BYTES`] random bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLittleEntropy {
    /// How many bytes it supplied.
    pub bytes: usize,
}

impl fmt::Display for TooLittleEntropy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the host supplied {} bytes of entropy, a token needs at least {MIN_ENTROPY_BYTES}",
            self.bytes
        )
    }
}

/// A freshly minted token: its text (the secret, shown once) and its digest.
#[derive(Clone, PartialEq, Eq)]
pub struct Minted {
    /// The token as the customer uses it.
    pub text: String,
    /// Its SHA-256.
    pub digest: Digest,
}

impl fmt::Debug for Minted {
    /// Never prints the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Minted({:?})", self.digest)
    }
}

/// Mints the token of `kind` for a request's entropy: the same entropy gives the same token.
///
/// # Errors
///
/// [`TooLittleEntropy`] when `entropy` is shorter than [`MIN_ENTROPY_BYTES`].
pub fn mint(kind: Kind, entropy: &[u8]) -> Result<Minted, TooLittleEntropy> {
    if entropy.len() < MIN_ENTROPY_BYTES {
        return Err(TooLittleEntropy {
            bytes: entropy.len(),
        });
    }
    let material = Sha256::new()
        .chain_update(b"seat-logic/token/v1/")
        .chain_update(kind.label())
        .chain_update(b"/")
        .chain_update(entropy)
        .finalize();
    let mut text = String::with_capacity(TOKEN_CHARS);
    text.push_str(kind.prefix());
    text.push_str(&URL_SAFE_NO_PAD.encode(&material[..SECRET_BYTES]));
    let digest = digest(&text);
    Ok(Minted { text, digest })
}

/// SHA-256 of a token's text.
pub fn digest(text: &str) -> Digest {
    Digest(Sha256::digest(text.as_bytes()).into())
}

/// The digest of `text` if it has the shape of a token of `kind`; `None` for anything else (a
/// token of the other kind, a cut or padded one), which can then be refused without a lookup.
pub fn parse(kind: Kind, text: &str) -> Option<Digest> {
    let secret = text.strip_prefix(kind.prefix())?;
    let well_formed = secret.len() == TOKEN_CHARS - 2
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| digest(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_entropy_mints_the_same_token_and_kinds_differ() {
        let entropy = [7u8; 32];
        let hold = mint(Kind::Hold, &entropy).ok();
        let again = mint(Kind::Hold, &entropy).ok();
        let booking = mint(Kind::Booking, &entropy).ok();
        assert_eq!(hold, again);
        let (Some(hold), Some(booking)) = (hold, booking) else {
            panic!("32 bytes of entropy must mint")
        };
        assert!(hold.text.starts_with("h_") && booking.text.starts_with("b_"));
        assert_eq!(hold.text.len(), TOKEN_CHARS);
        assert_eq!(TOKEN_CHARS, 34);
        assert_ne!(hold.text[2..], booking.text[2..]);
        assert_eq!(parse(Kind::Hold, &hold.text), Some(hold.digest));
        assert_eq!(parse(Kind::Booking, &booking.text), Some(booking.digest));
        assert_eq!(parse(Kind::Booking, &hold.text), None);
        let other = mint(Kind::Hold, &[8u8; 32])
            .map(|m| m.text)
            .unwrap_or_default();
        assert_ne!(other, hold.text);
    }

    #[test]
    fn short_entropy_is_refused() {
        assert_eq!(
            mint(Kind::Hold, &[1; 15]),
            Err(TooLittleEntropy { bytes: 15 })
        );
        assert!(mint(Kind::Hold, &[1; 16]).is_ok());
    }

    #[test]
    fn parse_refuses_malformed_tokens() {
        let good = mint(Kind::Hold, &[3; 32])
            .map(|m| m.text)
            .unwrap_or_default();
        for bad in [
            String::new(),
            "h_".to_string(),
            format!("{good}A"),
            good[..good.len() - 1].to_string(),
            good.replacen('h', "H", 1),
            format!("{}+{}", &good[..10], &good[11..]),
            format!("{}=", &good[..good.len() - 1]),
            "h_ééééééééééééééééé".to_string(),
        ] {
            assert_eq!(parse(Kind::Hold, &bad), None, "{bad:?}");
        }
    }

    #[test]
    fn digests_compare_and_print_without_the_secret() {
        let a = digest("h_a");
        let b = digest("h_b");
        assert!(a.matches(&a) && !a.matches(&b));
        let minted = mint(Kind::Booking, &[9; 32]);
        let shown = format!("{minted:?}");
        let text = minted.map(|m| m.text).unwrap_or_default();
        assert!(!shown.contains(&text[2..]), "{shown}");
    }
}
