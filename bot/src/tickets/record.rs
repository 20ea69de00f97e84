//! Making a closing ticket's record: every message of its channel read (a page of 100 per
//! call), the files people attached downloaded within the size budget
//! (`TRANSCRIPT_MAX_ATTACHMENT_MB` per ticket, in the order they were sent), the transcript
//! rendered with each attachment linked to its archived copy, and all of it stored in the
//! archive. Nothing is posted from here: the archive comes first.

use futures::StreamExt;
use serenity::all::{Attachment, ChannelId, GetMessages, Message, MessageId};

use super::Tickets;
use crate::{
    archive::{self, ArchivedAttachment},
    guild::{
        refusal::{is_forbidden, is_unknown},
        ticket_channel_name,
    },
    registry::TicketEntry,
    transcript::{self, Files, Kept, Record, Summary},
};

/// Why a ticket has no transcript: its channel was deleted before it could be read.
pub const CHANNEL_DELETED: &str = "the channel was deleted before its transcript was made";
/// Why a ticket has no transcript: the bot can no longer see its channel.
pub const ACCESS_LOST: &str = "the bot lost access to the channel";
/// Discord's largest page of messages.
const PAGE: u8 = 100;
/// Attachments downloaded at once.
const DOWNLOADS_AT_ONCE: usize = 4;
/// Why an attachment is only linked: it did not fit in what was left of the budget.
const OVER_BUDGET: &str = "over the size budget";
/// Why an attachment is only linked: its download failed (expired, deleted, too slow).
const DOWNLOAD_FAILED: &str = "the download failed";

/// What making the record came to.
pub(super) enum Made {
    /// The transcript and attachments are in the archive.
    Stored(Stored),
    /// The channel cannot be read, and never will be again (deleted, or access lost).
    Gone(&'static str),
    /// Something failed that may work later (Discord, the archive): what.
    Failed(String),
}

/// What was stored.
pub(super) struct Stored {
    pub messages: usize,
    pub attachments_archived: usize,
    pub attachments_skipped: usize,
}

impl Tickets {
    /// Reads, renders and archives the transcript of the closing ticket in `channel`.
    pub(super) async fn make_record(&self, channel: ChannelId, ticket: &TicketEntry) -> Made {
        let started = std::time::Instant::now();
        let messages = match self.all_messages(channel).await {
            Ok(messages) => messages,
            Err(err) if is_unknown(&err) => return Made::Gone(CHANNEL_DELETED),
            Err(err) if is_forbidden(&err) => return Made::Gone(ACCESS_LOST),
            Err(err) => return Made::Failed(format!("cannot read the ticket's messages: {err}")),
        };
        let fetched = started.elapsed();
        let (files, kept) = match self.archive_attachments(channel, &messages).await {
            Ok(archived) => archived,
            Err(err) => return Made::Failed(err.to_string()),
        };
        let attachments_skipped = files
            .values()
            .filter(|k| matches!(k, Kept::Left(_)))
            .count();
        let summary = self.summary(
            channel,
            ticket,
            messages.len(),
            kept.len(),
            attachments_skipped,
        );
        let rendered = transcript::render(&summary, &messages, &files);
        let list = serde_json::to_vec(&kept).unwrap_or_default();
        let stores = [
            (archive::transcript_txt(channel), rendered.text.as_bytes()),
            (archive::transcript_html(channel), rendered.html.as_bytes()),
            (archive::attachment_list(channel), list.as_slice()),
        ];
        for (name, bytes) in stores {
            if let Err(err) = self.archive().put(&name, bytes).await {
                return Made::Failed(err.to_string());
            }
        }
        tracing::info!(
            channel_id = %channel,
            messages = messages.len(),
            attachments_archived = kept.len(),
            attachments_skipped,
            fetch_ms = u64::try_from(fetched.as_millis()).unwrap_or(u64::MAX),
            total_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "ticket transcript archived"
        );
        Made::Stored(Stored {
            messages: messages.len(),
            attachments_archived: kept.len(),
            attachments_skipped,
        })
    }

    /// The transcript's header for the ticket in `channel`, from its stored entry.
    pub(super) fn summary(
        &self,
        channel: ChannelId,
        ticket: &TicketEntry,
        messages: usize,
        archived: usize,
        skipped: usize,
    ) -> Summary {
        let channel_name = self
            .cache()
            .guild(ticket.guild_id)
            .and_then(|g| g.channels.get(&channel).map(|c| c.name.clone()))
            .unwrap_or_else(|| ticket_channel_name(ticket.owner_id));
        Summary {
            channel_name,
            owner_id: ticket.owner_id,
            opened_at: ticket.opened_at,
            closed_at: ticket.closed_at.unwrap_or(ticket.last_activity),
            closed_by: ticket.closed_by.unwrap_or(self.bot_id()),
            reason: ticket.reason.clone(),
            message_count: messages,
            record: Record {
                answers: ticket.answers,
                staff_replied_at: ticket.staff_replied_at,
                human_requested_at: ticket.human_requested_at,
                feedback_up: ticket.feedback_up,
                feedback_down: ticket.feedback_down,
                priority: ticket.handling.priority,
                claimed_by: ticket.handling.claimed_by,
            },
            attachments_archived: archived,
            attachments_skipped: skipped,
        }
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

    /// Downloads the attachments of `messages` that fit in the budget and stores each in the
    /// archive; what became of each, and the list of those archived.
    async fn archive_attachments(
        &self,
        channel: ChannelId,
        messages: &[Message],
    ) -> Result<(Files, Vec<ArchivedAttachment>), archive::ArchiveError> {
        let mut files = Files::new();
        let mut left = self.inner.settings.attachment_budget;
        let mut chosen: Vec<Attachment> = Vec::new();
        for file in messages.iter().flat_map(|m| &m.attachments) {
            let size = u64::from(file.size);
            if size <= left {
                left -= size;
                chosen.push(file.clone());
            } else {
                files.insert(file.id, Kept::Left(OVER_BUDGET));
            }
        }
        // Owned values in the stream: its futures borrow nothing.
        let mut downloads = futures::stream::iter(chosen)
            .map(|file| {
                let tickets = self.clone();
                async move {
                    let bytes = tickets.download(&file).await;
                    (file, bytes)
                }
            })
            .buffered(DOWNLOADS_AT_ONCE);
        let mut kept = Vec::new();
        while let Some((file, bytes)) = downloads.next().await {
            let Some(bytes) = bytes else {
                files.insert(file.id, Kept::Left(DOWNLOAD_FAILED));
                continue;
            };
            let path = archive::attachment_path(file.id, &file.filename);
            let object = format!("{channel}/{path}");
            self.archive().put(&object, &bytes).await?;
            kept.push(ArchivedAttachment {
                object,
                filename: file.filename.clone(),
                size: bytes.len() as u64,
            });
            files.insert(file.id, Kept::Archived(path));
        }
        Ok((files, kept))
    }

    /// The bytes of `file`, at most its stated size; `None` when the download fails.
    async fn download(&self, file: &Attachment) -> Option<Vec<u8>> {
        let limit = usize::try_from(file.size).unwrap_or(usize::MAX);
        let result = async {
            let mut response = self
                .inner
                .downloads
                .get(&file.url)
                .send()
                .await?
                .error_for_status()?;
            let mut bytes = Vec::with_capacity(limit.min(1 << 20));
            while let Some(chunk) = response.chunk().await? {
                if bytes.len() + chunk.len() > limit {
                    return Ok(None);
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok::<_, reqwest::Error>(Some(bytes))
        }
        .await;
        match result {
            Ok(Some(bytes)) => Some(bytes),
            Ok(None) => {
                tracing::warn!(attachment_id = %file.id, "an attachment is larger than Discord said; not archived");
                None
            }
            Err(err) => {
                tracing::warn!(attachment_id = %file.id, error = %err.without_url(), "cannot download an attachment for the archive");
                None
            }
        }
    }
}
