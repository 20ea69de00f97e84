//! `/close-ticket [reason]` and the Close button (with its confirm step): allowed for the
//! ticket's owner, the Support role and administrators, in an open ticket only.

use serenity::all::{
    ButtonStyle, ChannelId, CommandInteraction, CommandOptionType, ComponentInteraction, Context,
    CreateActionRow, CreateButton, CreateCommand, CreateCommandOption, CreateInteractionResponse,
    CreateInteractionResponseMessage,
};

use super::answer::{defer, follow_up, respond_now, Asked};
use crate::tickets::{CloseError, Closed, Tickets, CLOSE_CONFIRM_BUTTON};

/// The command's name.
pub const NAME: &str = "close-ticket";
/// The custom ID of the button that keeps the ticket open.
pub const CANCEL_BUTTON: &str = "ticket:close:cancel";
/// Told outside an open ticket.
pub const NOT_A_TICKET: &str = "This command only works in an open ticket channel.";
/// Told to a member who is not the owner, Support or an administrator.
pub const NOT_ALLOWED: &str =
    "Only the ticket's owner, the Support team and administrators can close this ticket.";
/// The confirm step's question.
pub const CONFIRM_QUESTION: &str =
    "Close this ticket? Its transcript is saved and the channel is deleted.";
/// Discord's limit on a reason, so the summary stays one readable message.
const MAX_REASON_CHARS: u16 = 500;

/// `/close-ticket`, for everyone (the bot checks who may close which ticket).
pub fn definition() -> CreateCommand {
    CreateCommand::new(NAME)
        .description("Close this ticket: save its transcript and delete the channel")
        .dm_permission(false)
        .add_option(
            CreateCommandOption::new(CommandOptionType::String, "reason", "Why it is closed")
                .required(false)
                .max_length(MAX_REASON_CHARS),
        )
}

/// Handles one `/close-ticket` interaction.
#[tracing::instrument(name = "close_ticket_command", skip_all, fields(channel_id = %command.channel_id, user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    let reason = command
        .data
        .options
        .iter()
        .find(|o| o.name == "reason")
        .and_then(|o| o.value.as_str())
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    close(ctx, tickets, command.into(), command.channel_id, reason).await;
}

/// The Close button: asks first, ephemerally.
pub async fn ask_confirmation(ctx: &Context, component: &ComponentInteraction) {
    let buttons = CreateActionRow::Buttons(vec![
        CreateButton::new(CLOSE_CONFIRM_BUTTON)
            .label("Close ticket")
            .style(ButtonStyle::Danger),
        CreateButton::new(CANCEL_BUTTON)
            .label("Keep it open")
            .style(ButtonStyle::Secondary),
    ]);
    let message = CreateInteractionResponseMessage::new()
        .content(CONFIRM_QUESTION)
        .components(vec![buttons])
        .ephemeral(true);
    if let Err(err) = component
        .create_response(&ctx.http, CreateInteractionResponse::Message(message))
        .await
    {
        tracing::error!(error = %err, "cannot ask to confirm the close");
    }
}

/// The confirm step's "Close ticket".
#[tracing::instrument(name = "close_ticket_button", skip_all, fields(channel_id = %component.channel_id, user_id = %component.user.id))]
pub async fn run_button(ctx: &Context, tickets: &Tickets, component: &ComponentInteraction) {
    close(ctx, tickets, component.into(), component.channel_id, None).await;
}

/// The confirm step's "Keep it open": the question goes away.
pub async fn cancelled(ctx: &Context, component: &ComponentInteraction) {
    let update = CreateInteractionResponseMessage::new()
        .content("The ticket stays open.")
        .components(Vec::new());
    if let Err(err) = component
        .create_response(&ctx.http, CreateInteractionResponse::UpdateMessage(update))
        .await
    {
        tracing::error!(error = %err, "cannot answer the interaction");
    }
}

async fn close(
    ctx: &Context,
    tickets: &Tickets,
    asked: Asked<'_>,
    channel: ChannelId,
    reason: Option<String>,
) {
    let Some(ticket) = tickets.registry().open_ticket(channel) else {
        respond_now(&ctx.http, asked, NOT_A_TICKET).await;
        return;
    };
    let user = asked.user_id();
    if ticket.owner_id != user && !tickets.is_staff(ticket.guild_id, asked.member()) {
        tracing::warn!("close refused: not the owner, Support or an administrator");
        respond_now(&ctx.http, asked, NOT_ALLOWED).await;
        return;
    }
    if !defer(&ctx.http, asked).await {
        return;
    }
    let text = match tickets.close(channel, user, reason).await {
        Ok(closed) => describe(&closed, channel),
        Err(CloseError::NotOpen) => NOT_A_TICKET.to_owned(),
        Err(err) => {
            tracing::error!(error = %err, "cannot close the ticket");
            "I couldn't close this ticket: the ticket registry (NATS JetStream) returned an \
             error. The ticket stays open; please try again in a moment."
                .to_owned()
        }
    };
    follow_up(&ctx.http, asked, &text).await;
}

/// What the closer reads: where the transcript went and what failed, as it is.
fn describe(closed: &Closed, channel: ChannelId) -> String {
    let record = closed.record();
    if let Some(why) = &record.without_transcript {
        return format!("Ticket closed, without a transcript: {why}.");
    }
    if let Some(err) = &closed.archive_error {
        return format!(
            "Ticket closed, but its transcript could not be archived yet ({err}). The channel \
             stays until it is; I keep trying."
        );
    }
    if !closed.ticket.is_archived() {
        return "Ticket closed; its transcript is being archived.".to_owned();
    }
    let attachments = match (record.attachments_archived, record.attachments_skipped) {
        (0, 0) => String::new(),
        (kept, 0) => format!(", {kept} attachment(s)"),
        (kept, left) => format!(", {kept} attachment(s); {left} more only linked"),
    };
    let mut text = format!(
        "Ticket closed: the transcript ({} messages{attachments}) is archived \
         (`/{} {channel}` fetches it again)",
        record.messages,
        super::transcript::NAME,
    );
    match (record.log_channel_id, &record.log_failure) {
        (Some(log), _) => text.push_str(&format!(", the transcript is in <#{log}>")),
        (None, Some(failure)) => text.push_str(&format!(
            ", but it could not be posted in ticket-logs: {failure}"
        )),
        (None, None) => {}
    }
    match record.sent_to_owner {
        Some(true) => text.push_str(" and was sent to the ticket's owner."),
        Some(false) => text.push_str(
            "; it could not be sent to the ticket's owner (their DMs are closed, or Discord refused).",
        ),
        None => text.push('.'),
    }
    if record.delete_after.is_some() {
        text.push_str(if closed.ticket.thread {
            " This thread is locked and archived shortly."
        } else {
            " This channel is deleted shortly."
        });
    }
    text
}
