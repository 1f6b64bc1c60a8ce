//! Instants and local days.
//!
//! Every instant is kept as whole milliseconds since the Unix epoch in UTC ([`Timestamp`]);
//! time zones are applied only to cut a report window ([`Window`]) and to print a row.
//! Event timestamps are parsed by a fixed-format RFC 3339 parser because the reducer parses
//! one per event and chrono's general parser costs more than the rest of the record.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;

use crate::diagnostic::{closest, did_you_mean};

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// Why a timestamp string was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimestampError(&'static str);

impl Timestamp {
    /// Parses RFC 3339 (`2026-11-03T13:00:00.125Z`, 0–9 fractional digits, `Z` or a numeric
    /// offset). Digits beyond the millisecond are truncated, never rounded.
    pub fn parse_rfc3339(s: &str) -> Result<Timestamp, TimestampError> {
        let b = s.as_bytes();
        if b.len() < 20 {
            return Err(TimestampError("too short for an RFC 3339 timestamp"));
        }
        let year = digits(b, 0, 4).ok_or(TimestampError("year is not four digits"))?;
        expect(b, 4, b'-')?;
        let month = digits(b, 5, 2).ok_or(TimestampError("month is not two digits"))?;
        expect(b, 7, b'-')?;
        let day = digits(b, 8, 2).ok_or(TimestampError("day is not two digits"))?;
        if !matches!(b[10], b'T' | b't' | b' ') {
            return Err(TimestampError("expected `T` between date and time"));
        }
        let hour = digits(b, 11, 2).ok_or(TimestampError("hour is not two digits"))?;
        expect(b, 13, b':')?;
        let minute = digits(b, 14, 2).ok_or(TimestampError("minute is not two digits"))?;
        expect(b, 16, b':')?;
        let second = digits(b, 17, 2).ok_or(TimestampError("second is not two digits"))?;
        if !(1..=12).contains(&month) {
            return Err(TimestampError("month out of range"));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(TimestampError("day out of range"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(TimestampError("time of day out of range"));
        }

        let mut i = 19;
        let mut millis = 0i64;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 3 {
                    millis = millis * 10 + i64::from(b[i] - b'0');
                }
                i += 1;
            }
            let n = i - start;
            if n == 0 || n > 9 {
                return Err(TimestampError(
                    "fraction of a second must have 1 to 9 digits",
                ));
            }
            for _ in n..3 {
                millis *= 10;
            }
        }

        let offset_secs = match b.get(i) {
            Some(b'Z' | b'z') if i + 1 == b.len() => 0,
            Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() => {
                let oh = digits(b, i + 1, 2).ok_or(TimestampError("bad UTC offset"))?;
                expect(b, i + 3, b':')?;
                let om = digits(b, i + 4, 2).ok_or(TimestampError("bad UTC offset"))?;
                if oh > 23 || om > 59 {
                    return Err(TimestampError("UTC offset out of range"));
                }
                let secs = i64::from(oh * 3600 + om * 60);
                if sign == b'+' { secs } else { -secs }
            }
            _ => {
                return Err(TimestampError(
                    "expected `Z` or a UTC offset such as `+00:00`",
                ));
            }
        };

        let days = days_from_civil(i64::from(year), month, day);
        let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_secs;
        Ok(Timestamp(secs * 1000 + millis))
    }

    /// This instant as a chrono time in `tz`.
    pub fn in_zone(self, tz: Tz) -> DateTime<Tz> {
        // Any i64 of milliseconds past ±262,000 years is out of chrono's range; such an
        // instant cannot come from a parsed timestamp, so the epoch stands in for it.
        DateTime::from_timestamp_millis(self.0)
            .unwrap_or(DateTime::UNIX_EPOCH)
            .with_timezone(&tz)
    }

    /// ISO 8601 in `tz`, three fractional digits and a numeric offset
    /// (`2026-11-03T08:00:00.000-05:00`, never `Z`).
    pub fn format_local(self, tz: Tz) -> String {
        use chrono::{Datelike, Offset, Timelike};
        let t = self.in_zone(tz);
        let offset = t.offset().fix().local_minus_utc();
        let local = t.naive_local();
        // Every report row prints two of these: written digit by digit rather than through
        // chrono's format string, which costs more than the rest of the row. Years outside
        // four digits and offsets with seconds (local mean time before 1900) go to chrono,
        // which pads and rounds them its own way.
        if !(1000..=9999).contains(&local.year()) || offset % 60 != 0 {
            return t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string();
        }
        let mut b = *b"0000-00-00T00:00:00.000+00:00";
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, local.year() as u32);
        put(5, 2, local.month());
        put(8, 2, local.day());
        put(11, 2, local.hour());
        put(14, 2, local.minute());
        put(17, 2, local.second());
        put(20, 3, local.nanosecond() / 1_000_000);
        let minutes = offset.unsigned_abs() / 60;
        put(24, 2, minutes / 60);
        put(27, 2, minutes % 60);
        if offset < 0 {
            b[23] = b'-';
        }
        b.iter().map(|&c| char::from(c)).collect()
    }
}

impl Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.sssZ`, as Connect writes `EventTimestamp`.
    pub fn to_rfc3339(self) -> String {
        match chrono::DateTime::<chrono::Utc>::from_timestamp_millis(self.0) {
            Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            None => self.0.to_string(),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format_local(Tz::UTC))
    }
}

fn expect(b: &[u8], i: usize, c: u8) -> Result<(), TimestampError> {
    if b.get(i) == Some(&c) {
        Ok(())
    } else {
        Err(TimestampError(
            "not an RFC 3339 timestamp (YYYY-MM-DDTHH:MM:SS.sssZ)",
        ))
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let mut v = 0u32;
    for &c in b.get(at..at + n)? {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The report window of one local date in one zone: `[D 00:00, D+1 00:00)`, 23, 24 or
/// 25 hours long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub date: NaiveDate,
    pub tz: Tz,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Window {
    /// The local day `date` in `tz`.
    pub fn local_day(date: NaiveDate, tz: Tz) -> Option<Window> {
        let next = date.succ_opt()?;
        let start = local_midnight(date, tz)?;
        let end = local_midnight(next, tz)?;
        Some(Window {
            date,
            tz,
            start,
            end,
        })
    }

    /// Length of the window in milliseconds.
    pub fn len_ms(&self) -> i64 {
        self.end.0 - self.start.0
    }
}

/// The first instant of `date` in `tz`. In the autumn fold the earlier midnight counts;
/// where clocks skip midnight (some zones start DST at 00:00) the day starts at the first
/// local time that exists, which is the instant of the transition.
fn local_midnight(date: NaiveDate, tz: Tz) -> Option<Timestamp> {
    let midnight = date.and_time(NaiveTime::MIN);
    if let Some(t) = tz.from_local_datetime(&midnight).earliest() {
        return Some(Timestamp(t.timestamp_millis()));
    }
    // Transitions fall on whole minutes in every zone of the tz database.
    for minute in 1..=24 * 60 {
        let probe = midnight + chrono::Duration::minutes(minute);
        if let Some(t) = tz.from_local_datetime(&probe).earliest() {
            return Some(Timestamp(t.timestamp_millis()));
        }
    }
    None
}

/// An instant that is not one: not a time in any form `explain --at` takes, or a local
/// time the clocks skip.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InstantError {
    #[error(
        "`{0}` is not a time: expected RFC 3339 (`2026-11-02T13:15:00Z`, \
         `2026-11-02T08:15:00-05:00`) or a local time (`2026-11-02T08:15:00`) in --timezone"
    )]
    NotATime(String),
    #[error("`{0}` does not exist in {1} (the clocks skip it)")]
    Skipped(String, &'static str),
}

/// An instant as `explain --at` takes it: RFC 3339 with `Z` or an offset, or a local time
/// (`2026-11-02T08:15:00`, `2026-11-02 08:15`, optionally with a fraction, optionally with
/// an offset such as `2026-11-01 01:30-05:00`) in `tz`. A local time the clocks skip is
/// refused. One they repeat (the hour after a fall-back change) is ambiguous: the earlier
/// of the two is taken, and the note returned with it says so and how to choose the other.
pub fn parse_instant(s: &str, tz: Tz) -> Result<(Timestamp, Option<String>), InstantError> {
    if let Ok(t) = Timestamp::parse_rfc3339(s) {
        return Ok((t, None));
    }
    let with_offset = [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%d %H:%M%:z",
        "%Y-%m-%d %H:%M:%S%.f %:z",
        "%Y-%m-%d %H:%M %:z",
    ];
    if let Some(t) = with_offset
        .iter()
        .find_map(|f| chrono::DateTime::parse_from_str(s, f).ok())
    {
        return Ok((Timestamp(t.timestamp_millis()), None));
    }
    let local = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
    .ok_or_else(|| InstantError::NotATime(s.to_string()))?;
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => Ok((Timestamp(t.timestamp_millis()), None)),
        chrono::LocalResult::Ambiguous(first, second) => {
            let shown = |t: &chrono::DateTime<Tz>| t.format("%Y-%m-%dT%H:%M:%S%:z").to_string();
            let note = format!(
                "`{s}` occurs twice in {} (the clocks go back): the first, {} ({}), is used; for the second write {} ({})",
                tz.name(),
                shown(&first),
                first.format("%Z"),
                shown(&second),
                second.format("%Z"),
            );
            Ok((Timestamp(first.timestamp_millis()), Some(note)))
        }
        chrono::LocalResult::None => Err(InstantError::Skipped(s.to_string(), tz.name())),
    }
}

/// A date that is not `YYYY-MM-DD`, or not a day of the calendar.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("`{0}` is not a date in the form YYYY-MM-DD")]
    Shape(String),
    #[error("`{0}` is not a valid date (YYYY-MM-DD): {1}")]
    Invalid(String, chrono::ParseError),
}

/// `YYYY-MM-DD`, nothing else.
pub fn parse_date(s: &str) -> Result<NaiveDate, DateError> {
    let ok_shape = s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) if ok_shape => Ok(d),
        Ok(_) => Err(DateError::Shape(s.to_string())),
        Err(e) => Err(DateError::Invalid(s.to_string(), e)),
    }
}

/// Abbreviations people write for a region's time, which are either fixed offsets without
/// daylight saving in the IANA database (`EST`, `MST`, `HST`: summer hours would come out an
/// hour off) or no zone at all: refused, with the zone meant.
const ABBREVIATIONS: &[(&str, &str)] = &[
    (
        "EST",
        "a fixed UTC−05:00 with no daylight saving, not Eastern time: use America/New_York (or Etc/GMT+5 for a fixed offset)",
    ),
    (
        "EDT",
        "not a zone: use America/New_York, which has daylight saving time",
    ),
    (
        "CST",
        "not a zone: use America/Chicago (or America/Regina, America/Mexico_City, Asia/Shanghai, whichever is meant)",
    ),
    (
        "CDT",
        "not a zone: use America/Chicago, which has daylight saving time",
    ),
    (
        "MST",
        "a fixed UTC−07:00 with no daylight saving, not Mountain time: use America/Denver (or America/Phoenix for Arizona, which keeps standard time)",
    ),
    (
        "MDT",
        "not a zone: use America/Denver, which has daylight saving time",
    ),
    (
        "PST",
        "not a zone: use America/Los_Angeles, which has daylight saving time",
    ),
    (
        "PDT",
        "not a zone: use America/Los_Angeles, which has daylight saving time",
    ),
    ("AKST", "not a zone: use America/Anchorage"),
    ("HST", "a fixed UTC−10:00: use Pacific/Honolulu"),
    (
        "BST",
        "not a zone: use Europe/London, which has British Summer Time",
    ),
    (
        "IST",
        "not a zone: use Asia/Kolkata, Europe/Dublin or Asia/Jerusalem, whichever is meant",
    ),
    (
        "CEST",
        "not a zone: use the city's zone, such as Europe/Paris or Europe/Berlin",
    ),
    (
        "AEST",
        "not a zone: use Australia/Sydney (or Australia/Brisbane, which keeps standard time)",
    ),
];

/// Legacy names the IANA database keeps as links for old systems, with the canonical
/// zone each stands for: accepted (the rules are the same), with a warning to use the
/// canonical name.
const LEGACY: &[(&str, &str)] = &[
    ("US/Eastern", "America/New_York"),
    ("US/Central", "America/Chicago"),
    ("US/Mountain", "America/Denver"),
    ("US/Pacific", "America/Los_Angeles"),
    ("US/Alaska", "America/Anchorage"),
    ("US/Hawaii", "Pacific/Honolulu"),
    ("US/Arizona", "America/Phoenix"),
    ("US/Aleutian", "America/Adak"),
    ("US/East-Indiana", "America/Indiana/Indianapolis"),
    ("US/Indiana-Starke", "America/Indiana/Knox"),
    ("US/Michigan", "America/Detroit"),
    ("US/Samoa", "Pacific/Pago_Pago"),
    ("Canada/Atlantic", "America/Halifax"),
    ("Canada/Central", "America/Winnipeg"),
    ("Canada/Eastern", "America/Toronto"),
    ("Canada/Mountain", "America/Edmonton"),
    ("Canada/Newfoundland", "America/St_Johns"),
    ("Canada/Pacific", "America/Vancouver"),
    ("Canada/Saskatchewan", "America/Regina"),
    ("Canada/Yukon", "America/Whitehorse"),
    ("Mexico/General", "America/Mexico_City"),
    ("Brazil/East", "America/Sao_Paulo"),
    ("EST5EDT", "America/New_York"),
    ("CST6CDT", "America/Chicago"),
    ("MST7MDT", "America/Denver"),
    ("PST8PDT", "America/Los_Angeles"),
    ("CET", "Europe/Brussels"),
    ("MET", "Europe/Brussels"),
    ("EET", "Europe/Athens"),
    ("WET", "Europe/Lisbon"),
    ("GB", "Europe/London"),
    ("Eire", "Europe/Dublin"),
    ("Europe/Kiev", "Europe/Kyiv"),
    ("Asia/Calcutta", "Asia/Kolkata"),
    ("Asia/Saigon", "Asia/Ho_Chi_Minh"),
    ("Asia/Katmandu", "Asia/Kathmandu"),
    ("Asia/Rangoon", "Asia/Yangon"),
    ("Japan", "Asia/Tokyo"),
    ("Singapore", "Asia/Singapore"),
    ("Hongkong", "Asia/Hong_Kong"),
    ("PRC", "Asia/Shanghai"),
    ("ROK", "Asia/Seoul"),
    ("ROC", "Asia/Taipei"),
    ("Israel", "Asia/Jerusalem"),
    ("Turkey", "Europe/Istanbul"),
    ("Egypt", "Africa/Cairo"),
    ("NZ", "Pacific/Auckland"),
    ("Australia/ACT", "Australia/Sydney"),
    ("Australia/NSW", "Australia/Sydney"),
    ("Australia/Victoria", "Australia/Melbourne"),
    ("Australia/Queensland", "Australia/Brisbane"),
    ("Australia/West", "Australia/Perth"),
    ("Australia/South", "Australia/Adelaide"),
    ("Australia/North", "Australia/Darwin"),
    ("Australia/Tasmania", "Australia/Hobart"),
];

/// The canonical name of a legacy zone name (`US/Eastern` → `America/New_York`).
pub fn canonical_zone(tz: Tz) -> Option<&'static str> {
    LEGACY
        .iter()
        .find(|(legacy, _)| *legacy == tz.name())
        .map(|(_, canonical)| *canonical)
}

/// A time zone name that is not a zone, or an abbreviation that is not the zone meant.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    /// `EST`, `PST`…: what it is, and the zone to use.
    #[error("time zone `{given}` is {why}")]
    Abbreviation {
        given: &'static str,
        why: &'static str,
    },
    #[error(
        "unknown time zone `{given}` (expected an IANA name such as America/New_York){}",
        did_you_mean(&closest(given, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name())))
    )]
    Unknown { given: String },
}

/// An IANA zone name, in any letter case; an abbreviation (`EST`, `PST`) is refused with
/// the zone it usually means.
pub fn parse_timezone(s: &str) -> Result<Tz, ZoneError> {
    if let Some(&(given, why)) = ABBREVIATIONS
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(s.trim()))
    {
        return Err(ZoneError::Abbreviation { given, why });
    }
    if let Ok(tz) = s.parse::<Tz>() {
        return Ok(tz);
    }
    if let Ok(tz) = Tz::from_str_insensitive(s) {
        return Ok(tz);
    }
    Err(ZoneError::Unknown {
        given: s.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_legacy_name_and_its_canonical_zone_are_zones_with_the_same_offsets() {
        for (legacy, canonical) in LEGACY {
            let (Ok(l), Ok(c)) = (legacy.parse::<Tz>(), canonical.parse::<Tz>()) else {
                panic!("{legacy} or {canonical} is not a zone of chrono-tz");
            };
            // Every fortnight of 2020-2030: the same offset.
            for day in (0..3_650).step_by(14) {
                let t = Timestamp(1_577_836_800_000 + day * 86_400_000);
                assert_eq!(
                    t.in_zone(l).format("%z").to_string(),
                    t.in_zone(c).format("%z").to_string(),
                    "{legacy} and {canonical} on day {day}"
                );
            }
        }
        for (abbreviation, _) in ABBREVIATIONS {
            assert!(parse_timezone(abbreviation).is_err());
            assert!(parse_timezone(&abbreviation.to_lowercase()).is_err());
        }
    }

    fn ts(s: &str) -> i64 {
        Timestamp::parse_rfc3339(s).map(|t| t.0).unwrap_or(i64::MIN)
    }

    #[test]
    fn parses_fractions_and_offsets() {
        assert_eq!(ts("1970-01-01T00:00:00Z"), 0);
        assert_eq!(ts("1970-01-01T00:00:01.5Z"), 1500);
        assert_eq!(ts("1970-01-01T00:00:01.123999999Z"), 1123);
        assert_eq!(ts("1970-01-01T01:00:00+01:00"), 0);
        assert_eq!(ts("2019-05-25T18:55:32.022Z"), 1_558_810_532_022);
        assert!(Timestamp::parse_rfc3339("2026-02-29T00:00:00Z").is_err());
        assert!(Timestamp::parse_rfc3339("2026-11-03 08:00").is_err());
        assert!(Timestamp::parse_rfc3339("2026-11-03T08:00:00.Z").is_err());
    }

    proptest::proptest! {
        /// The digit-by-digit `format_local` writes what chrono's format string does, in
        /// any zone, at any instant a timestamp can hold (local mean time included).
        #[test]
        fn format_local_is_chronos_format(ms in -70_000_000_000_000i64..300_000_000_000_000, zone in 0usize..chrono_tz::TZ_VARIANTS.len()) {
            let tz = chrono_tz::TZ_VARIANTS[zone];
            let t = Timestamp(ms);
            let chrono = t.in_zone(tz).format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string();
            proptest::prop_assert_eq!(t.format_local(tz), chrono);
        }
    }

    /// A valid RFC 3339 timestamp from its parts: `frac` digits of fraction (0 for none),
    /// `sep` between date and time, and an offset in minutes (`None` for `Z` or `z`).
    fn rfc3339(
        parts: (u32, u32, u32, u32, u32, u32),
        frac: (usize, u32),
        sep: char,
        offset: Option<i32>,
        lower_z: bool,
    ) -> String {
        let (y, mo, d, h, mi, s) = parts;
        let fraction = match frac.0 {
            0 => String::new(),
            n => format!(".{:09}", frac.1)[..=n].to_string(),
        };
        let zone = match offset {
            None if lower_z => "z".to_string(),
            None => "Z".to_string(),
            Some(m) => format!(
                "{}{:02}:{:02}",
                if m < 0 { '-' } else { '+' },
                m.abs() / 60,
                m.abs() % 60
            ),
        };
        format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{fraction}{zone}")
    }

    /// chrono's reading of `s` in milliseconds, where it is one we accept too: chrono
    /// also takes a leap second (`:60`) and more than nine fraction digits, which
    /// agent-audit refuses (Connect writes neither).
    fn chrono_ms(s: &str) -> Option<i64> {
        let leap_or_long = s.get(17..19) == Some("60")
            || s.split(['.', 'Z', 'z', '+', '-'])
                .any(|p| p.len() > 9 && p.bytes().all(|b| b.is_ascii_digit()));
        if leap_or_long {
            return None;
        }
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis())
    }

    proptest::proptest! {
        /// Every valid timestamp (any date of years 0000-9999, 0-9 fraction digits, `T`,
        /// `t` or a space, `Z`, `z` or an offset) reads as the instant chrono reads.
        #[test]
        fn the_rfc3339_parser_agrees_with_chrono(
            y in 0u32..10_000, mo in 1u32..=12, d in 1u32..=31, h in 0u32..24, mi in 0u32..60, s in 0u32..60,
            frac in (0usize..=9, 0u32..1_000_000_000),
            sep in proptest::sample::select(vec!['T', 't', ' ']),
            offset in proptest::option::of(-1439i32..=1439),
            lower_z: bool,
        ) {
            let d = d.min(days_in_month(y, mo));
            let text = rfc3339((y, mo, d, h, mi, s), frac, sep, offset, lower_z);
            let ours = Timestamp::parse_rfc3339(&text).map(|t| t.0).ok();
            proptest::prop_assert!(ours.is_some(), "refused {text}");
            proptest::prop_assert_eq!(ours, chrono_ms(&text), "{}", text);
        }

        /// A valid timestamp with one byte replaced, removed or added: what we accept,
        /// chrono accepts as the same instant, and what chrono accepts, we accept.
        #[test]
        fn a_mutated_timestamp_is_read_as_chrono_reads_it_or_refused_by_both(
            y in 1900u32..2100, mo in 1u32..=12, d in 1u32..=28, h in 0u32..24, mi in 0u32..60, s in 0u32..60,
            frac in (0usize..=9, 0u32..1_000_000_000),
            offset in proptest::option::of(-1439i32..=1439),
            at in 0usize..40, byte in proptest::sample::select(b"0123456789+-:.TtZz Ox".to_vec()), how in 0u8..3,
        ) {
            let mut bytes = rfc3339((y, mo, d, h, mi, s), frac, 'T', offset, false).into_bytes();
            let at = at % (bytes.len() + 1);
            match how {
                0 if at < bytes.len() => bytes[at] = byte,
                1 if at < bytes.len() => { bytes.remove(at); }
                _ => bytes.insert(at, byte),
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let ours = Timestamp::parse_rfc3339(&text).map(|t| t.0).ok();
            proptest::prop_assert_eq!(ours, chrono_ms(&text), "{}", text);
        }
    }

    #[test]
    fn dst_days_are_23_and_25_hours() {
        let ny: Tz = "America/New_York".parse().unwrap_or(Tz::UTC);
        let spring = Window::local_day(NaiveDate::from_ymd_opt(2026, 3, 8).unwrap_or_default(), ny);
        let autumn =
            Window::local_day(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default(), ny);
        assert_eq!(spring.map(|w| w.len_ms()), Some(23 * 3_600_000));
        assert_eq!(autumn.map(|w| w.len_ms()), Some(25 * 3_600_000));
    }

    #[test]
    fn a_day_that_skips_midnight_starts_at_the_transition() {
        // Chile (America/Santiago) starts DST at 00:00 local, jumping to 01:00.
        let santiago: Tz = "America/Santiago".parse().unwrap_or(Tz::UTC);
        let date = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap_or_default();
        let w = Window::local_day(date, santiago);
        assert_eq!(w.map(|w| w.len_ms()), Some(23 * 3_600_000));
        assert_eq!(
            w.map(|w| w.start.format_local(santiago)),
            Some("2026-09-06T01:00:00.000-03:00".to_string())
        );
    }
}
