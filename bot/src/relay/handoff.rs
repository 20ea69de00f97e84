//! Human handoff: a ticket message from staff (a member with the Support role, an
//! administrator, or the guild's owner) is not a question for the assistant. It is not relayed
//! (it reaches the assistant later as `staff` history), and the assistant stays quiet in that
//! ticket until the quiet period (`HANDOFF_QUIET_MINUTES`) after staff last wrote has passed,
//! saying so once per quiet period ([`HANDOFF_MESSAGE`]).
//!
//! The Support role is the one `/setup` recorded in the registry (by ID: a role merely named
//! Support is nobody's badge); administrators are found by their roles' permissions. The quiet periods live in memory: after a restart the assistant answers
//! again until staff write once more.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use serenity::all::{ChannelId, CreateAllowedMentions, CreateMessage, Message, RoleId};
use tokio::time::Instant;

use super::{lock, Inner};

/// What the assistant says, once per quiet period, when staff write in a ticket.
pub const HANDOFF_MESSAGE: &str = "A member of staff has joined; I'll let them answer.";

/// `HANDOFF_QUIET_MINUTES`' default: long enough for a conversation with staff to pause.
pub(super) const DEFAULT_QUIET: Duration = Duration::from_secs(30 * 60);

/// Beyond this many remembered channels, ended quiet periods are forgotten.
const PRUNE_ABOVE: usize = 1024;

/// Until when each ticket channel is quiet.
#[derive(Default)]
pub(super) struct Handoffs {
    quiet_until: Mutex<HashMap<ChannelId, Instant>>,
}

impl Handoffs {
    /// Staff wrote in `channel_id`: it is quiet for `quiet` from now. `true` when this starts a
    /// new quiet period (the assistant should say so).
    fn staff_wrote(&self, channel_id: ChannelId, quiet: Duration) -> bool {
        let now = Instant::now();
        let mut quiet_until = lock(&self.quiet_until);
        if quiet_until.len() > PRUNE_ABOVE {
            quiet_until.retain(|_, until| *until > now);
        }
        let previous = quiet_until.insert(channel_id, now + quiet);
        previous.is_none_or(|until| until <= now)
    }

    fn is_quiet(&self, channel_id: ChannelId) -> bool {
        lock(&self.quiet_until)
            .get(&channel_id)
            .is_some_and(|until| *until > Instant::now())
    }
}

impl Inner {
    /// `true` when `message` is for staff to handle, not the assistant: it is from staff (a
    /// new quiet period is announced), or staff are handling its ticket.
    pub(super) async fn handed_off(&self, message: &Message) -> bool {
        if self.is_staff(message) {
            if self
                .handoffs
                .staff_wrote(message.channel_id, self.settings.handoff_quiet)
            {
                tracing::info!("staff joined the ticket; the assistant stays quiet");
                let notice = CreateMessage::new()
                    .content(HANDOFF_MESSAGE)
                    .allowed_mentions(CreateAllowedMentions::new());
                if let Err(err) = message.channel_id.send_message(&*self.http, notice).await {
                    tracing::error!(error = %err, "cannot tell the ticket that staff joined");
                }
            }
            return true;
        }
        if self.handoffs.is_quiet(message.channel_id) {
            tracing::debug!("staff are handling this ticket; message not relayed");
            return true;
        }
        false
    }
}

impl Inner {
    /// Whether the author of `message` is staff: the guild's owner, or a member whose roles
    /// include the guild's Support role or grant Administrator. The message's own member roles
    /// are used (gateway messages carry them), else the cached member's (messages fetched over
    /// REST do not).
    pub(super) fn is_staff(&self, message: &Message) -> bool {
        let Some(guild_id) = message.guild_id else {
            return false;
        };
        let support = self.registry.guild(guild_id).map(|g| g.support_role_id);
        let Some(guild) = self.cache.guild(guild_id) else {
            return false;
        };
        if guild.owner_id == message.author.id {
            return true;
        }
        let roles: Vec<RoleId> = match (&message.member, guild.members.get(&message.author.id)) {
            (Some(member), _) => member.roles.clone(),
            (None, Some(member)) => member.roles.clone(),
            (None, None) => return false,
        };
        let everyone = RoleId::new(guild.id.get());
        let staff = roles.iter().chain([&everyone]).any(|id| {
            Some(*id) == support
                || guild
                    .roles
                    .get(id)
                    .is_some_and(|role| role.permissions.administrator())
        });
        staff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_quiet_period_is_announced_once_and_ends() {
        let handoffs = Handoffs::default();
        let channel = ChannelId::new(1);
        let quiet = Duration::from_secs(60);
        assert!(!handoffs.is_quiet(channel));
        assert!(handoffs.staff_wrote(channel, quiet), "a new quiet period");
        assert!(handoffs.is_quiet(channel));
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(
            !handoffs.staff_wrote(channel, quiet),
            "the same one, extended"
        );
        tokio::time::advance(Duration::from_secs(45)).await;
        assert!(handoffs.is_quiet(channel), "60 s after staff last wrote");
        tokio::time::advance(Duration::from_secs(16)).await;
        assert!(!handoffs.is_quiet(channel));
        assert!(
            handoffs.staff_wrote(channel, quiet),
            "a new quiet period again"
        );
        assert!(!handoffs.is_quiet(ChannelId::new(2)), "per channel");
    }
}
