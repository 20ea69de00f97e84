//! `/ticket-priority low|normal|high|urgent` (staff of the ticket): see
//! [`crate::tickets::PriorityChange`].

use serenity::all::{
    CommandInteraction, CommandOptionType, Context, CreateCommand, CreateCommandOption,
};

use super::{
    answer::{defer, follow_up, respond_now},
    close_ticket::NOT_A_TICKET,
    guard, options,
};
use crate::{
    registry::Priority,
    tickets::{PriorityChange, Tickets},
};

/// The command's name.
pub const NAME: &str = "ticket-priority";
/// Told to a member who is neither Support nor an administrator.
pub const NOT_STAFF: &str = "Only the Support team and administrators can set a ticket's priority.";
/// The option naming the priority.
const LEVEL_OPTION: &str = "level";

/// `/ticket-priority level:<…>`, its four choices.
pub fn definition() -> CreateCommand {
    let mut level = CreateCommandOption::new(
        CommandOptionType::String,
        LEVEL_OPTION,
        "How pressing the ticket is",
    )
    .required(true);
    for priority in Priority::ALL {
        level = level.add_string_choice(priority.name(), priority.name());
    }
    CreateCommand::new(NAME)
        .description("Set this ticket's priority (urgent pings the Support team once)")
        .dm_permission(false)
        .add_option(level)
}

/// Handles one `/ticket-priority`.
#[tracing::instrument(name = "ticket_priority_command", skip_all, fields(channel_id = %command.channel_id, user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    let channel = command.channel_id;
    if guard::staff_ticket(ctx, tickets, command.into(), NOT_STAFF)
        .await
        .is_none()
    {
        return;
    }
    let Some(priority) = options::text(command, LEVEL_OPTION).and_then(Priority::parse) else {
        respond_now(&ctx.http, command, "Choose low, normal, high or urgent.").await;
        return;
    };
    if !defer(&ctx.http, command).await {
        return;
    }
    let text = match tickets
        .set_priority(channel, command.user.id, priority)
        .await
    {
        Ok(PriorityChange::Changed(_, now, _)) => format!("Priority set to **{}**.", now.name()),
        Ok(PriorityChange::Unchanged) => {
            format!("The ticket's priority is **{}** already.", priority.name())
        }
        Ok(PriorityChange::NotOpen) => NOT_A_TICKET.to_owned(),
        Err(err) => {
            tracing::error!(error = %err, "cannot set the ticket's priority");
            "I couldn't record that; please try again in a moment.".to_owned()
        }
    };
    follow_up(&ctx.http, command, &text).await;
}
