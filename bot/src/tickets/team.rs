//! Thread mode follows a topic's own Support role as it changes: a member who is given the
//! role joins the topic's open ticket threads, and one who loses it leaves the threads the role
//! put them in ([`TicketEntry::team`]), though not a ticket of their own or one `/ticket-add`
//! gave them. (In channel mode the role's overwrite does this by itself.) Each change compares
//! the member's roles now with what the tickets record; when a guild becomes available (after
//! every connect), the recorded members' roles are read again, so that a role taken away while
//! the bot was away takes its holder out too. Discord tells the bot of role changes
//! (GUILD_MEMBER_UPDATE) only with the Server Members intent, which the bot asks for when its
//! application has it.

use serenity::all::{GuildId, RoleId, UserId};

use super::Tickets;
use crate::{
    guild::refusal::is_unknown,
    members::Membership,
    registry::{set_listed, GuildEntry, TicketEntry},
};

/// Whether `member`, whose roles are `roles`, joins (`true`) or leaves (`false`) `ticket`'s
/// thread, if either: only an open thread ticket whose topic has a role of its own, never
/// for its owner or for someone `/ticket-add` gave it to.
fn team_move(
    guild: &GuildEntry,
    ticket: &TicketEntry,
    member: UserId,
    roles: &[RoleId],
) -> Option<bool> {
    if !ticket.thread
        || !ticket.is_open()
        || member == ticket.owner_id
        || ticket.added.contains(&member)
    {
        return None;
    }
    let role = guild.own_role(guild.topic(ticket.topic_id?)?)?;
    match (roles.contains(&role), ticket.team.contains(&member)) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

impl Tickets {
    /// `member` of `guild` has the roles `roles` now: they join the open ticket threads of
    /// the topics whose own Support role they have, and leave those it had put them in.
    pub async fn member_roles_changed(&self, guild: GuildId, member: UserId, roles: &[RoleId]) {
        if member == self.bot_id() {
            return;
        }
        self.inner.members.update(guild, member, roles.to_vec());
        self.follow_roles(guild, member, roles).await;
    }

    /// The members the open ticket threads of `guild` record as their topics' teams, checked
    /// against their roles now (a role taken away while the bot was not connected); one who
    /// left the server counts as having none.
    pub async fn check_teams(&self, guild: GuildId) {
        let mut team: Vec<UserId> = self
            .registry()
            .open_tickets(Some(guild))
            .into_iter()
            .filter(|(_, t)| t.thread)
            .flat_map(|(_, t)| t.team)
            .collect();
        team.sort_unstable();
        team.dedup();
        for member in team {
            let roles = match self.inner.members.lookup(guild, member).await {
                Ok(Membership::Member(roles)) => roles,
                Ok(Membership::NotMember) => Vec::new(),
                Err(err) => {
                    tracing::warn!(error = %err, guild_id = %guild, member_id = %member, "cannot check a ticket thread's team member's roles");
                    continue;
                }
            };
            self.follow_roles(guild, member, &roles).await;
        }
    }

    /// [`Tickets::member_roles_changed`] on the tickets.
    async fn follow_roles(&self, guild: GuildId, member: UserId, roles: &[RoleId]) {
        let Some(entry) = self.registry().guild(guild) else {
            return;
        };
        let (mut joined, mut left) = (0_u32, 0_u32);
        for (channel, ticket) in self.registry().open_tickets(Some(guild)) {
            let Some(adding) = team_move(&entry, &ticket, member, roles) else {
                continue;
            };
            match self.grant(channel, &ticket, member, adding).await {
                Ok(()) => {}
                // Out already (Discord takes who leaves the server out of its threads).
                Err(err) if !adding && is_unknown(&err) => {}
                Err(err) => {
                    tracing::warn!(error = %err, channel_id = %channel, member_id = %member, adding, "cannot follow a topic's Support role in its ticket thread");
                    continue;
                }
            }
            if adding {
                joined += 1;
            } else {
                left += 1;
            }
            let recorded = self
                .registry()
                .update_ticket(channel, |t| set_listed(&mut t.team, member, adding))
                .await;
            if let Err(err) = recorded {
                tracing::warn!(error = %err, channel_id = %channel, member_id = %member, "cannot record the ticket thread's team");
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
    const GENERAL: u32 = 2;
    const BILLING_TEAM: u64 = 10;
    const SUPPORT: u64 = 5;

    /// Billing has its own role; General has the guild's Support role, which sees every
    /// ticket anyway.
    fn guild() -> GuildEntry {
        let mut guild: GuildEntry =
            serde_json::from_str(r#"{"category_id":"1","support_role_id":"5"}"#).unwrap();
        let topic = |id, name: &str, role| Topic {
            id,
            name: name.to_owned(),
            description: None,
            support_role_id: Some(RoleId::new(role)),
            emoji: None,
            questions: Vec::new(),
        };
        guild.topics = vec![
            topic(BILLING, "Billing", BILLING_TEAM),
            topic(GENERAL, "General", SUPPORT),
        ];
        guild
    }

    #[test]
    fn a_topics_own_role_joins_its_open_threads_and_losing_it_leaves_only_what_it_gave() {
        let (owner, staff) = (UserId::new(7), UserId::new(8));
        let opened = Timestamp::from_unix_timestamp(1_767_225_600).unwrap();
        let ticket = |topic, thread| TicketEntry {
            topic_id: Some(topic),
            thread,
            ..TicketEntry::opened(GuildId::new(3), owner, opened)
        };
        let billing = ticket(BILLING, true);
        let in_team = TicketEntry {
            team: vec![staff],
            ..billing.clone()
        };
        let has = [RoleId::new(BILLING_TEAM)];
        let lacks = [RoleId::new(99)];
        let moved =
            |t: &TicketEntry, member, roles: &[RoleId]| team_move(&guild(), t, member, roles);

        assert_eq!(moved(&billing, staff, &has), Some(true));
        assert_eq!(moved(&in_team, staff, &has), None, "already in");
        assert_eq!(moved(&in_team, staff, &lacks), Some(false));
        assert_eq!(
            moved(&billing, staff, &lacks),
            None,
            "the role never put them in"
        );
        assert_eq!(
            moved(&billing, owner, &has),
            None,
            "the owner is in it anyway"
        );
        let added = TicketEntry {
            added: vec![staff],
            ..in_team.clone()
        };
        assert_eq!(moved(&added, staff, &lacks), None, "/ticket-add gave it");
        assert_eq!(
            moved(&ticket(BILLING, false), staff, &has),
            None,
            "a channel"
        );
        let support = [RoleId::new(SUPPORT)];
        assert_eq!(
            moved(&ticket(GENERAL, true), staff, &support),
            None,
            "the guild's Support role sees every thread by Manage Threads"
        );
        let closing = TicketEntry {
            status: TicketStatus::Closing,
            ..billing
        };
        assert_eq!(moved(&closing, staff, &has), None, "no longer open");
    }
}
