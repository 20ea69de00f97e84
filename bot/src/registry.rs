//! The ticket registry: what the bot knows about each guild and ticket, kept by ID in two NATS
//! JetStream key-value buckets so that it survives restarts and needs no other server.
//!
//! - `ticket_guilds`: guild ID → [`GuildEntry`] (categories, Support role, log channel, panels);
//! - `tickets`: channel ID → [`TicketEntry`] (owner, opened at, status, last activity, the
//!   answers, staff replies, human requests and votes it saw, the record of its close, its
//!   reopenings, ...);
//! - `ticket_feedback`: answer message ID → [`Feedback`] (one member's vote on one answer).
//!
//! Values are JSON with IDs as strings (as Discord writes them), so any NATS client (`nats kv
//! get tickets <id>`) can read them. The buckets are the record; the bot keeps the guilds and
//! the tickets not done yet in memory as well, so that the relay's "is this an open ticket?"
//! costs a hash look-up, not a NATS round trip (votes and finished tickets are read from the
//! buckets when needed). That copy follows the buckets: after loading
//! them the registry keeps watching both, so a change made by another bot process (two run
//! side by side during a rolling deploy) is seen here within a moment. Every change is still a
//! compare-and-set on the entry's revision, the one remembered with the copy, so a change is one
//! write, and two processes changing one ticket never overwrite each other.
//!
//! A ticket's status moves `open → closing → archived → deleted` ([`TicketStatus`]), each step
//! stored before it is acted on, so that a close interrupted by a restart is carried forward
//! from the step it reached ([`CloseRecord`]).

mod feedback;
mod handling;
mod staff_settings;
pub mod topics;

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_nats::jetstream::{
    self,
    kv::{self, Store},
};
use futures::StreamExt;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serenity::all::{ChannelId, GuildId, MessageId, RoleId, Timestamp, UserId};
use tokio::task::JoinHandle;

use crate::buckets;

pub use feedback::{Feedback, Vote, Voted, FEEDBACK_BUCKET};
pub use handling::{Handling, Priority, Rating};
pub use staff_settings::{clean_reason, Block, StaffSettings, MAX_BLOCKS};
pub use topics::{FormEntry, Intake, QuestionStyle, Topic, TopicQuestion};

/// The bucket of guild settings.
pub const GUILDS_BUCKET: &str = "ticket_guilds";
/// The bucket of tickets.
pub const TICKETS_BUCKET: &str = "tickets";

/// A compare-and-set that keeps losing is a bug or a second writer; give up after this many.
const MAX_CAS_ATTEMPTS: usize = 8;
/// Entries only ever hold a few IDs, times and reasons.
const MAX_VALUE_BYTES: i32 = 64 * 1024;
/// How long a watch that ended waits before it is made again.
const REWATCH_AFTER: Duration = Duration::from_secs(1);

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
    /// The ticket is not in the bucket (any more).
    #[error("no entry {key} in bucket tickets")]
    Missing {
        /// The key.
        key: String,
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
    /// The overflow categories ("Tickets 2", "Tickets 3", ...) made when the ones before were
    /// full, in order; with `category_id` first they are the guild's ticket categories
    /// ([`GuildEntry::categories`]).
    #[serde(default)]
    pub overflow_category_ids: Vec<ChannelId>,
    /// When staff were told in `ticket-logs` that the server is at Discord's channel limit;
    /// cleared once a ticket channel can be made again, so they are told once each time.
    #[serde(default)]
    pub server_full_told_at: Option<Timestamp>,
    /// The guild's choices about its staff's work: blocks, the assistant in claimed tickets,
    /// support hours.
    #[serde(flatten)]
    pub staff: StaffSettings,
    /// How new tickets are made: a channel each (the default, and what entries written before
    /// the modes existed read as) or a private thread each in `threads_channel_id`.
    #[serde(default)]
    pub mode: TicketMode,
    /// The `#tickets` text channel whose private threads are the tickets in thread mode (kept
    /// when the guild goes back to channels, so its open threads stay tickets).
    #[serde(default)]
    pub threads_channel_id: Option<ChannelId>,
    /// The ticket topics (`/ticket-topic`), in the order the panel shows them; none: one kind
    /// of ticket, as before topics existed.
    #[serde(default)]
    pub topics: Vec<Topic>,
}

/// How a guild's new tickets are made, chosen by `/setup mode:channels|threads`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketMode {
    /// A private `ticket-<user ID>` channel in a ticket category (Discord holds 50 a category,
    /// 500 a server).
    #[default]
    Channels,
    /// A private thread (type 12, not invitable) in the `#tickets` channel (Discord holds
    /// 1,000 active threads a server; archived ones count toward nothing).
    Threads,
}

impl TicketMode {
    /// The mode named `name` (`channels` or `threads`), as `/setup` takes it.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "channels" => Some(Self::Channels),
            "threads" => Some(Self::Threads),
            _ => None,
        }
    }

    /// Its name, as `/setup` takes it and the registry stores it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Channels => "channels",
            Self::Threads => "threads",
        }
    }
}

impl GuildEntry {
    /// Every ticket category of the guild, the first (`category_id`) first.
    pub fn categories(&self) -> Vec<ChannelId> {
        std::iter::once(self.category_id)
            .chain(self.overflow_category_ids.iter().copied())
            .collect()
    }

    /// Whether `channel` is one of the guild's ticket categories.
    pub fn is_ticket_category(&self, channel: ChannelId) -> bool {
        channel == self.category_id || self.overflow_category_ids.contains(&channel)
    }

    /// The topic with ID `id`.
    pub fn topic(&self, id: u32) -> Option<&Topic> {
        self.topics.iter().find(|t| t.id == id)
    }

    /// The Support role of the topic `topic_id` (a ticket's), if it has one.
    pub fn topic_role(&self, topic_id: Option<u32>) -> Option<RoleId> {
        self.topic(topic_id?)?.support_role_id
    }

    /// `topic`'s Support role when it is one of its own: not the guild's Support role, which
    /// sees every ticket anyway.
    pub fn own_role(&self, topic: &Topic) -> Option<RoleId> {
        topic
            .support_role_id
            .filter(|role| *role != self.support_role_id)
    }

    /// The channel new tickets are private threads of: `#tickets` in thread mode, none in
    /// channel mode.
    pub fn thread_parent(&self) -> Option<ChannelId> {
        match self.mode {
            TicketMode::Threads => self.threads_channel_id,
            TicketMode::Channels => None,
        }
    }
}

/// Where a ticket is in its life. Each close step is stored before it is acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    /// Answered by the relay, can be closed.
    Open,
    /// Being closed: the relay is quiet; its transcript is not in the archive yet.
    Closing,
    /// Its transcript is in the archive; it is being posted, and the channel deleted.
    Archived,
    /// Done: its channel is gone (older versions wrote `closed`); kept as a record.
    #[serde(alias = "closed")]
    Deleted,
}

/// How a close went, step by step; any bot process can carry it forward from what is here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseRecord {
    /// When the transcript was stored in the archive (`ticket_transcripts`); the channel is
    /// never deleted before.
    #[serde(default)]
    pub archived_at: Option<Timestamp>,
    /// Messages in the transcript.
    #[serde(default)]
    pub messages: usize,
    /// Attachments whose bytes are in the archive.
    #[serde(default)]
    pub attachments_archived: usize,
    /// Attachments left out of the archive (over `TRANSCRIPT_MAX_ATTACHMENT_MB`, or their
    /// download failed): listed by link in the transcript.
    #[serde(default)]
    pub attachments_skipped: usize,
    /// When a process began posting the transcript (ticket-logs, DM). Another process leaves
    /// the posting to it unless this is long past and nothing was recorded since (it stopped).
    #[serde(default)]
    pub delivering_since: Option<Timestamp>,
    /// When the posting ended (well or not): the outcomes below are final.
    #[serde(default)]
    pub delivered_at: Option<Timestamp>,
    /// Where the transcript was posted in `ticket-logs`.
    #[serde(default)]
    pub log_channel_id: Option<ChannelId>,
    /// Why it could not be posted there.
    #[serde(default)]
    pub log_failure: Option<String>,
    /// Whether the owner got it by DM (`None`: not tried yet).
    #[serde(default)]
    pub sent_to_owner: Option<bool>,
    /// Not before this is the channel deleted (the close delay, for people to read the notice).
    #[serde(default)]
    pub delete_after: Option<Timestamp>,
    /// Why there is no transcript: the channel was deleted outside the bot, or the bot lost
    /// access to it.
    #[serde(default)]
    pub without_transcript: Option<String>,
    /// Why the channel could not be deleted once the transcript was archived (the bot may
    /// not: an administrator can delete it).
    #[serde(default)]
    pub delete_failure: Option<String>,
    /// The transcript's message in `ticket-logs` (a reopened ticket links to it).
    #[serde(default)]
    pub log_message_id: Option<MessageId>,
    /// The members who had been added to the ticket (by `/ticket-add`, or by hand) when it
    /// was archived: a reopening grants them the new channel.
    #[serde(default)]
    pub members: Vec<UserId>,
}

/// A closed ticket's reopening, recorded on its entry before the new channel is made: a
/// second request finds it and does nothing new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reopened {
    /// Who asked for it.
    pub by: UserId,
    /// When.
    pub at: Timestamp,
    /// The channel the ticket went on in (`None` while it is being made).
    #[serde(default)]
    pub into: Option<ChannelId>,
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
    /// Open, closing, archived or deleted.
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
    /// Why, as given to `/close-ticket` (or the auto-close's reason, or why the bot closed it
    /// itself: its channel deleted, its access lost).
    #[serde(default)]
    pub reason: Option<String>,
    /// The record of its close, once it began.
    #[serde(default)]
    pub close: Option<CloseRecord>,
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
    /// The ticket's ID, the same across its reopenings: its first channel's ID (absent: this
    /// channel is its first; [`TicketEntry::ticket_id`]).
    #[serde(default)]
    pub ticket_id: Option<ChannelId>,
    /// The closed channel this one reopened (absent: a new ticket).
    #[serde(default)]
    pub reopened_from: Option<ChannelId>,
    /// How many times the ticket had been reopened when this channel was made (0: its first).
    #[serde(default)]
    pub reopen_count: u32,
    /// Its reopening, once asked for (on the closed channel's entry).
    #[serde(default)]
    pub reopened: Option<Reopened>,
    /// What staff did with it: claim, priority, the owner's rating.
    #[serde(flatten)]
    pub handling: Handling,
    /// The ticket is a private thread (thread mode), not a channel: its close locks and
    /// archives the thread instead of deleting it (`deleted` then means exactly that), and a
    /// reopening unarchives it, so the same entry goes on.
    #[serde(default)]
    pub thread: bool,
    /// The name of the topic it was opened under (absent: no topic).
    #[serde(default)]
    pub topic: Option<String>,
    /// That topic's ID in the guild's entry (its Support role is looked up by it).
    #[serde(default)]
    pub topic_id: Option<u32>,
    /// The member's answers to the topic's intake form, in its order.
    #[serde(default)]
    pub form: Vec<FormEntry>,
    /// Who `/ticket-add` gave the ticket to (and `/ticket-remove` did not take it from since):
    /// in thread mode they stay in its thread when they lose its topic's Support role.
    #[serde(default)]
    pub added: Vec<UserId>,
    /// The members of its topic's own Support role the bot put in its thread (thread mode):
    /// they leave it when they lose the role.
    #[serde(default)]
    pub team: Vec<UserId>,
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
            close: None,
            first_answer_at: None,
            staff_replied_at: None,
            human_requested_at: None,
            awaiting_staff: false,
            answers: 0,
            feedback_up: 0,
            feedback_down: 0,
            ticket_id: None,
            reopened_from: None,
            reopen_count: 0,
            reopened: None,
            handling: Handling::default(),
            thread: false,
            topic: None,
            topic_id: None,
            form: Vec::new(),
            added: Vec::new(),
            team: Vec::new(),
        }
    }

    /// A ticket of `owner` opened now with `intake` (its topic and form answers), if any.
    pub fn opened_with(
        guild_id: GuildId,
        owner_id: UserId,
        opened_at: Timestamp,
        intake: Option<&Intake>,
    ) -> Self {
        let mut entry = Self::opened(guild_id, owner_id, opened_at);
        if let Some(intake) = intake {
            entry.topic = Some(intake.topic.name.clone());
            entry.topic_id = Some(intake.topic.id);
            entry.form.clone_from(&intake.form);
        }
        entry
    }

    /// The contract's `ticket` field for this ticket: its topic and form answers, if it has a
    /// topic.
    pub fn context(&self) -> Option<common::payload::TicketContext> {
        topics::context(self.topic.as_deref(), &self.form)
    }

    /// The ticket's ID across reopenings, for the entry of `channel`.
    pub fn ticket_id(&self, channel: ChannelId) -> ChannelId {
        self.ticket_id.unwrap_or(channel)
    }

    /// Whether the relay answers in it.
    pub fn is_open(&self) -> bool {
        self.status == TicketStatus::Open
    }

    /// Whether its close is over (its channel gone).
    pub fn is_done(&self) -> bool {
        self.status == TicketStatus::Deleted
    }

    /// The record of its close (empty before one began).
    pub fn close_record(&self) -> CloseRecord {
        self.close.clone().unwrap_or_default()
    }

    /// Whether its transcript is in the archive.
    pub fn is_archived(&self) -> bool {
        self.close.as_ref().is_some_and(|c| c.archived_at.is_some())
    }
}

/// Puts `member` on a ticket's list of members (`added`, `team`) or takes them off it (each
/// listed once, in the order they came); whether the list changed.
pub fn set_listed(list: &mut Vec<UserId>, member: UserId, listed: bool) -> bool {
    let was = list.contains(&member);
    if was && !listed {
        list.retain(|m| *m != member);
    } else if !was && listed {
        list.push(member);
    }
    was != listed
}

/// What "Talk to a human" did to a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HumanRequest {
    /// Asked: the ticket (as stored now) awaits staff.
    Requested(Box<TicketEntry>),
    /// A human was asked for already and no staff have written since: nothing changed.
    AlreadyAsked,
    /// The channel is no open ticket.
    NotOpen,
}

/// The three buckets, the in-memory copy of the guilds and of the tickets not done yet, and the
/// watches that keep that copy in line with the guilds and tickets.
pub struct Registry {
    js: jetstream::Context,
    guilds: Store,
    tickets: Store,
    feedback: Store,
    copy: Arc<Mirror>,
    watches: Vec<JoinHandle<()>>,
}

/// What the registry keeps in memory.
#[derive(Default)]
struct Mirror {
    guilds: Mutex<HashMap<GuildId, GuildEntry>>,
    /// Tickets open, closing or archived.
    live: Mutex<HashMap<ChannelId, Known>>,
}

/// A live ticket as the bucket holds it, with the revision to compare-and-set against
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

impl Drop for Registry {
    fn drop(&mut self) {
        for watch in &self.watches {
            watch.abort();
        }
    }
}

impl Mirror {
    /// A ticket as the watch saw it at `revision` (`None`: deleted from the bucket). Ignored
    /// when the copy is already as new, or while a write of ours is under way (its outcome is
    /// remembered when it ends).
    fn watched_ticket(&self, channel: ChannelId, entry: Option<TicketEntry>, revision: u64) {
        let mut live = self.live.lock();
        if let Some(known) = live.get(&channel) {
            if known.revision.is_none_or(|r| r >= revision) {
                return;
            }
        }
        match entry {
            Some(entry) if !entry.is_done() => {
                live.insert(
                    channel,
                    Known {
                        entry,
                        revision: Some(revision),
                    },
                );
            }
            _ => {
                live.remove(&channel);
            }
        }
    }

    fn watched_guild(&self, guild: GuildId, entry: Option<GuildEntry>) {
        let mut guilds = self.guilds.lock();
        match entry {
            Some(entry) => guilds.insert(guild, entry),
            None => guilds.remove(&guild),
        };
    }

    fn remember(&self, channel: ChannelId, entry: TicketEntry, revision: Option<u64>) {
        let mut live = self.live.lock();
        if entry.is_done() {
            live.remove(&channel);
        } else {
            live.insert(channel, Known { entry, revision });
        }
    }
}

impl Registry {
    /// Opens the buckets, creating them when missing, loads the guilds and the tickets not
    /// done yet, and keeps watching both (votes are read when needed).
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
        let copy = Arc::new(Mirror::default());
        let guild_copy = Arc::clone(&copy);
        let guild_watch = follow(&guilds, GUILDS_BUCKET, move |id, value, _| {
            guild_copy.watched_guild(GuildId::new(id), value);
        })
        .await?;
        let ticket_copy = Arc::clone(&copy);
        let ticket_watch = follow(&tickets, TICKETS_BUCKET, move |id, value, revision| {
            ticket_copy.watched_ticket(ChannelId::new(id), value, revision);
        })
        .await?;
        let registry = Self {
            js,
            guilds,
            tickets,
            feedback,
            copy,
            watches: vec![guild_watch, ticket_watch],
        };
        tracing::info!(
            guilds = registry.copy.guilds.lock().len(),
            open_tickets = registry.open_tickets(None).len(),
            closes_to_finish = registry.unfinished(None).len(),
            "ticket registry loaded"
        );
        Ok(registry)
    }

    /// The open ticket in `channel`, if it is one (no I/O).
    pub fn open_ticket(&self, channel: ChannelId) -> Option<TicketEntry> {
        self.copy
            .live
            .lock()
            .get(&channel)
            .filter(|k| k.entry.is_open())
            .map(|k| k.entry.clone())
    }

    /// Whether `channel` is an open ticket (no I/O).
    pub fn is_open_ticket(&self, channel: ChannelId) -> bool {
        self.copy
            .live
            .lock()
            .get(&channel)
            .is_some_and(|k| k.entry.is_open())
    }

    /// The ticket in `channel` if it is not done yet (open, closing or archived; no I/O).
    pub fn live_ticket(&self, channel: ChannelId) -> Option<TicketEntry> {
        self.copy.live.lock().get(&channel).map(|k| k.entry.clone())
    }

    /// The open tickets, of one guild or of all.
    pub fn open_tickets(&self, guild: Option<GuildId>) -> Vec<(ChannelId, TicketEntry)> {
        self.live_where(guild, TicketEntry::is_open)
    }

    /// The tickets whose close began but is not over (closing or archived), of one guild or
    /// of all.
    pub fn unfinished(&self, guild: Option<GuildId>) -> Vec<(ChannelId, TicketEntry)> {
        self.live_where(guild, |t| !t.is_open())
    }

    fn live_where(
        &self,
        guild: Option<GuildId>,
        keep: impl Fn(&TicketEntry) -> bool,
    ) -> Vec<(ChannelId, TicketEntry)> {
        self.copy
            .live
            .lock()
            .iter()
            .filter(|(_, k)| guild.is_none_or(|g| k.entry.guild_id == g) && keep(&k.entry))
            .map(|(c, k)| (*c, k.entry.clone()))
            .collect()
    }

    /// The open ticket of `owner` in `guild`, if any.
    pub fn open_ticket_of(&self, guild: GuildId, owner: UserId) -> Option<ChannelId> {
        self.copy
            .live
            .lock()
            .iter()
            .find(|(_, k)| {
                k.entry.is_open() && k.entry.guild_id == guild && k.entry.owner_id == owner
            })
            .map(|(c, _)| *c)
    }

    /// What `/setup` recorded for `guild` (no I/O).
    pub fn guild(&self, guild: GuildId) -> Option<GuildEntry> {
        self.copy.guilds.lock().get(&guild).cloned()
    }

    /// Records `guild`'s setup.
    pub async fn put_guild(&self, guild: GuildId, entry: GuildEntry) -> Result<(), RegistryError> {
        // In memory first: once the bucket shows the entry, the bot acts on it too.
        let value = to_json(&entry);
        let previous = self.copy.guilds.lock().insert(guild, entry);
        if let Err(err) = self.guilds.put(guild.to_string(), value.into()).await {
            let mut guilds = self.copy.guilds.lock();
            match previous {
                Some(previous) => guilds.insert(guild, previous),
                None => guilds.remove(&guild),
            };
            return Err(RegistryError::bucket(GUILDS_BUCKET, err));
        }
        Ok(())
    }

    /// Changes `guild`'s entry with `change`, which returns `false` to leave it as it is;
    /// a compare-and-set on the entry as the bucket holds it now, so that two bot processes
    /// (or two tasks) never overwrite each other's change. Returns the entry after the call
    /// and whether it changed (`None`: the guild is not set up).
    pub async fn update_guild(
        &self,
        guild: GuildId,
        mut change: impl FnMut(&mut GuildEntry) -> bool,
    ) -> Result<Option<(GuildEntry, bool)>, RegistryError> {
        let key = guild.to_string();
        for _ in 0..MAX_CAS_ATTEMPTS {
            let stored = self
                .guilds
                .entry(key.clone())
                .await
                .map_err(|e| RegistryError::bucket(GUILDS_BUCKET, e))?;
            let Some(stored) = stored.filter(|e| e.operation == kv::Operation::Put) else {
                return Ok(None);
            };
            let mut entry: GuildEntry =
                serde_json::from_slice(&stored.value).map_err(|source| {
                    RegistryError::BadEntry {
                        bucket: GUILDS_BUCKET,
                        key: key.clone(),
                        source,
                    }
                })?;
            if !change(&mut entry) {
                return Ok(Some((entry, false)));
            }
            match self
                .guilds
                .update(&key, to_json(&entry).into(), stored.revision)
                .await
            {
                Ok(_) => {
                    self.copy.guilds.lock().insert(guild, entry.clone());
                    return Ok(Some((entry, true)));
                }
                Err(err) if err.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
                Err(err) => return Err(RegistryError::bucket(GUILDS_BUCKET, err)),
            }
        }
        Err(RegistryError::Contended {
            bucket: GUILDS_BUCKET,
            key,
        })
    }

    /// Records a new ticket (or replaces what an earlier channel with this ID left).
    pub async fn put_ticket(
        &self,
        channel: ChannelId,
        entry: TicketEntry,
    ) -> Result<(), RegistryError> {
        // In memory first, as for guilds; undone when the bucket refuses.
        let value = to_json(&entry);
        let previous = self.copy.live.lock().get(&channel).cloned();
        self.copy.remember(channel, entry.clone(), None);
        match self.tickets.put(channel.to_string(), value.into()).await {
            Ok(revision) => {
                self.copy.remember(channel, entry, Some(revision));
                Ok(())
            }
            Err(err) => {
                let mut live = self.copy.live.lock();
                match previous {
                    Some(previous) => live.insert(channel, previous),
                    None => live.remove(&channel),
                };
                Err(RegistryError::bucket(TICKETS_BUCKET, err))
            }
        }
    }

    /// The stored ticket in `channel`, whatever its status (one read from the bucket).
    pub async fn ticket(&self, channel: ChannelId) -> Result<Option<TicketEntry>, RegistryError> {
        Ok(self.read_ticket(channel).await?.map(|(entry, _)| entry))
    }

    /// Every stored ticket that `keep` accepts, whatever its status: one pass over the whole
    /// bucket, for the rare questions the copy in memory cannot answer (a member's past
    /// tickets).
    pub async fn find_tickets(
        &self,
        keep: impl Fn(&TicketEntry) -> bool,
    ) -> Result<Vec<(ChannelId, TicketEntry)>, RegistryError> {
        let found = Mutex::new(Vec::new());
        scan(&self.js, &self.tickets, TICKETS_BUCKET, |id, value, _| {
            if let Some(entry) = value.filter(|e: &TicketEntry| keep(e)) {
                found.lock().push((ChannelId::new(id), entry));
            }
        })
        .await?;
        Ok(found.into_inner())
    }

    /// Changes the ticket in `channel` with `change`, which returns `false` to leave it as it
    /// is; compare-and-set, so a concurrent change is never overwritten. A live ticket starts
    /// from the copy in memory (one write); a done one, or a stale revision, is read first.
    /// Returns the entry as stored after the call, and whether it changed (`None`: no such
    /// ticket).
    pub async fn update_ticket(
        &self,
        channel: ChannelId,
        change: impl FnMut(&mut TicketEntry) -> bool,
    ) -> Result<Option<(TicketEntry, bool)>, RegistryError> {
        let known = self
            .copy
            .live
            .lock()
            .get(&channel)
            .and_then(|k| Some((k.entry.clone(), k.revision?)));
        self.compare_and_set(channel, known, change).await
    }

    /// [`Registry::update_ticket`] from the entry as the bucket holds it now (one read first),
    /// for a change that must be decided on the freshest facts: another process may have
    /// written a moment ago.
    pub async fn update_stored_ticket(
        &self,
        channel: ChannelId,
        change: impl FnMut(&mut TicketEntry) -> bool,
    ) -> Result<Option<(TicketEntry, bool)>, RegistryError> {
        self.compare_and_set(channel, None, change).await
    }

    async fn compare_and_set(
        &self,
        channel: ChannelId,
        mut known: Option<(TicketEntry, u64)>,
        mut change: impl FnMut(&mut TicketEntry) -> bool,
    ) -> Result<Option<(TicketEntry, bool)>, RegistryError> {
        let key = channel.to_string();
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (mut entry, revision) = match known.take() {
                Some(known) => known,
                None => match self.read_ticket(channel).await? {
                    Some(stored) => stored,
                    None => {
                        self.copy.live.lock().remove(&channel);
                        return Ok(None);
                    }
                },
            };
            if !change(&mut entry) {
                self.copy.remember(channel, entry.clone(), Some(revision));
                return Ok(Some((entry, false)));
            }
            match self
                .tickets
                .update(&key, to_json(&entry).into(), revision)
                .await
            {
                Ok(revision) => {
                    self.copy.remember(channel, entry.clone(), Some(revision));
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
        match self.open_ticket(channel) {
            Some(known) if known.last_activity < at => {}
            _ => return Ok(()),
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

    /// Records that staff member `by` wrote in `channel` at `at`: its activity, its first staff
    /// reply (and who wrote it), and the end of a wait for a human, in one write. Only open
    /// tickets change.
    pub async fn staff_wrote(
        &self,
        channel: ChannelId,
        at: Timestamp,
        by: UserId,
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
                t.handling.staff_replied_by = Some(by);
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
            Some((entry, true)) => HumanRequest::Requested(Box::new(entry)),
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

    /// Every stored ticket of `guild` opened at `since` or later, whatever its status: one
    /// pass over the `tickets` bucket ([`Registry::find_tickets`]), so it costs a read of every
    /// entry of every guild; `/ticket-stats` is an occasional staff command.
    pub async fn guild_tickets(
        &self,
        guild: GuildId,
        since: Timestamp,
    ) -> Result<Vec<TicketEntry>, RegistryError> {
        let found = self
            .find_tickets(|t| t.guild_id == guild && t.opened_at >= since)
            .await?;
        Ok(found.into_iter().map(|(_, entry)| entry).collect())
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
}

/// The bucket `name`, created when missing.
async fn bucket(
    js: &jetstream::Context,
    name: &'static str,
    description: &str,
) -> Result<Store, RegistryError> {
    let config = kv::Config {
        bucket: name.to_owned(),
        description: description.to_owned(),
        // The latest value is the record; earlier ones are kept only for `nats kv history`.
        history: 5,
        max_value_size: MAX_VALUE_BYTES,
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    };
    buckets::key_value(js, config)
        .await
        .map_err(|err| RegistryError::bucket(name, err.message))
}

/// What a watch saw of one key: its ID, its value (`None`: deleted, or unreadable) and the
/// revision.
trait Seen<V>: FnMut(u64, Option<V>, u64) {}
impl<V, F: FnMut(u64, Option<V>, u64)> Seen<V> for F {}

/// Reads every entry of `store` into `apply` (the latest value of each key: a watch with
/// history, read until it has caught up), then keeps the watch going in a task that applies
/// each later change, made again from the last revision seen when it ends.
async fn follow<V>(
    store: &Store,
    bucket: &'static str,
    mut apply: impl Seen<V> + Send + 'static,
) -> Result<JoinHandle<()>, RegistryError>
where
    V: serde::de::DeserializeOwned,
{
    let mut watch = store
        .watch_with_history(">")
        .await
        .map_err(|e| RegistryError::bucket(bucket, e))?;
    let mut last = 0;
    // A watch of an empty bucket delivers nothing, not even "caught up": ask first (the
    // store's status is as of its opening, just before).
    let status = store
        .status()
        .await
        .map_err(|e| RegistryError::bucket(bucket, e))?;
    if status.values() > 0 {
        loop {
            let Some(entry) = watch.next().await else {
                // The watch ended before it caught up (its consumer went, under load): go on
                // from where it stopped, or the registry would start with part of its entries.
                tracing::debug!(bucket, "the registry's first read ended early; reading on");
                tokio::time::sleep(REWATCH_AFTER).await;
                watch = store
                    .watch_all_from_revision(last + 1)
                    .await
                    .map_err(|e| RegistryError::bucket(bucket, e))?;
                continue;
            };
            let entry = entry.map_err(|e| RegistryError::bucket(bucket, e))?;
            let caught_up = entry.delta == 0;
            last = entry.revision;
            apply_entry(bucket, &entry, &mut apply);
            if caught_up {
                break;
            }
        }
    }
    let store = store.clone();
    Ok(tokio::spawn(async move {
        loop {
            while let Some(entry) = watch.next().await {
                match entry {
                    Ok(entry) => {
                        last = entry.revision;
                        apply_entry(bucket, &entry, &mut apply);
                    }
                    // The watch's consumer is being made again (a reconnect): it goes on.
                    Err(err) => tracing::debug!(bucket, error = %err, "registry watch hiccup"),
                }
            }
            tracing::warn!(bucket, "the registry's watch ended; watching again");
            loop {
                tokio::time::sleep(REWATCH_AFTER).await;
                match store.watch_all_from_revision(last + 1).await {
                    Ok(again) => {
                        watch = again;
                        break;
                    }
                    Err(err) => {
                        tracing::warn!(bucket, error = %err, "cannot watch the registry again yet")
                    }
                }
            }
        }
    }))
}

/// One pass over every entry of `store` (the latest value of each key) into `apply`.
async fn scan<V>(
    js: &jetstream::Context,
    store: &Store,
    bucket: &'static str,
    mut apply: impl Seen<V>,
) -> Result<(), RegistryError>
where
    V: serde::de::DeserializeOwned,
{
    // The store's own status is the one read when it was opened: ask the stream now.
    let stream = js
        .get_stream(format!("KV_{bucket}"))
        .await
        .map_err(|e| RegistryError::bucket(bucket, e))?;
    if stream.cached_info().state.messages == 0 {
        return Ok(());
    }
    let mut watch = store
        .watch_with_history(">")
        .await
        .map_err(|e| RegistryError::bucket(bucket, e))?;
    while let Some(entry) = watch.next().await {
        let entry = entry.map_err(|e| RegistryError::bucket(bucket, e))?;
        apply_entry(bucket, &entry, &mut apply);
        if entry.delta == 0 {
            break;
        }
    }
    Ok(())
}

fn apply_entry<V>(bucket: &'static str, entry: &kv::Entry, apply: &mut impl Seen<V>)
where
    V: serde::de::DeserializeOwned,
{
    let Ok(id) = entry.key.parse::<u64>() else {
        tracing::warn!(bucket, key = entry.key, "ignoring a key that is not an ID");
        return;
    };
    if id == 0 {
        return;
    }
    if entry.operation != kv::Operation::Put {
        apply(id, None, entry.revision);
        return;
    }
    match serde_json::from_slice::<V>(&entry.value) {
        Ok(value) => apply(id, Some(value), entry.revision),
        Err(source) => {
            // One bad entry must not stop the bot; it is reported and skipped.
            let err = RegistryError::BadEntry {
                bucket,
                key: entry.key.clone(),
                source,
            };
            tracing::warn!(error = %err, "ignoring an unreadable registry entry");
        }
    }
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
            overflow_category_ids: vec![ChannelId::new(6)],
            server_full_told_at: None,
            staff: StaffSettings::default(),
            mode: TicketMode::Threads,
            threads_channel_id: Some(ChannelId::new(7)),
            topics: Vec::new(),
        };
        let json: serde_json::Value = serde_json::from_slice(&to_json(&guild)).unwrap();
        assert_eq!(json["category_id"], "2");
        assert_eq!(json["mode"], "threads");
        assert_eq!(json["threads_channel_id"], "7");
        assert_eq!(json["panel_messages"][0]["message_id"], "5");
        assert_eq!(json["overflow_category_ids"][0], "6");
        assert_eq!(guild.categories(), [ChannelId::new(2), ChannelId::new(6)]);
        assert!(guild.is_ticket_category(ChannelId::new(6)));
        assert!(!guild.is_ticket_category(ChannelId::new(4)));
        let older: GuildEntry =
            serde_json::from_str(r#"{"category_id":"2","support_role_id":"3"}"#).unwrap();
        assert_eq!(
            older.categories(),
            [ChannelId::new(2)],
            "one category before overflow"
        );
        assert_eq!(
            older.mode,
            TicketMode::Channels,
            "channels before the modes"
        );
        assert_eq!(older.threads_channel_id, None);
    }

    #[test]
    fn new_tickets_are_threads_only_in_thread_mode_with_its_channel() {
        let mut guild: GuildEntry =
            serde_json::from_str(r#"{"category_id":"2","support_role_id":"3"}"#).unwrap();
        assert_eq!(guild.thread_parent(), None);
        guild.threads_channel_id = Some(ChannelId::new(7));
        assert_eq!(guild.thread_parent(), None, "kept in channel mode, unused");
        guild.mode = TicketMode::Threads;
        assert_eq!(guild.thread_parent(), Some(ChannelId::new(7)));
        for mode in [TicketMode::Channels, TicketMode::Threads] {
            assert_eq!(TicketMode::parse(mode.name()), Some(mode));
        }
        assert_eq!(TicketMode::parse("forum"), None);
    }

    #[test]
    fn older_entries_without_optional_fields_still_parse_and_closed_reads_as_done() {
        let json = r#"{"guild_id":"1","owner_id":"2","opened_at":"2026-01-01T00:00:00Z",
            "status":"closed","last_activity":"2026-01-01T00:00:00Z"}"#;
        let entry: TicketEntry = serde_json::from_str(json).unwrap();
        assert!(!entry.is_open());
        assert!(entry.is_done());
        assert_eq!(entry.status, TicketStatus::Deleted);
        assert_eq!(entry.reason, None);
        assert_eq!(entry.close, None);
        assert!(!entry.is_archived());
        let opened = Timestamp::from_unix_timestamp(1_767_225_600).unwrap();
        assert_eq!(
            entry,
            TicketEntry {
                status: TicketStatus::Deleted,
                ..TicketEntry::opened(GuildId::new(1), UserId::new(2), opened)
            },
            "what this version records reads as nothing recorded"
        );
    }

    #[test]
    fn a_member_is_listed_once_and_taking_them_off_twice_changes_nothing() {
        let (a, b) = (UserId::new(1), UserId::new(2));
        let mut list = Vec::new();
        assert!(set_listed(&mut list, a, true));
        assert!(set_listed(&mut list, b, true));
        assert!(!set_listed(&mut list, a, true), "listed already");
        assert_eq!(list, [a, b]);
        assert!(set_listed(&mut list, a, false));
        assert!(!set_listed(&mut list, a, false));
        assert_eq!(list, [b]);
    }

    #[test]
    fn the_statuses_of_a_close_are_written_by_name() {
        for (status, name) in [
            (TicketStatus::Open, "open"),
            (TicketStatus::Closing, "closing"),
            (TicketStatus::Archived, "archived"),
            (TicketStatus::Deleted, "deleted"),
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), name);
        }
    }

    #[test]
    fn the_copy_takes_a_watched_change_only_when_it_is_newer() {
        let copy = Mirror::default();
        let channel = ChannelId::new(9);
        let at = Timestamp::from_unix_timestamp(1_790_000_000).unwrap();
        let ticket = TicketEntry::opened(GuildId::new(1), UserId::new(2), at);
        copy.watched_ticket(channel, Some(ticket.clone()), 5);
        let mut older = ticket.clone();
        older.reason = Some("older".into());
        copy.watched_ticket(channel, Some(older), 4);
        assert_eq!(copy.live.lock()[&channel].entry.reason, None);
        // A write of ours under way: the watch waits for its outcome.
        copy.remember(channel, ticket.clone(), None);
        copy.watched_ticket(channel, None, 6);
        assert!(copy.live.lock().contains_key(&channel));
        copy.remember(channel, ticket.clone(), Some(6));
        let mut done = ticket;
        done.status = TicketStatus::Deleted;
        copy.watched_ticket(channel, Some(done), 7);
        assert!(!copy.live.lock().contains_key(&channel), "done: forgotten");
    }
}
