//! `/ticket-add @member` and `/ticket-remove @member` (Support and administrators): grant or take
//! away another member's access to the current ticket, with exactly one member overwrite (in
//! thread mode, by adding or removing a thread member).

use serenity::all::{
    CommandInteraction, CommandOptionType, Context, CreateAllowedMentions, CreateCommand,
    CreateCommandOption, CreateMessage, UserId,
};

use super::{
    answer::{defer, follow_up, respond_now},
    guard, options,
};
use crate::{guild::refusal::Refusal, tickets::Tickets};

/// `/ticket-add`'s name.
pub const ADD_NAME: &str = "ticket-add";
/// `/ticket-remove`'s name.
pub const REMOVE_NAME: &str = "ticket-remove";
/// Told to a member who is neither Support nor an administrator.
pub const NOT_STAFF: &str =
    "Only the Support team and administrators can change who is in a ticket.";
/// The option naming the member.
const MEMBER_OPTION: &str = "member";

/// `/ticket-add`: for everyone to see, checked by the bot (the Support role carries no
/// permission Discord could filter on).
pub fn add_definition() -> CreateCommand {
    CreateCommand::new(ADD_NAME)
        .description("Give a member access to this ticket")
        .dm_permission(false)
        .add_option(
            CreateCommandOption::new(CommandOptionType::User, MEMBER_OPTION, "Who to add")
                .required(true),
        )
}

/// `/ticket-remove`.
pub fn remove_definition() -> CreateCommand {
    CreateCommand::new(REMOVE_NAME)
        .description("Take a member's access to this ticket away")
        .dm_permission(false)
        .add_option(
            CreateCommandOption::new(CommandOptionType::User, MEMBER_OPTION, "Who to remove")
                .required(true),
        )
}

/// Handles `/ticket-add` and `/ticket-remove`.
#[tracing::instrument(name = "ticket_members", skip_all, fields(command = %command.data.name, channel_id = %command.channel_id, user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    let adding = command.data.name == ADD_NAME;
    let channel = command.channel_id;
    let Some(ticket) = guard::staff_ticket(ctx, tickets, command.into(), NOT_STAFF).await else {
        return;
    };
    let Some(member) = options::user(command, MEMBER_OPTION) else {
        respond_now(
            &ctx.http,
            command,
            "Name the member: `/ticket-add member:@someone`.",
        )
        .await;
        return;
    };
    if member == tickets.bot_id() {
        respond_now(&ctx.http, command, "I am always in the ticket.").await;
        return;
    }
    if !adding && member == ticket.owner_id {
        respond_now(
            &ctx.http,
            command,
            "That is the ticket's owner: close the ticket instead of removing them.",
        )
        .await;
        return;
    }
    if !defer(&ctx.http, command).await {
        return;
    }
    let result = tickets
        .change_member(channel, &ticket, member, adding)
        .await;
    let text = match result {
        Ok(()) => {
            tracing::info!(member_id = %member, adding, "ticket members changed");
            announce(ctx, channel, command.user.id, member, adding).await;
            if adding {
                format!("<@{member}> can now see and write in this ticket.")
            } else {
                format!("<@{member}> no longer has access to this ticket.")
            }
        }
        Err(err) => {
            let refusal = Refusal::of(&err);
            let action = if adding {
                "add the member"
            } else {
                "remove the member"
            };
            refusal.log(&err, action);
            refusal.explain(action)
        }
    };
    follow_up(&ctx.http, command, &text).await;
}

/// Says in the ticket who was added or removed (mentions render as names; nobody is pinged).
async fn announce(
    ctx: &Context,
    channel: serenity::all::ChannelId,
    by: UserId,
    member: UserId,
    adding: bool,
) {
    let text = if adding {
        format!("<@{member}> was added to this ticket by <@{by}>.")
    } else {
        format!("<@{member}> was removed from this ticket by <@{by}>.")
    };
    let message = CreateMessage::new()
        .content(text)
        .allowed_mentions(CreateAllowedMentions::new());
    if let Err(err) = channel.send_message(&ctx.http, message).await {
        tracing::warn!(error = %err, "cannot announce the member change");
    }
}
