//! `/ticket-stats`'s figures, computed from stored ticket entries alone (so they survive
//! restarts): how many tickets were opened and closed, how many closed without a word from
//! staff (the assistant's resolution rate), how often a human was asked for, how the answers
//! were rated, and the median times to the first answer and to the close. Pure: the command
//! reads the entries, [`TicketStats::of`] counts, [`TicketStats::report`] words it.

use std::time::Duration;

use serenity::all::Timestamp;

use crate::registry::TicketEntry;

/// The figures of a guild's tickets opened in a window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketStats {
    /// Tickets opened in the window.
    pub opened: usize,
    /// Of those, closed since (closing, archived or deleted: no longer open).
    pub closed: usize,
    /// Of the closed, those in which no staff member ever wrote.
    pub closed_without_staff: usize,
    /// Tickets in which "Talk to a human" was pressed.
    pub human_requested: usize,
    /// Tickets the assistant answered in at least once.
    pub answered: usize,
    /// Answers rated helpful.
    pub feedback_up: u64,
    /// Answers rated not helpful.
    pub feedback_down: u64,
    /// Median time from opening to the assistant's first answer, over the answered tickets.
    pub median_first_answer: Option<Duration>,
    /// Median time from opening to closing, over the closed tickets.
    pub median_close: Option<Duration>,
}

impl TicketStats {
    /// The figures of `tickets` (one guild's, opened in the window: the registry filters).
    pub fn of<'a>(tickets: impl IntoIterator<Item = &'a TicketEntry>) -> Self {
        let mut stats = Self::default();
        let mut first_answers = Vec::new();
        let mut closes = Vec::new();
        for ticket in tickets {
            stats.opened += 1;
            // Closed for its member from the moment its close began (closing, archived or
            // deleted): the relay no longer answers there, whatever is left of the close.
            if !ticket.is_open() {
                stats.closed += 1;
                if ticket.staff_replied_at.is_none() {
                    stats.closed_without_staff += 1;
                }
                if let Some(closed_at) = &ticket.closed_at {
                    closes.push(between(&ticket.opened_at, closed_at));
                }
            }
            if ticket.human_requested_at.is_some() {
                stats.human_requested += 1;
            }
            if let Some(first) = &ticket.first_answer_at {
                stats.answered += 1;
                first_answers.push(between(&ticket.opened_at, first));
            }
            stats.feedback_up += u64::from(ticket.feedback_up);
            stats.feedback_down += u64::from(ticket.feedback_down);
        }
        stats.median_first_answer = median(&mut first_answers);
        stats.median_close = median(&mut closes);
        stats
    }

    /// The figures as Discord markdown, for tickets opened in the last `days` days.
    pub fn report(&self, days: u16) -> String {
        let plural = if days == 1 { "" } else { "s" };
        let rated = self.feedback_up + self.feedback_down;
        let mut lines = vec![
            format!(
                "**Tickets opened in the last {days} day{plural}:** {}",
                self.opened
            ),
            format!("**Closed:** {}", self.closed),
            format!(
                "**Closed with no staff message** (resolved by the assistant): {}",
                share(self.closed_without_staff as u64, self.closed as u64)
            ),
            format!(
                "**Human requested:** {}",
                share(self.human_requested as u64, self.opened as u64)
            ),
            format!(
                "**Answers rated:** 👍 {} / 👎 {} ({})",
                self.feedback_up,
                self.feedback_down,
                if rated == 0 {
                    "no ratings".to_owned()
                } else {
                    format!("{} helpful", percent(self.feedback_up, rated))
                }
            ),
            format!(
                "**Median time to first answer:** {} ({} answered)",
                self.median_first_answer.map_or("–".to_owned(), human),
                self.answered
            ),
            format!(
                "**Median time to close:** {} ({} closed)",
                self.median_close.map_or("–".to_owned(), human),
                self.closed
            ),
        ];
        if self.opened == 0 {
            lines.truncate(1);
        }
        lines.join("\n")
    }
}

/// From `from` to `to` (zero when `to` is earlier: clocks of different writers).
fn between(from: &Timestamp, to: &Timestamp) -> Duration {
    let nanos = to.unix_timestamp_nanos() - from.unix_timestamp_nanos();
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// The median (the mean of the two middle values for an even count), `None` for no values.
fn median(values: &mut [Duration]) -> Option<Duration> {
    values.sort_unstable();
    let middle = values.len() / 2;
    match values.len() {
        0 => None,
        n if n % 2 == 1 => Some(values[middle]),
        _ => Some((values[middle - 1] + values[middle]) / 2),
    }
}

/// "3 of 4 (75%)", or "0" when there is nothing to share.
fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0".to_owned();
    }
    format!("{part} of {whole} ({})", percent(part, whole))
}

fn percent(part: u64, whole: u64) -> String {
    // Rounded to the nearest whole percent, in integers (no float casts).
    format!("{}%", (part * 200 + whole) / (whole * 2))
}

/// A duration for people: "42 s", "3 min 5 s", "2 h 10 min", "3 d 4 h".
fn human(duration: Duration) -> String {
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
    use crate::registry::TicketStatus;

    const T0: i64 = 1_800_000_000;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_timestamp(T0 + secs).unwrap()
    }

    fn ticket() -> TicketEntry {
        TicketEntry::opened(GuildId::new(1), UserId::new(2), at(0))
    }

    fn closed(mut ticket: TicketEntry, after: i64) -> TicketEntry {
        ticket.status = TicketStatus::Deleted;
        ticket.closed_at = Some(at(after));
        ticket
    }

    fn answered(mut ticket: TicketEntry, after: i64, up: u32, down: u32) -> TicketEntry {
        ticket.first_answer_at = Some(at(after));
        ticket.answers = 1;
        ticket.feedback_up = up;
        ticket.feedback_down = down;
        ticket
    }

    #[test]
    fn every_figure_is_counted_from_the_entries() {
        let mut staffed = closed(answered(ticket(), 4, 0, 1), 3_600);
        staffed.staff_replied_at = Some(at(600));
        let mut escalated = answered(ticket(), 2, 0, 0);
        escalated.human_requested_at = Some(at(30));
        let tickets = [
            closed(answered(ticket(), 2, 2, 0), 60),
            closed(answered(ticket(), 6, 1, 1), 120),
            staffed,
            escalated,
            ticket(),
        ];
        let stats = TicketStats::of(&tickets);
        assert_eq!(
            stats,
            TicketStats {
                opened: 5,
                closed: 3,
                closed_without_staff: 2,
                human_requested: 1,
                answered: 4,
                feedback_up: 3,
                feedback_down: 2,
                // 2, 2, 4, 6 s: the mean of the middle two.
                median_first_answer: Some(Duration::from_secs(3)),
                median_close: Some(Duration::from_secs(120)),
            }
        );
        let report = stats.report(30);
        for line in [
            "**Tickets opened in the last 30 days:** 5",
            "**Closed:** 3",
            "**Closed with no staff message** (resolved by the assistant): 2 of 3 (67%)",
            "**Human requested:** 1 of 5 (20%)",
            "**Answers rated:** 👍 3 / 👎 2 (60% helpful)",
            "**Median time to first answer:** 3 s (4 answered)",
            "**Median time to close:** 2 min 0 s (3 closed)",
        ] {
            assert!(report.lines().any(|l| l == line), "{line:?} in\n{report}");
        }
    }

    #[test]
    fn a_ticket_is_closed_from_the_moment_its_close_began() {
        let statuses = [
            TicketStatus::Closing,
            TicketStatus::Archived,
            TicketStatus::Deleted,
        ];
        let tickets = statuses.map(|status| TicketEntry {
            status,
            ..closed(ticket(), 60)
        });
        let stats = TicketStats::of(&tickets);
        assert_eq!((stats.opened, stats.closed), (3, 3));
        assert_eq!(stats.closed_without_staff, 3);
        assert_eq!(stats.median_close, Some(Duration::from_secs(60)));
    }

    #[test]
    fn no_tickets_is_one_line_and_no_division_by_zero() {
        let stats = TicketStats::of(&[]);
        assert_eq!(stats, TicketStats::default());
        assert_eq!(stats.report(1), "**Tickets opened in the last 1 day:** 0");
        let open_only = TicketStats::of(&[ticket()]);
        let report = open_only.report(7);
        assert!(report.contains("**Closed with no staff message** (resolved by the assistant): 0"));
        assert!(report.contains("(no ratings)"));
        assert!(report.contains("**Median time to close:** – (0 closed)"));
    }

    #[test]
    fn a_reopened_ticket_is_not_closed_and_a_clock_skew_is_zero() {
        let mut reopened = closed(ticket(), 60);
        reopened.status = TicketStatus::Open;
        assert_eq!(TicketStats::of(&[reopened]).closed, 0);
        let skewed = answered(ticket(), -5, 0, 0);
        assert_eq!(
            TicketStats::of(&[skewed]).median_first_answer,
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(Duration::from_millis(350)), "350 ms");
        assert_eq!(human(Duration::from_secs(42)), "42 s");
        assert_eq!(human(Duration::from_secs(185)), "3 min 5 s");
        assert_eq!(human(Duration::from_secs(2 * 3600 + 600)), "2 h 10 min");
        assert_eq!(human(Duration::from_secs(3 * 86_400 + 4 * 3600)), "3 d 4 h");
        assert_eq!(percent(2, 3), "67%");
        assert_eq!(percent(1, 8), "13%");
    }
}
