//! Reading a closed ticket's record back from the archive, for `/ticket-transcript`: found by
//! its channel's ID, or as a member's latest ticket in the guild; its transcript files, and
//! the attachments archived with it as far as one Discord message carries them.

use serenity::all::{ChannelId, GuildId, UserId};

use super::Tickets;
use crate::{
    archive::{self, ArchivedAttachment},
    registry::TicketEntry,
};

/// Files in one Discord message.
const MAX_FILES: usize = 10;
/// Bytes in one answer: below Discord's smallest upload limit for a bot.
const MAX_BYTES: usize = 8 * 1024 * 1024;

/// Which ticket is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// The ticket whose channel had this ID.
    Channel(ChannelId),
    /// The latest ticket of this member.
    Member(UserId),
    /// A bare ID: a ticket's channel if there is one, else a member.
    Either(u64),
}

/// A ticket's archived record, as far as one answer carries it.
#[derive(Debug, Clone)]
pub struct ArchivedTranscript {
    /// The ticket's channel.
    pub channel: ChannelId,
    /// The ticket.
    pub ticket: TicketEntry,
    /// The files to send (transcripts first, then attachments), by name.
    pub files: Vec<(String, Vec<u8>)>,
    /// Archived attachments that did not fit in the answer, by their name in the archive.
    pub left_out: Vec<String>,
}

impl Tickets {
    /// The ticket `wanted` in `guild` (`None`: there is none) with what the archive holds of
    /// it (no files: nothing archived); an error says what could not be read.
    pub async fn archived_transcript(
        &self,
        guild: GuildId,
        wanted: Wanted,
    ) -> Result<Option<ArchivedTranscript>, String> {
        let Some((channel, ticket)) = self.find(guild, wanted).await? else {
            return Ok(None);
        };
        let mut found = ArchivedTranscript {
            channel,
            ticket,
            files: Vec::new(),
            left_out: Vec::new(),
        };
        if !found.ticket.is_archived() {
            return Ok(Some(found));
        }
        let mut size = 0;
        for (name, file) in [
            (
                archive::transcript_txt(channel),
                format!("transcript-{channel}.txt"),
            ),
            (
                archive::transcript_html(channel),
                format!("transcript-{channel}.html"),
            ),
        ] {
            if let Some(bytes) = self.archive().get(&name).await.map_err(|e| e.to_string())? {
                size += bytes.len();
                found.files.push((file, bytes));
            }
        }
        let attachments = self
            .archive()
            .attachments(channel)
            .await
            .map_err(|e| e.to_string())?;
        for ArchivedAttachment {
            object,
            filename,
            size: stated,
        } in attachments
        {
            let fits = usize::try_from(stated).is_ok_and(|s| size + s <= MAX_BYTES);
            if found.files.len() >= MAX_FILES || !fits {
                found.left_out.push(object);
                continue;
            }
            match self
                .archive()
                .get(&object)
                .await
                .map_err(|e| e.to_string())?
            {
                Some(bytes) => {
                    size += bytes.len();
                    found.files.push((filename, bytes));
                }
                None => found.left_out.push(object),
            }
        }
        Ok(Some(found))
    }

    pub(super) async fn find(
        &self,
        guild: GuildId,
        wanted: Wanted,
    ) -> Result<Option<(ChannelId, TicketEntry)>, String> {
        let channel = match wanted {
            Wanted::Channel(channel) => Some(channel),
            Wanted::Either(id) => Some(ChannelId::new(id)),
            Wanted::Member(_) => None,
        };
        if let Some(channel) = channel {
            let ticket = self
                .registry()
                .ticket(channel)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(ticket) = ticket.filter(|t| t.guild_id == guild) {
                return Ok(Some((channel, ticket)));
            }
        }
        let member = match wanted {
            Wanted::Member(user) => user,
            Wanted::Either(id) => UserId::new(id),
            Wanted::Channel(_) => return Ok(None),
        };
        let tickets = self
            .registry()
            .find_tickets(|t| t.guild_id == guild && t.owner_id == member)
            .await
            .map_err(|e| e.to_string())?;
        // The latest with a transcript, else the latest.
        Ok(tickets
            .into_iter()
            .max_by_key(|(_, t)| (t.is_archived(), t.opened_at)))
    }
}
