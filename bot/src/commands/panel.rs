//! `/ticket-panel` (administrators): posts a message with an "Open a ticket" button in the
//! current channel, and records it in the guild's registry entry.

use serenity::all::{
    ButtonStyle, CommandInteraction, Context, CreateActionRow, CreateAllowedMentions, CreateButton,
    CreateCommand, CreateMessage, Permissions,
};

use super::{
    answer::{defer, follow_up, respond_now, Asked},
    create_ticket::NOT_SET_UP,
};
use crate::{
    guild::refusal::Refusal,
    registry::PanelMessage,
    tickets::{Tickets, OPEN_BUTTON},
};

/// The command's name.
pub const NAME: &str = "ticket-panel";
/// Told to a member without the Administrator permission.
pub const NOT_ADMIN: &str = "Only server administrators can post a ticket panel.";
/// The panel's text.
pub const PANEL_TEXT: &str = "**Need help?** Press the button to open a private ticket with the \
                              support team.";

/// `/ticket-panel`, shown to administrators only by default.
pub fn definition() -> CreateCommand {
    CreateCommand::new(NAME)
        .description("Post an \"Open a ticket\" button in this channel")
        .default_member_permissions(Permissions::ADMINISTRATOR)
        .dm_permission(false)
}

/// Handles one `/ticket-panel` interaction.
#[tracing::instrument(name = "ticket_panel", skip_all, fields(channel_id = %command.channel_id, user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    let Some(guild_id) = command.guild_id else {
        respond_now(&ctx.http, command, "Run /ticket-panel in a server.").await;
        return;
    };
    if !Asked::from(command).is_admin() {
        respond_now(&ctx.http, command, NOT_ADMIN).await;
        return;
    }
    if tickets.registry().guild(guild_id).is_none() {
        respond_now(&ctx.http, command, NOT_SET_UP).await;
        return;
    }
    if !defer(&ctx.http, command).await {
        return;
    }
    let panel = CreateMessage::new()
        .content(PANEL_TEXT)
        .components(vec![CreateActionRow::Buttons(vec![CreateButton::new(
            OPEN_BUTTON,
        )
        .label("Open a ticket")
        .style(ButtonStyle::Primary)])])
        .allowed_mentions(CreateAllowedMentions::new());
    let text = match command.channel_id.send_message(&ctx.http, panel).await {
        Ok(message) => {
            let panel = PanelMessage {
                channel_id: message.channel_id,
                message_id: message.id,
            };
            if let Err(err) = tickets.record_panel(guild_id, panel).await {
                tracing::warn!(error = %err, "cannot record the panel message");
            }
            tracing::info!(message_id = %message.id, "ticket panel posted");
            "Panel posted: members can now open a ticket with its button.".to_owned()
        }
        Err(err) => {
            let refusal = Refusal::of(&err);
            refusal.log(&err, "post the ticket panel");
            refusal.explain("post the ticket panel here")
        }
    };
    follow_up(&ctx.http, command, &text).await;
}
