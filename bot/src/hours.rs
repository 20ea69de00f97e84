//! Support hours: the days and the time of day staff are there, in the guild's own time zone
//! (an IANA name such as `Europe/Paris`, so summer time is the zone's business). Stored as
//! written ([`SupportHours`], readable with `nats kv get`), compiled into a [`Schedule`] to
//! ask it things: is it open at a moment, when does it open next (the welcome message says
//! when staff are back), and how much open time lies between two moments (response times
//! count only the hours staff are there). Pure: the caller passes the time.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The days' names, Monday first, as stored and as typed.
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Support hours as stored in the guild's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportHours {
    /// The IANA time zone, e.g. `Europe/Paris`.
    pub timezone: String,
    /// The open days, by name (`mon` ... `sun`), Monday first.
    pub days: Vec<String>,
    /// When the day's hours start, `HH:MM` local time.
    pub from: String,
    /// When they end, `HH:MM` local time (after `from`).
    pub to: String,
}

/// Why hours were refused, worded for the person who typed them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    /// Not an IANA time zone name.
    #[error("`{0}` is not a time zone name: use one like `Europe/Paris` or `America/New_York`.")]
    TimeZone(String),
    /// The days do not read.
    #[error("`{0}` are not days: write them like `mon-fri`, `sat,sun` or `mon-wed,fri`.")]
    Days(String),
    /// A time does not read.
    #[error("`{0}` is not a time: write it like `09:00` or `17:30`.")]
    Time(String),
    /// The end is not after the start.
    #[error("The hours must end after they start on the same day (from `{0}` to `{1}`).")]
    Order(String, String),
}

/// Support hours ready to be asked: the zone, the open days and the day's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    tz: Tz,
    /// Open on day `n` (Monday 0).
    days: [bool; 7],
    from: NaiveTime,
    to: NaiveTime,
}

impl SupportHours {
    /// Hours from what a person typed, checked and written the one way they are stored.
    pub fn parse(timezone: &str, days: &str, from: &str, to: &str) -> Result<Self, HoursError> {
        let tz: Tz = timezone
            .trim()
            .parse()
            .map_err(|_| HoursError::TimeZone(timezone.trim().to_owned()))?;
        let open = parse_days(days)?;
        let (start, end) = (parse_time(from)?, parse_time(to)?);
        if end <= start {
            return Err(HoursError::Order(
                from.trim().to_owned(),
                to.trim().to_owned(),
            ));
        }
        Ok(Self {
            timezone: tz.name().to_owned(),
            days: DAY_NAMES
                .iter()
                .zip(open)
                .filter(|(_, on)| *on)
                .map(|(name, _)| (*name).to_owned())
                .collect(),
            from: start.format("%H:%M").to_string(),
            to: end.format("%H:%M").to_string(),
        })
    }

    /// The schedule to ask, `None` when the stored hours no longer read (then the bot
    /// behaves as without hours).
    pub fn schedule(&self) -> Option<Schedule> {
        let tz = self.timezone.parse().ok()?;
        let mut days = [false; 7];
        for day in &self.days {
            days[DAY_NAMES.iter().position(|d| d == day)?] = true;
        }
        let (from, to) = (parse_time(&self.from).ok()?, parse_time(&self.to).ok()?);
        Some(Schedule { tz, days, from, to })
    }

    /// The hours for people: "mon, tue, wed, thu, fri 09:00–17:00 (Europe/Paris)".
    pub fn describe(&self) -> String {
        format!(
            "{} {}–{} ({})",
            self.days.join(", "),
            self.from,
            self.to,
            self.timezone
        )
    }
}

impl Schedule {
    /// Whether staff are there at `at` (seconds since the Unix epoch).
    pub fn is_open(&self, at: i64) -> bool {
        self.windows(at - 2 * 86_400, at + 86_400)
            .any(|(start, end)| start <= at && at < end)
    }

    /// When staff are next there after `at`, `None` when they are there now (or the
    /// schedule has no open day).
    pub fn next_open(&self, at: i64) -> Option<i64> {
        if self.is_open(at) {
            return None;
        }
        self.windows(at, at + 8 * 86_400)
            .map(|(start, _)| start)
            .find(|start| *start > at)
    }

    /// Seconds of open time between `from` and `to` (zero when `to` is not later).
    pub fn open_seconds(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        self.windows(from - 86_400, to + 86_400)
            .map(|(start, end)| (end.min(to) - start.max(from)).max(0))
            .sum()
    }

    /// The open windows `[start, end)` (Unix seconds) of the local days from the day of
    /// `from` to the day of `to`, in order.
    fn windows(&self, from: i64, to: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let first = self.local_date(from);
        let last = self.local_date(to);
        let span = u64::try_from((last - first).num_days()).unwrap_or(0);
        (0..=span)
            .filter_map(move |n| first.checked_add_days(Days::new(n)))
            .filter(|date| self.days[date.weekday().num_days_from_monday() as usize])
            .filter_map(|date| Some((self.instant(date, self.from)?, self.instant(date, self.to)?)))
    }

    fn local_date(&self, at: i64) -> NaiveDate {
        DateTime::<Utc>::from_timestamp(at, 0)
            .unwrap_or_default()
            .with_timezone(&self.tz)
            .date_naive()
    }

    /// The moment `time` on `date` is in the zone; in a summer-time gap, the first moment
    /// after it; in a repeated hour, the first.
    fn instant(&self, date: NaiveDate, time: NaiveTime) -> Option<i64> {
        let local = date.and_time(time);
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                self.tz
                    .from_local_datetime(&(local + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map(|at| at.timestamp())
    }
}

/// `mon-fri`, `sat,sun`, `mon-wed,fri`, `every day`/`all`, in any case.
fn parse_days(text: &str) -> Result<[bool; 7], HoursError> {
    let bad = || HoursError::Days(text.trim().to_owned());
    let lower = text.trim().to_ascii_lowercase();
    if matches!(lower.as_str(), "all" | "every day" | "daily") {
        return Ok([true; 7]);
    }
    let day = |name: &str| -> Result<usize, HoursError> {
        let name = name.trim();
        let short = name.get(..3).ok_or_else(bad)?;
        DAY_NAMES.iter().position(|d| *d == short).ok_or_else(bad)
    };
    let mut days = [false; 7];
    for part in lower.split([',', ' ']).filter(|p| !p.trim().is_empty()) {
        match part.split_once('-') {
            Some((start, end)) => {
                let (start, end) = (day(start)?, day(end)?);
                let mut n = start;
                loop {
                    days[n] = true;
                    if n == end {
                        break;
                    }
                    n = (n + 1) % 7;
                }
            }
            None => days[day(part)?] = true,
        }
    }
    if days.iter().any(|d| *d) {
        Ok(days)
    } else {
        Err(bad())
    }
}

/// `09:00`, `9:00`, `17:30`, `24:00` read as the end of the day is not allowed (use 23:59).
fn parse_time(text: &str) -> Result<NaiveTime, HoursError> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| HoursError::Time(text.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix seconds of a UTC date and time.
    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .timestamp()
    }

    fn paris_office() -> Schedule {
        SupportHours::parse("Europe/Paris", "mon-fri", "09:00", "17:00")
            .unwrap()
            .schedule()
            .unwrap()
    }

    #[test]
    fn hours_are_checked_and_stored_one_way() {
        let hours = SupportHours::parse(" europe/paris ", "Mon-Wed,fri", "9:00", "17:30");
        assert_eq!(
            hours,
            Err(HoursError::TimeZone("europe/paris".into())),
            "IANA names are case-sensitive"
        );
        let hours = SupportHours::parse("Europe/Paris", "Mon-Wed,fri", "9:00", "17:30").unwrap();
        assert_eq!(hours.days, ["mon", "tue", "wed", "fri"]);
        assert_eq!((hours.from.as_str(), hours.to.as_str()), ("09:00", "17:30"));
        assert_eq!(
            hours.describe(),
            "mon, tue, wed, fri 09:00–17:30 (Europe/Paris)"
        );
        let weekend = SupportHours::parse("UTC", "sat,sun", "10:00", "12:00").unwrap();
        assert_eq!(weekend.days, ["sat", "sun"]);
        let wrapping = SupportHours::parse("UTC", "fri-mon", "10:00", "12:00").unwrap();
        assert_eq!(wrapping.days, ["mon", "fri", "sat", "sun"]);
        assert!(matches!(
            SupportHours::parse("Mars/Olympus", "mon", "09:00", "17:00"),
            Err(HoursError::TimeZone(_))
        ));
        assert!(matches!(
            SupportHours::parse("UTC", "someday", "09:00", "17:00"),
            Err(HoursError::Days(_))
        ));
        assert!(matches!(
            SupportHours::parse("UTC", "mon", "nine", "17:00"),
            Err(HoursError::Time(_))
        ));
        assert!(matches!(
            SupportHours::parse("UTC", "mon", "17:00", "09:00"),
            Err(HoursError::Order(..))
        ));
    }

    #[test]
    fn open_and_next_open_follow_the_zone_across_the_utc_day_boundary() {
        // Tokyo is UTC+9: 09:00 Monday there is 00:00 Monday UTC, and Monday 08:00 UTC is
        // 17:00 there, closed.
        let tokyo = SupportHours::parse("Asia/Tokyo", "mon-fri", "09:00", "17:00")
            .unwrap()
            .schedule()
            .unwrap();
        // Sunday 23:30 UTC, 2026-12-06: Monday 08:30 in Tokyo, half an hour before opening.
        let sunday_night = utc(2026, 12, 6, 23, 30);
        assert!(!tokyo.is_open(sunday_night));
        assert_eq!(tokyo.next_open(sunday_night), Some(utc(2026, 12, 7, 0, 0)));
        assert!(tokyo.is_open(utc(2026, 12, 7, 0, 0)));
        assert!(tokyo.is_open(utc(2026, 12, 7, 7, 59)));
        assert!(!tokyo.is_open(utc(2026, 12, 7, 8, 0)));
        // Friday 08:00 UTC is Friday 17:00 in Tokyo: closed until Monday.
        assert_eq!(
            tokyo.next_open(utc(2026, 12, 11, 8, 0)),
            Some(utc(2026, 12, 14, 0, 0))
        );
    }

    #[test]
    fn summer_time_moves_the_hours_in_utc() {
        let paris = paris_office();
        // Winter: Paris is UTC+1, 09:00 is 08:00 UTC; summer: UTC+2, 07:00 UTC.
        assert_eq!(
            paris.next_open(utc(2026, 1, 5, 6, 0)),
            Some(utc(2026, 1, 5, 8, 0))
        );
        assert_eq!(
            paris.next_open(utc(2026, 7, 6, 6, 0)),
            Some(utc(2026, 7, 6, 7, 0))
        );
        assert_eq!(paris.next_open(utc(2026, 7, 6, 7, 30)), None, "open");
    }

    #[test]
    fn open_seconds_count_only_the_hours_staff_are_there() {
        let paris = paris_office();
        // Friday 16:00 Paris (15:00 UTC) to Monday 10:00 Paris (09:00 UTC): 1 h + 1 h.
        let friday = utc(2026, 12, 11, 15, 0);
        let monday = utc(2026, 12, 14, 9, 0);
        assert_eq!(paris.open_seconds(friday, monday), 2 * 3_600);
        // Within the hours, all of it; reversed or empty, nothing.
        assert_eq!(paris.open_seconds(friday, friday + 600), 600);
        assert_eq!(paris.open_seconds(monday, friday), 0);
        // A whole week: five days of eight hours.
        let week = utc(2026, 12, 7, 0, 0);
        assert_eq!(paris.open_seconds(week, week + 7 * 86_400), 5 * 8 * 3_600);
    }
}
