//! The slash commands and buttons: their definitions and registration, and the dispatch of an
//! interaction to the command it names. Commands parse what was asked, check who asked, call
//! [`Tickets`] and answer ([`answer`]); the work itself is the tickets'.

mod answer;
pub mod answer_buttons;
pub mod blocks;
pub mod claim;
pub mod close_ticket;
pub mod create_ticket;
mod guard;
pub mod hours;
pub mod list;
pub mod members;
mod options;
pub mod panel;
pub mod priority;
pub mod rating;
pub mod reopen;
pub mod setup;
pub mod stats;
pub mod topics;
pub mod transcript;

use serenity::all::{
    Command, CommandInteraction, ComponentInteraction, Context, CreateCommand, GuildId, Http,
    ModalInteraction,
};

use crate::{
    answers::{DOWN_BUTTON, HUMAN_BUTTON, UP_BUTTON},
    registry::Vote,
    tickets::{Tickets, CLAIM_BUTTON, CLOSE_BUTTON, CLOSE_CONFIRM_BUTTON, OPEN_BUTTON},
};

/// The commands the bot registers.
pub fn definitions() -> Vec<CreateCommand> {
    vec![
        setup::definition(),
        create_ticket::definition(),
        close_ticket::definition(),
        panel::definition(),
        members::add_definition(),
        members::remove_definition(),
        stats::definition(),
        transcript::definition(),
        reopen::definition(),
        topics::definition(),
        claim::claim_definition(),
        claim::unclaim_definition(),
        claim::transfer_definition(),
        priority::definition(),
        blocks::block_definition(),
        blocks::unblock_definition(),
        list::definition(),
        hours::definition(),
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

/// The guild `command` was run in and what `/setup` recorded for it, when an administrator
/// ran it in a set-up guild; otherwise the member is told why (`not_admin` when they are not
/// one) and `None`.
async fn admin_guild(
    ctx: &Context,
    tickets: &Tickets,
    command: &CommandInteraction,
    not_admin: &str,
) -> Option<(GuildId, crate::registry::GuildEntry)> {
    let Some(guild_id) = command.guild_id else {
        let text = format!("Run /{} in a server.", command.data.name);
        answer::respond_now(&ctx.http, command, &text).await;
        return None;
    };
    if !answer::Asked::from(command).is_admin() {
        answer::respond_now(&ctx.http, command, not_admin).await;
        return None;
    }
    let Some(setup) = tickets.registry().guild(guild_id) else {
        answer::respond_now(&ctx.http, command, create_ticket::NOT_SET_UP).await;
        return None;
    };
    Some((guild_id, setup))
}

/// Runs the command an interaction names.
pub async fn dispatch(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    match command.data.name.as_str() {
        setup::NAME => setup::run(ctx, tickets, command).await,
        create_ticket::NAME => create_ticket::run(ctx, tickets, command).await,
        close_ticket::NAME => close_ticket::run(ctx, tickets, command).await,
        panel::NAME => panel::run(ctx, tickets, command).await,
        members::ADD_NAME | members::REMOVE_NAME => members::run(ctx, tickets, command).await,
        stats::NAME => stats::run(ctx, tickets, command).await,
        transcript::NAME => transcript::run(ctx, tickets, command).await,
        reopen::NAME => reopen::run(ctx, tickets, command).await,
        topics::NAME => topics::run(ctx, tickets, command).await,
        priority::NAME => priority::run(ctx, tickets, command).await,
        blocks::BLOCK_NAME | blocks::UNBLOCK_NAME => blocks::run(ctx, tickets, command).await,
        list::NAME => list::run(ctx, tickets, command).await,
        hours::NAME => hours::run(ctx, tickets, command).await,
        claim::CLAIM_NAME | claim::UNCLAIM_NAME | claim::TRANSFER_NAME => {
            claim::run(ctx, tickets, command).await;
        }
        other => tracing::warn!(command = other, "unknown command, ignored"),
    }
}

/// Runs what a pressed button asks for.
pub async fn dispatch_component(
    ctx: &Context,
    tickets: &Tickets,
    component: &ComponentInteraction,
) {
    match component.data.custom_id.as_str() {
        OPEN_BUTTON => create_ticket::run_button(ctx, tickets, component).await,
        CLOSE_BUTTON => close_ticket::ask_confirmation(ctx, component).await,
        CLOSE_CONFIRM_BUTTON => close_ticket::run_button(ctx, tickets, component).await,
        close_ticket::CANCEL_BUTTON => close_ticket::cancelled(ctx, component).await,
        CLAIM_BUTTON => claim::run_button(ctx, tickets, component).await,
        HUMAN_BUTTON => answer_buttons::talk_to_a_human(ctx, tickets, component).await,
        UP_BUTTON => answer_buttons::vote(ctx, tickets, component, Vote::Up).await,
        DOWN_BUTTON => answer_buttons::vote(ctx, tickets, component, Vote::Down).await,
        id if id.starts_with(crate::rating::STAR_PREFIX) => {
            rating::run_star(ctx, tickets, component).await;
        }
        id if id.starts_with(crate::rating::COMMENT_PREFIX) => {
            rating::run_comment_button(ctx, tickets, component).await;
        }
        id if id.starts_with(crate::listing::BUTTON_PREFIX) => {
            list::run_button(ctx, tickets, component).await;
        }
        id if id.starts_with(crate::reopen::BUTTON_PREFIX) => {
            reopen::run_button(ctx, tickets, component).await;
        }
        id if id == create_ticket::TOPIC_MENU
            || id.starts_with(create_ticket::TOPIC_BUTTON_PREFIX) =>
        {
            create_ticket::run_topic(ctx, tickets, component).await;
        }
        other => tracing::warn!(custom_id = other, "unknown button, ignored"),
    }
}

/// Runs what a submitted form asks for.
pub async fn dispatch_modal(ctx: &Context, tickets: &Tickets, modal: &ModalInteraction) {
    let id = modal.data.custom_id.as_str();
    let topic = |prefix: &str| id.strip_prefix(prefix).and_then(|t| t.parse::<u32>().ok());
    if let Some(topic) = topic(create_ticket::FORM_PREFIX) {
        create_ticket::form_submitted(ctx, tickets, modal, topic).await;
    } else if let Some(topic) = topic(topics::QUESTIONS_FORM_PREFIX) {
        topics::questions_submitted(ctx, tickets, modal, topic).await;
    } else if id.starts_with(crate::rating::FORM_PREFIX) {
        rating::run_form(ctx, tickets, modal).await;
    } else {
        tracing::warn!(custom_id = id, "unknown form, ignored");
    }
}
