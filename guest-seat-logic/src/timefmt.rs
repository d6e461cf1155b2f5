//! RFC 3339 timestamps in and out, and the console's `YYYY-MM-DD HH:MM:SS UTC` form.
//!
//! Log times are milliseconds since the Unix epoch (the leader's clock stamped into each entry).
//! The `time` crate is not used: adding it would change the workspace lock file, which this crate
//! does not own, and the few conversions needed here are a well-known pair of civil-date formulas
//! (Howard Hinnant's `days_from_civil` / `civil_from_days`), tested below. Only instants from
//! 1970-01-01 to 9999-12-31 are accepted, so the arithmetic never overflows.

/// Milliseconds in a day.
const DAY_MS: u64 = 86_400_000;

/// 10000-01-01T00:00:00Z in ms: the first instant RFC 3339's four-digit year cannot write.
const END_MS: u64 = 253_402_300_800_000;

/// Formats ms since the Unix epoch as RFC 3339 UTC: `2026-12-01T20:00:00Z`, with `.123` added
/// only when the milliseconds are not zero. Instants past year 9999 print as 9999-12-31T23:59:59Z.
///
/// Written digit by digit rather than through `format!`: lists render hundreds of these per
/// answer, and the formatting machinery would be most of a page's cost.
pub fn rfc3339(ms: u64) -> String {
    let ms = ms.min(END_MS - 1);
    let (year, month, day) = civil_from_days(ms / DAY_MS);
    let secs = ms % DAY_MS / 1000;
    let mut out = String::with_capacity(24);
    digits(&mut out, year, 4);
    out.push('-');
    digits(&mut out, month, 2);
    out.push('-');
    digits(&mut out, day, 2);
    out.push('T');
    digits(&mut out, secs / 3600, 2);
    out.push(':');
    digits(&mut out, secs % 3600 / 60, 2);
    out.push(':');
    digits(&mut out, secs % 60, 2);
    let frac = ms % 1000;
    if frac != 0 {
        out.push('.');
        digits(&mut out, frac, 3);
    }
    out.push('Z');
    out
}

/// Appends the last `width` decimal digits of `value`, zero-padded.
fn digits(out: &mut String, value: u64, width: u32) {
    for place in (0..width).rev() {
        let digit = value / 10u64.pow(place) % 10;
        // A digit is 0 to 9, so the byte is an ASCII digit.
        out.push(char::from(b'0' + digit as u8));
    }
}

/// Formats ms since the Unix epoch for people: `2026-12-01 20:00:00 UTC`.
pub fn utc(ms: u64) -> String {
    let (date, h, m, s) = split(ms.min(END_MS - 1));
    format!("{date} {h:02}:{m:02}:{s:02} UTC")
}

/// `(YYYY-MM-DD, hours, minutes, seconds)` of an instant before [`END_MS`].
fn split(ms: u64) -> (String, u64, u64, u64) {
    let (year, month, day) = civil_from_days(ms / DAY_MS);
    let secs = ms % DAY_MS / 1000;
    (
        format!("{year:04}-{month:02}-{day:02}"),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
    )
}

/// Parses an RFC 3339 date-time into ms since the Unix epoch.
///
/// # Format
///
/// ```text
/// YYYY-MM-DD "T" hh:mm:ss [ "." fraction ] ( "Z" | ("+" | "-") hh:mm )   ; T and Z any case
/// ```
///
/// Fractions beyond milliseconds are truncated. A leap second (`:60`) is refused.
///
/// # Errors
///
/// A sentence saying what is wrong, for a 400 detail.
pub fn parse_rfc3339(text: &str) -> Result<u64, String> {
    let bad = |why: &str| {
        Err(format!(
            "{why}; expected an RFC 3339 time like 2026-12-01T20:00:00Z"
        ))
    };
    let b = text.as_bytes();
    if b.len() < 20 || b.len() > 40 {
        return bad("wrong length");
    }
    let num = |range: std::ops::Range<usize>| -> Option<u64> {
        let digits = b.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            digits
                .iter()
                .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0')),
        )
    };
    let sep_ok = b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't')
        && b[13] == b':'
        && b[16] == b':';
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return bad("malformed date or time");
    };
    if !sep_ok {
        return bad("malformed separators");
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return bad("no such date");
    }
    if hour > 23 || minute > 59 || second > 59 {
        return bad("no such time of day");
    }
    let mut rest = &b[19..];
    let mut millis = 0u64;
    if let Some((b'.', tail)) = rest.split_first() {
        let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return bad("empty fraction of a second");
        }
        for (i, d) in tail[..digits].iter().enumerate().take(3) {
            millis += u64::from(d - b'0') * [100, 10, 1][i];
        }
        rest = &tail[digits..];
    }
    let offset_min: i64 = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return bad("malformed offset");
            }
            let [h1, h2, m1, m2] = digits.map(|d| i64::from(d - b'0'));
            let (h, m) = (h1 * 10 + h2, m1 * 10 + m2);
            if h > 23 || m > 59 {
                return bad("offset out of range");
            }
            let minutes = h * 60 + m;
            if *sign == b'+' {
                minutes
            } else {
                -minutes
            }
        }
        _ => return bad("missing or malformed Z or offset"),
    };
    if year < 1970 {
        return bad("years before 1970 are not supported");
    }
    let local_ms = days_from_civil(year, month, day) * DAY_MS
        + ((hour * 60 + minute) * 60 + second) * 1000
        + millis;
    // Both operands are far below i64::MAX (year <= 9999), so the conversion is exact.
    let utc = i64::try_from(local_ms).unwrap_or(i64::MAX) - offset_min * 60_000;
    match u64::try_from(utc) {
        Ok(ms) if ms < END_MS => Ok(ms),
        _ => bad("outside 1970-01-01 to 9999-12-31 UTC"),
    }
}

/// Days in a month of the proleptic Gregorian calendar.
fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date in or after 1970 (Hinnant's `days_from_civil`).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to (year, month, day) (Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(utc(1_700_000_000_123), "2023-11-14 22:13:20 UTC");
        assert_eq!(rfc3339(u64::MAX), "9999-12-31T23:59:59.999Z");
        assert!(utc(u64::MAX).ends_with("UTC"));
    }

    #[test]
    fn parses_what_it_formats() {
        for ms in [
            0,
            951_782_400_000,
            1_700_000_000_123,
            1_796_155_200_000,
            END_MS - 1,
        ] {
            assert_eq!(parse_rfc3339(&rfc3339(ms)), Ok(ms), "{ms}");
        }
        // Every day of four years, including a leap day.
        for day in 0..(4 * 366) {
            let ms = 1_704_067_200_000 + day * DAY_MS + 12_345;
            assert_eq!(parse_rfc3339(&rfc3339(ms)), Ok(ms));
        }
    }

    #[test]
    fn parses_offsets_fractions_and_lowercase() {
        let base = parse_rfc3339("2026-12-01T20:00:00Z");
        assert_eq!(base, Ok(1_796_155_200_000));
        assert_eq!(parse_rfc3339("2026-12-01t21:30:00+01:30"), base);
        assert_eq!(parse_rfc3339("2026-12-01T15:00:00-05:00"), base);
        assert_eq!(parse_rfc3339("2026-12-01T20:00:00.000z"), base);
        assert_eq!(
            parse_rfc3339("2026-12-01T20:00:00.1239Z"),
            Ok(1_796_155_200_123)
        );
    }

    #[test]
    fn refuses_malformed_or_impossible_times() {
        for bad in [
            "",
            "2026-12-01",
            "2026-12-01 20:00:00Z",
            "2026-12-01T20:00:00",
            "2026-13-01T20:00:00Z",
            "2026-02-29T20:00:00Z",
            "2026-12-32T20:00:00Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T20:60:00Z",
            "2026-12-01T20:00:60Z",
            "2026-12-01T20:00:00.Z",
            "2026-12-01T20:00:00+25:00",
            "2026-12-01T20:00:00+0100",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00+00:01",
            "+2026-12-01T20:00:00Z",
            "2026-1a-01T20:00:00Z",
            "2026-12-01T20:00:00ZZ",
            "２026-12-01T20:00:00Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Ok(1_709_164_800_000));
    }
}
