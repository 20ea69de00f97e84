//! The slash commands: their definitions, registration, and the shared ways of answering and of
//! explaining Discord's refusals to the person who ran the command.

pub mod create_ticket;
pub mod guild_setup;
pub mod refusal;
pub mod setup;

use serenity::all::{
    Command, CommandInteraction, Context, CreateAllowedMentions, CreateCommand,
    CreateInteractionResponse, CreateInteractionResponseMessage, EditInteractionResponse, GuildId,
    Http, PermissionOverwrite, PermissionOverwriteType, Permissions, RoleId,
};

use crate::locks::KeyedLocks;

/// Name of the category holding the ticket channels.
pub const TICKETS_CATEGORY: &str = "Tickets";
/// Name of the role that sees every ticket.
pub const SUPPORT_ROLE: &str = "Support";

/// State the commands share across interactions.
#[derive(Debug, Default)]
pub struct CommandState {
    /// One `/setup` at a time per guild.
    pub setup_locks: KeyedLocks<GuildId>,
    /// One `/create-ticket` at a time per (guild, user).
    pub ticket_locks: KeyedLocks<(GuildId, serenity::all::UserId)>,
}

/// The commands the bot registers.
pub fn definitions() -> Vec<CreateCommand> {
    vec![setup::definition(), create_ticket::definition()]
}

/// Registers the commands in `guild` (instant) or globally (may take up to an hour to appear).
pub async fn register(http: &Http, guild: Option<GuildId>) -> serenity::Result<()> {
    let commands = definitions();
    let count = commands.len();
    match guild {
        Some(guild_id) => {
            guild_id.set_commands(http, commands).await?;
            tracing::info!(guild_id = %guild_id, commands = count, "slash commands registered in the guild");
        }
        None => {
            Command::set_global_commands(http, commands).await?;
            tracing::info!(commands = count, "slash commands registered globally");
        }
    }
    Ok(())
}

/// Runs the command an interaction names.
pub async fn dispatch(ctx: &Context, state: &CommandState, command: &CommandInteraction) {
    match command.data.name.as_str() {
        setup::NAME => setup::run(ctx, state, command).await,
        create_ticket::NAME => create_ticket::run(ctx, state, command).await,
        other => tracing::warn!(command = other, "unknown command, ignored"),
    }
}

/// Answers at once with an ephemeral message (for answers that need no work).
async fn respond_now(http: &Http, command: &CommandInteraction, text: &str) {
    let message = CreateInteractionResponseMessage::new()
        .content(text)
        .ephemeral(true)
        .allowed_mentions(CreateAllowedMentions::new());
    if let Err(err) = command
        .create_response(http, CreateInteractionResponse::Message(message))
        .await
    {
        tracing::error!(error = %err, "cannot answer the interaction");
    }
}

/// Acknowledges within Discord's 3-second deadline; the answer follows with [`follow_up`].
async fn defer(http: &Http, command: &CommandInteraction) -> bool {
    let ack =
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true));
    match command.create_response(http, ack).await {
        Ok(()) => true,
        Err(err) => {
            tracing::error!(error = %err, "cannot acknowledge the interaction");
            false
        }
    }
}

/// Replaces the deferred "thinking" message with the answer (ephemeral, like the deferral).
async fn follow_up(http: &Http, command: &CommandInteraction, text: &str) {
    let edit = EditInteractionResponse::new()
        .content(text)
        .allowed_mentions(CreateAllowedMentions::new());
    if let Err(err) = command.edit_response(http, edit).await {
        tracing::error!(error = %err, "cannot answer the interaction");
    }
}

/// Denies @everyone (the role whose ID is the guild's) the sight of a channel.
pub fn hidden_from_everyone(guild_id: GuildId) -> PermissionOverwrite {
    PermissionOverwrite {
        allow: Permissions::empty(),
        deny: Permissions::VIEW_CHANNEL,
        kind: PermissionOverwriteType::Role(RoleId::new(guild_id.get())),
    }
}

/// Grants `allow` to a role or member, denying nothing.
pub fn granted(allow: Permissions, kind: PermissionOverwriteType) -> PermissionOverwrite {
    PermissionOverwrite {
        allow,
        deny: Permissions::empty(),
        kind,
    }
}
