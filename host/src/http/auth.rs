//! Who is calling: an admin bearer token turned into a [`Role`], checked before anything else
//! of a `/v1` request is read.
//!
//! `Authorization: Bearer <token>` carrying one of the node's admin tokens (see
//! `secrets::tokens`) gives its role. On the public API a bearer that is not an admin token is
//! passed to the plugin untouched (customers hold their own capability tokens); on `/v1` it is
//! refused. An `--insecure` node treats every caller as admin.

use hyper::header::{HeaderMap, AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::StatusCode;

use super::problem::{problem, Reply};
use crate::node::Node;
use crate::secrets::Role;

/// The bearer token of a request, if it has one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The admin role a request's bearer token gives (`None`: no token, or not an admin token).
pub fn role_of(node: &Node, headers: &HeaderMap) -> Option<Role> {
    if node.credentials().is_insecure() {
        return Some(Role::Admin);
    }
    bearer(headers).and_then(|token| node.credentials().tokens.verify(token))
}

/// Lets the request through if its caller has `needed`; otherwise the 401 or 403 to send.
///
/// # Errors
/// 401 `unauthorized` without a valid admin token (with `www-authenticate: Bearer`), 403
/// `forbidden` with a token of a lesser role.
pub fn require(node: &Node, headers: &HeaderMap, needed: Role) -> Result<Role, Box<Reply>> {
    match role_of(node, headers) {
        Some(role) if role.allows(needed) => Ok(role),
        Some(role) => Err(Box::new(problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed for this role",
            &format!(
                "this needs the {} role; the token given has the {} role",
                needed.name(),
                role.name()
            ),
        ))),
        None => {
            let detail = if bearer(headers).is_some() {
                "the bearer token is not a token of this cluster (or it was revoked)"
            } else {
                "send a token of this cluster: Authorization: Bearer <token> (host keygen wrote DIR/admin.token and DIR/operator.token)"
            };
            let mut reply = problem(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Credential needed",
                detail,
            );
            reply.headers_mut().insert(
                WWW_AUTHENTICATE,
                hyper::header::HeaderValue::from_static("Bearer realm=\"reservoir\""),
            );
            Err(Box::new(reply))
        }
    }
}
