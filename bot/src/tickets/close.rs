//! Closing a ticket, for `/close-ticket`, the Close button and auto-close alike: the ticket is
//! marked `closing` first (so the relay stops at once and a second close finds nothing to do),
//! then the close is carried to its end ([`super::finish`]): the transcript archived, posted
//! in `ticket-logs` and to the owner by DM, the channel deleted `TICKET_CLOSE_DELAY_SECS`
//! later. What happened, failures included, comes back in [`Closed`] for the closer.

use serenity::all::{ChannelId, Timestamp, UserId};

use super::{deliver::post_quietly, Tickets};
use crate::registry::{CloseRecord, RegistryError, TicketEntry, TicketStatus};

/// The custom ID of the Close button on a ticket's welcome message.
pub const CLOSE_BUTTON: &str = "ticket:close";
/// The custom ID of the button confirming a close.
pub const CLOSE_CONFIRM_BUTTON: &str = "ticket:close:confirm";

/// Why a ticket could not be closed.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    /// The channel is not an open ticket (never was, or closed already), or no longer meets
    /// the condition of the close (an idle ticket someone wrote in).
    #[error("this channel is not an open ticket")]
    NotOpen,
    /// The registry could not be read or written.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// Where a close got to, for the answer to whoever closed it.
#[derive(Debug, Clone)]
pub struct Closed {
    /// The ticket as stored after the close ran (its status and the record of each step).
    pub ticket: TicketEntry,
    /// Why its transcript could not be archived now (it stays `closing`, its channel too,
    /// and the close is tried again).
    pub archive_error: Option<String>,
}

impl Closed {
    /// The record of the close.
    pub fn record(&self) -> CloseRecord {
        self.ticket.close_record()
    }
}

impl Tickets {
    /// Closes the open ticket in `channel` on behalf of `by`.
    pub async fn close(
        &self,
        channel: ChannelId,
        by: UserId,
        reason: Option<String>,
    ) -> Result<Closed, CloseError> {
        self.close_if(channel, by, reason, |_| true).await
    }

    /// Closes the ticket in `channel` if it is open and `still` holds for it as stored now
    /// (read afresh: another process, or a message, may have changed it a moment ago).
    #[tracing::instrument(name = "close_ticket", skip_all, fields(channel_id = %channel, by = %by))]
    pub(super) async fn close_if(
        &self,
        channel: ChannelId,
        by: UserId,
        reason: Option<String>,
        still: impl Fn(&TicketEntry) -> bool,
    ) -> Result<Closed, CloseError> {
        let started = std::time::Instant::now();
        // Taken first, so that nothing else of this process starts the same close.
        let guard = self.try_closing(channel).ok_or(CloseError::NotOpen)?;
        let closed_at = Timestamp::now();
        let outcome = self
            .registry()
            .update_stored_ticket(channel, |t| {
                if !t.is_open() || !still(t) {
                    return false;
                }
                t.status = TicketStatus::Closing;
                t.closed_by = Some(by);
                t.closed_at = Some(closed_at);
                t.reason.clone_from(&reason);
                t.close = Some(CloseRecord::default());
                true
            })
            .await?;
        let ticket = match outcome {
            Some((ticket, true)) => ticket,
            _ => return Err(CloseError::NotOpen),
        };
        // From here on the ticket is closed, whatever fails: the retries carry it on.
        let closed = match self.finish_with(channel, guard).await {
            Ok(closed) => closed,
            Err(err) => Closed {
                ticket,
                archive_error: Some(format!("the ticket registry failed: {err}")),
            },
        };
        if closed.archive_error.is_some() {
            let by = format!("<@{by}>");
            let notice = format!(
                "This ticket was closed by {by}. Its transcript could not be saved yet; this \
                 channel stays until it is."
            );
            post_quietly(self.http(), channel, notice).await;
        }
        let record = closed.record();
        tracing::info!(
            status = ?closed.ticket.status,
            messages = record.messages,
            attachments_archived = record.attachments_archived,
            attachments_skipped = record.attachments_skipped,
            log_channel = ?record.log_channel_id,
            log_failure = record.log_failure.as_deref(),
            sent_to_owner = ?record.sent_to_owner,
            archive_error = closed.archive_error.as_deref(),
            without_transcript = record.without_transcript.as_deref(),
            total_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "ticket closed"
        );
        Ok(closed)
    }
}
