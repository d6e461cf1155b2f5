//! Who may call a route, decided before a byte of the body is decoded.
//!
//! The host verifies admin credentials itself and passes only their role (`request.role`:
//! `admin` or `operator`), removing the `authorization` header it consumed. A customer has no
//! role; what a customer owns it proves with a capability token: a hold's token in the path, a
//! booking's token as `Authorization: Bearer <token>` (which the host passes through unchanged,
//! since it is no admin credential).
//!
//! | access          | no role                         | operator      | admin          |
//! |-----------------|---------------------------------|---------------|----------------|
//! | `Public`        | yes                             | yes           | yes            |
//! | `Admin`         | 401                             | 403           | yes            |
//! | `Staff`         | 401                             | yes           | yes            |
//! | `OwnerOrStaff`  | bearer token (401 without)      | yes           | yes            |
//! | `OwnerOrAdmin`  | bearer token (401 without)      | 403           | yes (operator) |
//!
//! A role other than `admin` and `operator` is treated like `operator` minus its rights: it gets
//! 403 wherever a role is needed. 401 answers carry `www-authenticate: Bearer`.

use crate::contract::HttpRequest;
use crate::problem::Problem;
use crate::token::{self, Digest};

/// Who may call a route with a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (a hold route's token in the path is checked by the state machine).
    Public,
    /// Role `admin` only.
    Admin,
    /// Role `admin` or `operator`.
    Staff,
    /// A booking's token holder, or role `admin` or `operator`.
    OwnerOrStaff,
    /// A booking's token holder, or role `admin`.
    OwnerOrAdmin,
}

impl Access {
    /// The short name docs and the OpenAPI document use (`x-access`).
    pub fn name(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Admin => "admin",
            Access::Staff => "staff",
            Access::OwnerOrStaff => "owner-or-staff",
            Access::OwnerOrAdmin => "owner-or-admin",
        }
    }
}

/// Who the caller turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Nobody in particular (a public route).
    Anyone,
    /// An admin or operator allowed on this route; `admin` tells which.
    Staff {
        /// Role `admin` (else `operator`).
        admin: bool,
    },
    /// A customer showing a booking token of this digest.
    Customer(Digest),
}

/// The role the host verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    None,
    Admin,
    Operator,
    Other,
}

fn role(request: &HttpRequest) -> Role {
    match request.role.as_deref() {
        None => Role::None,
        Some("admin") => Role::Admin,
        Some("operator") => Role::Operator,
        Some(_) => Role::Other,
    }
}

/// Decides whether the request may use a route with `access`.
///
/// # Errors
///
/// 401 `/problems/unauthorized` without the credential the route needs, 403
/// `/problems/forbidden` for a role that is not enough, 404 `/problems/unknown-booking` for a
/// bearer token that is no booking token at all (as for a wrong one: ids cannot be probed).
pub fn authorize(access: Access, request: &HttpRequest, booking: u64) -> Result<Caller, Problem> {
    let role = role(request);
    match (access, role) {
        (Access::Public, _) => Ok(Caller::Anyone),
        (Access::Admin, Role::Admin) => Ok(Caller::Staff { admin: true }),
        (Access::Staff | Access::OwnerOrStaff, Role::Admin | Role::Operator) => Ok(Caller::Staff {
            admin: role == Role::Admin,
        }),
        (Access::OwnerOrAdmin, Role::Admin) => Ok(Caller::Staff { admin: true }),
        (Access::Admin | Access::Staff, Role::None) => Err(unauthorized(
            "this route needs an admin credential (Authorization: Bearer <admin token>)",
        )),
        (Access::OwnerOrStaff | Access::OwnerOrAdmin, Role::None) => match bearer(request) {
            Some(text) => token::parse(token::Kind::Booking, text)
                .map(Caller::Customer)
                .ok_or_else(|| unknown_booking(booking)),
            None => Err(unauthorized(
                "show the booking's token as Authorization: Bearer <token>",
            )),
        },
        (_, Role::Operator | Role::Other) => Err(forbidden(access, request)),
    }
}

/// The token of an `Authorization: Bearer <token>` header, if the request has one.
fn bearer(request: &HttpRequest) -> Option<&str> {
    let value = request.header("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// 401 with a `www-authenticate: Bearer` challenge.
pub fn unauthorized(detail: &str) -> Problem {
    Problem::new(401, "unauthorized", "Unauthorized", detail)
        .with_header("www-authenticate", "Bearer")
}

/// 403 for a role that may not use the route.
fn forbidden(access: Access, request: &HttpRequest) -> Problem {
    let role: String = request
        .role
        .as_deref()
        .unwrap_or("")
        .chars()
        .take(32)
        .filter(|c| !c.is_control())
        .collect();
    let needed = match access {
        Access::Staff | Access::OwnerOrStaff => "role admin or operator",
        _ => "role admin",
    };
    Problem::new(
        403,
        "forbidden",
        "Forbidden",
        format!("role {role:?} may not do this; it needs {needed}"),
    )
    .with("role", role)
}

/// 404 for a booking whose token does not match (the same answer as for no booking).
pub fn unknown_booking(booking: u64) -> Problem {
    Problem::from_rejection(&crate::rejection::Rejection::UnknownBooking { booking })
}

/// Whether a `content-type` names JSON: `application/json` or `application/<x>+json`,
/// parameters ignored, case-insensitive.
pub fn is_json(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.strip_prefix("application/") {
        Some("json") => true,
        Some(sub) => sub.len() > 5 && sub.ends_with("+json") && !sub.contains('/'),
        None => false,
    }
}

/// Checks that a non-empty write body says it is JSON.
///
/// # Errors
///
/// 415 `/problems/unsupported-media-type` naming what the request said.
pub fn check_json_body(request: &HttpRequest) -> Result<(), Problem> {
    if request.body.is_empty() {
        return Ok(());
    }
    match request.header("content-type") {
        Some(kind) if is_json(kind) => Ok(()),
        other => {
            let said: String = other
                .unwrap_or("no content-type")
                .chars()
                .take(60)
                .filter(|c| !c.is_control())
                .collect();
            Err(Problem::new(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                format!("a request body must be JSON (content-type: application/json), got {said}"),
            )
            .with_header("accept", "application/json"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        for yes in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
            " application/problem+json ",
        ] {
            assert!(is_json(yes), "{yes}");
        }
        for no in [
            "",
            "text/json",
            "application/jsonx",
            "application/+json",
            "application/x/y+json",
            "text/plain",
            "application/json5",
        ] {
            assert!(!is_json(no), "{no}");
        }
    }
}
