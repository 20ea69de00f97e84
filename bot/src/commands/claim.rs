//! `/ticket-claim`, `/ticket-unclaim`, `/ticket-transfer @member` and the welcome message's
//! Claim button (staff of the ticket): who has the ticket. The rule and the work are the
//! tickets' ([`crate::tickets::ClaimChange`]); here the asker and the target are checked and
//! the outcome worded.

use serenity::all::{
    CommandInteraction, CommandOptionType, ComponentInteraction, Context, CreateCommand,
    CreateCommandOption,
};

use super::{
    answer::{defer, follow_up, respond_now, Asked},
    close_ticket::NOT_A_TICKET,
    guard, options,
};
use crate::tickets::{ClaimChange, ClaimMoved, ClaimRefusal, Tickets};

/// `/ticket-claim`'s name.
pub const CLAIM_NAME: &str = "ticket-claim";
/// `/ticket-unclaim`'s name.
pub const UNCLAIM_NAME: &str = "ticket-unclaim";
/// `/ticket-transfer`'s name.
pub const TRANSFER_NAME: &str = "ticket-transfer";
/// Told to a member who is neither Support nor an administrator.
pub const NOT_STAFF: &str = "Only the Support team and administrators can claim tickets.";
/// Told when the transfer's target is not staff.
pub const TARGET_NOT_STAFF: &str =
    "A ticket can only go to a member of the Support team or an administrator.";
/// The option naming the member.
const MEMBER_OPTION: &str = "member";

/// `/ticket-claim`.
pub fn claim_definition() -> CreateCommand {
    CreateCommand::new(CLAIM_NAME)
        .description("Take this ticket: the assistant steps back and the topic shows you have it")
        .dm_permission(false)
}

/// `/ticket-unclaim`.
pub fn unclaim_definition() -> CreateCommand {
    CreateCommand::new(UNCLAIM_NAME)
        .description("Give this ticket back to the support team")
        .dm_permission(false)
}

/// `/ticket-transfer @member`.
pub fn transfer_definition() -> CreateCommand {
    CreateCommand::new(TRANSFER_NAME)
        .description("Hand this ticket to another member of the support team")
        .dm_permission(false)
        .add_option(
            CreateCommandOption::new(CommandOptionType::User, MEMBER_OPTION, "Who takes it")
                .required(true),
        )
}

/// Handles the three commands.
#[tracing::instrument(name = "ticket_claim_command", skip_all, fields(command = %command.data.name, channel_id = %command.channel_id, user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    let change = match command.data.name.as_str() {
        CLAIM_NAME => ClaimChange::Claim,
        UNCLAIM_NAME => ClaimChange::Unclaim,
        _ => match options::user(command, MEMBER_OPTION) {
            Some(to) => ClaimChange::Transfer(to),
            None => {
                let text = "Name the member: `/ticket-transfer member:@someone`.";
                respond_now(&ctx.http, command, text).await;
                return;
            }
        },
    };
    change_claim(ctx, tickets, command.into(), change).await;
}

/// Handles a press of the welcome message's Claim button.
#[tracing::instrument(name = "claim_button", skip_all, fields(channel_id = %component.channel_id, user_id = %component.user.id))]
pub async fn run_button(ctx: &Context, tickets: &Tickets, component: &ComponentInteraction) {
    change_claim(ctx, tickets, component.into(), ClaimChange::Claim).await;
}

async fn change_claim(ctx: &Context, tickets: &Tickets, asked: Asked<'_>, change: ClaimChange) {
    let channel = asked.channel_id();
    let Some(ticket) = guard::staff_ticket(ctx, tickets, asked, NOT_STAFF).await else {
        return;
    };
    if !defer(&ctx.http, asked).await {
        return;
    }
    if let ClaimChange::Transfer(to) = change {
        if to == tickets.bot_id() || !tickets.is_staff_user(ticket.guild_id, to).await {
            follow_up(&ctx.http, asked, TARGET_NOT_STAFF).await;
            return;
        }
    }
    let by = asked.user_id();
    let text = match tickets
        .change_claim(channel, by, asked.is_admin(), change)
        .await
    {
        Ok(Ok(ClaimMoved {
            after: Some(to), ..
        })) if to == by => "You have this ticket now.".to_owned(),
        Ok(Ok(ClaimMoved {
            after: Some(to), ..
        })) => format!("<@{to}> has this ticket now."),
        Ok(Ok(ClaimMoved { after: None, .. })) => "The ticket is unclaimed now.".to_owned(),
        Ok(Err(refusal)) => refused(refusal, by),
        Err(err) => {
            tracing::error!(error = %err, "cannot change the ticket's claim");
            "I couldn't record that; please try again in a moment.".to_owned()
        }
    };
    follow_up(&ctx.http, asked, &text).await;
}

/// What a refused change tells the asker.
fn refused(refusal: ClaimRefusal, by: serenity::all::UserId) -> String {
    match refusal {
        ClaimRefusal::Already(holder) if holder == by => "You already have this ticket.".into(),
        ClaimRefusal::Already(holder) => format!("<@{holder}> already has this ticket."),
        ClaimRefusal::HeldBy(holder) => format!(
            "<@{holder}> has this ticket: only they or an administrator can unclaim or transfer it."
        ),
        ClaimRefusal::NotClaimed => "Nobody has claimed this ticket.".into(),
        ClaimRefusal::NotOpen => NOT_A_TICKET.into(),
    }
}
