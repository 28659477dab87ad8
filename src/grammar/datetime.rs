//! Dates and times (RFC 3501 §9): INTERNALDATE's date-time.

use nom::Err;

use super::core::{byte, peek, sp};
use super::diag::{fail_at, PResult};

/// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DateTime {
    /// 1..=31
    pub day: u8,
    /// 1..=12
    pub month: u8,
    pub year: u16,
    /// 0..=23
    pub hour: u8,
    /// 0..=59
    pub minute: u8,
    /// 0..=60 (leap second)
    pub second: u8,
    /// Minutes east of Greenwich: "+0130" is 90, "-0700" is -420.
    pub zone_minutes: i16,
}

/// n DIGIT as a number; Incomplete if the input ends inside.
fn n_digits<'a>(
    i: &'a [u8],
    n: usize,
    rule: &'static str,
    expected: &'static str,
) -> PResult<'a, u32> {
    let mut v = 0u32;
    for k in 0..n {
        match i.get(k) {
            None => return Err(Err::Incomplete(nom::Needed::new(n - k))),
            Some(d) if d.is_ascii_digit() => v = v * 10 + u32::from(d - b'0'),
            Some(_) => return fail_at(&i[k..], rule, expected),
        }
    }
    Ok((&i[n..], v))
}

/// date-day-fixed = (SP DIGIT) / 2DIGIT
pub(crate) fn date_day_fixed(i: &[u8]) -> PResult<'_, u8> {
    const R: &str = "date-day-fixed";
    // Any failure is reported at the start of the day: "8-Mar" lacks the
    // leading SP or zero, which is the field's fault, not the "-" after it.
    let parsed = if peek(i)? == b' ' {
        n_digits(&i[1..], 1, R, "digit")
    } else {
        n_digits(i, 2, R, "2DIGIT")
    };
    let (rest, d) = match parsed {
        Err(Err::Error(_)) => return fail_at(i, R, "(SP DIGIT) / 2DIGIT"),
        other => other?,
    };
    if !(1..=31).contains(&d) {
        return fail_at(i, R, "day 01-31");
    }
    Ok((rest, d as u8))
}

/// date-month = "Jan" / "Feb" / "Mar" / "Apr" / "May" / "Jun" /
///              "Jul" / "Aug" / "Sep" / "Oct" / "Nov" / "Dec"
pub(crate) fn date_month(i: &[u8]) -> PResult<'_, u8> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    if i.len() < 3 {
        return Err(Err::Incomplete(nom::Needed::new(3 - i.len())));
    }
    let m = i[..3].to_ascii_lowercase();
    match MONTHS.iter().position(|x| x[..] == m[..]) {
        Some(p) => Ok((&i[3..], p as u8 + 1)),
        None => fail_at(i, "date-month", "month name (\"Jan\" .. \"Dec\")"),
    }
}

/// date-year = 4DIGIT
pub(crate) fn date_year(i: &[u8]) -> PResult<'_, u16> {
    let (rest, y) = n_digits(i, 4, "date-year", "4DIGIT")?;
    Ok((rest, y as u16))
}

/// time = 2DIGIT ":" 2DIGIT ":" 2DIGIT
pub(crate) fn time(i: &[u8]) -> PResult<'_, (u8, u8, u8)> {
    const R: &str = "time";
    let (r, h) = n_digits(i, 2, R, "2DIGIT")?;
    if h > 23 {
        return fail_at(i, R, "hour 00-23");
    }
    let (r, ()) = byte(r, b':', R, "\":\"")?;
    let at = r;
    let (r, m) = n_digits(r, 2, R, "2DIGIT")?;
    if m > 59 {
        return fail_at(at, R, "minute 00-59");
    }
    let (r, ()) = byte(r, b':', R, "\":\"")?;
    let at = r;
    let (r, s) = n_digits(r, 2, R, "2DIGIT")?;
    if s > 60 {
        return fail_at(at, R, "second 00-60");
    }
    Ok((r, (h as u8, m as u8, s as u8)))
}

/// zone = ("+" / "-") 4DIGIT
pub(crate) fn zone(i: &[u8]) -> PResult<'_, i16> {
    const R: &str = "zone";
    let sign = match peek(i)? {
        b'+' => 1,
        b'-' => -1,
        _ => return fail_at(i, R, "\"+\" or \"-\""),
    };
    let (r, hhmm) = n_digits(&i[1..], 4, R, "4DIGIT")?;
    if hhmm % 100 > 59 {
        return fail_at(&i[3..], R, "zone minutes 00-59");
    }
    Ok((r, sign * ((hhmm / 100 * 60 + hhmm % 100) as i16)))
}

/// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
pub(crate) fn date_time(i: &[u8]) -> PResult<'_, DateTime> {
    const R: &str = "date-time";
    let (i, ()) = byte(i, b'"', R, "DQUOTE")?;
    let (i, day) = date_day_fixed(i)?;
    let (i, ()) = byte(i, b'-', R, "\"-\"")?;
    let (i, month) = date_month(i)?;
    let (i, ()) = byte(i, b'-', R, "\"-\"")?;
    let (i, year) = date_year(i)?;
    let (i, ()) = sp(i, R)?;
    let (i, (hour, minute, second)) = time(i)?;
    let (i, ()) = sp(i, R)?;
    let (i, zone_minutes) = zone(i)?;
    let (i, ()) = byte(i, b'"', R, "DQUOTE")?;
    Ok((
        i,
        DateTime {
            day,
            month,
            year,
            hour,
            minute,
            second,
            zone_minutes,
        },
    ))
}

#[cfg(test)]
mod tests {
    // Known-answer tables are (input, value, remainder) tuples.
    #![allow(clippy::type_complexity)]

    use super::*;

    fn dt(
        day: u8,
        month: u8,
        year: u16,
        hour: u8,
        minute: u8,
        second: u8,
        zone_minutes: i16,
    ) -> DateTime {
        DateTime {
            day,
            month,
            year,
            hour,
            minute,
            second,
            zone_minutes,
        }
    }

    #[test]
    fn known_answers() {
        let cases: &[(&[u8], DateTime, &[u8])] = &[
            (
                b"\"17-Jul-1996 02:44:25 -0700\" ",
                dt(17, 7, 1996, 2, 44, 25, -420),
                b" ",
            ),
            (
                b"\" 8-mar-2023 23:59:60 +0530\")",
                dt(8, 3, 2023, 23, 59, 60, 330),
                b")",
            ),
            (
                b"\"08-DEC-2023 00:00:00 +0000\"",
                dt(8, 12, 2023, 0, 0, 0, 0),
                b"",
            ),
        ];
        for (input, want, rest) in cases {
            let (r, v) = date_time(input).unwrap();
            assert_eq!(v, *want);
            assert_eq!(r, *rest);
        }
    }

    /// (input, offset of the offending byte, rule)
    #[test]
    fn deviations() {
        let cases: &[(&[u8], usize, &str)] = &[
            (b"\"8-Mar-2023 10:00:00 +0000\"", 1, "date-day-fixed"),
            (b"\"00-Jan-0000 00:00:00 +0000\"", 1, "date-day-fixed"),
            (b"\"2018-11-29 10:40:44\"", 3, "date-time"),
            (b"\"29-Foo-2018 10:40:44 +0000\"", 4, "date-month"),
            (b"\"17-Jul-1996 02:44:25\"", 21, "date-time"),
            (b"\"17-Jul-1996 24:44:25 +0000\"", 13, "time"),
            (b"\"17-Jul-1996 02:44:25 0700\"", 22, "zone"),
        ];
        for (input, offset, rule) in cases {
            match date_time(input) {
                Err(Err::Error(e)) => {
                    assert_eq!(
                        input.len() - e.rest.len(),
                        *offset,
                        "{:?}",
                        String::from_utf8_lossy(input)
                    );
                    assert_eq!(e.rule, *rule, "{:?}", String::from_utf8_lossy(input));
                }
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
            }
        }
        assert!(matches!(date_time(b"\"17-Jul-19"), Err(Err::Incomplete(_))));
    }
}
