//! The buttons under an answer ([`crate::answers`]): "Talk to a human", for the ticket's owner
//! and staff, and 👍 / 👎, for the owner alone (the rating says whether the answer helped the
//! person who asked; staff have the transcript). Each answers the presser ephemerally.

use serenity::all::{ComponentInteraction, Context};

use super::answer::{defer, follow_up, respond_now};
use crate::{
    registry::{Vote, Voted},
    tickets::{Escalation, Tickets},
};

/// Told after "Talk to a human".
pub const HUMAN_ON_THE_WAY: &str = "I've asked the Support team to join: someone will answer \
     here as soon as they can. Until then I'll stay quiet in this ticket.";
/// Told when a human was asked for already and no staff have written since.
pub const ALREADY_ASKED: &str =
    "A member of staff has already been asked to join; they'll answer here soon.";
/// Told to someone else than the owner or staff pressing "Talk to a human".
pub const NOT_YOURS_TO_ASK: &str =
    "Only the ticket's owner and the Support team can ask for a member of staff here.";
/// Told to someone else than the owner pressing 👍 or 👎.
pub const ONLY_THE_OWNER_RATES: &str = "Only the ticket's owner can rate the answers.";
/// Told after a first (or repeated) rating.
pub const THANKS: &str = "Thanks for your feedback!";
/// Told after a rating that replaced the other one.
pub const THANKS_CHANGED: &str = "Thanks, your rating of this answer is updated.";
/// Told when the ticket is closed (or the channel is no ticket).
pub const TICKET_CLOSED: &str = "This ticket is closed.";
/// Told when the registry could not be written.
const FAILED: &str = "Something went wrong on my side (the ticket registry did not answer); \
     please try again in a moment.";

/// "Talk to a human".
#[tracing::instrument(name = "talk_to_a_human_button", skip_all, fields(channel_id = %component.channel_id, user_id = %component.user.id))]
pub async fn talk_to_a_human(ctx: &Context, tickets: &Tickets, component: &ComponentInteraction) {
    let channel = component.channel_id;
    let Some(ticket) = tickets.registry().open_ticket(channel) else {
        respond_now(&ctx.http, component, TICKET_CLOSED).await;
        return;
    };
    let user = component.user.id;
    if ticket.owner_id != user && !tickets.is_staff_of(&ticket, component.member.as_ref()) {
        tracing::info!("refused: not the owner nor staff");
        respond_now(&ctx.http, component, NOT_YOURS_TO_ASK).await;
        return;
    }
    if !defer(&ctx.http, component).await {
        return;
    }
    let text = match tickets
        .request_human(channel, &component.message, user)
        .await
    {
        Ok(Escalation::Requested { .. }) => HUMAN_ON_THE_WAY,
        Ok(Escalation::AlreadyAsked) => ALREADY_ASKED,
        Ok(Escalation::NotOpen) => TICKET_CLOSED,
        Err(err) => {
            tracing::error!(error = %err, "cannot ask for a human");
            FAILED
        }
    };
    follow_up(&ctx.http, component, text).await;
}

/// 👍 or 👎.
#[tracing::instrument(name = "vote_button", skip_all, fields(channel_id = %component.channel_id, user_id = %component.user.id))]
pub async fn vote(ctx: &Context, tickets: &Tickets, component: &ComponentInteraction, vote: Vote) {
    let channel = component.channel_id;
    let Some(ticket) = tickets.registry().open_ticket(channel) else {
        respond_now(&ctx.http, component, TICKET_CLOSED).await;
        return;
    };
    let user = component.user.id;
    if ticket.owner_id != user {
        respond_now(&ctx.http, component, ONLY_THE_OWNER_RATES).await;
        return;
    }
    if !defer(&ctx.http, component).await {
        return;
    }
    let text = match tickets
        .vote(channel, component.message.id, user, vote)
        .await
    {
        Ok(Some(Voted::Counted | Voted::Unchanged)) => THANKS,
        Ok(Some(Voted::Changed)) => THANKS_CHANGED,
        Ok(None) => TICKET_CLOSED,
        Err(err) => {
            tracing::error!(error = %err, "cannot store the rating");
            FAILED
        }
    };
    follow_up(&ctx.http, component, text).await;
}
