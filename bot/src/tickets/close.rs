//! Closing a ticket, for `/close-ticket`, the Close button and auto-close alike: mark it closed
//! (so the relay stops at once and a second close finds nothing to do), render the transcript
//! of the whole channel, post it with a summary in `ticket-logs` and to the owner by DM, say so
//! in the ticket, and delete the channel `TICKET_CLOSE_DELAY_SECS` later.

use serenity::all::{
    ChannelId, CreateAllowedMentions, CreateAttachment, CreateMessage, GetMessages, Message,
    MessageId, Timestamp, UserId,
};

use super::Tickets;
use crate::{
    guild::{
        refusal::{code, is_unknown, CANNOT_DM},
        ticket_channel_name,
    },
    registry::{RegistryError, TicketEntry, TicketStatus},
    transcript::{self, Record, Summary},
};

/// The custom ID of the Close button on a ticket's welcome message.
pub const CLOSE_BUTTON: &str = "ticket:close";
/// The custom ID of the button confirming a close.
pub const CLOSE_CONFIRM_BUTTON: &str = "ticket:close:confirm";

/// Discord's largest page of messages.
const PAGE: u8 = 100;

/// Why a ticket could not be closed.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    /// The channel is not an open ticket (never was, or closed already).
    #[error("this channel is not an open ticket")]
    NotOpen,
    /// The registry could not be read or written.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Discord refused to list the channel's messages; the ticket stays open.
    #[error("cannot read the ticket's messages: {0}")]
    History(serenity::Error),
}

/// What a close did, for the answer to whoever closed it.
#[derive(Debug, Clone)]
pub struct Closed {
    /// Messages in the transcript.
    pub messages: usize,
    /// Where the transcript was posted, if it could be.
    pub log_channel: Option<ChannelId>,
    /// Whether the owner got it by DM.
    pub sent_to_owner: bool,
}

impl Tickets {
    /// Closes the open ticket in `channel` on behalf of `by`.
    #[tracing::instrument(name = "close_ticket", skip_all, fields(channel_id = %channel, by = %by))]
    pub async fn close(
        &self,
        channel: ChannelId,
        by: UserId,
        reason: Option<String>,
    ) -> Result<Closed, CloseError> {
        let started = std::time::Instant::now();
        let closed_at = Timestamp::now();
        let outcome = self
            .registry()
            .update_ticket(channel, |t| {
                if !t.is_open() {
                    return false;
                }
                t.status = TicketStatus::Closed;
                t.closed_by = Some(by);
                t.closed_at = Some(closed_at);
                t.reason.clone_from(&reason);
                true
            })
            .await?;
        let ticket = match outcome {
            Some((ticket, true)) => ticket,
            _ => return Err(CloseError::NotOpen),
        };
        let closing = self.closing(channel);
        let messages = match self.all_messages(channel).await {
            Ok(messages) => messages,
            Err(err) if is_unknown(&err) => {
                // The channel is gone: so is the ticket, transcript or not.
                tracing::warn!(
                    "the ticket's channel no longer exists: closed without a transcript"
                );
                return Err(CloseError::History(err));
            }
            Err(err) => {
                // Without its transcript the ticket must not vanish: reopen it.
                self.reopen(channel).await;
                return Err(CloseError::History(err));
            }
        };
        let channel_name = self
            .cache()
            .guild(ticket.guild_id)
            .and_then(|g| g.channels.get(&channel).map(|c| c.name.clone()))
            .unwrap_or_else(|| ticket_channel_name(ticket.owner_id));
        let summary = Summary {
            channel_name,
            owner_id: ticket.owner_id,
            opened_at: ticket.opened_at,
            closed_at,
            closed_by: by,
            reason: reason.clone(),
            message_count: messages.len(),
            record: Record {
                answers: ticket.answers,
                staff_replied_at: ticket.staff_replied_at,
                human_requested_at: ticket.human_requested_at,
                feedback_up: ticket.feedback_up,
                feedback_down: ticket.feedback_down,
            },
        };
        let fetched = started.elapsed();
        let rendered = transcript::render(&summary, &messages);
        let rendered_in = started.elapsed() - fetched;
        let files = || {
            [
                CreateAttachment::bytes(rendered.text.clone(), format!("transcript-{channel}.txt")),
                CreateAttachment::bytes(
                    rendered.html.clone(),
                    format!("transcript-{channel}.html"),
                ),
            ]
        };
        let log_channel = self.post_to_log(&ticket, &summary, files()).await;
        let sent_to_owner = self.send_to_owner(&ticket, &summary, files()).await;
        let notice = match &reason {
            Some(reason) => format!("This ticket was closed by <@{by}>: {reason}"),
            None => format!("This ticket was closed by <@{by}>."),
        };
        let delay = self.inner.settings.close_delay;
        let notice = format!(
            "{notice} The transcript is saved; this channel is deleted in {} seconds.",
            delay.as_secs()
        );
        let message = CreateMessage::new()
            .content(notice)
            .allowed_mentions(CreateAllowedMentions::new());
        if let Err(err) = channel.send_message(self.http(), message).await {
            tracing::warn!(error = %err, "cannot post the closing notice");
        }
        tracing::info!(
            messages = messages.len(),
            log_channel = ?log_channel,
            sent_to_owner,
            fetch_ms = fetched.as_millis(),
            render_ms = rendered_in.as_millis(),
            total_ms = started.elapsed().as_millis(),
            "ticket closed"
        );
        let http = std::sync::Arc::clone(&self.inner.http);
        self.spawn(async move {
            let _closing = closing;
            tokio::time::sleep(delay).await;
            match channel.delete(&*http).await {
                Ok(_) => tracing::info!(channel_id = %channel, "closed ticket's channel deleted"),
                Err(err) => tracing::warn!(error = %err, channel_id = %channel, "cannot delete the closed ticket's channel"),
            }
        });
        Ok(Closed {
            messages: messages.len(),
            log_channel,
            sent_to_owner,
        })
    }

    /// Every message of `channel`, oldest first, a page of 100 per REST call.
    async fn all_messages(&self, channel: ChannelId) -> serenity::Result<Vec<Message>> {
        let mut all: Vec<Message> = Vec::new();
        let mut before: Option<MessageId> = None;
        loop {
            let mut query = GetMessages::new().limit(PAGE);
            if let Some(before) = before {
                query = query.before(before);
            }
            let page = channel.messages(self.http(), query).await?;
            let full = page.len() == usize::from(PAGE);
            // Each page lists the newest first; the oldest is the next page's anchor.
            before = page.last().map(|m| m.id);
            all.extend(page);
            if !full {
                break;
            }
        }
        all.reverse();
        Ok(all)
    }

    async fn reopen(&self, channel: ChannelId) {
        let result = self
            .registry()
            .update_ticket(channel, |t| {
                t.status = TicketStatus::Open;
                t.closed_by = None;
                t.closed_at = None;
                t.reason = None;
                true
            })
            .await;
        if let Err(err) = result {
            tracing::error!(error = %err, "cannot reopen the ticket after a failed close");
        }
    }

    async fn post_to_log(
        &self,
        ticket: &TicketEntry,
        summary: &Summary,
        files: [CreateAttachment; 2],
    ) -> Option<ChannelId> {
        let Some(log) = self
            .registry()
            .guild(ticket.guild_id)
            .and_then(|g| g.log_channel_id)
        else {
            tracing::warn!("no ticket-logs channel recorded (run /setup): transcript not logged");
            return None;
        };
        let message = CreateMessage::new()
            .content(summary.markdown())
            .files(files)
            .allowed_mentions(CreateAllowedMentions::new());
        match log.send_message(self.http(), message).await {
            Ok(_) => Some(log),
            Err(err) => {
                tracing::error!(error = %err, log_channel = %log, "cannot post the transcript in ticket-logs");
                None
            }
        }
    }

    async fn send_to_owner(
        &self,
        ticket: &TicketEntry,
        summary: &Summary,
        files: [CreateAttachment; 2],
    ) -> bool {
        let dm = match ticket.owner_id.create_dm_channel(self.http()).await {
            Ok(dm) => dm,
            Err(err) => {
                tracing::warn!(error = %err, "cannot open a DM with the ticket's owner");
                return false;
            }
        };
        let message = CreateMessage::new()
            .content(format!(
                "Your support ticket was closed. Here is its transcript.\n\n{}",
                summary.markdown()
            ))
            .files(files)
            .allowed_mentions(CreateAllowedMentions::new());
        match dm.id.send_message(self.http(), message).await {
            Ok(_) => true,
            Err(err) => {
                if code(&err) == Some(CANNOT_DM) {
                    tracing::info!("the ticket's owner accepts no DMs from the bot: transcript not sent to them");
                } else {
                    tracing::warn!(error = %err, "cannot send the transcript to the ticket's owner");
                }
                false
            }
        }
    }
}
