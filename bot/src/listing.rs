//! `/ticket-list`'s pages, pure: which tickets (or blocks) a query shows, in what order, 25 a
//! page, and the custom IDs of its Previous/Next buttons, which carry the query itself (a
//! press needs no memory of the list, in this process or another). Open tickets come most
//! pressing first (priority, then the oldest); closed ones the latest closed first. A topic
//! filter travels as the topic's ID (a name may not fit in a custom ID's 100 characters) and
//! is matched against each ticket's topic name, in any case. Each ticket's line ends with its
//! response time ([`crate::response`], as `/ticket-stats` counts it): the staff's first
//! response, or how long the owner has waited so far, within the support hours when set.

use serenity::all::{ChannelId, Timestamp, UserId};

use crate::{
    hours::Schedule,
    registry::{Block, Priority, TicketEntry},
    response::Response,
};

/// Lines on one page.
pub const PAGE_SIZE: usize = 25;
/// What the Previous/Next buttons' custom IDs start with.
pub const BUTTON_PREFIX: &str = "ticket-list:";

/// Which tickets a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Open tickets (the default).
    Open,
    /// Open tickets someone claimed.
    Claimed,
    /// Open tickets nobody claimed.
    Unclaimed,
    /// Tickets whose close began.
    Closed,
    /// Not tickets: the members blocked from opening them.
    Blocked,
}

impl Status {
    /// Every status, as the command's choices.
    pub const ALL: [Self; 5] = [
        Self::Open,
        Self::Claimed,
        Self::Unclaimed,
        Self::Closed,
        Self::Blocked,
    ];

    /// Its name, as the command's choice and in the button's custom ID.
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Claimed => "claimed",
            Self::Unclaimed => "unclaimed",
            Self::Closed => "closed",
            Self::Blocked => "blocked",
        }
    }

    /// The status called `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name.trim())
    }

    /// Whether `ticket` belongs in a list of this status.
    fn keeps(self, ticket: &TicketEntry) -> bool {
        let claimed = ticket.handling.claimed_by.is_some();
        match self {
            Self::Open => ticket.is_open(),
            Self::Claimed => ticket.is_open() && claimed,
            Self::Unclaimed => ticket.is_open() && !claimed,
            Self::Closed => !ticket.is_open(),
            Self::Blocked => false,
        }
    }
}

/// One `/ticket-list` query and the page asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    /// Which tickets.
    pub status: Status,
    /// Only those this staff member has.
    pub claimed_by: Option<UserId>,
    /// Only those opened under this topic (its ID in the guild's entry).
    pub topic: Option<u32>,
    /// The page, from 0.
    pub page: usize,
}

impl Query {
    /// The custom ID of a button showing page `page` of this query (topic 0: any; IDs
    /// start at 1).
    pub fn button_id(self, page: usize) -> String {
        let by = self.claimed_by.map_or(0, UserId::get);
        let topic = self.topic.unwrap_or(0);
        format!("{BUTTON_PREFIX}{}:{by}:{page}:{topic}", self.status.name())
    }

    /// The query a button's custom ID carries.
    pub fn from_button(custom_id: &str) -> Option<Self> {
        let mut parts = custom_id.strip_prefix(BUTTON_PREFIX)?.split(':');
        let status = Status::parse(parts.next()?)?;
        let by: u64 = parts.next()?.parse().ok()?;
        let page = parts.next()?.parse().ok()?;
        // A button posted before topics existed has no topic part.
        let topic: u32 = parts.next().map_or(Some(0), |t| t.parse().ok())?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            status,
            claimed_by: (by != 0).then(|| UserId::new(by)),
            topic: (topic != 0).then_some(topic),
            page,
        })
    }

    /// Whether `ticket` is one this query lists, `topic` being the name of its topic filter.
    fn keeps(&self, ticket: &TicketEntry, topic: Option<&str>) -> bool {
        self.status.keeps(ticket)
            && self
                .claimed_by
                .is_none_or(|by| ticket.handling.claimed_by == Some(by))
            && topic.is_none_or(|name| {
                ticket
                    .topic
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(name))
            })
    }
}

/// One page of a list: its lines, which page it is and how many there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The lines shown.
    pub lines: Vec<String>,
    /// This page, from 0 (the last one when the asked page is past the end).
    pub page: usize,
    /// How many pages (at least 1).
    pub pages: usize,
    /// How many items in all.
    pub total: usize,
}

/// When a list is shown, for its response times: the guild's support hours (if set) and now
/// (Unix seconds, by the bot's [`crate::Clock`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The support hours response times count within; all the time without.
    pub hours: Option<Schedule>,
    /// Now, in seconds since the Unix epoch.
    pub now: i64,
}

/// The page of `query` over `tickets` (any order; only those the query keeps are shown);
/// `topic` is the name of the query's topic (looked up by its ID in the guild's entry).
pub fn tickets_page(
    mut tickets: Vec<(ChannelId, TicketEntry)>,
    query: Query,
    topic: Option<&str>,
    timing: Timing,
) -> Page {
    tickets.retain(|(_, t)| query.keeps(t, topic));
    if query.status == Status::Closed {
        tickets.sort_by(|(a_id, a), (b_id, b)| b.closed_at.cmp(&a.closed_at).then(b_id.cmp(a_id)));
    } else {
        tickets.sort_by(|(a_id, a), (b_id, b)| {
            b.handling
                .priority
                .cmp(&a.handling.priority)
                .then(a.opened_at.cmp(&b.opened_at))
                .then(a_id.cmp(b_id))
        });
    }
    paged(&tickets, query.page, |(channel, t)| {
        ticket_line(*channel, t, timing)
    })
}

/// The page `page` of the blocked members, oldest block first.
pub fn blocks_page(blocks: &[Block], page: usize) -> Page {
    paged(blocks, page, |b| {
        let mut line = format!(
            "<@{}> · blocked by <@{}> <t:{}:R>",
            b.user_id,
            b.by,
            b.at.unix_timestamp()
        );
        if let Some(reason) = &b.reason {
            line.push_str(&format!(" · {reason}"));
        }
        line
    })
}

fn paged<T>(items: &[T], page: usize, line: impl Fn(&T) -> String) -> Page {
    let pages = items.len().div_ceil(PAGE_SIZE).max(1);
    let page = page.min(pages - 1);
    Page {
        lines: items
            .iter()
            .skip(page * PAGE_SIZE)
            .take(PAGE_SIZE)
            .map(line)
            .collect(),
        page,
        pages,
        total: items.len(),
    }
}

/// `<#channel> · <@owner> · Billing · 🔴 urgent · claimed by <@x> · opened 3 hours ago ·
/// active 5 min ago · first response 25 min 0 s (within support hours)` (the topic only when
/// the ticket has one; no response time for a closed ticket staff never answered).
fn ticket_line(channel: ChannelId, ticket: &TicketEntry, timing: Timing) -> String {
    let relative = |at: &Timestamp| format!("<t:{}:R>", at.unix_timestamp());
    let priority = match ticket.handling.priority {
        Priority::Urgent => "🔴 urgent",
        Priority::High => "🟠 high",
        Priority::Normal => "normal",
        Priority::Low => "low",
    };
    let claimer = ticket.handling.claimed_by.map_or_else(
        || "unclaimed".to_owned(),
        |by| format!("claimed by <@{by}>"),
    );
    let when = match (&ticket.closed_at, ticket.is_open()) {
        (Some(closed), false) => format!("closed {}", relative(closed)),
        _ => format!("active {}", relative(&ticket.last_activity)),
    };
    let topic = ticket
        .topic
        .as_deref()
        .map(|t| format!("{t} · "))
        .unwrap_or_default();
    let response = Response::of(ticket, timing.hours, timing.now)
        .map(|r| format!(" · {}", r.describe(timing.hours.is_some())))
        .unwrap_or_default();
    format!(
        "<#{channel}> · <@{}> · {topic}{priority} · {claimer} · opened {} · {when}{response}",
        ticket.owner_id,
        relative(&ticket.opened_at)
    )
}

#[cfg(test)]
mod tests {
    use serenity::all::GuildId;

    use super::*;
    use crate::{clock::Clock, hours::SupportHours, registry::TicketStatus};

    /// When the tickets below open, `n` seconds later each.
    const OPENED: i64 = 1_800_000_000;

    /// A list shown an hour after [`OPENED`], without support hours.
    fn wall() -> Timing {
        Timing {
            hours: None,
            now: Clock::starting_at(OPENED + 3_600).now(),
        }
    }

    fn ticket(n: u64, priority: Priority, claimed: Option<u64>) -> (ChannelId, TicketEntry) {
        let opened = Timestamp::from_unix_timestamp(OPENED + i64::try_from(n).unwrap()).unwrap();
        let mut t = TicketEntry::opened(GuildId::new(1), UserId::new(1000 + n), opened);
        t.handling.priority = priority;
        t.handling.claimed_by = claimed.map(UserId::new);
        (ChannelId::new(n), t)
    }

    #[test]
    fn open_tickets_come_most_pressing_and_oldest_first_25_a_page() {
        let mut tickets: Vec<_> = (1..=60)
            .map(|n| ticket(n, Priority::Normal, None))
            .collect();
        tickets.push(ticket(70, Priority::Urgent, Some(5)));
        tickets.push(ticket(71, Priority::High, None));
        tickets.push(ticket(72, Priority::Low, None));
        let mut closed = ticket(73, Priority::Urgent, None);
        closed.1.status = TicketStatus::Deleted;
        tickets.push(closed);
        let query = Query {
            status: Status::Open,
            claimed_by: None,
            topic: None,
            page: 0,
        };
        let first = tickets_page(tickets.clone(), query, None, wall());
        assert_eq!((first.page, first.pages, first.total), (0, 3, 63));
        assert_eq!(first.lines.len(), PAGE_SIZE);
        assert!(first.lines[0].starts_with("<#70> · <@1070> · 🔴 urgent · claimed by <@5>"));
        assert!(first.lines[1].starts_with("<#71> "));
        assert!(first.lines[2].starts_with("<#1> "), "then the oldest");
        let last = tickets_page(tickets.clone(), Query { page: 9, ..query }, None, wall());
        assert_eq!(
            (last.page, last.lines.len()),
            (2, 13),
            "past the end: the last page"
        );
        assert!(last.lines[12].starts_with("<#72> "), "low last");
        let claimed = tickets_page(
            tickets.clone(),
            Query {
                status: Status::Claimed,
                ..query
            },
            None,
            wall(),
        );
        assert_eq!(claimed.total, 1);
        let by_other = tickets_page(
            tickets.clone(),
            Query {
                claimed_by: Some(UserId::new(6)),
                ..query
            },
            None,
            wall(),
        );
        assert_eq!((by_other.total, by_other.pages), (0, 1));
        let closed = tickets_page(
            tickets,
            Query {
                status: Status::Closed,
                ..query
            },
            None,
            wall(),
        );
        assert_eq!(closed.total, 1);
    }

    #[test]
    fn a_button_carries_its_query() {
        let query = Query {
            status: Status::Unclaimed,
            claimed_by: Some(UserId::new(42)),
            topic: Some(7),
            page: 0,
        };
        let id = query.button_id(3);
        assert_eq!(id, "ticket-list:unclaimed:42:3:7");
        assert!(id.len() <= 100, "Discord's custom ID limit");
        assert_eq!(Query::from_button(&id), Some(Query { page: 3, ..query }));
        let open = Query {
            status: Status::Open,
            claimed_by: None,
            topic: None,
            page: 1,
        };
        assert_eq!(Query::from_button(&open.button_id(1)), Some(open));
        assert_eq!(
            Query::from_button("ticket-list:open:0:1"),
            Some(open),
            "a button from before topics"
        );
        assert_eq!(Query::from_button("ticket-list:open:0:1:2:3"), None);
        assert_eq!(Query::from_button("ticket-list:nope:0:1"), None);
        assert_eq!(Query::from_button("ticket:open"), None);
    }

    #[test]
    fn a_topic_filter_keeps_the_tickets_of_that_topic_name_in_any_case_and_shows_it() {
        let mut tickets: Vec<_> = (1..=4).map(|n| ticket(n, Priority::Normal, None)).collect();
        tickets[0].1.topic = Some("Billing".into());
        tickets[1].1.topic = Some("billing".into());
        tickets[2].1.topic = Some("Shipping".into());
        let query = Query {
            status: Status::Open,
            claimed_by: None,
            topic: Some(1),
            page: 0,
        };
        let billing = tickets_page(tickets.clone(), query, Some("BILLING"), wall());
        assert_eq!(billing.total, 2);
        assert!(billing.lines[0].starts_with("<#1> · <@1001> · Billing · normal · unclaimed"));
        let all = tickets_page(
            tickets,
            Query {
                topic: None,
                ..query
            },
            None,
            wall(),
        );
        assert_eq!(all.total, 4);
        assert!(
            all.lines[3].starts_with("<#4> · <@1004> · normal · "),
            "no topic"
        );
    }

    #[test]
    fn each_line_ends_with_the_response_time_within_the_hours_when_set() {
        let (answered_id, mut answered) = ticket(1, Priority::Normal, None);
        let replied = answered.opened_at.unix_timestamp() + 40 * 60;
        answered.staff_replied_at = Some(Timestamp::from_unix_timestamp(replied).unwrap());
        let waiting = ticket(2, Priority::Normal, None);
        let (closed_id, mut closed) = ticket(3, Priority::Normal, None);
        closed.status = TicketStatus::Deleted;
        closed.closed_at = Some(closed.opened_at);
        let tickets = vec![(answered_id, answered), waiting, (closed_id, closed)];
        let query = Query {
            status: Status::Open,
            claimed_by: None,
            topic: None,
            page: 0,
        };
        // OPENED is Friday 08:00 UTC; shown at 11:00:30 (the clock runs on: whole minutes).
        let now = Clock::starting_at(OPENED + 3 * 3_600 + 30).now();
        let wall = tickets_page(tickets.clone(), query, None, Timing { hours: None, now });
        assert_endings(
            &wall,
            &[" · first response 40 min 0 s", " · waiting 3 h 0 min"],
        );

        // Staff are there from 08:30: the first 30 minutes of each count for nothing.
        let hours = SupportHours::parse("UTC", "mon-fri", "08:30", "17:00")
            .unwrap()
            .schedule();
        let within = tickets_page(tickets.clone(), query, None, Timing { hours, now });
        assert_endings(
            &within,
            &[
                " · first response 10 min 1 s (within support hours)",
                " · waiting 2 h 30 min (within support hours)",
            ],
        );

        // A closed ticket nobody answered has no response time.
        let closed = Query {
            status: Status::Closed,
            ..query
        };
        let closed = tickets_page(tickets, closed, None, Timing { hours, now });
        assert_endings(&closed, &[&format!(" · closed <t:{}:R>", OPENED + 3)]);
    }

    /// Line `n` of `page` ends with `endings[n]`, and there are as many lines.
    fn assert_endings(page: &Page, endings: &[&str]) {
        assert_eq!(page.lines.len(), endings.len(), "{:?}", page.lines);
        for (line, ending) in page.lines.iter().zip(endings) {
            assert!(line.ends_with(ending), "{line:?} ends with {ending:?}");
        }
    }
}
