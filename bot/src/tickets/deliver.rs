//! Posting an archived transcript: read back from the archive (so what is posted is what was
//! kept), with its summary in `ticket-logs` (retried with backoff while Discord fails), to the
//! owner by DM (both with a Reopen button while reopening is on; the DM with the rating
//! prompt too, which goes in the ticket instead when the owner's DMs are closed), and a closing
//! notice in the ticket saying so. Each failure is told as it is:
//! the log channel missing or deleted (the next `/setup` makes it again), a refused post, DMs
//! closed.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use serenity::all::{
    ChannelId, CreateAllowedMentions, CreateAttachment, CreateMessage, Http, MessageId, UserId,
};

use super::Tickets;
use crate::{
    archive,
    guild::refusal::{code, is_forbidden, is_transient, is_unknown, CANNOT_DM},
    rating::{prompt_buttons, PROMPT},
    registry::TicketEntry,
    transcript::Summary,
};

/// The first retry of a failed post waits this long, each next one twice as long.
const RETRY_FIRST: Duration = Duration::from_secs(1);
/// Retries of a post after the first try.
const RETRIES: usize = 3;
/// Discord's code for an upload larger than it accepts.
const TOO_LARGE: isize = 40_005;

/// Where the transcript went.
#[derive(Debug, Clone, Default)]
pub(super) struct Delivered {
    /// Posted in this `ticket-logs` channel.
    pub log_channel_id: Option<ChannelId>,
    /// As this message there.
    pub log_message_id: Option<MessageId>,
    /// Why it was not posted there.
    pub log_failure: Option<String>,
    /// Whether the owner got it by DM.
    pub sent_to_owner: bool,
}

impl Tickets {
    /// Posts the archived transcript of `channel`'s ticket and the closing notice.
    pub(super) async fn deliver(&self, channel: ChannelId, ticket: &TicketEntry) -> Delivered {
        let record = ticket.close_record();
        let summary = self.summary(
            channel,
            ticket,
            record.messages,
            record.attachments_archived,
            record.attachments_skipped,
        );
        let files = match self.archived_files(channel).await {
            Ok(files) => files,
            Err(err) => {
                tracing::error!(error = %err, channel_id = %channel, "cannot read the archived transcript back to post it");
                return Delivered {
                    log_failure: Some(format!("the archive could not be read back: {err}")),
                    ..Delivered::default()
                };
            }
        };
        let posted = self.post_to_log(channel, ticket, &summary, &files).await;
        let (log, log_failure) = match posted {
            Ok(log) => (Some(log), None),
            Err(why) => (None, Some(why)),
        };
        let sent_to_owner = self.send_to_owner(channel, ticket, &summary, &files).await;
        self.post_notice(channel, ticket).await;
        if !sent_to_owner {
            // The DM carried the rating prompt; without it, the ticket does until it goes.
            self.ask_rating(channel).await;
        }
        Delivered {
            log_channel_id: log.map(|(channel, _)| channel),
            log_message_id: log.map(|(_, message)| message),
            log_failure,
            sent_to_owner,
        }
    }

    /// The two transcript files of `channel`, as archived.
    async fn archived_files(&self, channel: ChannelId) -> Result<[(String, Vec<u8>); 2], String> {
        let read = |name: String| async move {
            match self.archive().get(&name).await {
                Ok(Some(bytes)) => Ok(bytes),
                Ok(None) => Err(format!("{name} is not in the archive")),
                Err(err) => Err(err.to_string()),
            }
        };
        let txt = read(archive::transcript_txt(channel)).await?;
        let html = read(archive::transcript_html(channel)).await?;
        Ok([
            (format!("transcript-{channel}.txt"), txt),
            (format!("transcript-{channel}.html"), html),
        ])
    }

    /// Posts in `ticket-logs`; the channel and message, or what went wrong in words for the
    /// closer.
    async fn post_to_log(
        &self,
        channel: ChannelId,
        ticket: &TicketEntry,
        summary: &Summary,
        files: &[(String, Vec<u8>); 2],
    ) -> Result<(ChannelId, MessageId), String> {
        let Some(log) = self
            .registry()
            .guild(ticket.guild_id)
            .and_then(|g| g.log_channel_id)
        else {
            tracing::warn!("no ticket-logs channel recorded (run /setup): transcript not logged");
            return Err(
                "no ticket-logs channel is set up (an administrator can run /setup)".to_owned(),
            );
        };
        let post = || async {
            let message = CreateMessage::new()
                .content(summary.markdown())
                .files(attachments(files))
                .components(self.reopen_buttons(channel))
                .allowed_mentions(CreateAllowedMentions::new());
            log.send_message(self.http(), message).await
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(RETRY_FIRST)
            .with_max_times(RETRIES)
            .with_jitter();
        let posted = post
            .retry(backoff)
            .when(is_transient)
            .notify(|err, delay| {
                tracing::warn!(error = %err, retry_in = ?delay, log_channel = %log, "the transcript's post in ticket-logs failed; retrying");
            })
            .await;
        match posted {
            Ok(message) => Ok((log, message.id)),
            Err(err) => {
                tracing::error!(error = %err, log_channel = %log, "cannot post the transcript in ticket-logs");
                Err(if is_unknown(&err) {
                    format!("the ticket-logs channel <#{log}> was deleted (an administrator can run /setup to make it again)")
                } else if is_forbidden(&err) {
                    format!("I may not post in <#{log}> (check my permissions there)")
                } else if code(&err) == Some(TOO_LARGE) {
                    "the transcript is larger than Discord accepts as an upload".to_owned()
                } else {
                    format!("Discord kept failing: {err}")
                })
            }
        }
    }

    async fn send_to_owner(
        &self,
        channel: ChannelId,
        ticket: &TicketEntry,
        summary: &Summary,
        files: &[(String, Vec<u8>); 2],
    ) -> bool {
        let dm = match ticket.owner_id.create_dm_channel(self.http()).await {
            Ok(dm) => dm,
            Err(err) => {
                tracing::warn!(error = %err, "cannot open a DM with the ticket's owner");
                return false;
            }
        };
        let mut buttons = self.reopen_buttons(channel);
        buttons.extend(prompt_buttons(channel));
        let message = CreateMessage::new()
            .content(format!(
                "Your support ticket was closed. Here is its transcript.\n\n{}\n\n{PROMPT}",
                summary.markdown()
            ))
            .files(attachments(files))
            .components(buttons)
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

    /// Says in the ticket that it is closed and when the channel goes.
    async fn post_notice(&self, channel: ChannelId, ticket: &TicketEntry) {
        let by = ticket.closed_by.unwrap_or(self.bot_id());
        let notice = notice(
            by,
            ticket.reason.as_deref(),
            self.inner.settings.close_delay,
            ticket.thread,
        );
        post_quietly(self.http(), channel, notice).await;
    }
}

/// The closing notice: who closed, why, that the transcript is kept, and what becomes of the
/// channel (deleted; a `thread`, locked and archived).
pub(super) fn notice(by: UserId, reason: Option<&str>, delay: Duration, thread: bool) -> String {
    let closed = match reason {
        Some(reason) => format!("This ticket was closed by <@{by}>: {reason}"),
        None => format!("This ticket was closed by <@{by}>."),
    };
    let fate = if thread {
        "this thread is locked and archived"
    } else {
        "this channel is deleted"
    };
    format!(
        "{closed} The transcript is saved; {fate} in {} seconds.",
        delay.as_secs()
    )
}

/// Posts `text` in `channel`, pinging nobody; a channel already gone is no failure.
pub(super) async fn post_quietly(http: &Http, channel: ChannelId, text: String) {
    let message = CreateMessage::new()
        .content(text)
        .allowed_mentions(CreateAllowedMentions::new());
    if let Err(err) = channel.send_message(http, message).await {
        if is_unknown(&err) || is_forbidden(&err) {
            tracing::debug!(error = %err, channel_id = %channel, "the ticket's channel is gone or hidden: no notice");
        } else {
            tracing::warn!(error = %err, channel_id = %channel, "cannot post the closing notice");
        }
    }
}

fn attachments(files: &[(String, Vec<u8>); 2]) -> Vec<CreateAttachment> {
    files
        .iter()
        .map(|(name, bytes)| CreateAttachment::bytes(bytes.clone(), name.clone()))
        .collect()
}
