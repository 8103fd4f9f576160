//! ASFF timestamps: RFC 3339 strings such as `2020-03-22T13:22:13.933Z` or
//! `2020-03-22T13:22:13+05:30`. They are kept verbatim in the document and compared as instants.
//!
//! Accepted form (the pattern AWS publishes for Security Hub date filters):
//! `YYYY-MM-DDTHH:MM:SS[.fraction up to 9 digits](Z|±HH[[:]MM])`, with `23:59:60` allowed as a leap second.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Microseconds since the Unix epoch, the unit every backend stores and compares.
pub type Micros = i64;

pub const MICROS_PER_DAY: Micros = 86_400_000_000;

/// Parses an ASFF timestamp into microseconds since the Unix epoch, or `None` when it is not one.
pub fn parse_timestamp(s: &str) -> Option<Micros> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let year = digits(b, 0, 4)? as i32;
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    expect(b, 10, b'T')?;
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b':')?;
    let minute = digits(b, 14, 2)?;
    expect(b, 16, b':')?;
    let mut second = digits(b, 17, 2)?;
    let mut pos = 19;
    let mut micros: u32 = 0;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        let n = pos - start;
        if n == 0 || n > 9 {
            return None;
        }
        for (i, d) in b[start..pos].iter().take(6).enumerate() {
            micros += u32::from(d - b'0') * 10u32.pow(5 - i as u32);
        }
    }
    let offset_seconds: i32 = match b.get(pos) {
        Some(b'Z') if pos + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) => {
            let rest = &b[pos + 1..];
            let (h, m) = match rest.len() {
                2 => (digits(rest, 0, 2)?, 0),
                4 => (digits(rest, 0, 2)?, digits(rest, 2, 2)?),
                5 if rest[2] == b':' => (digits(rest, 0, 2)?, digits(rest, 3, 2)?),
                _ => return None,
            };
            if h > 18 || m > 59 || (h == 18 && m > 0) {
                return None;
            }
            let total = (h * 3600 + m * 60) as i32;
            if *sign == b'-' { -total } else { total }
        }
        _ => return None,
    };
    let leap = hour == 23 && minute == 59 && second == 60;
    if leap {
        second = 59;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let date = Date::from_calendar_date(year, Month::try_from(month as u8).ok()?, day as u8).ok()?;
    let time = Time::from_hms_micro(hour as u8, minute as u8, second as u8, micros).ok()?;
    let offset = UtcOffset::from_whole_seconds(offset_seconds).ok()?;
    let instant = PrimitiveDateTime::new(date, time).assume_offset(offset);
    let nanos = instant.unix_timestamp_nanos() / 1000;
    Micros::try_from(nanos).ok()
}

/// Formats an instant the way the service writes the timestamps that it fills in (`ProcessedAt`,
/// `Note.UpdatedAt`): UTC, millisecond precision, `Z` suffix.
pub fn format_timestamp(micros: Micros) -> String {
    let nanos = i128::from(micros) * 1000;
    match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        ),
        Err(_) => "1970-01-01T00:00:00.000Z".to_owned(),
    }
}

/// The current time in microseconds since the epoch.
pub fn now_micros() -> Micros {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000;
    Micros::try_from(nanos).unwrap_or(Micros::MAX)
}

fn digits(b: &[u8], start: usize, len: usize) -> Option<u32> {
    let slice = b.get(start..start + len)?;
    let mut n = 0u32;
    for d in slice {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(d - b'0');
    }
    Some(n)
}

fn expect(b: &[u8], pos: usize, c: u8) -> Option<()> {
    (b.get(pos) == Some(&c)).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_forms() {
        let z = parse_timestamp("2020-03-22T13:22:13Z").expect("plain Z");
        assert_eq!(z, 1_584_883_333_000_000);
        assert_eq!(parse_timestamp("2020-03-22T13:22:13.933Z"), Some(z + 933_000));
        assert_eq!(parse_timestamp("2020-03-22T13:22:13.123456789Z"), Some(z + 123_456));
        assert_eq!(parse_timestamp("2020-03-22T14:22:13+01:00"), Some(z));
        assert_eq!(parse_timestamp("2020-03-22T14:22:13+0100"), Some(z));
        assert_eq!(parse_timestamp("2020-03-22T14:22:13+01"), Some(z));
        assert_eq!(parse_timestamp("2020-03-22T12:22:13-01:00"), Some(z));
        assert!(parse_timestamp("2016-12-31T23:59:60Z").is_some());
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for bad in [
            "",
            "2020-03-22",
            "2020-03-22 13:22:13Z",
            "2020-03-22T13:22:13",
            "2020-13-22T13:22:13Z",
            "2020-02-30T13:22:13Z",
            "2020-03-22T24:00:00Z",
            "2020-03-22T13:22:13.Z",
            "2020-03-22T13:22:13.1234567890Z",
            "2020-03-22T13:22:13+19:00",
            "2020-03-22T13:22:13Zjunk",
            "2020-03-22T13:22:61Z",
            "２020-03-22T13:22:13Z",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        let t = parse_timestamp("2024-01-02T03:04:05.678Z").expect("valid");
        assert_eq!(format_timestamp(t), "2024-01-02T03:04:05.678Z");
        assert_eq!(parse_timestamp(&format_timestamp(t)), Some(t));
    }
}
