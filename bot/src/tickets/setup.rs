//! A guild's set-up, for `/setup`: makes sure the guild has the Tickets category (hidden from
//! @everyone), the Support role and the staff-only `ticket-logs` channel, and records them by
//! ID in the registry. Names are used only the first time, to find what an earlier setup (or
//! another bot) made, which is then re-used openly (the answer says so), and the ticket
//! channels found in that category are adopted; afterwards a deleted role or category is made
//! again and the open tickets are re-granted to the new role and moved into the new category
//! (the repair), the overflow categories included (`super::overflow`). In thread mode (`/setup
//! mode:threads`, kept until another mode is asked for) it also makes the `#tickets` channel
//! whose private threads are the tickets, and repairs it like the rest.

use std::collections::HashMap;

use serenity::all::{
    ChannelId, ChannelType, CreateChannel, EditChannel, EditRole, GuildChannel, GuildId, Http,
    Permissions, Role, RoleId, UserId,
};

use super::{
    overflow::{self, repair_categories},
    Tickets,
};
use crate::{
    guild::{
        overwrites::{support_overwrite, StaffPlace},
        LOG_CHANNEL, SUPPORT_ROLE, THREADS_CHANNEL, TICKETS_CATEGORY,
    },
    registry::{GuildEntry, PanelMessage, Registry, RegistryError, TicketMode},
};

/// How one of the three things came to be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Recorded in the registry and still there.
    Kept,
    /// Not recorded; found by its name (the first setup, or a setup from before the registry).
    ByName,
    /// Missing; made now.
    Created,
    /// Recorded but deleted since; made again.
    Recreated,
}

impl Found {
    /// Whether the bot made it in this set-up.
    pub fn made(self) -> bool {
        matches!(self, Self::Created | Self::Recreated)
    }

    /// Made now: again when the registry recorded one before.
    fn made_now(recorded_before: bool) -> Self {
        if recorded_before {
            Self::Recreated
        } else {
            Self::Created
        }
    }
}

/// What a set-up did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The Tickets category.
    pub category: Found,
    /// The Support role.
    pub role: Found,
    /// The `ticket-logs` channel.
    pub log_channel: Found,
    /// Whether the bot made the Support role (now or earlier).
    pub role_is_ours: bool,
    /// Open tickets given to the new role or moved into the new category.
    pub repaired_tickets: usize,
    /// `ticket-<member ID>` channels found in the category and registered as open tickets.
    pub adopted_tickets: usize,
    /// The overflow categories ("Tickets 2", ...) there are now.
    pub overflow_categories: usize,
    /// Overflow categories whose overwrites were brought in line with the first's, or that
    /// were made again for the tickets they held.
    pub overflow_repaired: usize,
    /// How new tickets are made from now on.
    pub mode: TicketMode,
    /// Whether that is another mode than the guild had.
    pub mode_changed: bool,
    /// The `#tickets` channel of thread mode (`None`: the guild never used thread mode).
    pub threads_channel: Option<Found>,
}

/// Why a set-up failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Discord refused.
    #[error(transparent)]
    Discord(#[from] serenity::Error),
    /// The registry could not be written.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl Tickets {
    /// Sets `guild_id` up (one set-up at a time per guild) for tickets made as `mode` says
    /// (`None`: as before, channels for a guild set up for the first time): makes what is
    /// missing, repairs the open tickets, records the result. On a Discord failure the role
    /// this call made is removed, so a retry starts clean.
    pub async fn set_up(
        &self,
        guild_id: GuildId,
        mode: Option<TicketMode>,
    ) -> Result<Outcome, SetupError> {
        let _guard = self.inner.setup_locks.lock(guild_id).await;
        // No ticket is placed while the categories are repaired.
        let placing = self.inner.category_locks.lock(guild_id).await;
        let (mut outcome, channels, entry) =
            ensure(self.http(), self.registry(), guild_id, self.bot_id(), mode).await?;
        drop(placing);
        outcome.adopted_tickets = self
            .adopt_channels(guild_id, &entry, channels.values())
            .await
            .tickets;
        Ok(outcome)
    }

    /// Records a ticket panel posted in `guild_id` (under the set-up lock: both rewrite the
    /// guild's entry). Nothing to do before `/setup`.
    pub async fn record_panel(
        &self,
        guild_id: GuildId,
        panel: PanelMessage,
    ) -> Result<(), RegistryError> {
        let _guard = self.inner.setup_locks.lock(guild_id).await;
        match self.registry().guild(guild_id) {
            Some(mut entry) => {
                entry.panel_messages.push(panel);
                self.registry().put_guild(guild_id, entry).await
            }
            None => Ok(()),
        }
    }
}

/// What a set-up did, the guild's channels as it found them, and the entry it recorded.
type Ensured = (Outcome, HashMap<ChannelId, GuildChannel>, GuildEntry);

async fn ensure(
    http: &Http,
    registry: &Registry,
    guild_id: GuildId,
    bot_id: UserId,
    mode: Option<TicketMode>,
) -> Result<Ensured, SetupError> {
    let recorded = registry.guild(guild_id);
    let before = recorded.as_ref().map(|r| r.mode);
    let mode = mode.or(before).unwrap_or_default();
    let channels = guild_id.channels(http).await?;
    let roles = guild_id.roles(http).await?;

    let (role_id, role) = match find_role(&roles, recorded.as_ref()) {
        Some(found) => found,
        None => {
            let role = EditRole::new()
                .name(SUPPORT_ROLE)
                .permissions(Permissions::empty())
                .mentionable(false);
            let id = guild_id.create_role(http, role).await?.id;
            (id, Found::made_now(recorded.is_some()))
        }
    };
    let result = ensure_channels(
        http,
        guild_id,
        bot_id,
        &channels,
        recorded.as_ref(),
        role_id,
        mode,
    )
    .await;
    let (category_id, category, log_channel_id, log_channel, threads_channel) = match result {
        Ok(made) => made,
        Err(err) => {
            if role.made() {
                if let Err(cleanup) = guild_id.delete_role(http, role_id).await {
                    tracing::error!(error = %cleanup, role_id = %role_id, "cannot remove the Support role created by a failed /setup");
                }
            }
            return Err(err.into());
        }
    };
    let role_is_ours = match role {
        Found::Created | Found::Recreated => true,
        Found::ByName => false,
        Found::Kept => recorded.as_ref().is_some_and(|r| r.support_role_created),
    };
    let new_role = (role == Found::Recreated).then_some(role_id);
    if let Some(role_id) = new_role {
        // What was kept still names the deleted role: the new one gets the same access.
        let kept = [
            (!category.made()).then_some((category_id, StaffPlace::TicketsCategory)),
            (!log_channel.made()).then_some((log_channel_id, StaffPlace::LogChannel)),
            threads_channel
                .filter(|(_, found)| !found.made())
                .map(|(id, _)| (id, StaffPlace::ThreadsChannel)),
        ];
        for (channel, place) in kept.into_iter().flatten() {
            if let Err(err) = channel
                .create_permission(http, place.support(role_id))
                .await
            {
                tracing::warn!(error = %err, channel_id = %channel, "cannot give the new Support role its access");
            }
        }
    }
    let mut first_overwrites = match channels.get(&category_id) {
        Some(kept) => kept.permission_overwrites.clone(),
        None => StaffPlace::TicketsCategory.overwrites(guild_id, role_id, bot_id),
    };
    if let Some(role_id) = new_role.filter(|_| !category.made()) {
        first_overwrites.push(StaffPlace::TicketsCategory.support(role_id));
    }
    let found = overflow::Found {
        guild: guild_id,
        channels: &channels,
        first: category_id,
        overwrites: first_overwrites,
        recorded: recorded
            .as_ref()
            .map_or(&[][..], |r| r.overflow_category_ids.as_slice()),
    };
    let overflow = repair_categories(http, registry, found).await?;
    let repaired_tickets = repair(http, registry, guild_id, new_role, &overflow.moves).await;
    let entry = GuildEntry {
        category_id,
        support_role_id: role_id,
        support_role_created: role_is_ours,
        log_channel_id: Some(log_channel_id),
        overflow_category_ids: overflow.categories.clone(),
        server_full_told_at: recorded.as_ref().and_then(|r| r.server_full_told_at),
        topics: recorded
            .as_ref()
            .map(|r| r.topics.clone())
            .unwrap_or_default(),
        // What the guild chose (blocks, hours, ...) outlives a repair.
        staff: recorded
            .as_ref()
            .map(|r| r.staff.clone())
            .unwrap_or_default(),
        panel_messages: recorded.map(|r| r.panel_messages).unwrap_or_default(),
        mode,
        threads_channel_id: threads_channel.map(|(id, _)| id),
    };
    registry.put_guild(guild_id, entry.clone()).await?;
    let outcome = Outcome {
        category,
        role,
        log_channel,
        role_is_ours,
        repaired_tickets,
        adopted_tickets: 0,
        overflow_categories: overflow.categories.len(),
        overflow_repaired: overflow.fixed,
        mode,
        mode_changed: before.is_some_and(|before| before != mode),
        threads_channel: threads_channel.map(|(_, found)| found),
    };
    Ok((outcome, channels, entry))
}

fn find_role(
    roles: &HashMap<RoleId, Role>,
    recorded: Option<&GuildEntry>,
) -> Option<(RoleId, Found)> {
    match recorded {
        Some(entry) => roles
            .contains_key(&entry.support_role_id)
            .then_some((entry.support_role_id, Found::Kept)),
        None => roles
            .values()
            .find(|r| r.name == SUPPORT_ROLE)
            .map(|r| (r.id, Found::ByName)),
    }
}

/// The recorded channel if it still exists, else (first setup only) one found by `matches`.
fn find_channel(
    channels: &HashMap<ChannelId, GuildChannel>,
    recorded: Option<Option<ChannelId>>,
    matches: impl Fn(&GuildChannel) -> bool,
) -> Option<(ChannelId, Found)> {
    match recorded {
        Some(Some(id)) => channels.contains_key(&id).then_some((id, Found::Kept)),
        _ => channels
            .values()
            .find(|c| matches(c))
            .map(|c| (c.id, Found::ByName)),
    }
}

async fn ensure_channels(
    http: &Http,
    guild_id: GuildId,
    bot_id: UserId,
    channels: &HashMap<ChannelId, GuildChannel>,
    recorded: Option<&GuildEntry>,
    role_id: RoleId,
    mode: TicketMode,
) -> serenity::Result<(
    ChannelId,
    Found,
    ChannelId,
    Found,
    Option<(ChannelId, Found)>,
)> {
    let category = find_channel(channels, recorded.map(|r| Some(r.category_id)), |c| {
        c.kind == ChannelType::Category && c.name.eq_ignore_ascii_case(TICKETS_CATEGORY)
    });
    let (category_id, category) = match category {
        Some(found) => found,
        None => {
            let builder = CreateChannel::new(TICKETS_CATEGORY)
                .kind(ChannelType::Category)
                .permissions(StaffPlace::TicketsCategory.overwrites(guild_id, role_id, bot_id));
            let id = guild_id.create_channel(http, builder).await?.id;
            (id, Found::made_now(recorded.is_some()))
        }
    };
    let log = find_channel(channels, recorded.map(|r| r.log_channel_id), |c| {
        c.kind == ChannelType::Text && c.name == LOG_CHANNEL
    });
    let (log_id, log) = match log {
        Some(found) => found,
        None => {
            let builder = CreateChannel::new(LOG_CHANNEL)
                .kind(ChannelType::Text)
                .topic("Transcripts of closed tickets (staff only)")
                .permissions(StaffPlace::LogChannel.overwrites(guild_id, role_id, bot_id));
            let id = guild_id.create_channel(http, builder).await?.id;
            let recorded_log = recorded.is_some_and(|r| r.log_channel_id.is_some());
            (id, Found::made_now(recorded_log))
        }
    };
    // Thread mode's `#tickets`: the recorded one while it exists, else a new one (never one
    // found by name: a server's own `#tickets` may be public for anything). A guild that
    // never used threads has none; one that went back to channels keeps its channel,
    // repaired, for the thread tickets still open there.
    let recorded_threads = recorded.and_then(|r| r.threads_channel_id);
    let threads = match recorded_threads.filter(|id| channels.contains_key(id)) {
        Some(id) => Some((id, Found::Kept)),
        None if mode == TicketMode::Threads => {
            let builder = CreateChannel::new(THREADS_CHANNEL)
                .kind(ChannelType::Text)
                .topic("Support tickets: each one is a private thread here")
                .permissions(StaffPlace::ThreadsChannel.overwrites(guild_id, role_id, bot_id));
            let id = guild_id.create_channel(http, builder).await?.id;
            Some((id, Found::made_now(recorded_threads.is_some())))
        }
        None => None,
    };
    Ok((category_id, category, log_id, log, threads))
}

/// Gives the open tickets the new role (when there is one) and moves those whose category was
/// deleted as `moves` says; returns how many tickets were repaired.
async fn repair(
    http: &Http,
    registry: &Registry,
    guild_id: GuildId,
    new_role: Option<RoleId>,
    moves: &HashMap<ChannelId, ChannelId>,
) -> usize {
    if new_role.is_none() && moves.is_empty() {
        return 0;
    }
    let mut repaired = 0;
    for (channel, ticket) in registry.open_tickets(Some(guild_id)) {
        if ticket.thread {
            // A thread has no overwrites: its parent's, repaired above, let Support in.
            continue;
        }
        let mut ok = true;
        if let Some(role_id) = new_role {
            if let Err(err) = channel
                .create_permission(http, support_overwrite(role_id))
                .await
            {
                tracing::warn!(error = %err, channel_id = %channel, "cannot give the new Support role an open ticket");
                ok = false;
            }
        }
        if let Some(category_id) = moves.get(&channel).copied() {
            if let Err(err) = channel
                .edit(http, EditChannel::new().category(Some(category_id)))
                .await
            {
                tracing::warn!(error = %err, channel_id = %channel, "cannot move an open ticket into the new category");
                ok = false;
            }
        }
        if new_role.is_none() && !moves.contains_key(&channel) {
            continue;
        }
        repaired += usize::from(ok);
    }
    repaired
}
