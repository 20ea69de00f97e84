//! `/setup` (administrators only): makes sure the guild has the "Tickets" category (hidden from
//! @everyone), the "Support" role and the staff-only `ticket-logs` channel, and records them by
//! ID in the registry. Names are used only the first time, to find what an earlier setup made;
//! afterwards a deleted role or category is made again and the open tickets are re-granted to
//! the new role and moved into the new category.

use std::collections::HashMap;

use serenity::all::{
    ChannelId, ChannelType, CommandInteraction, Context, CreateChannel, CreateCommand, EditChannel,
    EditRole, GuildChannel, GuildId, Http, PermissionOverwrite, PermissionOverwriteType,
    Permissions, Role, RoleId, UserId,
};

use super::{
    defer, follow_up, granted, hidden_from_everyone, is_admin, refusal::Refusal, respond_now,
    CommandState, LOG_CHANNEL, SUPPORT_ROLE, TICKETS_CATEGORY,
};
use crate::{
    registry::{GuildEntry, Registry},
    tickets::support_overwrite,
};

/// The command's name.
pub const NAME: &str = "setup";

/// Told to a member without the Administrator permission.
pub const NOT_ADMIN: &str = "Only server administrators can run /setup.";

/// `/setup`, shown to administrators only by default.
pub fn definition() -> CreateCommand {
    CreateCommand::new(NAME)
        .description("Create or repair the Tickets category, the Support role and ticket-logs")
        .default_member_permissions(Permissions::ADMINISTRATOR)
        .dm_permission(false)
}

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
    fn made(self) -> bool {
        matches!(self, Self::Created | Self::Recreated)
    }
}

/// What `/setup` did.
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
}

impl Outcome {
    fn describe(self) -> String {
        let mut done = Vec::new();
        let mut note = |found: Found, what: &str| match found {
            Found::Created => done.push(format!("created {what}")),
            Found::Recreated => done.push(format!("made {what} again (it had been deleted)")),
            Found::Kept | Found::ByName => {}
        };
        note(
            self.category,
            "the Tickets category (hidden from @everyone)",
        );
        note(self.role, "the Support role");
        note(self.log_channel, "the staff-only #ticket-logs channel");
        let mut text = if done.is_empty() {
            "Tickets are already set up: the Tickets category, the Support role and #ticket-logs \
             exist. Nothing changed."
                .to_owned()
        } else {
            format!("Done: {}.", done.join(", "))
        };
        if self.repaired_tickets > 0 {
            text.push_str(&format!(
                " Repaired {} open ticket(s) to match.",
                self.repaired_tickets
            ));
        }
        if self.role.made() {
            text.push_str(" Give the Support role to your staff.");
        }
        if !self.role_is_ours {
            text.push_str(
                " Note: a role named Support already existed and I did not create it; I use it, \
                 so everyone who has it sees every ticket. Check who holds it.",
            );
        }
        text
    }
}

/// Handles one `/setup` interaction.
#[tracing::instrument(name = "setup", skip_all, fields(guild_id = command.guild_id.map(|g| g.get()), user_id = %command.user.id))]
pub async fn run(ctx: &Context, state: &CommandState, command: &CommandInteraction) {
    let Some(guild_id) = command.guild_id else {
        respond_now(&ctx.http, command, "Run /setup in a server.").await;
        return;
    };
    if !is_admin(command.member.as_deref()) {
        tracing::warn!("/setup refused: the member is not an administrator");
        respond_now(&ctx.http, command, NOT_ADMIN).await;
        return;
    }
    if !defer(&ctx.http, command).await {
        return;
    }
    let bot_id = ctx.cache.current_user().id;
    let text = {
        let _guard = state.setup_locks.lock(guild_id).await;
        match ensure(&ctx.http, state.tickets.registry(), guild_id, bot_id).await {
            Ok(outcome) => {
                tracing::info!(?outcome, "/setup done");
                outcome.describe()
            }
            Err(SetupError::Discord(err)) => {
                let refusal = Refusal::of(&err);
                refusal.log(&err, "set up tickets");
                refusal.explain("set up tickets")
            }
            Err(SetupError::Registry(err)) => {
                tracing::error!(error = %err, "cannot record the setup");
                "I couldn't save the setup: the ticket registry (NATS JetStream) is unavailable. \
                 Please try again in a moment."
                    .to_owned()
            }
        }
    };
    follow_up(&ctx.http, command, &text).await;
}

/// Why `/setup` failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Discord refused.
    #[error(transparent)]
    Discord(#[from] serenity::Error),
    /// The registry could not be written.
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
}

/// Makes what is missing and records the result; on a Discord failure removes the role this
/// call made, so a retry starts clean.
pub async fn ensure(
    http: &Http,
    registry: &Registry,
    guild_id: GuildId,
    bot_id: UserId,
) -> Result<Outcome, SetupError> {
    let recorded = registry.guild(guild_id);
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
            let how = if recorded.is_some() {
                Found::Recreated
            } else {
                Found::Created
            };
            (id, how)
        }
    };
    let result = ensure_channels(
        http,
        guild_id,
        bot_id,
        &channels,
        recorded.as_ref(),
        role_id,
    )
    .await;
    let (category_id, category, log_channel_id, log_channel) = match result {
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
    let new_category = (category == Found::Recreated).then_some(category_id);
    if let Some(role_id) = new_role {
        // What was kept still names the deleted role: the new one gets the same access.
        let kept = [
            (!category.made()).then(|| (category_id, category_support(role_id))),
            (!log_channel.made()).then(|| (log_channel_id, log_support(role_id))),
        ];
        for (channel, overwrite) in kept.into_iter().flatten() {
            if let Err(err) = channel.create_permission(http, overwrite).await {
                tracing::warn!(error = %err, channel_id = %channel, "cannot give the new Support role its access");
            }
        }
    }
    let repaired_tickets = repair_tickets(http, registry, guild_id, new_role, new_category).await;
    let entry = GuildEntry {
        category_id,
        support_role_id: role_id,
        support_role_created: role_is_ours,
        log_channel_id: Some(log_channel_id),
        panel_messages: recorded.map(|r| r.panel_messages).unwrap_or_default(),
    };
    registry.put_guild(guild_id, entry).await?;
    Ok(Outcome {
        category,
        role,
        log_channel,
        role_is_ours,
        repaired_tickets,
    })
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
) -> serenity::Result<(ChannelId, Found, ChannelId, Found)> {
    let category = find_channel(channels, recorded.map(|r| Some(r.category_id)), |c| {
        c.kind == ChannelType::Category && c.name.eq_ignore_ascii_case(TICKETS_CATEGORY)
    });
    let (category_id, category) = match category {
        Some(found) => found,
        None => {
            let builder = CreateChannel::new(TICKETS_CATEGORY)
                .kind(ChannelType::Category)
                .permissions(category_overwrites(guild_id, role_id, bot_id));
            let id = guild_id.create_channel(http, builder).await?.id;
            (
                id,
                if recorded.is_some() {
                    Found::Recreated
                } else {
                    Found::Created
                },
            )
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
                .permissions(log_overwrites(guild_id, role_id, bot_id));
            let id = guild_id.create_channel(http, builder).await?.id;
            let recorded_log = recorded.is_some_and(|r| r.log_channel_id.is_some());
            (
                id,
                if recorded_log {
                    Found::Recreated
                } else {
                    Found::Created
                },
            )
        }
    };
    Ok((category_id, category, log_id, log))
}

/// Gives the open tickets the new role and moves them into the new category (each when there
/// is one); returns how many tickets were repaired.
async fn repair_tickets(
    http: &Http,
    registry: &Registry,
    guild_id: GuildId,
    new_role: Option<RoleId>,
    new_category: Option<ChannelId>,
) -> usize {
    if new_role.is_none() && new_category.is_none() {
        return 0;
    }
    let mut repaired = 0;
    for (channel, _) in registry.open_tickets(Some(guild_id)) {
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
        if let Some(category_id) = new_category {
            if let Err(err) = channel
                .edit(http, EditChannel::new().category(Some(category_id)))
                .await
            {
                tracing::warn!(error = %err, channel_id = %channel, "cannot move an open ticket into the new category");
                ok = false;
            }
        }
        repaired += usize::from(ok);
    }
    repaired
}

/// The category is hidden from @everyone; Support and the bot see it.
pub fn category_overwrites(
    guild_id: GuildId,
    support: RoleId,
    bot_id: UserId,
) -> Vec<PermissionOverwrite> {
    vec![
        hidden_from_everyone(guild_id),
        category_support(support),
        granted(
            Permissions::VIEW_CHANNEL | Permissions::MANAGE_CHANNELS,
            PermissionOverwriteType::Member(bot_id),
        ),
    ]
}

/// `ticket-logs` is hidden from @everyone; Support reads it; the bot posts there.
pub fn log_overwrites(
    guild_id: GuildId,
    support: RoleId,
    bot_id: UserId,
) -> Vec<PermissionOverwrite> {
    vec![
        hidden_from_everyone(guild_id),
        log_support(support),
        granted(
            Permissions::VIEW_CHANNEL
                | Permissions::SEND_MESSAGES
                | Permissions::ATTACH_FILES
                | Permissions::EMBED_LINKS
                | Permissions::READ_MESSAGE_HISTORY,
            PermissionOverwriteType::Member(bot_id),
        ),
    ]
}

/// Support sees the Tickets category.
fn category_support(role: RoleId) -> PermissionOverwrite {
    granted(
        Permissions::VIEW_CHANNEL,
        PermissionOverwriteType::Role(role),
    )
}

/// Support reads `ticket-logs` (only the bot posts there).
fn log_support(role: RoleId) -> PermissionOverwrite {
    granted(
        Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY,
        PermissionOverwriteType::Role(role),
    )
}
