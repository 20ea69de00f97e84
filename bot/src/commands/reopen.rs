//! Reopening a closed ticket: the Reopen button under its summary (pressed by its owner in
//! the DM, or by staff in `#ticket-logs`) and `/ticket-reopen <channel ID or @member>`
//! (Support and administrators), answered only to whoever asked.

use serenity::all::{
    CommandInteraction, CommandOptionType, ComponentInteraction, Context, CreateCommand,
    CreateCommandOption,
};

use super::{
    answer::{defer, follow_up},
    transcript::staff_ticket,
};
use crate::{
    guild::refusal::Refusal,
    reopen::button_channel,
    tickets::{ReopenError, Reopening, Tickets},
};

/// The command's name.
pub const NAME: &str = "ticket-reopen";
/// The option naming the ticket (as `/ticket-transcript`'s).
pub use super::transcript::OPTION;
/// Told to a member who is neither Support nor an administrator.
pub const NOT_STAFF: &str =
    "Only the Support team and administrators can reopen tickets with /ticket-reopen; a \
     ticket's owner can press Reopen under its transcript.";
/// What a reopening's answer starts with; the new channel follows.
pub const REOPENED: &str = "Reopened: the ticket goes on in";
/// Told when no ticket matches.
pub const NO_TICKET: &str = "I know no ticket by that channel ID or member in this server.";

/// `/ticket-reopen`, for everyone to see, checked by the bot (the Support role carries no
/// permission Discord could filter on).
pub fn definition() -> CreateCommand {
    CreateCommand::new(NAME)
        .description("Reopen a closed ticket in a new channel")
        .dm_permission(false)
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::String,
                OPTION,
                "The closed ticket's channel ID, or @member for their latest ticket",
            )
            .required(true),
        )
}

/// Handles a press of a closed ticket's Reopen button (in a DM or in `#ticket-logs`).
#[tracing::instrument(name = "reopen_button", skip_all, fields(user_id = %component.user.id))]
pub async fn run_button(ctx: &Context, tickets: &Tickets, component: &ComponentInteraction) {
    let Some(closed) = button_channel(&component.data.custom_id) else {
        return;
    };
    if !defer(&ctx.http, component).await {
        return;
    }
    // Staff are known by the guild the button was pressed in (a DM has none).
    let staff = |guild| {
        component.guild_id == Some(guild) && tickets.is_staff(guild, component.member.as_ref())
    };
    let outcome = tickets.reopen(closed, component.user.id, staff).await;
    follow_up(&ctx.http, component, &answer(tickets, outcome)).await;
}

/// Handles one `/ticket-reopen` interaction.
#[tracing::instrument(name = "ticket_reopen", skip_all, fields(user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    let Some((guild, asked)) = staff_ticket(ctx, tickets, command, NOT_STAFF).await else {
        return;
    };
    let text = match tickets.reopenable(guild, asked).await {
        Ok(Some(closed)) => {
            let outcome = tickets.reopen(closed, command.user.id, |_| true).await;
            answer(tickets, outcome)
        }
        Ok(None) => NO_TICKET.to_owned(),
        Err(err) => {
            tracing::error!(error = %err, "cannot read the ticket registry");
            unavailable()
        }
    };
    follow_up(&ctx.http, command, &text).await;
}

/// What whoever asked is told.
fn answer(tickets: &Tickets, outcome: Result<Reopening, ReopenError>) -> String {
    match outcome {
        Ok(reopened) => format!(
            "{REOPENED} <#{}> (the ticket of <@{}>).",
            reopened.channel, reopened.ticket.owner_id
        ),
        Err(ReopenError::Refused { refused, owner }) => {
            refused.explain(owner, &tickets.reopen_window_text())
        }
        Err(ReopenError::NotFound) => NO_TICKET.to_owned(),
        Err(ReopenError::Registry(err)) => {
            tracing::error!(error = %err, "cannot reopen the ticket");
            unavailable()
        }
        Err(ReopenError::Discord(err)) => {
            let refusal = Refusal::of(&err);
            refusal.log(&err, "reopen a ticket");
            refusal.explain("reopen the ticket")
        }
    }
}

fn unavailable() -> String {
    "I couldn't reach the ticket registry (NATS JetStream); please try again in a moment."
        .to_owned()
}
