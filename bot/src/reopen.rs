//! Reopening a closed ticket, decided without I/O: who may, until when, and what makes a
//! request come to nothing (reopened already, the owner has an open ticket, the window passed);
//! the Reopen button's custom ID; and the opening message of the ticket's next channel, which
//! quotes the last messages of its transcript. Where the ticket goes on (a new channel, or
//! later an unarchived thread) is the caller's business: this is the same for both.

use std::time::Duration;

use serenity::all::{ChannelId, GuildId, MessageId, Timestamp, UserId};

use crate::{
    registry::{TicketEntry, TicketStatus},
    transcript::Written,
};

/// What the Reopen button's custom ID starts with; the closed ticket's channel ID follows.
pub const BUTTON_PREFIX: &str = "ticket:reopen:";
/// What a reopened ticket's first message starts with (the relay leaves it out of the
/// conversation: the earlier messages it quotes reach the assistant from the archive).
pub const HEADER: &str = "**Ticket reopened**";
/// Messages of the earlier conversation quoted in that first message.
pub const QUOTED_MESSAGES: usize = 10;
/// A reopening claimed this long ago whose channel was never recorded was dropped by a process
/// that stopped: it may be asked for again.
pub const CLAIM_TAKEOVER: Duration = Duration::from_secs(5 * 60);

/// Characters of one quoted message.
const QUOTED_CHARS: usize = 150;
/// Characters of the whole first message: below Discord's 2,000.
const MESSAGE_CHARS: usize = 1_900;

/// The Reopen button's custom ID for the ticket closed in `channel`.
pub fn button_id(channel: ChannelId) -> String {
    format!("{BUTTON_PREFIX}{channel}")
}

/// The closed ticket's channel a Reopen button names, if `custom_id` is one.
pub fn button_channel(custom_id: &str) -> Option<ChannelId> {
    custom_id
        .strip_prefix(BUTTON_PREFIX)?
        .parse::<u64>()
        .ok()
        .filter(|id| *id != 0)
        .map(ChannelId::new)
}

/// Why a reopening comes to nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `TICKET_REOPEN_HOURS` is 0.
    Off,
    /// The one asking is neither the owner nor staff.
    NotAllowed,
    /// The ticket is not closed (open, or its close not archived yet).
    NotClosed,
    /// It was closed without a transcript (its channel deleted by hand, access lost).
    NoTranscript,
    /// It was reopened already, in this channel (being made: `None`).
    AlreadyReopened(Option<ChannelId>),
    /// Its owner has this open ticket.
    OwnerHasTicket(ChannelId),
    /// It was closed longer ago than the window.
    Expired,
}

impl Refused {
    /// What the one who asked is told, about the ticket of `owner`, with the window said in
    /// words ("72 hours").
    pub fn explain(self, owner: UserId, window: &str) -> String {
        match self {
            Self::Off => "Reopening tickets is turned off on this server's bot.".to_owned(),
            Self::NotAllowed => "Only the ticket's owner and staff can reopen it.".to_owned(),
            Self::NotClosed => {
                "That ticket is not closed (or its close is not finished yet).".to_owned()
            }
            Self::NoTranscript => "That ticket was closed without a transcript, so it cannot be \
                 reopened: open a new ticket with /create-ticket."
                .to_owned(),
            Self::AlreadyReopened(Some(channel)) => {
                format!("This ticket was reopened already: <#{channel}>. Nothing new was opened.")
            }
            Self::AlreadyReopened(None) => {
                "This ticket is being reopened already. Nothing new was opened.".to_owned()
            }
            Self::OwnerHasTicket(channel) => format!(
                "<@{owner}> already has an open ticket: <#{channel}>. Nothing was reopened."
            ),
            Self::Expired => format!(
                "The time to reopen this ticket has expired: it was closed more than {window} \
                 ago. Open a new ticket with /create-ticket."
            ),
        }
    }
}

/// What a reopening is decided on.
#[derive(Debug, Clone, Copy)]
pub struct Asked {
    /// `TICKET_REOPEN_HOURS` (`None`: off).
    pub window: Option<Duration>,
    /// Whether the one asking is the owner or staff.
    pub allowed: bool,
    /// The owner's open ticket in the guild, if any.
    pub owner_open: Option<ChannelId>,
    /// Now.
    pub now: Timestamp,
}

/// Whether the ticket `closed` may be reopened now.
pub fn decide(closed: &TicketEntry, asked: Asked) -> Result<(), Refused> {
    let Some(window) = asked.window else {
        return Err(Refused::Off);
    };
    if !asked.allowed {
        return Err(Refused::NotAllowed);
    }
    if let Some(reopened) = &closed.reopened {
        let abandoned =
            reopened.into.is_none() && elapsed(&reopened.at, &asked.now) >= CLAIM_TAKEOVER;
        if !abandoned {
            return Err(Refused::AlreadyReopened(reopened.into));
        }
    }
    if !matches!(
        closed.status,
        TicketStatus::Archived | TicketStatus::Deleted
    ) {
        return Err(Refused::NotClosed);
    }
    if !closed.is_archived() {
        return Err(Refused::NoTranscript);
    }
    if let Some(open) = asked.owner_open {
        return Err(Refused::OwnerHasTicket(open));
    }
    let closed_at = closed.closed_at.unwrap_or(closed.last_activity);
    if elapsed(&closed_at, &asked.now) > window {
        return Err(Refused::Expired);
    }
    Ok(())
}

/// How long from `from` to `to` (zero when `to` is earlier).
fn elapsed(from: &Timestamp, to: &Timestamp) -> Duration {
    let nanos = to.unix_timestamp_nanos() - from.unix_timestamp_nanos();
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// The entry of the ticket's next channel: the same owner and ticket ID, one more reopening.
pub fn next_entry(closed_channel: ChannelId, closed: &TicketEntry, now: Timestamp) -> TicketEntry {
    TicketEntry {
        ticket_id: Some(closed.ticket_id(closed_channel)),
        reopened_from: Some(closed_channel),
        reopen_count: closed.reopen_count.saturating_add(1),
        topic: closed.topic.clone(),
        topic_id: closed.topic_id,
        form: closed.form.clone(),
        added: closed.added.clone(),
        // A reopened thread keeps its members; a new channel or thread makes its own team.
        team: closed.team.clone(),
        ..TicketEntry::opened(closed.guild_id, closed.owner_id, now)
    }
}

/// Where the transcript of the closed ticket is.
#[derive(Debug, Clone, Copy)]
pub struct TranscriptAt {
    /// The guild.
    pub guild: GuildId,
    /// The closed ticket's channel (what `/ticket-transcript` takes).
    pub channel: ChannelId,
    /// Its post in `ticket-logs`, if it was posted.
    pub log: Option<(ChannelId, MessageId)>,
}

/// The first message of the ticket's next channel: who reopened it, where its transcript is,
/// and its last messages quoted, within Discord's length.
pub fn opening_message(
    ticket: &TicketEntry,
    by: UserId,
    transcript: TranscriptAt,
    earlier: &[Written],
) -> String {
    let owner = ticket.owner_id;
    let id = ticket.ticket_id.unwrap_or(transcript.channel);
    let mut head = format!(
        "{HEADER} by <@{by}> (ticket {id}, reopened {} time(s)).\nWelcome back <@{owner}>! ",
        ticket.reopen_count
    );
    match transcript.log {
        Some((log, message)) => head.push_str(&format!(
            "The earlier conversation's transcript: https://discord.com/channels/{}/{log}/{message}",
            transcript.guild
        )),
        None => head.push_str("The earlier conversation's transcript is archived"),
    }
    head.push_str(&format!(
        " (staff: `/ticket-transcript ticket:{}`).",
        transcript.channel
    ));
    let quoted: Vec<String> = earlier
        .iter()
        .filter(|m| !m.content.trim().is_empty())
        .map(quote)
        .collect();
    let skip = quoted.len().saturating_sub(QUOTED_MESSAGES);
    let mut lines = &quoted[skip..];
    let title = "\nIts last messages:";
    // Drop the oldest until it fits.
    while !lines.is_empty() && length(&head, title, lines) > MESSAGE_CHARS {
        lines = &lines[1..];
    }
    if lines.is_empty() {
        return head;
    }
    format!("{head}{title}\n{}", lines.join("\n"))
}

fn length(head: &str, title: &str, lines: &[String]) -> usize {
    head.chars().count()
        + title.chars().count()
        + lines.iter().map(|l| l.chars().count() + 1).sum::<usize>()
}

/// One earlier message as a quote line: `> **name**: text`, cut short, on one line.
fn quote(message: &Written) -> String {
    let flat = message
        .content
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let text: String = if flat.chars().count() > QUOTED_CHARS {
        flat.chars().take(QUOTED_CHARS).collect::<String>() + "…"
    } else {
        flat
    };
    let name = message.author.replace(['*', '_', '`', '~', '|'], "");
    format!("> **{name}**: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{CloseRecord, Reopened};

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_timestamp(1_800_000_000 + secs).unwrap()
    }

    fn closed(status: TicketStatus) -> TicketEntry {
        let mut t = TicketEntry::opened(GuildId::new(1), UserId::new(2), at(0));
        t.status = status;
        t.closed_at = Some(at(100));
        t.close = Some(CloseRecord {
            archived_at: Some(at(101)),
            ..CloseRecord::default()
        });
        t
    }

    fn asked(now: i64) -> Asked {
        Asked {
            window: Some(Duration::from_secs(3600)),
            allowed: true,
            owner_open: None,
            now: at(now),
        }
    }

    #[test]
    fn a_closed_ticket_with_its_transcript_reopens_within_the_window() {
        assert_eq!(decide(&closed(TicketStatus::Deleted), asked(200)), Ok(()));
        assert_eq!(
            decide(&closed(TicketStatus::Archived), asked(200)),
            Ok(()),
            "its channel not deleted yet"
        );
        assert_eq!(
            decide(&closed(TicketStatus::Deleted), asked(100 + 3601)),
            Err(Refused::Expired)
        );
        let off = Asked {
            window: None,
            ..asked(200)
        };
        assert_eq!(
            decide(&closed(TicketStatus::Deleted), off),
            Err(Refused::Off)
        );
    }

    #[test]
    fn a_reopening_asked_twice_or_beside_an_open_ticket_comes_to_nothing() {
        let mut ticket = closed(TicketStatus::Deleted);
        ticket.reopened = Some(Reopened {
            by: UserId::new(2),
            at: at(150),
            into: Some(ChannelId::new(9)),
        });
        assert_eq!(
            decide(&ticket, asked(200)),
            Err(Refused::AlreadyReopened(Some(ChannelId::new(9))))
        );
        ticket.reopened.as_mut().unwrap().into = None;
        assert_eq!(
            decide(&ticket, asked(200)),
            Err(Refused::AlreadyReopened(None)),
            "being made"
        );
        assert_eq!(
            decide(&ticket, asked(150 + 301)),
            Ok(()),
            "a claim whose process stopped is taken over"
        );
        let beside = Asked {
            owner_open: Some(ChannelId::new(7)),
            ..asked(200)
        };
        assert_eq!(
            decide(&closed(TicketStatus::Deleted), beside),
            Err(Refused::OwnerHasTicket(ChannelId::new(7)))
        );
    }

    #[test]
    fn open_tickets_closes_without_transcript_and_strangers_are_refused() {
        assert_eq!(
            decide(&closed(TicketStatus::Open), asked(200)),
            Err(Refused::NotClosed)
        );
        assert_eq!(
            decide(&closed(TicketStatus::Closing), asked(200)),
            Err(Refused::NotClosed)
        );
        let mut gone = closed(TicketStatus::Deleted);
        gone.close = Some(CloseRecord::default());
        assert_eq!(decide(&gone, asked(200)), Err(Refused::NoTranscript));
        let stranger = Asked {
            allowed: false,
            ..asked(200)
        };
        assert_eq!(
            decide(&closed(TicketStatus::Deleted), stranger),
            Err(Refused::NotAllowed)
        );
    }

    #[test]
    fn the_next_channel_keeps_the_ticket_id_and_counts_the_reopening() {
        let first = closed(TicketStatus::Deleted);
        let second = next_entry(ChannelId::new(5), &first, at(300));
        assert_eq!(second.ticket_id, Some(ChannelId::new(5)));
        assert_eq!(second.reopened_from, Some(ChannelId::new(5)));
        assert_eq!(second.reopen_count, 1);
        assert!(second.is_open());
        assert_eq!(second.owner_id, first.owner_id);
        let third = next_entry(ChannelId::new(8), &second, at(400));
        assert_eq!(
            third.ticket_id,
            Some(ChannelId::new(5)),
            "the first channel's"
        );
        assert_eq!(third.reopened_from, Some(ChannelId::new(8)));
        assert_eq!(third.reopen_count, 2);
    }

    #[test]
    fn the_opening_message_links_the_transcript_and_quotes_the_last_messages() {
        let ticket = next_entry(ChannelId::new(5), &closed(TicketStatus::Deleted), at(300));
        let earlier: Vec<Written> = (1..=14)
            .map(|n| Written {
                author_id: UserId::new(2),
                author: "ann_*".into(),
                bot: false,
                content: format!("message {n}\nsecond line"),
            })
            .collect();
        let where_ = TranscriptAt {
            guild: GuildId::new(1),
            channel: ChannelId::new(5),
            log: Some((ChannelId::new(3), MessageId::new(4))),
        };
        let text = opening_message(&ticket, UserId::new(2), where_, &earlier);
        assert!(text.starts_with(HEADER), "{text}");
        assert!(
            text.contains("https://discord.com/channels/1/3/4"),
            "{text}"
        );
        assert!(text.contains("/ticket-transcript ticket:5"), "{text}");
        assert!(text.contains("> **ann**: message 14 second line"), "{text}");
        assert!(
            text.contains("> **ann**: message 5 "),
            "the last ten: {text}"
        );
        assert!(!text.contains("message 4 "), "{text}");
        let long: Vec<Written> = (0..10)
            .map(|_| Written {
                content: "x".repeat(1000),
                ..earlier[0].clone()
            })
            .collect();
        let text = opening_message(&ticket, UserId::new(2), where_, &long);
        assert!(text.chars().count() <= MESSAGE_CHARS, "{}", text.len());
        assert!(text.contains("…"));
    }

    #[test]
    fn the_button_names_the_closed_channel() {
        let id = button_id(ChannelId::new(42));
        assert_eq!(id, "ticket:reopen:42");
        assert_eq!(button_channel(&id), Some(ChannelId::new(42)));
        assert_eq!(button_channel("ticket:reopen:0"), None);
        assert_eq!(button_channel("ticket:close"), None);
    }
}
