//! The owner's rating after a close: the prompt (on the DM with the transcript, or in the
//! ticket during the close delay when the owner's DMs are closed), the rating stored once in the
//! ticket's entry (a compare-and-set: of two quick presses, one counts), and its line under
//! the transcript's summary in `#ticket-logs`, edited when a comment follows.

use serenity::all::{
    ChannelId, CreateAllowedMentions, CreateMessage, EditMessage, MessageId, MessageReference,
    Timestamp, UserId,
};

use super::Tickets;
use crate::{
    rating::{log_line, prompt_buttons, PROMPT},
    registry::{Rating, RegistryError, TicketEntry},
};

/// What a press of a star, or a comment, did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rated {
    /// Stored.
    Stored,
    /// The ticket was rated (or commented) already: thanked, ignored.
    Already,
    /// Not its owner.
    NotOwner,
    /// No such ticket, or not closed.
    NoTicket,
    /// A comment before any rating.
    Unrated,
}

impl Tickets {
    /// Asks the owner of the closed ticket in `channel` to rate it in the ticket (its channel
    /// lives until the close delay is over): their DMs, which carry the prompt otherwise, are
    /// closed.
    pub(super) async fn ask_rating(&self, channel: ChannelId) {
        let prompt = CreateMessage::new()
            .content(PROMPT)
            .components(prompt_buttons(channel))
            .allowed_mentions(CreateAllowedMentions::new());
        match channel.send_message(self.http(), prompt).await {
            Ok(_) => tracing::info!("the owner was asked to rate the ticket in it"),
            Err(err) => tracing::warn!(error = %err, "cannot ask the owner to rate the ticket"),
        }
    }

    /// `by` gave the closed ticket in `channel` `stars`.
    #[tracing::instrument(name = "ticket_rating", skip_all, fields(channel_id = %channel, by = %by, stars))]
    pub async fn rate(
        &self,
        channel: ChannelId,
        by: UserId,
        stars: u8,
    ) -> Result<Rated, RegistryError> {
        let mut outcome = Rated::NoTicket;
        let stored = self
            .registry()
            .update_stored_ticket(channel, |t| {
                outcome = if t.is_open() {
                    Rated::NoTicket
                } else if t.owner_id != by {
                    Rated::NotOwner
                } else if t.handling.rating.is_some() {
                    Rated::Already
                } else {
                    Rated::Stored
                };
                if outcome != Rated::Stored {
                    return false;
                }
                t.handling.rating = Some(Rating {
                    stars,
                    comment: None,
                    at: Timestamp::now(),
                    log_message_id: None,
                });
                true
            })
            .await?;
        if let Some((ticket, true)) = stored {
            tracing::info!("ticket rated");
            self.log_rating(channel, &ticket).await;
        }
        Ok(outcome)
    }

    /// `by` commented on their rating of the ticket in `channel`.
    #[tracing::instrument(name = "ticket_rating_comment", skip_all, fields(channel_id = %channel, by = %by))]
    pub async fn comment_rating(
        &self,
        channel: ChannelId,
        by: UserId,
        comment: &str,
    ) -> Result<Rated, RegistryError> {
        let comment = comment.trim();
        let mut outcome = Rated::NoTicket;
        let stored = self
            .registry()
            .update_stored_ticket(channel, |t| {
                outcome = match &mut t.handling.rating {
                    _ if t.owner_id != by => Rated::NotOwner,
                    None => Rated::Unrated,
                    Some(rating) if rating.comment.is_some() => Rated::Already,
                    Some(_) if comment.is_empty() => Rated::Already,
                    Some(rating) => {
                        rating.comment = Some(comment.to_owned());
                        Rated::Stored
                    }
                };
                outcome == Rated::Stored
            })
            .await?;
        if let Some((ticket, true)) = stored {
            self.log_rating(channel, &ticket).await;
        }
        Ok(outcome)
    }

    /// Posts the rating of `ticket` under its summary in `#ticket-logs`, or edits the line
    /// posted before (a comment came), remembering the line's message in the entry.
    async fn log_rating(&self, channel: ChannelId, ticket: &TicketEntry) {
        let Some(rating) = &ticket.handling.rating else {
            return;
        };
        let record = ticket.close_record();
        let Some(log) = record.log_channel_id.or_else(|| {
            self.registry()
                .guild(ticket.guild_id)
                .and_then(|g| g.log_channel_id)
        }) else {
            tracing::warn!("no ticket-logs channel: the rating is stored but not posted");
            return;
        };
        let text = log_line(ticket.owner_id, rating.stars, rating.comment.as_deref());
        if let Some(line) = rating.log_message_id {
            let edit = EditMessage::new()
                .content(text)
                .allowed_mentions(CreateAllowedMentions::new());
            if let Err(err) = log.edit_message(self.http(), line, edit).await {
                tracing::warn!(error = %err, "cannot add the comment to the rating in ticket-logs");
            }
            return;
        }
        let mut message = CreateMessage::new()
            .content(text)
            .allowed_mentions(CreateAllowedMentions::new());
        if let Some(summary) = record
            .log_message_id
            .filter(|_| record.log_channel_id == Some(log))
        {
            message = message.reference_message(MessageReference::from((log, summary)));
        }
        match log.send_message(self.http(), message).await {
            Ok(posted) => self.remember_rating_line(channel, posted.id).await,
            Err(err) => tracing::warn!(error = %err, "cannot post the rating in ticket-logs"),
        }
    }

    async fn remember_rating_line(&self, channel: ChannelId, line: MessageId) {
        let stored = self
            .registry()
            .update_stored_ticket(channel, |t| match &mut t.handling.rating {
                Some(rating) if rating.log_message_id.is_none() => {
                    rating.log_message_id = Some(line);
                    true
                }
                _ => false,
            })
            .await;
        if let Err(err) = stored {
            tracing::warn!(error = %err, "cannot remember the rating's line in ticket-logs");
        }
    }
}
