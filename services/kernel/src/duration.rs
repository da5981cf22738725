//! Go-style durations (`1h`, `30m`, `1h30m`, `500ms`), as Kratos configs
//! write lifespans.

use std::time::Duration;

/// Go's largest duration (`time.Duration` is an `int64` of nanoseconds,
/// about 292 years); Go refuses anything longer, and so do we, so a
/// lifespan can always be added to a timestamp.
pub const MAX_GO_DURATION: Duration = Duration::from_nanos(i64::MAX as u64);

/// Parses one or more `<number><unit>` with units ns, us, µs, ms, s, m, h;
/// None for anything Go's `time.ParseDuration` would refuse as malformed
/// or out of range. Counted in whole nanoseconds, as Go does, so the
/// limit is exact.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    if s.is_empty() {
        return None;
    }
    let mut rest = s;
    let mut total_ns: u128 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number = &rest[..digits];
        rest = &rest[digits..];
        let (unit, unit_ns) = [
            ("ns", 1u128),
            ("us", 1_000),
            ("µs", 1_000),
            ("ms", 1_000_000),
            ("s", 1_000_000_000),
            ("m", 60_000_000_000),
            ("h", 3_600_000_000_000),
        ]
        .into_iter()
        .filter(|(u, _)| rest.starts_with(u))
        .max_by_key(|(u, _)| u.len())?;
        rest = &rest[unit.len()..];
        total_ns = total_ns.checked_add(component_ns(number, unit_ns)?)?;
        if total_ns > MAX_GO_DURATION.as_nanos() {
            return None;
        }
    }
    u64::try_from(total_ns).ok().map(Duration::from_nanos)
}

/// `<int>[.<frac>]` of a unit, in nanoseconds (fraction truncated, as Go).
fn component_ns(number: &str, unit_ns: u128) -> Option<u128> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
        return None;
    }
    // Beyond 30 digits any whole part is out of range anyway.
    if whole.len() > 30 {
        return None;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut ns = whole.checked_mul(unit_ns)?;
    // Nanosecond precision needs at most 13 fractional digits (of hours).
    let frac = &frac[..frac.len().min(13)];
    if !frac.is_empty() {
        let scale = 10u128.pow(u32::try_from(frac.len()).ok()?);
        ns += frac.parse::<u128>().ok()? * unit_ns / scale;
    }
    Some(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_go_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration(""), None);
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("5d"), None);
    }

    #[test]
    fn refuses_what_overflows_go_s_int64_nanoseconds() {
        assert_eq!(
            parse_go_duration("9223372036854775807ns"),
            Some(MAX_GO_DURATION)
        );
        assert_eq!(parse_go_duration("9223372036854775808ns"), None);
        assert_eq!(parse_go_duration("999999999999h"), None);
        assert_eq!(
            parse_go_duration("2562047h"),
            Some(Duration::from_secs(2_562_047 * 3600))
        );
        assert_eq!(parse_go_duration("2562048h"), None);
        assert_eq!(parse_go_duration("1e400s"), None);
        assert_eq!(parse_go_duration("1..5s"), None);
        assert_eq!(parse_go_duration(".5s"), Some(Duration::from_millis(500)));
    }
}
