//! The archive of closed tickets: a JetStream object store, `ticket_transcripts`, holding each
//! ticket's transcript and the files people attached, under the ticket channel's ID:
//!
//! - `<channel id>/transcript.txt` and `<channel id>/transcript.html`;
//! - `<channel id>/attachments/<attachment id>-<filename>`, which the HTML links to by that
//!   relative name (Discord's CDN links expire, and the channel is deleted);
//! - `<channel id>/attachments.json`, the list of the archived attachments.
//!
//! A close stores the transcript here before anything else, and a ticket's channel is deleted
//! only once it is here. `nats object get ticket_transcripts <name>` reads it back, as does
//! `/ticket-transcript`. The bucket is opened (or created) on first use, so the bot starts and
//! answers tickets even while it is unavailable; closes then wait for it.

use async_nats::jetstream::{self, object_store};
use serde::{Deserialize, Serialize};
use serenity::all::{AttachmentId, ChannelId};
use tokio::{io::AsyncReadExt, sync::OnceCell};

use crate::buckets;

/// The object store's name.
pub const BUCKET: &str = "ticket_transcripts";

/// Why the archive could not be written or read.
#[derive(Debug, thiserror::Error)]
#[error("the transcript archive (JetStream object store {BUCKET}): {0}")]
pub struct ArchiveError(String);

impl ArchiveError {
    fn new(err: impl std::fmt::Display) -> Self {
        Self(err.to_string())
    }
}

/// One archived attachment, as `attachments.json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedAttachment {
    /// Its name in the archive (`<channel id>/attachments/<id>-<filename>`).
    pub object: String,
    /// Its file name.
    pub filename: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The object store, opened on first use.
pub struct Archive {
    js: jetstream::Context,
    store: OnceCell<object_store::ObjectStore>,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive").finish_non_exhaustive()
    }
}

/// The name of a ticket's plain-text transcript.
pub fn transcript_txt(channel: ChannelId) -> String {
    format!("{channel}/transcript.txt")
}

/// The name of a ticket's HTML transcript.
pub fn transcript_html(channel: ChannelId) -> String {
    format!("{channel}/transcript.html")
}

/// The name of the list of a ticket's archived attachments.
pub fn attachment_list(channel: ChannelId) -> String {
    format!("{channel}/attachments.json")
}

/// Where an attachment is kept, relative to its ticket's folder (as the HTML links it):
/// `attachments/<id>-<filename>`, the file name without path separators or control
/// characters.
pub fn attachment_path(id: AttachmentId, filename: &str) -> String {
    let safe: String = filename
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    format!("attachments/{id}-{safe}")
}

impl Archive {
    /// The archive on `nats`'s JetStream (nothing is asked of the server yet).
    pub fn new(nats: async_nats::Client) -> Self {
        Self {
            js: jetstream::new(nats),
            store: OnceCell::new(),
        }
    }

    async fn store(&self) -> Result<&object_store::ObjectStore, ArchiveError> {
        self.store
            .get_or_try_init(|| async {
                let config = object_store::Config {
                    bucket: BUCKET.to_owned(),
                    description: Some(
                        "Ticket assistant: transcripts and attachments of closed tickets"
                            .to_owned(),
                    ),
                    storage: jetstream::stream::StorageType::File,
                    ..Default::default()
                };
                buckets::object_store(&self.js, config)
                    .await
                    .map_err(|err| ArchiveError(err.message))
            })
            .await
    }

    /// Stores `bytes` as `name` (a second put replaces the first).
    pub async fn put(&self, name: &str, bytes: &[u8]) -> Result<(), ArchiveError> {
        let mut reader = bytes;
        self.store()
            .await?
            .put(name, &mut reader)
            .await
            .map(drop)
            .map_err(ArchiveError::new)
    }

    /// The bytes stored as `name` (`None`: there is no such object).
    pub async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, ArchiveError> {
        let store = self.store().await?;
        let mut object = match store.get(name).await {
            Ok(object) => object,
            Err(err) if err.kind() == object_store::GetErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(ArchiveError::new(err)),
        };
        let mut bytes = Vec::new();
        object
            .read_to_end(&mut bytes)
            .await
            .map_err(ArchiveError::new)?;
        Ok(Some(bytes))
    }

    /// The archived attachments of the ticket in `channel` (none when it has no list).
    pub async fn attachments(
        &self,
        channel: ChannelId,
    ) -> Result<Vec<ArchivedAttachment>, ArchiveError> {
        match self.get(&attachment_list(channel)).await? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(ArchiveError::new),
            None => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_s_files_are_kept_under_its_channel_id() {
        let channel = ChannelId::new(42);
        assert_eq!(transcript_txt(channel), "42/transcript.txt");
        assert_eq!(transcript_html(channel), "42/transcript.html");
        assert_eq!(attachment_list(channel), "42/attachments.json");
        assert_eq!(
            attachment_path(AttachmentId::new(7), "screen shot.png"),
            "attachments/7-screen shot.png"
        );
        assert_eq!(
            attachment_path(AttachmentId::new(7), "../a\\b\n.txt"),
            "attachments/7-.._a_b_.txt"
        );
    }
}
