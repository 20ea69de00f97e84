//! The rating prompt after a close: a star pressed (stored once, thanked with an "Add a
//! comment" button), that button (the comment form), and the form submitted. Works in a DM,
//! where the interaction names no guild: the custom IDs carry the ticket.

use serenity::all::{
    ActionRowComponent, ComponentInteraction, Context, CreateAllowedMentions,
    CreateInteractionResponse, CreateInteractionResponseMessage, ModalInteraction,
};

use super::answer::respond_now;
use crate::{
    rating::{
        comment_button, comment_form, parse_channel_after, parse_star, COMMENT_FIELD,
        COMMENT_PREFIX, FORM_PREFIX,
    },
    tickets::{Rated, Tickets},
};

/// Thanks for a rating.
pub const THANKS: &str = "Thanks for rating your ticket! You can add a comment if you like.";
/// A press after the ticket was rated: thanked, ignored.
pub const ALREADY_RATED: &str = "Thanks! Your rating of this ticket was already recorded.";
/// Thanks for a comment.
pub const THANKS_COMMENT: &str = "Thanks for your comment!";
/// Told to someone who is not the ticket's owner.
pub const NOT_OWNER: &str = "Only the ticket's owner can rate it.";
const UNAVAILABLE: &str = "I couldn't record that; please try again in a moment.";
const NO_TICKET: &str = "That ticket can't be rated.";

/// Handles a star button.
#[tracing::instrument(name = "rating_star", skip_all, fields(user_id = %component.user.id))]
pub async fn run_star(ctx: &Context, tickets: &Tickets, component: &ComponentInteraction) {
    let Some((channel, stars)) = parse_star(&component.data.custom_id) else {
        return;
    };
    let text = match tickets.rate(channel, component.user.id, stars).await {
        Ok(Rated::Stored) => {
            let thanks = CreateInteractionResponseMessage::new()
                .content(THANKS)
                .components(comment_button(channel))
                .ephemeral(true)
                .allowed_mentions(CreateAllowedMentions::new());
            let response = CreateInteractionResponse::Message(thanks);
            if let Err(err) = component.create_response(&ctx.http, response).await {
                tracing::error!(error = %err, "cannot thank for the rating");
            }
            return;
        }
        Ok(Rated::Already) => ALREADY_RATED,
        Ok(Rated::NotOwner) => NOT_OWNER,
        Ok(Rated::NoTicket | Rated::Unrated) => NO_TICKET,
        Err(err) => {
            tracing::error!(error = %err, "cannot store the rating");
            UNAVAILABLE
        }
    };
    respond_now(&ctx.http, component, text).await;
}

/// Handles "Add a comment": the form, unless the ticket has its comment already.
#[tracing::instrument(name = "rating_comment_button", skip_all, fields(user_id = %component.user.id))]
pub async fn run_comment_button(
    ctx: &Context,
    tickets: &Tickets,
    component: &ComponentInteraction,
) {
    let Some(channel) = parse_channel_after(COMMENT_PREFIX, &component.data.custom_id) else {
        return;
    };
    let rating = match tickets.registry().ticket(channel).await {
        Ok(Some(ticket)) if ticket.owner_id != component.user.id => {
            respond_now(&ctx.http, component, NOT_OWNER).await;
            return;
        }
        Ok(Some(ticket)) => ticket.handling.rating,
        Ok(None) => None,
        Err(err) => {
            tracing::error!(error = %err, "cannot read the rated ticket");
            respond_now(&ctx.http, component, UNAVAILABLE).await;
            return;
        }
    };
    match rating {
        Some(rating) if rating.comment.is_none() => {
            let form = CreateInteractionResponse::Modal(comment_form(channel));
            if let Err(err) = component.create_response(&ctx.http, form).await {
                tracing::error!(error = %err, "cannot open the comment form");
            }
        }
        Some(_) => respond_now(&ctx.http, component, ALREADY_RATED).await,
        None => respond_now(&ctx.http, component, NO_TICKET).await,
    }
}

/// Handles the submitted comment form.
#[tracing::instrument(name = "rating_comment", skip_all, fields(user_id = %modal.user.id))]
pub async fn run_form(ctx: &Context, tickets: &Tickets, modal: &ModalInteraction) {
    let Some(channel) = parse_channel_after(FORM_PREFIX, &modal.data.custom_id) else {
        return;
    };
    let comment = modal
        .data
        .components
        .iter()
        .flat_map(|row| &row.components)
        .find_map(|c| match c {
            ActionRowComponent::InputText(input) if input.custom_id == COMMENT_FIELD => {
                input.value.clone()
            }
            _ => None,
        })
        .unwrap_or_default();
    let text = match tickets
        .comment_rating(channel, modal.user.id, &comment)
        .await
    {
        Ok(Rated::Stored) => THANKS_COMMENT,
        Ok(Rated::Already) => ALREADY_RATED,
        Ok(Rated::NotOwner) => NOT_OWNER,
        Ok(Rated::NoTicket | Rated::Unrated) => NO_TICKET,
        Err(err) => {
            tracing::error!(error = %err, "cannot store the comment");
            UNAVAILABLE
        }
    };
    let message = CreateInteractionResponseMessage::new()
        .content(text)
        .ephemeral(true)
        .allowed_mentions(CreateAllowedMentions::new());
    if let Err(err) = modal
        .create_response(&ctx.http, CreateInteractionResponse::Message(message))
        .await
    {
        tracing::error!(error = %err, "cannot answer the comment form");
    }
}
