//! Thread mode follows a topic's own Support role as it changes: a member who is given the
//! role joins the topic's open ticket threads, and one who loses it leaves them, unless the
//! ticket is theirs or `/ticket-add` gave it to them. (In channel mode the role's overwrite does
//! this by itself.) Discord tells the bot of role changes (GUILD_MEMBER_UPDATE) only with the
//! Server Members intent, which the bot asks for when its application has it.

use serenity::all::{GuildId, RoleId, UserId};

use super::Tickets;
use crate::registry::{GuildEntry, TicketEntry};

/// The topics, by ID, whose own Support role a member was given or lost.
#[derive(Debug, Default, PartialEq, Eq)]
struct TeamMoves {
    joined: Vec<u32>,
    left: Vec<u32>,
}

impl TeamMoves {
    /// What a change of a member's roles from `old` to `new` means for `guild`'s topics. When
    /// `old` is unknown (the member was not cached), every topic role they have counts as
    /// given (joining a thread twice changes nothing) and none as lost.
    fn of(guild: &GuildEntry, old: Option<&[RoleId]>, new: &[RoleId]) -> Self {
        let had = |role: RoleId| old.is_some_and(|roles| roles.contains(&role));
        let mut moves = Self::default();
        for topic in &guild.topics {
            let Some(role) = guild.own_role(topic) else {
                continue;
            };
            match (had(role), new.contains(&role)) {
                (false, true) => moves.joined.push(topic.id),
                (true, false) => moves.left.push(topic.id),
                _ => {}
            }
        }
        moves
    }

    fn is_empty(&self) -> bool {
        self.joined.is_empty() && self.left.is_empty()
    }

    /// Whether `member` joins (`true`) or leaves (`false`) `ticket`'s thread, if either: only
    /// an open thread ticket of one of the topics, never its owner, and never someone
    /// `/ticket-add` gave it to.
    fn in_ticket(&self, ticket: &TicketEntry, member: UserId) -> Option<bool> {
        if !ticket.thread || !ticket.is_open() || member == ticket.owner_id {
            return None;
        }
        let topic = ticket.topic_id?;
        if self.joined.contains(&topic) {
            Some(true)
        } else if self.left.contains(&topic) && !ticket.added.contains(&member) {
            Some(false)
        } else {
            None
        }
    }
}

impl Tickets {
    /// `member` of `guild` has the roles `new` now (`old` before, when known): they join or
    /// leave the open ticket threads of the topics whose own Support role they were given or
    /// lost.
    pub async fn member_roles_changed(
        &self,
        guild: GuildId,
        member: UserId,
        old: Option<&[RoleId]>,
        new: &[RoleId],
    ) {
        if member == self.bot_id() {
            return;
        }
        let Some(entry) = self.registry().guild(guild) else {
            return;
        };
        let moves = TeamMoves::of(&entry, old, new);
        if moves.is_empty() {
            return;
        }
        let (mut joined, mut left) = (0_u32, 0_u32);
        for (channel, ticket) in self.registry().open_tickets(Some(guild)) {
            let Some(adding) = moves.in_ticket(&ticket, member) else {
                continue;
            };
            match self.grant(channel, &ticket, member, adding).await {
                Ok(()) if adding => joined += 1,
                Ok(()) => left += 1,
                Err(err) => {
                    tracing::warn!(error = %err, channel_id = %channel, member_id = %member, adding, "cannot follow a topic's Support role in its ticket thread");
                }
            }
        }
        if joined + left > 0 {
            tracing::info!(guild_id = %guild, member_id = %member, joined, left, "ticket threads follow a change of a topic's Support role");
        }
    }
}

#[cfg(test)]
mod tests {
    use serenity::all::Timestamp;

    use super::*;
    use crate::registry::{TicketStatus, Topic};

    const BILLING: u32 = 1;
    const REFUNDS: u32 = 2;
    const GENERAL: u32 = 3;

    fn role(id: u64) -> RoleId {
        RoleId::new(id)
    }

    /// Billing and Refunds have their own roles (10, 20); General has the guild's Support
    /// role (5), which sees every ticket anyway.
    fn guild() -> GuildEntry {
        let mut guild: GuildEntry =
            serde_json::from_str(r#"{"category_id":"1","support_role_id":"5"}"#).unwrap();
        let topic = |id, name: &str, role_id| Topic {
            id,
            name: name.to_owned(),
            description: None,
            support_role_id: Some(role(role_id)),
            emoji: None,
            questions: Vec::new(),
        };
        guild.topics = vec![
            topic(BILLING, "Billing", 10),
            topic(REFUNDS, "Refunds", 20),
            topic(GENERAL, "General", 5),
        ];
        guild
    }

    fn moves(old: Option<&[u64]>, new: &[u64]) -> TeamMoves {
        let roles = |ids: &[u64]| ids.iter().copied().map(role).collect::<Vec<_>>();
        let old = old.map(roles);
        TeamMoves::of(&guild(), old.as_deref(), &roles(new))
    }

    #[test]
    fn a_topics_own_role_given_or_lost_moves_its_member_and_the_guilds_support_role_does_not() {
        assert_eq!(
            moves(Some(&[20]), &[10, 5]),
            TeamMoves {
                joined: vec![BILLING],
                left: vec![REFUNDS],
            }
        );
        assert!(
            moves(Some(&[10]), &[10, 99]).is_empty(),
            "no topic role changed"
        );
        assert!(
            moves(Some(&[]), &[5]).is_empty(),
            "the guild's Support role"
        );
        assert_eq!(
            moves(None, &[10, 20]),
            TeamMoves {
                joined: vec![BILLING, REFUNDS],
                left: vec![],
            },
            "roles before unknown: every topic role they have joins, none leaves"
        );
    }

    #[test]
    fn only_open_thread_tickets_of_the_topic_move_and_never_their_owner_or_who_was_added() {
        let owner = UserId::new(7);
        let staff = UserId::new(8);
        let opened = Timestamp::from_unix_timestamp(1_767_225_600).unwrap();
        let ticket = |topic, thread| TicketEntry {
            topic_id: Some(topic),
            thread,
            ..TicketEntry::opened(GuildId::new(3), owner, opened)
        };
        let billing = ticket(BILLING, true);
        let given = moves(Some(&[]), &[10]);
        let lost = moves(Some(&[10]), &[]);

        assert_eq!(given.in_ticket(&billing, staff), Some(true));
        assert_eq!(lost.in_ticket(&billing, staff), Some(false));
        assert_eq!(given.in_ticket(&ticket(REFUNDS, true), staff), None);
        assert_eq!(
            given.in_ticket(&ticket(BILLING, false), staff),
            None,
            "a channel"
        );
        assert_eq!(lost.in_ticket(&billing, owner), None, "the owner stays");
        let added = TicketEntry {
            added: vec![staff],
            ..billing.clone()
        };
        assert_eq!(lost.in_ticket(&added, staff), None, "/ticket-add gave it");
        let closing = TicketEntry {
            status: TicketStatus::Closing,
            ..billing
        };
        assert_eq!(given.in_ticket(&closing, staff), None, "no longer open");
    }
}
