//! The slash commands and buttons: their definitions, registration, and the shared ways of
//! answering and of explaining Discord's refusals to the person who ran the command.

pub mod close_ticket;
pub mod create_ticket;
pub mod members;
pub mod panel;
pub mod refusal;
pub mod setup;

use serenity::all::{
    Command, CommandInteraction, ComponentInteraction, Context, CreateAllowedMentions,
    CreateCommand, CreateInteractionResponse, CreateInteractionResponseMessage,
    EditInteractionResponse, GuildId, Http, Member, PermissionOverwrite, PermissionOverwriteType,
    Permissions, RoleId, UserId,
};

use crate::{locks::KeyedLocks, tickets::Tickets};

/// Name of the category holding the ticket channels (looked up by name only the first time).
pub const TICKETS_CATEGORY: &str = "Tickets";
/// Name of the role that sees every ticket (looked up by name only the first time).
pub const SUPPORT_ROLE: &str = "Support";
/// Name of the staff-only channel transcripts go to (looked up by name only the first time).
pub const LOG_CHANNEL: &str = "ticket-logs";

/// State the commands share across interactions.
#[derive(Debug)]
pub struct CommandState {
    /// The ticket lifecycle (and through it the registry).
    pub tickets: Tickets,
    /// One `/setup` at a time per guild.
    pub setup_locks: KeyedLocks<GuildId>,
    /// One ticket opening at a time per (guild, user): command and button alike.
    pub ticket_locks: KeyedLocks<(GuildId, UserId)>,
}

impl CommandState {
    /// The state around `tickets`.
    pub fn new(tickets: Tickets) -> Self {
        Self {
            tickets,
            setup_locks: KeyedLocks::default(),
            ticket_locks: KeyedLocks::default(),
        }
    }
}

/// The commands the bot registers.
pub fn definitions() -> Vec<CreateCommand> {
    vec![
        setup::definition(),
        create_ticket::definition(),
        close_ticket::definition(),
        panel::definition(),
        members::add_definition(),
        members::remove_definition(),
    ]
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
        close_ticket::NAME => close_ticket::run(ctx, state, command).await,
        panel::NAME => panel::run(ctx, state, command).await,
        members::ADD_NAME | members::REMOVE_NAME => members::run(ctx, state, command).await,
        other => tracing::warn!(command = other, "unknown command, ignored"),
    }
}

/// Runs what a pressed button asks for.
pub async fn dispatch_component(
    ctx: &Context,
    state: &CommandState,
    component: &ComponentInteraction,
) {
    use crate::tickets::{CLOSE_BUTTON, CLOSE_CONFIRM_BUTTON, OPEN_BUTTON};
    match component.data.custom_id.as_str() {
        OPEN_BUTTON => create_ticket::run_button(ctx, state, component).await,
        CLOSE_BUTTON => close_ticket::ask_confirmation(ctx, component).await,
        CLOSE_CONFIRM_BUTTON => close_ticket::run_button(ctx, state, component).await,
        close_ticket::CANCEL_BUTTON => close_ticket::cancelled(ctx, component).await,
        other => tracing::warn!(custom_id = other, "unknown button, ignored"),
    }
}

/// An interaction the bot answers: a slash command or a pressed button.
#[derive(Clone, Copy)]
pub enum Asked<'a> {
    /// A slash command.
    Command(&'a CommandInteraction),
    /// A button.
    Component(&'a ComponentInteraction),
}

impl<'a> Asked<'a> {
    /// The guild it came from.
    pub fn guild_id(self) -> Option<GuildId> {
        match self {
            Self::Command(c) => c.guild_id,
            Self::Component(c) => c.guild_id,
        }
    }

    /// Who asked.
    pub fn user_id(self) -> UserId {
        match self {
            Self::Command(c) => c.user.id,
            Self::Component(c) => c.user.id,
        }
    }

    /// The member who asked (with their roles and permissions in the channel).
    pub fn member(self) -> Option<&'a Member> {
        match self {
            Self::Command(c) => c.member.as_deref(),
            Self::Component(c) => c.member.as_ref(),
        }
    }

    async fn respond(
        self,
        http: &Http,
        response: CreateInteractionResponse,
    ) -> serenity::Result<()> {
        match self {
            Self::Command(c) => c.create_response(http, response).await,
            Self::Component(c) => c.create_response(http, response).await,
        }
    }

    async fn edit(self, http: &Http, edit: EditInteractionResponse) -> serenity::Result<()> {
        match self {
            Self::Command(c) => c.edit_response(http, edit).await.map(drop),
            Self::Component(c) => c.edit_response(http, edit).await.map(drop),
        }
    }
}

/// Answers at once with an ephemeral message (for answers that need no work).
async fn respond_now<'a>(http: &Http, asked: impl Into<Asked<'a>>, text: &str) {
    let message = CreateInteractionResponseMessage::new()
        .content(text)
        .ephemeral(true)
        .allowed_mentions(CreateAllowedMentions::new());
    if let Err(err) = asked
        .into()
        .respond(http, CreateInteractionResponse::Message(message))
        .await
    {
        tracing::error!(error = %err, "cannot answer the interaction");
    }
}

/// Acknowledges within Discord's 3-second deadline; the answer follows with [`follow_up`].
async fn defer<'a>(http: &Http, asked: impl Into<Asked<'a>>) -> bool {
    let ack =
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true));
    match asked.into().respond(http, ack).await {
        Ok(()) => true,
        Err(err) => {
            tracing::error!(error = %err, "cannot acknowledge the interaction");
            false
        }
    }
}

/// Replaces the deferred "thinking" message with the answer (ephemeral, like the deferral).
async fn follow_up<'a>(http: &Http, asked: impl Into<Asked<'a>>, text: &str) {
    let edit = EditInteractionResponse::new()
        .content(text)
        .allowed_mentions(CreateAllowedMentions::new());
    if let Err(err) = asked.into().edit(http, edit).await {
        tracing::error!(error = %err, "cannot answer the interaction");
    }
}

impl<'a> From<&'a CommandInteraction> for Asked<'a> {
    fn from(command: &'a CommandInteraction) -> Self {
        Self::Command(command)
    }
}

impl<'a> From<&'a ComponentInteraction> for Asked<'a> {
    fn from(component: &'a ComponentInteraction) -> Self {
        Self::Component(component)
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

/// Whether a member has the Administrator permission. Server admins can override
/// `default_member_permissions`, so commands check the member too.
pub fn is_admin(member: Option<&Member>) -> bool {
    member
        .and_then(|m| m.permissions)
        .is_some_and(Permissions::administrator)
}
