//! Request bodies and query strings of the JSON API, parsed strictly.
//!
//! Bodies are first read as JSON (a syntax error is reported with its position), must be an
//! object, and are then deserialised with `deny_unknown_fields`. Routes whose body is optional
//! (extend, confirm, release, cancel, removals) take an empty body as `{}`. Whether a body is
//! JSON at all (`content-type`) is checked before, in [`super::auth::check_json_body`]. Every typed field goes through
//! [`field`], which prefixes serde's message with the field name, so a wrong type answers
//! "field `ttl_seconds`: invalid type: string \"x\", expected u32" rather than a bare position.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::problem::Problem;

/// Largest request body the API reads: 64 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Deserialises one field, naming it in the error.
fn field<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D, name: &str) -> Result<T, D::Error> {
    T::deserialize(d).map_err(|e| D::Error::custom(format_args!("field `{name}`: {e}")))
}

/// Declares `fn $name` deserialising a `$ty` field called `$field` through [`field`].
macro_rules! named {
    ($($name:ident: $ty:ty = $field:literal;)*) => {
        $(
            fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                field(d, $field)
            }
        )*
    };
}

named! {
    seats: Vec<String> = "seats";
    user: String = "user";
    ttl: Option<u32> = "ttl_seconds";
    id: Option<u32> = "id";
    title: String = "title";
    year: u16 = "year";
    duration: u16 = "duration_minutes";
    genres: Vec<String> = "genres";
    director: String = "director";
    cast: Vec<String> = "cast";
    languages: Vec<String> = "languages";
    age_rating: String = "age_rating";
    synopsis: String = "synopsis";
    name: String = "name";
    location: String = "location";
    rows: Vec<RowBody> = "rows";
    row: String = "row";
    row_seats: u32 = "seats";
    movie_id: u32 = "movie_id";
    theater_id: u32 = "theater_id";
    starts_at: String = "starts_at";
    price_cents: u32 = "price_cents";
    max_seats_per_customer: u32 = "max_seats_per_customer";
}

/// Body of `POST /api/showtimes/{id}/bookings`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookBody {
    /// Seat ids such as `"a1"`.
    #[serde(deserialize_with = "seats")]
    pub seats: Vec<String>,
    /// The customer's display name.
    #[serde(deserialize_with = "user")]
    pub user: String,
}

/// Body of `POST /api/showtimes/{id}/holds`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    /// Seat ids such as `"a1"`.
    #[serde(deserialize_with = "seats")]
    pub seats: Vec<String>,
    /// The customer's display name.
    #[serde(deserialize_with = "user")]
    pub user: String,
    /// Lifetime; 600 when absent.
    #[serde(default, deserialize_with = "ttl")]
    pub ttl_seconds: Option<u32>,
}

/// Body of `POST /api/holds/{token}/extend` (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    /// New lifetime from now; 600 when absent.
    #[serde(default, deserialize_with = "ttl")]
    pub ttl_seconds: Option<u32>,
}

/// The body of routes that take none: absent, or `{}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

/// Body of `PUT /api/settings`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// Seats one customer may hold or book per showtime.
    #[serde(deserialize_with = "max_seats_per_customer")]
    pub max_seats_per_customer: u32,
}

/// Body of `POST /api/movies`: title, year and duration are required, the rest default empty.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MovieBody {
    /// Chosen id; next free when absent.
    #[serde(default, deserialize_with = "id")]
    pub id: Option<u32>,
    /// Title.
    #[serde(deserialize_with = "title")]
    pub title: String,
    /// Release year.
    #[serde(deserialize_with = "year")]
    pub year: u16,
    /// Running time.
    #[serde(deserialize_with = "duration")]
    pub duration_minutes: u16,
    /// Genres.
    #[serde(default, deserialize_with = "genres")]
    pub genres: Vec<String>,
    /// Director(s).
    #[serde(default, deserialize_with = "director")]
    pub director: String,
    /// Leading cast.
    #[serde(default, deserialize_with = "cast")]
    pub cast: Vec<String>,
    /// Spoken languages.
    #[serde(default, deserialize_with = "languages")]
    pub languages: Vec<String>,
    /// Age rating.
    #[serde(default, deserialize_with = "age_rating")]
    pub age_rating: String,
    /// One paragraph.
    #[serde(default, deserialize_with = "synopsis")]
    pub synopsis: String,
}

/// Body of `POST /api/theaters`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TheaterBody {
    /// Chosen id; next free when absent.
    #[serde(default, deserialize_with = "id")]
    pub id: Option<u32>,
    /// Name.
    #[serde(deserialize_with = "name")]
    pub name: String,
    /// Where it is; empty when absent.
    #[serde(default, deserialize_with = "location")]
    pub location: String,
    /// Rows `a`, `b`, ... in order.
    #[serde(deserialize_with = "rows")]
    pub rows: Vec<RowBody>,
}

/// One row of a [`TheaterBody`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowBody {
    /// Row letter.
    #[serde(deserialize_with = "row")]
    pub row: String,
    /// Seats in the row.
    #[serde(deserialize_with = "row_seats")]
    pub seats: u32,
}

/// Body of `POST /api/showtimes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowtimeBody {
    /// Chosen id; next free when absent.
    #[serde(default, deserialize_with = "id")]
    pub id: Option<u32>,
    /// Movie id.
    #[serde(deserialize_with = "movie_id")]
    pub movie_id: u32,
    /// Theater id.
    #[serde(deserialize_with = "theater_id")]
    pub theater_id: u32,
    /// RFC 3339 start time.
    #[serde(deserialize_with = "starts_at")]
    pub starts_at: String,
    /// Seat price in cents.
    #[serde(deserialize_with = "price_cents")]
    pub price_cents: u32,
}

/// Decodes a JSON object body strictly.
///
/// # Errors
///
/// 413 `body-too-large` over [`MAX_BODY_BYTES`]; 400 `invalid-request` for bad JSON, a body
/// that is not an object, or a missing, unknown or mistyped field (named in the detail).
pub fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Problem> {
    if body.len() > MAX_BODY_BYTES {
        return Err(too_large(body.len()));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Problem::invalid_request(format!("invalid JSON body: {e}")))?;
    if !value.is_object() {
        return Err(Problem::invalid_request("the body must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let detail = e.inner().to_string();
        // The path names a field that was there but wrong; a missing or unknown field is
        // named only in serde's message ("missing field `x`", "unknown field `x`, ...").
        let field = match path.split(['.', '[']).next() {
            Some(first) if !first.is_empty() && path != "." => Some(first.to_string()),
            _ => quoted_field(&detail),
        };
        let detail = match (&field, detail.starts_with("field `")) {
            (Some(field), false) if path != "." => format!("field `{field}`: {detail}"),
            _ => detail,
        };
        match field {
            Some(field) => Problem::invalid_request(detail).with("field", field),
            None => Problem::invalid_request(detail),
        }
    })
}

/// The name in the first "field `name`" of a serde message.
fn quoted_field(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("field `")?;
    let (name, _) = rest.split_once('`')?;
    Some(name.to_string())
}

/// Decodes an optional JSON object body: empty means `T::default()`.
///
/// # Errors
///
/// As [`parse_body`].
pub fn parse_optional_body<T: for<'de> Deserialize<'de> + Default>(
    body: &[u8],
) -> Result<T, Problem> {
    if body.is_empty() {
        Ok(T::default())
    } else {
        parse_body(body)
    }
}

/// The 413 problem for a body of `len` bytes.
pub fn too_large(len: usize) -> Problem {
    Problem::new(
        413,
        "body-too-large",
        "Body too large",
        format!("the body has {len} bytes, at most {MAX_BODY_BYTES}"),
    )
}

/// The query string's `key=value` pairs, percent-decoded (`+` is a space); pairs that do not
/// decode to UTF-8 are reported as such.
pub fn query_pairs(query: &str) -> Result<Vec<(String, String)>, Problem> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match (percent_decode(key), percent_decode(value)) {
                (Some(k), Some(v)) => Ok((k, v)),
                _ => Err(Problem::invalid_request(
                    "the query string is not valid percent-encoded UTF-8",
                )),
            }
        })
        .collect()
}

/// Decodes `%XX` escapes and `+`; `None` for a broken escape or non-UTF-8 result.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_escapes_and_plus() {
        let pairs = query_pairs("user=al%20ice+b&showtime=2&&x");
        assert_eq!(
            pairs.ok(),
            Some(vec![
                ("user".into(), "al ice b".into()),
                ("showtime".into(), "2".into()),
                ("x".into(), String::new())
            ])
        );
        assert!(query_pairs("user=%zz").is_err());
        assert!(query_pairs("user=%ff").is_err());
        assert!(query_pairs("user=%4").is_err());
    }

    #[test]
    fn body_errors_name_the_field() {
        let detail = |body: &str| match parse_body::<HoldBody>(body.as_bytes()) {
            Ok(_) => String::new(),
            Err(p) => p.detail().to_string(),
        };
        assert!(detail(r#"{"seats":["a1"],"user":"a","ttl_seconds":"x"}"#)
            .contains("field `ttl_seconds`"));
        assert!(detail(r#"{"seats":"a1","user":"a"}"#).contains("field `seats`"));
        assert!(detail(r#"{"seats":["a1"]}"#).contains("missing field `user`"));
        assert!(detail(r#"{"seats":["a1"],"user":"a","x":1}"#).contains("unknown field `x`"));
        assert!(detail(r#"{"seats":["a1"],"#).contains("invalid JSON"));
        assert!(detail("[1]").contains("JSON object"));
        assert!(detail(r#"{"seats":["a1"],"user":"a","ttl_seconds":null}"#).is_empty());
    }
}
