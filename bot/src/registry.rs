//! The ticket registry: what the bot knows about each guild and ticket, kept by ID in two NATS
//! JetStream key-value buckets so that it survives restarts and needs no other server.
//!
//! - `ticket_guilds`: guild ID → [`GuildEntry`] (category, Support role, log channel, panels);
//! - `tickets`: channel ID → [`TicketEntry`] (owner, opened at, status, last activity, the
//!   answers, staff replies, human requests and votes it saw, ...);
//! - `ticket_feedback`: answer message ID → [`Feedback`] (one member's vote on one answer).
//!
//! Values are JSON with IDs as strings (as Discord writes them), so any NATS client (`nats kv
//! get tickets <id>`) can read them. The buckets are the record; the bot keeps the guilds and
//! the open tickets in memory as well (loaded at start, written through on every change), so
//! that the relay's "is this an open ticket?" costs a hash look-up, not a NATS round trip (votes
//! and closed tickets are read from the buckets when needed). One
//! bot process owns a guild (Discord sends a guild to one shard), so no other writer can make
//! that copy stale; every change is still a compare-and-set on the entry's revision, the one
//! remembered with the copy, so a change is one write (a stale revision costs a read first).

mod feedback;

use std::collections::HashMap;

use async_nats::jetstream::{
    self,
    kv::{self, Store},
};
use futures::StreamExt;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serenity::all::{ChannelId, GuildId, MessageId, RoleId, Timestamp, UserId};

pub use feedback::{Feedback, Vote, Voted, FEEDBACK_BUCKET};

/// The bucket of guild settings.
pub const GUILDS_BUCKET: &str = "ticket_guilds";
/// The bucket of tickets.
pub const TICKETS_BUCKET: &str = "tickets";

/// A compare-and-set that keeps losing is a bug or a second writer; give up after this many.
const MAX_CAS_ATTEMPTS: usize = 8;
/// Entries only ever hold a few IDs and a reason.
const MAX_VALUE_BYTES: i32 = 64 * 1024;

/// Why the registry could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// JetStream refused or could not be reached (is it enabled on the server: `-js`?).
    #[error("JetStream key-value bucket {bucket}: {message}")]
    Bucket {
        /// The bucket.
        bucket: &'static str,
        /// What went wrong.
        message: String,
    },
    /// A stored value is not the JSON this version writes.
    #[error("bad entry {key} in bucket {bucket}: {source}")]
    BadEntry {
        /// The bucket.
        bucket: &'static str,
        /// The key.
        key: String,
        /// The parse error.
        source: serde_json::Error,
    },
    /// Compare-and-set kept failing.
    #[error("entry {key} in bucket {bucket} keeps changing under us")]
    Contended {
        /// The bucket.
        bucket: &'static str,
        /// The key.
        key: String,
    },
}

impl RegistryError {
    fn bucket(bucket: &'static str, err: impl std::fmt::Display) -> Self {
        Self::Bucket {
            bucket,
            message: err.to_string(),
        }
    }
}

/// A message the bot posted that carries its buttons (a ticket panel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanelMessage {
    /// Where it is.
    pub channel_id: ChannelId,
    /// The message.
    pub message_id: MessageId,
}

/// What `/setup` made in a guild, by ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuildEntry {
    /// The Tickets category.
    pub category_id: ChannelId,
    /// The Support role.
    pub support_role_id: RoleId,
    /// Whether the bot made that role (one found by name may be held by anyone already).
    #[serde(default)]
    pub support_role_created: bool,
    /// The staff-only `ticket-logs` channel (transcripts go there).
    #[serde(default)]
    pub log_channel_id: Option<ChannelId>,
    /// The ticket panels posted with `/ticket-panel`.
    #[serde(default)]
    pub panel_messages: Vec<PanelMessage>,
}

/// Whether a ticket is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    /// Answered by the relay, can be closed.
    Open,
    /// Closed: its channel is (about to be) deleted; kept as a record.
    Closed,
}

/// One ticket, by its channel's ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEntry {
    /// The guild it is in.
    pub guild_id: GuildId,
    /// Who opened it.
    pub owner_id: UserId,
    /// When it was opened.
    pub opened_at: Timestamp,
    /// Open or closed.
    pub status: TicketStatus,
    /// When someone last wrote in it (drives auto-close).
    pub last_activity: Timestamp,
    /// When the idle warning was posted, if it was and nobody wrote since.
    #[serde(default)]
    pub warned_at: Option<Timestamp>,
    /// Who closed it (the bot's own ID for an auto-close).
    #[serde(default)]
    pub closed_by: Option<UserId>,
    /// When it was closed.
    #[serde(default)]
    pub closed_at: Option<Timestamp>,
    /// Why, as given to `/close-ticket` (or the auto-close's reason).
    #[serde(default)]
    pub reason: Option<String>,
    /// When the assistant first answered in it.
    #[serde(default)]
    pub first_answer_at: Option<Timestamp>,
    /// When staff first wrote in it.
    #[serde(default)]
    pub staff_replied_at: Option<Timestamp>,
    /// When someone first pressed "Talk to a human" in it.
    #[serde(default)]
    pub human_requested_at: Option<Timestamp>,
    /// A human was asked for and no staff have written since: the assistant stays quiet.
    #[serde(default)]
    pub awaiting_staff: bool,
    /// How many answers the assistant posted in it.
    #[serde(default)]
    pub answers: u32,
    /// Its answers rated helpful (👍), one per answer: a changed vote moves between the two.
    #[serde(default)]
    pub feedback_up: u32,
    /// Its answers rated not helpful (👎).
    #[serde(default)]
    pub feedback_down: u32,
}

impl TicketEntry {
    /// A ticket of `owner` opened now.
    pub fn opened(guild_id: GuildId, owner_id: UserId, opened_at: Timestamp) -> Self {
        Self {
            guild_id,
            owner_id,
            opened_at,
            status: TicketStatus::Open,
            last_activity: opened_at,
            warned_at: None,
            closed_by: None,
            closed_at: None,
            reason: None,
            first_answer_at: None,
            staff_replied_at: None,
            human_requested_at: None,
            awaiting_staff: false,
            answers: 0,
            feedback_up: 0,
            feedback_down: 0,
        }
    }

    /// Whether the relay answers in it.
    pub fn is_open(&self) -> bool {
        self.status == TicketStatus::Open
    }
}

/// What "Talk to a human" did to a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HumanRequest {
    /// Asked: the ticket (as stored now) awaits staff.
    Requested(TicketEntry),
    /// A human was asked for already and no staff have written since: nothing changed.
    AlreadyAsked,
    /// The channel is no open ticket.
    NotOpen,
}

/// The three buckets and the in-memory copy of the guilds and open tickets.
pub struct Registry {
    guilds: Store,
    tickets: Store,
    feedback: Store,
    guild_cache: Mutex<HashMap<GuildId, GuildEntry>>,
    open: Mutex<HashMap<ChannelId, Known>>,
}

/// An open ticket as the bucket holds it, with the revision to compare-and-set against
/// (`None` while a write of it is under way).
#[derive(Debug, Clone)]
struct Known {
    entry: TicketEntry,
    revision: Option<u64>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    /// Opens the buckets, creating them when missing, and loads the guilds and open tickets.
    pub async fn open(nats: async_nats::Client) -> Result<Self, RegistryError> {
        let js = jetstream::new(nats);
        let guilds = bucket(&js, GUILDS_BUCKET, "Ticket assistant: guild ID -> setup").await?;
        let tickets = bucket(
            &js,
            TICKETS_BUCKET,
            "Ticket assistant: channel ID -> ticket",
        )
        .await?;
        let feedback = bucket(
            &js,
            FEEDBACK_BUCKET,
            "Ticket assistant: answer message ID -> vote",
        )
        .await?;
        let guild_cache = load(&guilds, GUILDS_BUCKET, |_: &GuildEntry| true)
            .await?
            .into_iter()
            .map(|(guild, (entry, _))| (guild, entry))
            .collect();
        let open = load(&tickets, TICKETS_BUCKET, TicketEntry::is_open)
            .await?
            .into_iter()
            .map(|(channel, (entry, revision))| {
                let revision = Some(revision);
                (channel, Known { entry, revision })
            })
            .collect();
        let registry = Self {
            guild_cache: Mutex::new(guild_cache),
            open: Mutex::new(open),
            guilds,
            tickets,
            feedback,
        };
        tracing::info!(
            guilds = registry.guild_cache.lock().len(),
            open_tickets = registry.open.lock().len(),
            "ticket registry loaded"
        );
        Ok(registry)
    }

    /// The open ticket in `channel`, if it is one (no I/O).
    pub fn open_ticket(&self, channel: ChannelId) -> Option<TicketEntry> {
        self.open.lock().get(&channel).map(|k| k.entry.clone())
    }

    /// Whether `channel` is an open ticket (no I/O).
    pub fn is_open_ticket(&self, channel: ChannelId) -> bool {
        self.open.lock().contains_key(&channel)
    }

    /// The open tickets, of one guild or of all.
    pub fn open_tickets(&self, guild: Option<GuildId>) -> Vec<(ChannelId, TicketEntry)> {
        self.open
            .lock()
            .iter()
            .filter(|(_, k)| guild.is_none_or(|g| k.entry.guild_id == g))
            .map(|(c, k)| (*c, k.entry.clone()))
            .collect()
    }

    /// The open ticket of `owner` in `guild`, if any.
    pub fn open_ticket_of(&self, guild: GuildId, owner: UserId) -> Option<ChannelId> {
        self.open
            .lock()
            .iter()
            .find(|(_, k)| k.entry.guild_id == guild && k.entry.owner_id == owner)
            .map(|(c, _)| *c)
    }

    /// What `/setup` recorded for `guild` (no I/O).
    pub fn guild(&self, guild: GuildId) -> Option<GuildEntry> {
        self.guild_cache.lock().get(&guild).cloned()
    }

    /// Records `guild`'s setup.
    pub async fn put_guild(&self, guild: GuildId, entry: GuildEntry) -> Result<(), RegistryError> {
        // In memory first: once the bucket shows the entry, the bot acts on it too.
        let value = to_json(&entry);
        let previous = self.guild_cache.lock().insert(guild, entry);
        if let Err(err) = self.guilds.put(guild.to_string(), value.into()).await {
            let mut cache = self.guild_cache.lock();
            match previous {
                Some(previous) => cache.insert(guild, previous),
                None => cache.remove(&guild),
            };
            return Err(RegistryError::bucket(GUILDS_BUCKET, err));
        }
        Ok(())
    }

    /// Records a new ticket (or replaces what an earlier channel with this ID left).
    pub async fn put_ticket(
        &self,
        channel: ChannelId,
        entry: TicketEntry,
    ) -> Result<(), RegistryError> {
        // In memory first, as for guilds; undone when the bucket refuses.
        let value = to_json(&entry);
        let previous = self.open.lock().get(&channel).cloned();
        self.remember(channel, entry.clone(), None);
        match self.tickets.put(channel.to_string(), value.into()).await {
            Ok(revision) => {
                self.remember(channel, entry, Some(revision));
                Ok(())
            }
            Err(err) => {
                let mut open = self.open.lock();
                match previous {
                    Some(previous) => open.insert(channel, previous),
                    None => open.remove(&channel),
                };
                Err(RegistryError::bucket(TICKETS_BUCKET, err))
            }
        }
    }

    /// The stored ticket in `channel`, open or closed (one read from the bucket).
    pub async fn ticket(&self, channel: ChannelId) -> Result<Option<TicketEntry>, RegistryError> {
        Ok(self.read_ticket(channel).await?.map(|(entry, _)| entry))
    }

    /// Changes the ticket in `channel` with `change`, which returns `false` to leave it as it
    /// is; compare-and-set, so a concurrent change is never overwritten. An open ticket starts
    /// from the copy in memory (one write); a closed one, or a stale revision, is read first.
    /// Returns the entry as stored after the call (`None`: no such ticket).
    pub async fn update_ticket(
        &self,
        channel: ChannelId,
        mut change: impl FnMut(&mut TicketEntry) -> bool,
    ) -> Result<Option<(TicketEntry, bool)>, RegistryError> {
        let key = channel.to_string();
        let mut known = self
            .open
            .lock()
            .get(&channel)
            .and_then(|k| Some((k.entry.clone(), k.revision?)));
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (mut entry, revision) = match known.take() {
                Some(known) => known,
                None => match self.read_ticket(channel).await? {
                    Some(stored) => stored,
                    None => {
                        self.open.lock().remove(&channel);
                        return Ok(None);
                    }
                },
            };
            if !change(&mut entry) {
                self.remember(channel, entry.clone(), Some(revision));
                return Ok(Some((entry, false)));
            }
            match self
                .tickets
                .update(&key, to_json(&entry).into(), revision)
                .await
            {
                Ok(revision) => {
                    self.remember(channel, entry.clone(), Some(revision));
                    return Ok(Some((entry, true)));
                }
                // Someone else wrote since: read what they wrote and decide again.
                Err(err) if err.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
                Err(err) => return Err(RegistryError::bucket(TICKETS_BUCKET, err)),
            }
        }
        Err(RegistryError::Contended {
            bucket: TICKETS_BUCKET,
            key,
        })
    }

    /// Records that someone wrote in `channel` at `at` (clears an idle warning). Only open
    /// tickets change; a later activity already stored is kept.
    pub async fn touch(&self, channel: ChannelId, at: Timestamp) -> Result<(), RegistryError> {
        if !self.is_open_ticket(channel) {
            return Ok(());
        }
        self.update_ticket(channel, |t| {
            if !t.is_open() || t.last_activity >= at {
                return false;
            }
            t.last_activity = at;
            t.warned_at = None;
            true
        })
        .await
        .map(drop)
    }

    /// Records that staff wrote in `channel` at `at`: its activity, its first staff reply, and
    /// the end of a wait for a human, in one write. Only open tickets change.
    pub async fn staff_wrote(
        &self,
        channel: ChannelId,
        at: Timestamp,
    ) -> Result<(), RegistryError> {
        if !self.is_open_ticket(channel) {
            return Ok(());
        }
        self.update_ticket(channel, |t| {
            let first_reply = t.staff_replied_at.is_none();
            let later = t.last_activity < at;
            if !t.is_open() || !(first_reply || later || t.awaiting_staff) {
                return false;
            }
            if first_reply {
                t.staff_replied_at = Some(at);
            }
            if later {
                t.last_activity = at;
                t.warned_at = None;
            }
            t.awaiting_staff = false;
            true
        })
        .await
        .map(drop)
    }

    /// Counts an answer the assistant posted in `channel` at `at` (the first one's time is
    /// kept). Counted even when the ticket was closed meanwhile: it was answered.
    pub async fn answered(&self, channel: ChannelId, at: Timestamp) -> Result<(), RegistryError> {
        self.update_ticket(channel, |t| {
            t.answers = t.answers.saturating_add(1);
            t.first_answer_at.get_or_insert(at);
            true
        })
        .await
        .map(drop)
    }

    /// "Talk to a human" pressed in `channel` at `at`: the ticket awaits staff (the assistant
    /// stays quiet in it, across restarts, until staff write), unless it already does.
    pub async fn request_human(
        &self,
        channel: ChannelId,
        at: Timestamp,
    ) -> Result<HumanRequest, RegistryError> {
        let mut already = false;
        let outcome = self
            .update_ticket(channel, |t| {
                already = t.awaiting_staff;
                if !t.is_open() || t.awaiting_staff {
                    return false;
                }
                t.awaiting_staff = true;
                t.human_requested_at.get_or_insert(at);
                true
            })
            .await?;
        Ok(match outcome {
            Some((entry, true)) => HumanRequest::Requested(entry),
            Some((entry, false)) if entry.is_open() && already => HumanRequest::AlreadyAsked,
            _ => HumanRequest::NotOpen,
        })
    }

    /// Stores `vote`, replacing the vote stored for its answer, and moves the ticket's counts
    /// accordingly. The vote is a compare-and-set on its own key, so two quick presses are
    /// counted one after the other and never twice.
    pub async fn record_vote(&self, vote: &Feedback) -> Result<Voted, RegistryError> {
        let key = vote.answer_message_id.to_string();
        for _ in 0..MAX_CAS_ATTEMPTS {
            let stored = self
                .feedback
                .entry(key.clone())
                .await
                .map_err(|e| RegistryError::bucket(FEEDBACK_BUCKET, e))?;
            let (previous, revision) = match stored {
                Some(entry) if entry.operation == kv::Operation::Put => {
                    let previous = match serde_json::from_slice::<Feedback>(&entry.value) {
                        Ok(previous) => Some(previous.vote),
                        Err(source) => {
                            let err = RegistryError::BadEntry {
                                bucket: FEEDBACK_BUCKET,
                                key: key.clone(),
                                source,
                            };
                            tracing::warn!(error = %err, "replacing an unreadable vote");
                            None
                        }
                    };
                    (previous, Some(entry.revision))
                }
                // Never voted, or the vote was deleted (`create` handles the marker).
                _ => (None, None),
            };
            if previous == Some(vote.vote) {
                return Ok(Voted::Unchanged);
            }
            let value = to_json(vote);
            let written = match revision {
                Some(revision) => self
                    .feedback
                    .update(&key, value.into(), revision)
                    .await
                    .map(drop)
                    .map_err(|e| {
                        (
                            e.kind() == kv::UpdateErrorKind::WrongLastRevision,
                            e.to_string(),
                        )
                    }),
                None => self
                    .feedback
                    .create(&key, value.into())
                    .await
                    .map(drop)
                    .map_err(|e| {
                        (
                            e.kind() == kv::CreateErrorKind::AlreadyExists,
                            e.to_string(),
                        )
                    }),
            };
            match written {
                Ok(()) => {}
                // Another press wrote since: read it and decide again.
                Err((true, _)) => continue,
                Err((false, err)) => return Err(RegistryError::bucket(FEEDBACK_BUCKET, err)),
            }
            self.update_ticket(vote.channel_id, |t| {
                match previous {
                    Some(Vote::Up) => t.feedback_up = t.feedback_up.saturating_sub(1),
                    Some(Vote::Down) => t.feedback_down = t.feedback_down.saturating_sub(1),
                    None => {}
                }
                match vote.vote {
                    Vote::Up => t.feedback_up = t.feedback_up.saturating_add(1),
                    Vote::Down => t.feedback_down = t.feedback_down.saturating_add(1),
                }
                true
            })
            .await?;
            return Ok(if previous.is_some() {
                Voted::Changed
            } else {
                Voted::Counted
            });
        }
        Err(RegistryError::Contended {
            bucket: FEEDBACK_BUCKET,
            key,
        })
    }

    /// The vote stored for the answer `answer`, if any (one read).
    pub async fn vote(&self, answer: MessageId) -> Result<Option<Feedback>, RegistryError> {
        let key = answer.to_string();
        let Some(value) = self
            .feedback
            .get(key.clone())
            .await
            .map_err(|e| RegistryError::bucket(FEEDBACK_BUCKET, e))?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&value)
            .map(Some)
            .map_err(|source| RegistryError::BadEntry {
                bucket: FEEDBACK_BUCKET,
                key,
                source,
            })
    }

    /// Every stored ticket of `guild` opened at `since` or later, open or closed: one pass over
    /// the `tickets` bucket (a watch of each key's latest value), so it costs a read of every
    /// entry of every guild; `/ticket-stats` is an occasional staff command.
    pub async fn guild_tickets(
        &self,
        guild: GuildId,
        since: Timestamp,
    ) -> Result<Vec<TicketEntry>, RegistryError> {
        let loaded = load::<ChannelId, TicketEntry>(&self.tickets, TICKETS_BUCKET, |t| {
            t.guild_id == guild && t.opened_at >= since
        })
        .await?;
        Ok(loaded.into_values().map(|(entry, _)| entry).collect())
    }

    async fn read_ticket(
        &self,
        channel: ChannelId,
    ) -> Result<Option<(TicketEntry, u64)>, RegistryError> {
        let key = channel.to_string();
        let entry = self
            .tickets
            .entry(key.clone())
            .await
            .map_err(|e| RegistryError::bucket(TICKETS_BUCKET, e))?;
        let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) else {
            return Ok(None);
        };
        let ticket =
            serde_json::from_slice(&entry.value).map_err(|source| RegistryError::BadEntry {
                bucket: TICKETS_BUCKET,
                key,
                source,
            })?;
        Ok(Some((ticket, entry.revision)))
    }

    fn remember(&self, channel: ChannelId, entry: TicketEntry, revision: Option<u64>) {
        let mut open = self.open.lock();
        if entry.is_open() {
            open.insert(channel, Known { entry, revision });
        } else {
            open.remove(&channel);
        }
    }
}

/// The bucket `name`, created when missing.
async fn bucket(
    js: &jetstream::Context,
    name: &'static str,
    description: &str,
) -> Result<Store, RegistryError> {
    if let Ok(store) = js.get_key_value(name).await {
        return Ok(store);
    }
    let config = kv::Config {
        bucket: name.to_owned(),
        description: description.to_owned(),
        // The latest value is the record; earlier ones are kept only for `nats kv history`.
        history: 5,
        max_value_size: MAX_VALUE_BYTES,
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    };
    match js.create_key_value(config).await {
        Ok(store) => {
            tracing::info!(bucket = name, "created the JetStream key-value bucket");
            Ok(store)
        }
        // Another process may have created it meanwhile.
        Err(create) => js
            .get_key_value(name)
            .await
            .map_err(|_| RegistryError::bucket(name, create)),
    }
}

/// Every entry of `store` that `keep` accepts, by ID, with its revision: one stream of the
/// latest value of each key (a watch with history), read until it has caught up.
async fn load<K, V>(
    store: &Store,
    bucket: &'static str,
    keep: impl Fn(&V) -> bool,
) -> Result<HashMap<K, (V, u64)>, RegistryError>
where
    K: From<u64> + Eq + std::hash::Hash,
    V: serde::de::DeserializeOwned,
{
    let mut loaded = HashMap::new();
    // A watch of an empty bucket delivers nothing, not even "caught up": ask first (the
    // server, not `Store::status`, which only repeats what it knew when the bucket was opened).
    let info = store
        .stream
        .get_info()
        .await
        .map_err(|e| RegistryError::bucket(bucket, e))?;
    if info.state.messages == 0 {
        return Ok(loaded);
    }
    let mut watch = store
        .watch_with_history(">")
        .await
        .map_err(|e| RegistryError::bucket(bucket, e))?;
    while let Some(entry) = watch.next().await {
        let entry = entry.map_err(|e| RegistryError::bucket(bucket, e))?;
        let caught_up = entry.delta == 0;
        match entry.key.parse::<u64>() {
            Err(_) => tracing::warn!(bucket, key = entry.key, "ignoring a key that is not an ID"),
            Ok(id) if entry.operation != kv::Operation::Put => {
                loaded.remove(&K::from(id));
            }
            Ok(id) => match serde_json::from_slice::<V>(&entry.value) {
                Ok(value) if keep(&value) => {
                    loaded.insert(K::from(id), (value, entry.revision));
                }
                Ok(_) => {}
                Err(source) => {
                    // One bad entry must not stop the bot; it is reported and skipped.
                    let err = RegistryError::BadEntry {
                        bucket,
                        key: entry.key,
                        source,
                    };
                    tracing::warn!(error = %err, "ignoring an unreadable registry entry");
                }
            },
        }
        if caught_up {
            break;
        }
    }
    Ok(loaded)
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // These types have string keys and plain fields: serializing them cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_json_with_string_ids() {
        let entry = TicketEntry::opened(
            GuildId::new(1),
            UserId::new(400_000_000_000_000_004),
            Timestamp::from_unix_timestamp(1_800_000_000).unwrap(),
        );
        let json: serde_json::Value = serde_json::from_slice(&to_json(&entry)).unwrap();
        assert_eq!(json["owner_id"], "400000000000000004");
        assert_eq!(json["status"], "open");
        assert_eq!(json["opened_at"], "2027-01-15T08:00:00Z");
        let back: TicketEntry = serde_json::from_value(json).unwrap();
        assert_eq!(back, entry);

        let guild = GuildEntry {
            category_id: ChannelId::new(2),
            support_role_id: RoleId::new(3),
            support_role_created: true,
            log_channel_id: None,
            panel_messages: vec![PanelMessage {
                channel_id: ChannelId::new(4),
                message_id: MessageId::new(5),
            }],
        };
        let json: serde_json::Value = serde_json::from_slice(&to_json(&guild)).unwrap();
        assert_eq!(json["category_id"], "2");
        assert_eq!(json["panel_messages"][0]["message_id"], "5");
    }

    #[test]
    fn older_entries_without_optional_fields_still_parse() {
        let json = r#"{"guild_id":"1","owner_id":"2","opened_at":"2026-01-01T00:00:00Z",
            "status":"closed","last_activity":"2026-01-01T00:00:00Z"}"#;
        let entry: TicketEntry = serde_json::from_str(json).unwrap();
        assert!(!entry.is_open());
        assert_eq!(entry.reason, None);
        let opened = Timestamp::from_unix_timestamp(1_767_225_600).unwrap();
        assert_eq!(
            entry,
            TicketEntry {
                status: TicketStatus::Closed,
                ..TicketEntry::opened(GuildId::new(1), UserId::new(2), opened)
            },
            "what this version records reads as nothing recorded"
        );
    }
}
