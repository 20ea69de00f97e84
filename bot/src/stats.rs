//! `/ticket-stats`'s figures, computed from stored ticket entries alone (so they survive
//! restarts): how many tickets were opened and closed, how many closed without a word from
//! staff (the assistant's resolution rate), how often a human was asked for, how the answers
//! were rated, and the median times to the first answer and to the close; and the staff's
//! figures: per staff member the tickets they claimed and closed, their median first response
//! and their average rating, with the guild's rating average and response median (responses
//! counted within the support hours when the guild has them, as [`crate::response`] defines
//! them). Pure: the command reads the entries, [`TicketStats::of`] counts,
//! [`TicketStats::report`] words it.

use std::{collections::HashMap, time::Duration};

use serenity::all::UserId;

use crate::{
    hours::Schedule,
    registry::TicketEntry,
    response::{between, first_response, human},
};

/// At most this many staff members are listed (the busiest first): the report must fit in
/// one Discord message.
const MAX_STAFF_LINES: usize = 15;

/// One staff member's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffFigures {
    /// Who.
    pub user: UserId,
    /// Tickets they have (claimed, or were transferred).
    pub claimed: usize,
    /// Tickets they closed (not their own).
    pub closed: usize,
    /// Median time from opening to their first message, in tickets where they wrote first
    /// for the staff (within the support hours when the guild has them).
    pub median_first_response: Option<Duration>,
    /// Ratings of the tickets they had (claimed, else answered first).
    pub ratings: u32,
    /// The sum of those ratings' stars.
    pub stars: u32,
}

/// How the staff did over the window, from the same entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffStats {
    /// Per staff member, the busiest first.
    pub members: Vec<StaffFigures>,
    /// Tickets the owner rated.
    pub ratings: u32,
    /// The sum of their stars.
    pub stars: u32,
    /// Median time from opening to the first staff message.
    pub median_first_response: Option<Duration>,
    /// Whether response times count the support hours only.
    pub within_hours: bool,
}

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
    /// The staff's figures.
    pub staff: StaffStats,
}

impl TicketStats {
    /// The figures of `tickets` (one guild's, opened in the window: the registry filters),
    /// without hours or a bot to tell apart.
    #[cfg(test)]
    pub fn of<'a>(tickets: impl IntoIterator<Item = &'a TicketEntry> + Clone) -> Self {
        Self::with_staff(tickets, None, None)
    }

    /// [`TicketStats::of`] with the staff's figures: response times within `hours` (all the
    /// time without), closes by `bot` (auto-closes) not counted as anyone's.
    pub fn with_staff<'a>(
        tickets: impl IntoIterator<Item = &'a TicketEntry> + Clone,
        hours: Option<Schedule>,
        bot: Option<UserId>,
    ) -> Self {
        let mut stats = Self::ticket_figures(tickets.clone());
        stats.staff = StaffStats::of(tickets, hours, bot);
        stats
    }

    fn ticket_figures<'a>(tickets: impl IntoIterator<Item = &'a TicketEntry>) -> Self {
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
        } else {
            lines.extend(self.staff.report_lines());
        }
        lines.join("\n")
    }
}

impl StaffStats {
    fn of<'a>(
        tickets: impl IntoIterator<Item = &'a TicketEntry>,
        hours: Option<Schedule>,
        bot: Option<UserId>,
    ) -> Self {
        let mut stats = Self {
            within_hours: hours.is_some(),
            ..Self::default()
        };
        let mut members: HashMap<UserId, StaffFigures> = HashMap::new();
        let mut responses: HashMap<UserId, Vec<Duration>> = HashMap::new();
        let mut all_responses = Vec::new();
        for ticket in tickets {
            let handling = &ticket.handling;
            if let Some(claimer) = handling.claimed_by {
                figures_of(&mut members, claimer).claimed += 1;
            }
            if let Some(closer) = ticket
                .closed_by
                .filter(|c| !ticket.is_open() && *c != ticket.owner_id && Some(*c) != bot)
            {
                figures_of(&mut members, closer).closed += 1;
            }
            if let (Some(by), Some(response)) =
                (handling.staff_replied_by, first_response(ticket, hours))
            {
                figures_of(&mut members, by);
                responses.entry(by).or_default().push(response);
                all_responses.push(response);
            }
            if let Some(rating) = &handling.rating {
                stats.ratings += 1;
                stats.stars += u32::from(rating.stars);
                if let Some(owner) = handling.claimed_by.or(handling.staff_replied_by) {
                    let figures = figures_of(&mut members, owner);
                    figures.ratings += 1;
                    figures.stars += u32::from(rating.stars);
                }
            }
        }
        for (user, mut times) in responses {
            if let Some(figures) = members.get_mut(&user) {
                figures.median_first_response = median(&mut times);
            }
        }
        stats.median_first_response = median(&mut all_responses);
        stats.members = members.into_values().collect();
        stats.members.sort_by(|a, b| {
            (b.claimed + b.closed)
                .cmp(&(a.claimed + a.closed))
                .then(a.user.cmp(&b.user))
        });
        stats
    }

    fn report_lines(&self) -> Vec<String> {
        let hours = if self.within_hours {
            " (within support hours)"
        } else {
            ""
        };
        let mut lines = vec![
            format!("**Average rating:** {}", average(self.stars, self.ratings)),
            format!(
                "**Median first staff response{hours}:** {}",
                self.median_first_response.map_or("–".to_owned(), human)
            ),
        ];
        if self.members.is_empty() {
            return lines;
        }
        lines.push("**Staff:**".to_owned());
        for figures in self.members.iter().take(MAX_STAFF_LINES) {
            lines.push(format!(
                "<@{}>: claimed {} · closed {} · median first response {} · rating {}",
                figures.user,
                figures.claimed,
                figures.closed,
                figures.median_first_response.map_or("–".to_owned(), human),
                average(figures.stars, figures.ratings)
            ));
        }
        if self.members.len() > MAX_STAFF_LINES {
            lines.push(format!(
                "… and {} more",
                self.members.len() - MAX_STAFF_LINES
            ));
        }
        lines
    }
}

/// The figures of `user`, made empty the first time.
fn figures_of(members: &mut HashMap<UserId, StaffFigures>, user: UserId) -> &mut StaffFigures {
    members.entry(user).or_insert_with(|| StaffFigures {
        user,
        ..StaffFigures::default()
    })
}

/// "4.5 (2 ratings)", "– (no ratings)"; one decimal, rounded, in integers.
fn average(stars: u32, ratings: u32) -> String {
    if ratings == 0 {
        return "– (no ratings)".to_owned();
    }
    let tenths = (stars * 20 + ratings) / (ratings * 2);
    let plural = if ratings == 1 { "" } else { "s" };
    format!("{}.{} ({ratings} rating{plural})", tenths / 10, tenths % 10)
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

#[cfg(test)]
mod tests {
    use serenity::all::{GuildId, Timestamp, UserId};

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
                staff: StaffStats::default(),
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

    #[test]
    fn staff_figures_count_claims_closes_responses_within_hours_and_ratings() {
        use crate::{hours::SupportHours, registry::Rating};
        const ANN: UserId = UserId::new(21);
        const BEN: UserId = UserId::new(22);
        const BOT: UserId = UserId::new(99);
        let rated = |mut t: TicketEntry, stars: u8| {
            t.handling.rating = Some(Rating {
                stars,
                comment: None,
                at: at(7_200),
                log_message_id: None,
            });
            t
        };
        let replied = |mut t: TicketEntry, by: UserId, after: i64| {
            t.staff_replied_at = Some(at(after));
            t.handling.staff_replied_by = Some(by);
            t
        };
        let claimed = |mut t: TicketEntry, by: UserId| {
            t.handling.claimed_by = Some(by);
            t
        };
        let closed_by = |t: TicketEntry, by: UserId| TicketEntry {
            closed_by: Some(by),
            ..closed(t, 3_600)
        };
        let tickets = [
            rated(closed_by(claimed(replied(ticket(), ANN, 60), ANN), ANN), 5),
            rated(closed_by(replied(ticket(), ANN, 180), BEN), 4),
            rated(
                closed_by(claimed(replied(ticket(), BEN, 600), BEN), UserId::new(2)),
                2,
            ),
            closed_by(ticket(), BOT),
            claimed(ticket(), ANN),
        ];
        let stats = TicketStats::with_staff(&tickets, None, Some(BOT));
        let staff = &stats.staff;
        assert_eq!((staff.ratings, staff.stars), (3, 11));
        // 60, 180, 600 s.
        assert_eq!(staff.median_first_response, Some(Duration::from_secs(180)));
        let ann = &staff.members[0];
        assert_eq!(
            (ann.user, ann.claimed, ann.closed),
            (ANN, 2, 1),
            "busiest first"
        );
        assert_eq!(ann.median_first_response, Some(Duration::from_secs(120)));
        assert_eq!(
            (ann.ratings, ann.stars),
            (2, 9),
            "claimed, else answered first"
        );
        let ben = &staff.members[1];
        assert_eq!(
            (ben.user, ben.claimed, ben.closed),
            (BEN, 1, 1),
            "the owner's own close is nobody's"
        );
        assert_eq!((ben.ratings, ben.stars), (1, 2));
        assert_eq!(staff.members.len(), 2, "the bot's auto-close is nobody's");
        let report = stats.report(30);
        for line in [
            "**Average rating:** 3.7 (3 ratings)",
            "**Median first staff response:** 3 min 0 s",
            "**Staff:**",
            "<@21>: claimed 2 · closed 1 · median first response 2 min 0 s · rating 4.5 (2 ratings)",
            "<@22>: claimed 1 · closed 1 · median first response 10 min 0 s · rating 2.0 (1 rating)",
        ] {
            assert!(report.lines().any(|l| l == line), "{line:?} in\n{report}");
        }

        // Within hours: T0 is 2027-01-15 08:00 UTC, a Friday; opening at 08:05 counts 5 min
        // of the first response at most.
        let hours = SupportHours::parse("UTC", "mon-fri", "08:05", "17:00")
            .unwrap()
            .schedule();
        let within = TicketStats::with_staff(&tickets, hours, Some(BOT));
        assert_eq!(
            within.staff.median_first_response,
            Some(Duration::ZERO),
            "60 and 180 s fall before opening, 600 s is 5 min after"
        );
        assert!(within
            .report(30)
            .contains("**Median first staff response (within support hours):** 0 ms"));
    }
}
