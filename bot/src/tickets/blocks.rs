//! The blocklist: members who may not open tickets (`/ticket-block`, `/ticket-unblock`). Kept
//! in the guild's entry ([`crate::registry::StaffSettings::blocked`]) with a compare-and-set,
//! so two staff members blocking at once both count; [`Tickets::open`] refuses a blocked
//! member, by command and panel alike.

use serenity::all::{GuildId, Timestamp, UserId};

use super::Tickets;
use crate::registry::{clean_reason, Block, RegistryError, MAX_BLOCKS};

/// What a block or an unblock did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockChange {
    /// Done.
    Done,
    /// Nothing to do: already blocked (by this block), or not blocked.
    Unchanged(Option<Block>),
    /// The list is full ([`MAX_BLOCKS`]).
    Full,
    /// `/setup` has not run.
    NotSetUp,
}

impl Tickets {
    /// Blocks `user` in `guild`, asked by `by`, for `reason`.
    #[tracing::instrument(name = "ticket_block", skip_all, fields(guild_id = %guild, user_id = %user, by = %by))]
    pub async fn block(
        &self,
        guild: GuildId,
        user: UserId,
        by: UserId,
        reason: Option<&str>,
    ) -> Result<BlockChange, RegistryError> {
        let mut outcome = BlockChange::Done;
        let block = Block {
            user_id: user,
            by,
            at: Timestamp::now(),
            reason: clean_reason(reason),
        };
        let changed = self
            .registry()
            .update_guild(guild, |g| {
                if let Some(existing) = g.staff.block_of(user) {
                    outcome = BlockChange::Unchanged(Some(existing.clone()));
                    return false;
                }
                if g.staff.blocked.len() >= MAX_BLOCKS {
                    outcome = BlockChange::Full;
                    return false;
                }
                outcome = BlockChange::Done;
                g.staff.blocked.push(block.clone());
                true
            })
            .await?;
        if changed.is_none() {
            return Ok(BlockChange::NotSetUp);
        }
        tracing::info!(?outcome, "member blocked from opening tickets");
        Ok(outcome)
    }

    /// Lifts `user`'s block in `guild`.
    #[tracing::instrument(name = "ticket_unblock", skip_all, fields(guild_id = %guild, user_id = %user))]
    pub async fn unblock(
        &self,
        guild: GuildId,
        user: UserId,
    ) -> Result<BlockChange, RegistryError> {
        let changed = self
            .registry()
            .update_guild(guild, |g| {
                let before = g.staff.blocked.len();
                g.staff.blocked.retain(|b| b.user_id != user);
                g.staff.blocked.len() != before
            })
            .await?;
        Ok(match changed {
            None => BlockChange::NotSetUp,
            Some((_, true)) => BlockChange::Done,
            Some((_, false)) => BlockChange::Unchanged(None),
        })
    }

    /// Whether `user` may not open tickets in `guild` (no I/O).
    pub fn is_blocked(&self, guild: GuildId, user: UserId) -> bool {
        self.registry()
            .guild(guild)
            .is_some_and(|g| g.staff.block_of(user).is_some())
    }
}
