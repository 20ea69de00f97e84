//! The relay's one decision about a message whose turn has come in its channel's queue: is its
//! ticket still open, did staff write it (the ticket is handed over), are staff handling the
//! ticket, was a human asked for, is its author over their limit, is there anything to relay?
//! [`Gate::decide`] answers from the message, the facts looked up beforehand and the gate's own
//! memory (the handoffs' quiet periods, the users' allowances), with no I/O; the pipeline acts
//! on the [`Decision`] in one place.

use common::payload::{MessageContent, RelayRequest, Snowflake};
use serenity::all::Message;

use super::{
    handoff::Handoffs,
    user_limit::{UserLimit, Verdict},
};
use crate::settings::RelaySettings;

/// What to do with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Decision {
    /// Its ticket was closed since it was queued: the channel is about to go.
    TicketClosed,
    /// Staff wrote it: not for the assistant, which stays quiet in the ticket; `announce` when
    /// this starts a quiet period (the assistant says so once).
    StaffWrote { announce: bool },
    /// Staff are handling the ticket: left to them.
    Quiet,
    /// Someone pressed "Talk to a human" and no staff have written since: left to them.
    AwaitingStaff,
    /// A staff member claimed the ticket (and the guild leaves claimed tickets to them).
    Claimed,
    /// Over its author's limit: dropped; `notify` the first time this minute.
    SlowDown { notify: bool },
    /// Its text cannot be relayed (longer than the contract allows).
    NothingToRelay,
    /// Send this request to a relay worker.
    Relay(RelayRequest),
}

impl Decision {
    /// Whether acting on it sends something (an answer, a notice): what only one bot
    /// process may do for a message.
    pub(super) fn acts(&self) -> bool {
        match self {
            Self::StaffWrote { announce } => *announce,
            Self::SlowDown { notify } => *notify,
            Self::Relay(_) => true,
            Self::TicketClosed
            | Self::Quiet
            | Self::AwaitingStaff
            | Self::Claimed
            | Self::NothingToRelay => false,
        }
    }
}

/// What the relay looks up about a message before deciding.
#[derive(Debug, Clone, Copy)]
pub(super) struct Facts {
    /// The registry holds its channel as an open ticket.
    pub open_ticket: bool,
    /// Its author is staff ([`crate::guild::staff::Standing::is_staff`]).
    pub from_staff: bool,
    /// Its ticket awaits staff ("Talk to a human" was pressed; the registry remembers it).
    pub awaiting_staff: bool,
    /// Its ticket is claimed and its guild leaves claimed tickets to their claimer.
    pub claimed: bool,
}

/// The handoffs and the per-user limit: what the decisions remember.
pub(super) struct Gate {
    handoffs: Handoffs,
    user_limit: UserLimit,
    quiet: std::time::Duration,
}

impl Gate {
    /// A gate with nobody quiet and every allowance full.
    pub(super) fn new(settings: &RelaySettings) -> Self {
        Self {
            handoffs: Handoffs::default(),
            user_limit: UserLimit::new(settings.user_rate_limit_per_minute),
            quiet: settings.handoff_quiet,
        }
    }

    /// Decides about `message`, in its channel's order. Only messages that get as far as the
    /// limit count against it: staff messages and messages during a handoff do not.
    pub(super) fn decide(&self, message: &Message, facts: Facts) -> Decision {
        if !facts.open_ticket {
            return Decision::TicketClosed;
        }
        if facts.from_staff {
            let announce = self.handoffs.staff_wrote(message.channel_id, self.quiet);
            return Decision::StaffWrote { announce };
        }
        if self.handoffs.is_quiet(message.channel_id) {
            return Decision::Quiet;
        }
        if facts.awaiting_staff {
            return Decision::AwaitingStaff;
        }
        if facts.claimed {
            return Decision::Claimed;
        }
        if let Verdict::Drop { notify } = self.user_limit.check(message.author.id) {
            return Decision::SlowDown { notify };
        }
        match relay_request(message) {
            Some(request) => Decision::Relay(request),
            None => Decision::NothingToRelay,
        }
    }
}

/// The relay request for a message, or `None` when its text cannot be relayed.
fn relay_request(message: &Message) -> Option<RelayRequest> {
    let guild_id = message.guild_id?;
    let content = MessageContent::parse(message.content.clone()).ok()?;
    Some(RelayRequest {
        guild_id: Snowflake::from(guild_id.get()),
        channel_id: Snowflake::from(message.channel_id.get()),
        user_id: Snowflake::from(message.author.id.get()),
        content,
        message_id: Some(Snowflake::from(message.id.get())),
        history: Vec::new(),
        ticket: None,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const STAFF: u64 = 21;
    const USER: u64 = 20;
    const OTHER_USER: u64 = 22;

    fn message_in(channel: u64, author: u64, content: &str, guild: bool) -> Message {
        let mut json = serde_json::json!({
            "id": "40", "channel_id": channel.to_string(),
            "author": { "id": author.to_string(), "username": "u", "discriminator": "0" },
            "content": content, "timestamp": "2026-11-27T08:00:00.000000+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "pinned": false, "type": 0,
        });
        if guild {
            json["guild_id"] = "10".into();
        }
        serde_json::from_value(json).expect("a message")
    }

    fn message(author: u64, content: &str) -> Message {
        message_in(30, author, content, true)
    }

    fn gate(per_minute: u32) -> Gate {
        let mut settings = RelaySettings::new(Duration::from_secs(10));
        settings.user_rate_limit_per_minute = per_minute;
        settings.handoff_quiet = Duration::from_secs(60);
        Gate::new(&settings)
    }

    const OPEN: Facts = Facts {
        open_ticket: true,
        from_staff: false,
        awaiting_staff: false,
        claimed: false,
    };
    const FROM_STAFF: Facts = Facts {
        open_ticket: true,
        from_staff: true,
        awaiting_staff: false,
        claimed: false,
    };
    const AWAITING: Facts = Facts {
        open_ticket: true,
        from_staff: false,
        awaiting_staff: true,
        claimed: false,
    };

    fn relays(decision: &Decision) -> bool {
        matches!(decision, Decision::Relay(_))
    }

    #[test]
    fn a_user_message_in_an_open_ticket_is_relayed_with_every_id_and_its_text() {
        let Decision::Relay(request) = gate(0).decide(&message(USER, "help me"), OPEN) else {
            panic!("relayed");
        };
        assert_eq!(request.guild_id.as_str(), "10");
        assert_eq!(request.channel_id.as_str(), "30");
        assert_eq!(request.user_id.as_str(), "20");
        assert_eq!(
            request.message_id.as_ref().map(Snowflake::as_str),
            Some("40")
        );
        assert_eq!(request.content.as_str(), "help me");
        assert!(request.history.is_empty(), "the pipeline adds it");
    }

    #[test]
    fn a_closed_ticket_ends_everything_even_for_staff() {
        let closed = Facts {
            open_ticket: false,
            from_staff: true,
            awaiting_staff: true,
            claimed: true,
        };
        assert_eq!(
            gate(0).decide(&message(STAFF, "hi"), closed),
            Decision::TicketClosed
        );
    }

    #[test]
    fn only_decisions_that_send_something_act() {
        let gate = gate(1);
        assert!(gate.decide(&message(USER, "hi"), OPEN).acts());
        assert!(
            gate.decide(&message(STAFF, "here"), FROM_STAFF).acts(),
            "announces"
        );
        assert!(!gate.decide(&message(STAFF, "again"), FROM_STAFF).acts());
        assert!(!gate.decide(&message(USER, "quiet"), OPEN).acts());
        assert!(!Decision::TicketClosed.acts());
        let waiting = gate.decide(&message_in(32, USER, "anyone?", true), AWAITING);
        assert_eq!(waiting, Decision::AwaitingStaff);
        assert!(!waiting.acts());
        assert!(Decision::SlowDown { notify: true }.acts());
        assert!(!Decision::SlowDown { notify: false }.acts());
    }

    #[test]
    fn text_the_contract_refuses_is_not_relayed() {
        let long = "x".repeat(MessageContent::MAX_CHARS + 1);
        assert_eq!(
            gate(0).decide(&message(USER, &long), OPEN),
            Decision::NothingToRelay
        );
        assert_eq!(
            gate(0).decide(&message(USER, "  \n "), OPEN),
            Decision::NothingToRelay
        );
        assert_eq!(
            gate(0).decide(&message_in(30, USER, "hi", false), OPEN),
            Decision::NothingToRelay,
            "outside a guild"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn staff_hand_the_ticket_over_announced_once_until_the_quiet_period_ends() {
        let gate = gate(0);
        assert_eq!(
            gate.decide(&message(STAFF, "I'm here"), FROM_STAFF),
            Decision::StaffWrote { announce: true }
        );
        assert_eq!(
            gate.decide(&message(STAFF, "let me look"), FROM_STAFF),
            Decision::StaffWrote { announce: false }
        );
        assert_eq!(gate.decide(&message(USER, "thanks"), OPEN), Decision::Quiet);
        assert!(
            relays(&gate.decide(&message_in(31, USER, "hi", true), OPEN)),
            "other tickets are not quiet"
        );
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(relays(&gate.decide(&message(USER, "still there?"), OPEN)));
        assert_eq!(
            gate.decide(&message(STAFF, "yes"), FROM_STAFF),
            Decision::StaffWrote { announce: true },
            "a new quiet period"
        );
    }

    #[test]
    fn a_ticket_awaiting_staff_is_left_to_them_and_staff_still_take_it_over() {
        let gate = gate(1);
        for _ in 0..3 {
            assert_eq!(
                gate.decide(&message(USER, "hello?"), AWAITING),
                Decision::AwaitingStaff
            );
        }
        let staff_while_awaiting = Facts {
            from_staff: true,
            ..AWAITING
        };
        assert_eq!(
            gate.decide(&message(STAFF, "here"), staff_while_awaiting),
            Decision::StaffWrote { announce: true },
            "the normal handoff"
        );
        assert!(
            relays(&gate.decide(&message_in(31, USER, "hi", true), OPEN)),
            "the waits did not count against the limit, and other tickets answer"
        );
    }

    #[test]
    fn a_claimed_ticket_is_left_to_its_claimer_whose_messages_still_count() {
        let gate = gate(1);
        let claimed = Facts {
            claimed: true,
            ..OPEN
        };
        for _ in 0..3 {
            assert_eq!(
                gate.decide(&message(USER, "hello?"), claimed),
                Decision::Claimed
            );
        }
        let from_claimer = Facts {
            from_staff: true,
            ..claimed
        };
        assert_eq!(
            gate.decide(&message(STAFF, "on it"), from_claimer),
            Decision::StaffWrote { announce: true }
        );
        assert!(!Decision::Claimed.acts());
    }

    #[test]
    fn the_excess_of_a_user_slows_down_with_one_notice_and_others_go_on() {
        let gate = gate(2);
        assert!(relays(&gate.decide(&message(USER, "1"), OPEN)));
        assert!(relays(&gate.decide(&message(USER, "2"), OPEN)));
        assert_eq!(
            gate.decide(&message(USER, "3"), OPEN),
            Decision::SlowDown { notify: true }
        );
        assert_eq!(
            gate.decide(&message(USER, "4"), OPEN),
            Decision::SlowDown { notify: false }
        );
        assert!(relays(&gate.decide(&message(OTHER_USER, "1"), OPEN)));
    }

    #[tokio::test(start_paused = true)]
    async fn only_messages_that_would_be_relayed_count_against_the_limit() {
        let gate = gate(1);
        for _ in 0..3 {
            gate.decide(&message(USER, "as staff"), FROM_STAFF);
        }
        assert_eq!(gate.decide(&message(USER, "quiet"), OPEN), Decision::Quiet);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(
            relays(&gate.decide(&message(USER, "the first that counts"), OPEN)),
            "staff messages and messages during a handoff did not count"
        );
    }
}
