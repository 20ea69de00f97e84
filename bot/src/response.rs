//! The staff's response time to a ticket, defined once for `/ticket-stats` and `/ticket-list`:
//! from its opening to the first staff message, counted within the guild's support hours when
//! it has them (all the time without). While staff have not written yet, the same clock is
//! still running: how long the owner has been waiting so far. Also how durations read for
//! people, in both commands. Pure: the caller passes the hours and "now" (the bot's
//! [`crate::Clock`]).

use std::time::Duration;

use serenity::all::Timestamp;

use crate::{hours::Schedule, registry::TicketEntry};

/// Where a ticket stands with the staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// Staff first wrote this long after the opening.
    First(Duration),
    /// Staff have not written; the owner has waited this long so far.
    Waiting(Duration),
}

impl Response {
    /// Where `ticket` stands at `now` (Unix seconds), counted within `hours` when given. A
    /// closed ticket staff never answered waits for nobody: `None`.
    pub fn of(ticket: &TicketEntry, hours: Option<Schedule>, now: i64) -> Option<Self> {
        if let Some(first) = first_response(ticket, hours) {
            return Some(Self::First(first));
        }
        let now = Timestamp::from_unix_timestamp(now).ok()?;
        ticket
            .is_open()
            .then(|| Self::Waiting(counted(hours, &ticket.opened_at, &now)))
    }

    /// "first response 25 min 0 s", "waiting 2 h 10 min", followed by "(within support
    /// hours)" when only the hours counted.
    pub fn describe(self, within_hours: bool) -> String {
        let text = match self {
            Self::First(took) => format!("first response {}", human(took)),
            Self::Waiting(so_far) => format!("waiting {}", human(so_far)),
        };
        if within_hours {
            format!("{text} (within support hours)")
        } else {
            text
        }
    }
}

/// The time from `ticket`'s opening to its first staff message, within `hours` when given;
/// `None` while staff have not written.
pub fn first_response(ticket: &TicketEntry, hours: Option<Schedule>) -> Option<Duration> {
    let replied = ticket.staff_replied_at.as_ref()?;
    Some(counted(hours, &ticket.opened_at, replied))
}

/// The time from `from` to `to` that counts: the open time of `hours` in between, or all of
/// it without hours.
fn counted(hours: Option<Schedule>, from: &Timestamp, to: &Timestamp) -> Duration {
    match hours {
        Some(hours) => Duration::from_secs(
            u64::try_from(hours.open_seconds(from.unix_timestamp(), to.unix_timestamp()))
                .unwrap_or(0),
        ),
        None => between(from, to),
    }
}

/// From `from` to `to` (zero when `to` is earlier: clocks of different writers).
pub fn between(from: &Timestamp, to: &Timestamp) -> Duration {
    let nanos = to.unix_timestamp_nanos() - from.unix_timestamp_nanos();
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// A duration for people: "42 s", "3 min 5 s", "2 h 10 min", "3 d 4 h".
pub fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (days, hours, minutes, seconds) =
        (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    match (days, hours, minutes) {
        (0, 0, 0) if secs == 0 => format!("{} ms", duration.as_millis()),
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, _) => format!("{minutes} min {seconds} s"),
        (0, _, _) => format!("{hours} h {minutes} min"),
        _ => format!("{days} d {hours} h"),
    }
}

#[cfg(test)]
mod tests {
    use serenity::all::{GuildId, UserId};

    use super::*;
    use crate::{clock::Clock, hours::SupportHours, registry::TicketStatus};

    /// Monday 2026-12-14 09:00 in Tokyo (00:00 UTC).
    const MONDAY_TOKYO_OPENING: i64 = 1_797_206_400;
    /// Sunday 2026-12-13 23:30 UTC: half an hour before it.
    const SUNDAY_NIGHT_UTC: i64 = MONDAY_TOKYO_OPENING - 1_800;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_timestamp(secs).unwrap()
    }

    fn tokyo_office() -> Option<Schedule> {
        SupportHours::parse("Asia/Tokyo", "mon-fri", "09:00", "17:00")
            .unwrap()
            .schedule()
    }

    /// A ticket opened on Sunday night UTC, before the office in Tokyo opens.
    fn ticket() -> TicketEntry {
        TicketEntry::opened(GuildId::new(1), UserId::new(2), at(SUNDAY_NIGHT_UTC))
    }

    #[test]
    fn the_first_response_counts_only_the_support_hours_when_the_guild_has_them() {
        let mut answered = ticket();
        // 55 minutes after the opening, 25 after the office opened.
        answered.staff_replied_at = Some(at(SUNDAY_NIGHT_UTC + 55 * 60));
        // A clock an hour later changes nothing: the response is over.
        let now = Clock::starting_at(SUNDAY_NIGHT_UTC + 3_600).now();
        let within = Response::of(&answered, tokyo_office(), now).unwrap();
        assert_eq!(within, Response::First(Duration::from_secs(25 * 60)));
        assert_eq!(
            within.describe(true),
            "first response 25 min 0 s (within support hours)"
        );
        let wall = Response::of(&answered, None, now).unwrap();
        assert_eq!(wall.describe(false), "first response 55 min 0 s");
        assert_eq!(
            first_response(&answered, tokyo_office()),
            Some(Duration::from_secs(25 * 60)),
            "the same figure /ticket-stats takes"
        );
    }

    #[test]
    fn an_unanswered_open_ticket_shows_how_long_its_owner_has_waited_in_hours() {
        let waiting = ticket();
        // Two and a half hours after the opening: two of them in the office's hours. The
        // clock runs on from there, so only the minutes are sure.
        let now = Clock::starting_at(MONDAY_TOKYO_OPENING + 2 * 3_600).now();
        let Some(Response::Waiting(within)) = Response::of(&waiting, tokyo_office(), now) else {
            panic!("waiting");
        };
        assert_eq!(within.as_secs() / 60, 120);
        assert_eq!(
            Response::Waiting(within).describe(true),
            "waiting 2 h 0 min (within support hours)"
        );
        let Some(Response::Waiting(wall)) = Response::of(&waiting, None, now) else {
            panic!("waiting");
        };
        assert_eq!(wall.as_secs() / 60, 150);
        assert_eq!(
            Response::Waiting(wall).describe(false),
            "waiting 2 h 30 min"
        );

        // Before the office opens, the owner has not waited for anyone yet.
        let early = Clock::starting_at(SUNDAY_NIGHT_UTC + 600).now();
        assert_eq!(
            Response::of(&waiting, tokyo_office(), early),
            Some(Response::Waiting(Duration::ZERO))
        );
    }

    #[test]
    fn a_closed_ticket_nobody_answered_waits_for_nobody() {
        let mut closed = ticket();
        closed.status = TicketStatus::Deleted;
        assert_eq!(Response::of(&closed, None, MONDAY_TOKYO_OPENING), None);
        closed.staff_replied_at = Some(at(SUNDAY_NIGHT_UTC + 60));
        assert_eq!(
            Response::of(&closed, None, MONDAY_TOKYO_OPENING),
            Some(Response::First(Duration::from_secs(60)))
        );
    }
}
