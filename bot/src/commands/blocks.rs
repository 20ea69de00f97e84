//! `/ticket-block @member [reason]` and `/ticket-unblock @member` (Support and
//! administrators): who may not open tickets (see [`crate::tickets::BlockChange`]). Staff
//! cannot be blocked. The list is in `/ticket-list status:blocked`.

use serenity::all::{
    CommandInteraction, CommandOptionType, Context, CreateCommand, CreateCommandOption,
};

use super::{
    answer::{defer, follow_up, respond_now},
    guard, options,
};
use crate::tickets::{BlockChange, Tickets};

/// `/ticket-block`'s name.
pub const BLOCK_NAME: &str = "ticket-block";
/// `/ticket-unblock`'s name.
pub const UNBLOCK_NAME: &str = "ticket-unblock";
/// Told to a member who is neither Support nor an administrator.
pub const NOT_STAFF: &str =
    "Only the Support team and administrators can block members from opening tickets.";
/// Told when the member named is staff (or the bot).
pub const STAFF_NOT_BLOCKED: &str =
    "Members of the Support team and administrators can't be blocked.";
const MEMBER_OPTION: &str = "member";
const REASON_OPTION: &str = "reason";

/// `/ticket-block`.
pub fn block_definition() -> CreateCommand {
    CreateCommand::new(BLOCK_NAME)
        .description("Stop a member from opening tickets")
        .dm_permission(false)
        .add_option(
            CreateCommandOption::new(CommandOptionType::User, MEMBER_OPTION, "Who to block")
                .required(true),
        )
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::String,
                REASON_OPTION,
                "Why (staff see it)",
            )
            .required(false)
            .max_length(150),
        )
}

/// `/ticket-unblock`.
pub fn unblock_definition() -> CreateCommand {
    CreateCommand::new(UNBLOCK_NAME)
        .description("Let a blocked member open tickets again")
        .dm_permission(false)
        .add_option(
            CreateCommandOption::new(CommandOptionType::User, MEMBER_OPTION, "Who to unblock")
                .required(true),
        )
}

/// Handles both commands.
#[tracing::instrument(name = "ticket_blocks", skip_all, fields(command = %command.data.name, user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    let Some(guild) = guard::staff_guild(ctx, tickets, command.into(), NOT_STAFF).await else {
        return;
    };
    let Some(member) = options::user(command, MEMBER_OPTION) else {
        respond_now(&ctx.http, command, "Name the member: `member:@someone`.").await;
        return;
    };
    if !defer(&ctx.http, command).await {
        return;
    }
    let blocking = command.data.name == BLOCK_NAME;
    let outcome = if blocking {
        if member == tickets.bot_id() || tickets.is_staff_user(guild, member).await {
            follow_up(&ctx.http, command, STAFF_NOT_BLOCKED).await;
            return;
        }
        let reason = options::text(command, REASON_OPTION);
        tickets.block(guild, member, command.user.id, reason).await
    } else {
        tickets.unblock(guild, member).await
    };
    let text = match (blocking, outcome) {
        (true, Ok(BlockChange::Done)) => format!("<@{member}> can no longer open tickets."),
        (false, Ok(BlockChange::Done)) => format!("<@{member}> can open tickets again."),
        (true, Ok(BlockChange::Unchanged(Some(block)))) => format!(
            "<@{member}> is already blocked (by <@{}>, <t:{}:R>).",
            block.by,
            block.at.unix_timestamp()
        ),
        (_, Ok(BlockChange::Unchanged(_))) => format!("<@{member}> is not blocked."),
        (_, Ok(BlockChange::Full)) => format!(
            "The blocklist is full ({} members): unblock someone first.",
            crate::registry::MAX_BLOCKS
        ),
        (_, Ok(BlockChange::NotSetUp)) => super::create_ticket::NOT_SET_UP.to_owned(),
        (_, Err(err)) => {
            tracing::error!(error = %err, "cannot change the blocklist");
            "I couldn't record that; please try again in a moment.".to_owned()
        }
    };
    follow_up(&ctx.http, command, &text).await;
}
