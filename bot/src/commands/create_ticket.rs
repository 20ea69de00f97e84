//! `/create-ticket` and the panel's "Open a ticket" button: open the user's ticket (see
//! [`crate::tickets`]) or point them at the one they have, answered ephemerally.

use serenity::all::{CommandInteraction, ComponentInteraction, Context, CreateCommand};

use super::answer::{defer, follow_up, respond_now, Asked};
use crate::{
    guild::refusal::Refusal,
    tickets::{Opened, Tickets},
};

/// The command's name.
pub const NAME: &str = "create-ticket";

/// Told when `/setup` has not run.
pub const NOT_SET_UP: &str =
    "Tickets aren't set up on this server yet: ask an administrator to run /setup first.";

/// Told to a member staff blocked from opening tickets.
pub const BLOCKED: &str = "Sorry, you can't open a ticket on this server right now. If you \
     think this is a mistake, please reach out to a moderator.";

/// `/create-ticket`, for everyone.
pub fn definition() -> CreateCommand {
    CreateCommand::new(NAME)
        .description("Open a private ticket channel with the support team")
        .dm_permission(false)
}

/// Handles one `/create-ticket` interaction.
#[tracing::instrument(name = "create_ticket", skip_all, fields(guild_id = command.guild_id.map(|g| g.get()), user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    open(ctx, tickets, command.into()).await;
}

/// Handles a press of a panel's "Open a ticket" button.
#[tracing::instrument(name = "open_button", skip_all, fields(guild_id = component.guild_id.map(|g| g.get()), user_id = %component.user.id))]
pub async fn run_button(ctx: &Context, tickets: &Tickets, component: &ComponentInteraction) {
    open(ctx, tickets, component.into()).await;
}

async fn open(ctx: &Context, tickets: &Tickets, asked: Asked<'_>) {
    let Some(guild_id) = asked.guild_id() else {
        respond_now(&ctx.http, asked, "Open tickets in a server.").await;
        return;
    };
    if !defer(&ctx.http, asked).await {
        return;
    }
    let text = match tickets.open(guild_id, asked.user_id()).await {
        Ok(Opened::Existing(id)) => format!("You already have a ticket: <#{id}>"),
        Ok(Opened::Created(id)) => {
            tracing::info!(channel_id = %id, "ticket channel created");
            format!("Your ticket is ready: <#{id}>")
        }
        Ok(Opened::NotSetUp) => NOT_SET_UP.to_owned(),
        Ok(Opened::Blocked) => {
            tracing::info!("a blocked member was refused a ticket");
            BLOCKED.to_owned()
        }
        Err(err) => {
            let refusal = Refusal::of(&err);
            refusal.log(&err, "create a ticket channel");
            refusal.explain("create your ticket channel")
        }
    };
    follow_up(&ctx.http, asked, &text).await;
}
