//! Path ids and query-string parameters: ids, filters and the page of a list.
//!
//! Unknown parameters are ignored (the host reads some, such as `consistency`); a known one with
//! a bad value is 400 `/problems/invalid-request` naming it.

use crate::command::MAX_SEATS_PER_REQUEST;
use crate::limits::{DEFAULT_PAGE_ITEMS, MAX_PAGE_ITEMS};
use crate::problem::Problem;
use crate::query::PageRequest;

use super::body::query_pairs;
use super::truncate_for_echo;

/// Parses a path id: ASCII digits only (no sign, no spaces), within the type's range.
pub fn parse_id<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The query string's parameters, with typed accessors.
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Decodes a raw query string.
    ///
    /// # Errors
    ///
    /// 400 when it is not valid percent-encoded UTF-8.
    pub fn parse(query: &str) -> Result<Self, Problem> {
        Ok(Params {
            pairs: query_pairs(query)?,
        })
    }

    /// The last value of a parameter.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// An id parameter, if present.
    ///
    /// # Errors
    ///
    /// 400 when it is not a decimal id of the type.
    pub fn id<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, Problem> {
        self.get(key)
            .map(|value| {
                parse_id(value).ok_or_else(|| {
                    Problem::invalid_request(format!(
                        "query parameter `{key}` must be an id, got {:?}",
                        truncate_for_echo(value, 20)
                    ))
                    .with("parameter", key)
                })
            })
            .transpose()
    }

    /// The `count` of a best-seats request: required, 1 to [`MAX_SEATS_PER_REQUEST`] (the
    /// request shape limit; the rules in force may allow fewer, which the state checks).
    ///
    /// # Errors
    ///
    /// 400 naming the parameter when it is missing, not a number, 0 or too large.
    pub fn count(&self) -> Result<u32, Problem> {
        let max = MAX_SEATS_PER_REQUEST as u32;
        let refuse = |got: String| {
            Problem::invalid_request(format!(
                "query parameter `count` (how many seats side by side) must be 1 to {max}, got \
                 {got}"
            ))
            .with("parameter", "count")
            .with("max", max)
        };
        let value = self
            .get("count")
            .ok_or_else(|| refuse("none".to_string()))?;
        parse_id::<u32>(value)
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| refuse(format!("{:?}", truncate_for_echo(value, 20))))
    }

    /// The page a list request asks for: `limit` (1 to [`MAX_PAGE_ITEMS`], default
    /// [`DEFAULT_PAGE_ITEMS`]) and `after` (the previous page's `next`).
    ///
    /// # Errors
    ///
    /// 400 naming the parameter.
    pub fn page(&self) -> Result<PageRequest, Problem> {
        let limit = match self.get("limit") {
            None => DEFAULT_PAGE_ITEMS,
            Some(value) => parse_id::<u32>(value)
                .filter(|n| (1..=MAX_PAGE_ITEMS).contains(n))
                .ok_or_else(|| {
                    Problem::invalid_request(format!(
                        "query parameter `limit` must be 1 to {MAX_PAGE_ITEMS}, got {:?}",
                        truncate_for_echo(value, 20)
                    ))
                    .with("parameter", "limit")
                    .with("max", MAX_PAGE_ITEMS)
                })?,
        };
        Ok(PageRequest {
            after: self.id::<u64>("after")?,
            limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_default_and_refuse_bad_limits() {
        let page = |q: &str| Params::parse(q).and_then(|p| p.page());
        assert_eq!(
            page("").ok(),
            Some(PageRequest {
                after: None,
                limit: 100
            })
        );
        assert_eq!(
            page("limit=500&after=7").ok(),
            Some(PageRequest {
                after: Some(7),
                limit: 500
            })
        );
        for bad in [
            "limit=0",
            "limit=501",
            "limit=x",
            "after=-1",
            "after=",
            "limit=1e3",
        ] {
            assert!(page(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn count_is_required_and_1_to_the_request_limit() {
        let count = |q: &str| Params::parse(q).and_then(|p| p.count());
        assert_eq!(count("count=1").ok(), Some(1));
        assert_eq!(count("count=10&consistency=local").ok(), Some(10));
        for bad in [
            "",
            "count=",
            "count=0",
            "count=11",
            "count=x",
            "count=-1",
            "count=2.5",
        ] {
            let problem = count(bad).err();
            assert_eq!(
                problem.as_ref().map(Problem::kind),
                Some("/problems/invalid-request"),
                "{bad}"
            );
            assert!(
                problem.is_some_and(|p| p.detail().contains("`count`")),
                "{bad}"
            );
        }
    }
}
