//! `/create-ticket`: opens `ticket-{user_id}` in the Tickets category, visible only to the user,
//! the Support role and the bot, or points the user at the ticket they already have.

use serenity::all::{
    ChannelId, ChannelType, CommandInteraction, Context, CreateAllowedMentions, CreateChannel,
    CreateCommand, CreateMessage, GuildId, Http, PermissionOverwrite, PermissionOverwriteType,
    Permissions, RoleId, UserId,
};

use super::{
    defer, follow_up, granted,
    guild_setup::{GuildChannels, TicketSetup},
    hidden_from_everyone,
    refusal::Refusal,
    respond_now, CommandState,
};

/// The command's name.
pub const NAME: &str = "create-ticket";

/// Told when `/setup` has not run.
pub const NOT_SET_UP: &str =
    "Tickets aren't set up on this server yet: ask an administrator to run /setup first.";

/// `/create-ticket`.
pub fn definition() -> CreateCommand {
    CreateCommand::new(NAME)
        .description("Open a private ticket channel with the support team")
        .dm_permission(false)
}

/// The name of a user's ticket channel.
pub fn channel_name(user_id: UserId) -> String {
    format!("{}{user_id}", crate::relay::TICKET_CHANNEL_PREFIX)
}

/// What the user gets: view, send, read history, attach files, embed links.
pub fn member_permissions() -> Permissions {
    Permissions::VIEW_CHANNEL
        | Permissions::SEND_MESSAGES
        | Permissions::READ_MESSAGE_HISTORY
        | Permissions::ATTACH_FILES
        | Permissions::EMBED_LINKS
}

/// The overwrites of a ticket channel: @everyone denied view; the user and Support get
/// [`member_permissions`]; the bot gets those plus Manage Channels.
pub fn ticket_overwrites(
    guild_id: GuildId,
    user_id: UserId,
    support: RoleId,
    bot_id: UserId,
) -> Vec<PermissionOverwrite> {
    vec![
        hidden_from_everyone(guild_id),
        granted(
            member_permissions(),
            PermissionOverwriteType::Member(user_id),
        ),
        granted(member_permissions(), PermissionOverwriteType::Role(support)),
        granted(
            member_permissions() | Permissions::MANAGE_CHANNELS,
            PermissionOverwriteType::Member(bot_id),
        ),
    ]
}

/// The outcome of a `/create-ticket`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ticket {
    /// The user already had this channel.
    Existing(ChannelId),
    /// A new channel.
    Created(ChannelId),
    /// `/setup` has not run (no Tickets category or no Support role).
    NotSetUp,
}

/// Handles one `/create-ticket` interaction.
#[tracing::instrument(name = "create_ticket", skip_all, fields(guild_id = command.guild_id.map(|g| g.get()), user_id = %command.user.id))]
pub async fn run(ctx: &Context, state: &CommandState, command: &CommandInteraction) {
    let Some(guild_id) = command.guild_id else {
        respond_now(&ctx.http, command, "Run /create-ticket in a server.").await;
        return;
    };
    if !defer(&ctx.http, command).await {
        return;
    }
    let user_id = command.user.id;
    let bot_id = ctx.cache.current_user().id;
    let text = {
        // Two simultaneous /create-ticket of one user: the second sees the first's channel.
        let _guard = state.ticket_locks.lock((guild_id, user_id)).await;
        match open(&ctx.http, guild_id, user_id, bot_id).await {
            Ok(Ticket::Existing(id)) => format!("You already have a ticket: <#{id}>"),
            Ok(Ticket::Created(id)) => {
                tracing::info!(channel_id = %id, "ticket channel created");
                format!("Your ticket is ready: <#{id}>")
            }
            Ok(Ticket::NotSetUp) => NOT_SET_UP.to_owned(),
            Err(err) => {
                let refusal = Refusal::of(&err);
                refusal.log(&err, "create a ticket channel");
                refusal.explain("create your ticket channel")
            }
        }
    };
    follow_up(&ctx.http, command, &text).await;
}

/// Finds or creates the user's ticket channel. Call with the user's lock held.
pub async fn open(
    http: &Http,
    guild_id: GuildId,
    user_id: UserId,
    bot_id: UserId,
) -> serenity::Result<Ticket> {
    let name = channel_name(user_id);
    let channels = GuildChannels::fetch(http, guild_id).await?;
    if let Some(existing) = channels.named(&name) {
        return Ok(Ticket::Existing(existing));
    }
    // Without a category the roles are not worth a REST call.
    if channels.tickets_category().is_none() {
        return Ok(Ticket::NotSetUp);
    }
    let TicketSetup {
        category: Some(category),
        support_role: Some(support),
    } = channels.ticket_setup(http).await?
    else {
        return Ok(Ticket::NotSetUp);
    };
    let builder = CreateChannel::new(name)
        .kind(ChannelType::Text)
        .category(category)
        .topic(format!("Support ticket of <@{user_id}>"))
        .permissions(ticket_overwrites(guild_id, user_id, support, bot_id));
    let channel = guild_id.create_channel(http, builder).await?;
    let welcome = CreateMessage::new()
        .content(format!(
            "Welcome <@{user_id}>! Describe your problem here: the assistant answers right away \
             and the support team can read along."
        ))
        .allowed_mentions(CreateAllowedMentions::new());
    if let Err(err) = channel.id.send_message(http, welcome).await {
        // The channel works without its welcome; removing it would lose the user's ticket.
        tracing::warn!(error = %err, channel_id = %channel.id, "cannot post the welcome message");
    }
    Ok(Ticket::Created(channel.id))
}
