//! The ticket relay: each human message in a channel the [`Registry`] holds as an open ticket
//! goes to a relay worker over NATS, and the answer comes back as a reply to that message.
//!
//! Ordering: every channel has its own bounded queue and task ([`queue`]), so one channel's
//! messages are answered in the order they were sent while other channels proceed in parallel.
//! Messages enter the queues through [`Relay::offer`], a synchronous call made from serenity's
//! shard loop (a collector sees events in gateway order; the spawned event handlers do not run in
//! order), with the `message` handler as a fallback before the collector is registered; a
//! message seen twice is taken once. Every human message in an open ticket counts as the
//! ticket's activity (for auto-close) as soon as it is offered, whether it is relayed or not
//! (a file alone, a queue full). When its turn comes, the relay decides what the message calls
//! for ([`decision`]: relay it, or not because staff wrote it or handle the ticket, or because
//! a human was asked for, or because its author is over their limit), and the [`pipeline`]
//! acts on that: notices, request with retries, typing, the answer posted as it is written
//! ([`stream_plan`]) and whole with its buttons ([`crate::answers`]), and counted in the
//! ticket's entry. Before it acts, it claims the
//! message ([`Claims`]), so that with two bot processes on one guild (a rolling deploy) only
//! one of them answers.
//!
//! Staff are known by their roles wherever a message came from: a gateway message carries its
//! author's roles; one read over REST (catch-up, history) does not, and its author's roles are
//! asked of the member cache ([`Members`]).
//!
//! Robustness: a full queue (a user flooding one channel) drops the message with a notice and a
//! WARN line instead of waiting; a channel task that has been idle for a while ends; every
//! failure is logged and never ends the task. Messages still queued at shutdown are counted in
//! a WARN line and left to the next start's [`catch_up`].

mod carried;
mod catch_up;
mod decision;
mod handoff;
mod history;
mod notices;
mod pipeline;
mod queue;
mod stream_plan;
mod user_limit;

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use common::relay_client::RelayClient;
use parking_lot::Mutex;
use serenity::all::{Cache, ChannelId, GuildId, Http, Message, MessageType, RoleId, UserId};
use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use decision::Gate;
use queue::{SeenIds, SEEN_IDS_REMEMBERED};

use crate::{
    answers::RecentAnswers, archive::Archive, claims::Claims, guild::staff::Standing,
    members::Members, metrics::BotMetrics, rate_limit::RestBudget, registry::Registry,
    settings::RelaySettings,
};

pub use notices::{BUSY_MESSAGE, HANDOFF_MESSAGE, SLOW_DOWN_MESSAGE, UNAVAILABLE_MESSAGE};

/// Cancelled tasks stop at their next await, so this is plenty and keeps shutdown bounded.
const ABANDON_WAIT: Duration = Duration::from_secs(1);

/// serenity's cache settings for the relay: recent messages of every channel are kept, so that
/// a ticket's history rarely needs a REST call.
pub fn cache_settings() -> serenity::cache::Settings {
    let mut settings = serenity::cache::Settings::default();
    settings.max_messages = history::CACHED_MESSAGES_PER_CHANNEL;
    settings
}

/// What the relay works with besides its NATS client, built before the gateway connects.
pub struct Parts {
    /// The REST client.
    pub http: Arc<Http>,
    /// The gateway's cache.
    pub cache: Arc<Cache>,
    /// The record of guilds and tickets.
    pub registry: Arc<Registry>,
    /// The members' roles, by REST.
    pub members: Arc<Members>,
    /// The claims on messages (several bot processes).
    pub claims: Arc<Claims>,
    /// Where the answers it posts are remembered, for their buttons.
    pub answers: Arc<RecentAnswers>,
    /// The archive of transcripts (a reopened ticket's earlier conversation).
    pub archive: Arc<Archive>,
    /// The bot's own user.
    pub bot_id: UserId,
    /// This process's metrics.
    pub metrics: BotMetrics,
    /// What is left of the bot's REST budget (edits of streamed answers and typing wait on it).
    pub budget: RestBudget,
}

/// The relay: cheap to clone, shared by the event handler and the shard collector.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").finish_non_exhaustive()
    }
}

struct Inner {
    client: RelayClient,
    http: Arc<Http>,
    cache: Arc<Cache>,
    registry: Arc<Registry>,
    members: Arc<Members>,
    claims: Arc<Claims>,
    /// The answers posted lately, for their buttons.
    answers: Arc<RecentAnswers>,
    budget: RestBudget,
    settings: RelaySettings,
    /// The bot's own user: its messages are never relayed.
    bot_id: UserId,
    queues: Mutex<HashMap<ChannelId, mpsc::Sender<Message>>>,
    seen: Mutex<SeenIds>,
    tasks: TaskTracker,
    cancel: CancellationToken,
    /// Messages queued or being answered, for the shutdown's count of what is left.
    pending: AtomicUsize,
    backfill: history::Backfill,
    /// The earlier conversations of reopened tickets, read from the archive once.
    carried: carried::Carried,
    /// What the relay's decisions remember (handoffs, users' allowances).
    gate: Gate,
    metrics: BotMetrics,
}

impl Relay {
    /// A relay of the bot `bot_id` (in `parts`), sending requests with `client`.
    pub fn new(client: RelayClient, parts: Parts, settings: RelaySettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                http: parts.http,
                cache: parts.cache,
                registry: parts.registry,
                members: parts.members,
                claims: parts.claims,
                answers: parts.answers,
                budget: parts.budget,
                bot_id: parts.bot_id,
                queues: Mutex::new(HashMap::new()),
                seen: Mutex::new(SeenIds::new(SEEN_IDS_REMEMBERED)),
                tasks: TaskTracker::new(),
                cancel: CancellationToken::new(),
                pending: AtomicUsize::new(0),
                backfill: history::Backfill::default(),
                carried: carried::Carried::new(parts.archive),
                gate: Gate::new(&settings),
                metrics: parts.metrics,
                settings,
            }),
        }
    }

    /// Takes a new message: a human's message in an open ticket counts as its activity, and
    /// is queued for its channel when it has text to relay. Never blocks, never fails; call it
    /// in the order messages arrive.
    pub fn offer(&self, message: &Message) {
        if !self.is_human_in_open_ticket(message) || !self.inner.seen.lock().insert(message.id) {
            return;
        }
        self.record_activity(message);
        if has_text(message) {
            self.queue(message);
        }
    }

    /// Stores the message's time as the ticket's last activity (auto-close reads it), off the
    /// message's path: the write is a NATS round trip nobody need wait for.
    fn record_activity(&self, message: &Message) {
        let registry = Arc::clone(&self.inner.registry);
        let (channel, at) = (message.channel_id, message.timestamp);
        self.inner.tasks.spawn(async move {
            if let Err(err) = registry.touch(channel, at).await {
                tracing::warn!(error = %err, channel_id = %channel, "cannot record the ticket's activity");
            }
        });
    }

    /// Stops taking messages, lets queued ones finish for up to `grace`, then abandons the rest.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.queues.lock().clear();
        self.inner.tasks.close();
        if tokio::time::timeout(grace, self.inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                tasks = self.inner.tasks.len(),
                "relay tasks still busy at shutdown, abandoning them"
            );
            self.inner.cancel.cancel();
            let _ = tokio::time::timeout(ABANDON_WAIT, self.inner.tasks.wait()).await;
            let left = self.inner.pending.load(Ordering::SeqCst);
            if left > 0 {
                tracing::warn!(
                    messages = left,
                    "{left} ticket messages unanswered at shutdown; the next start answers them (catch-up)"
                );
            }
        }
    }

    /// Cheap checks that need no I/O: a human's regular message with text, in a channel the
    /// registry holds as an open ticket (by ID: a channel's name proves nothing).
    fn is_relayable(&self, message: &Message) -> bool {
        self.is_human_in_open_ticket(message) && has_text(message)
    }

    /// A person's message (no bot, system or webhook) in a guild channel the registry holds as
    /// an open ticket.
    fn is_human_in_open_ticket(&self, message: &Message) -> bool {
        message.guild_id.is_some()
            && !message.author.bot
            && !message.author.system
            && message.webhook_id.is_none()
            && message.author.id != self.inner.bot_id
            && self.inner.registry.is_open_ticket(message.channel_id)
    }
}

/// A regular message (or a reply) with text in it.
fn has_text(message: &Message) -> bool {
    matches!(
        message.kind,
        MessageType::Regular | MessageType::InlineReply
    ) && !message.content.trim().is_empty()
}

impl Inner {
    /// Whether the author of `message` is staff ([`Standing::is_staff`]), with the roles the
    /// message carries (gateway messages do) or else those the member cache knows (messages
    /// read over REST carry none), and the permissions those roles have in the cached guild.
    async fn is_staff(&self, message: &Message) -> bool {
        // Messages read over REST carry no guild: the ticket's is the one.
        let guild_id = message.guild_id.or_else(|| {
            self.registry
                .live_ticket(message.channel_id)
                .map(|t| t.guild_id)
        });
        let Some(guild_id) = guild_id else {
            return false;
        };
        let roles = message.member.as_ref().map(|m| m.roles.clone());
        let topic_id = self
            .registry
            .live_ticket(message.channel_id)
            .and_then(|t| t.topic_id);
        self.is_staff_in(guild_id, topic_id, message.author.id, roles)
            .await
    }

    /// Whether `user` is staff in `guild` (or holds the Support role of the ticket's topic
    /// `topic_id`), with `roles` if they are known, else those the member cache knows.
    async fn is_staff_in(
        &self,
        guild_id: GuildId,
        topic_id: Option<u32>,
        user: UserId,
        roles: Option<Vec<RoleId>>,
    ) -> bool {
        let roles = match roles {
            Some(roles) => roles,
            None => self.members.roles(guild_id, user).await,
        };
        let entry = self.registry.guild(guild_id);
        let support = entry.as_ref().map(|g| g.support_role_id);
        let topic_role = entry.as_ref().and_then(|g| g.topic_role(topic_id));
        let Some(guild) = self.cache.guild(guild_id) else {
            return false;
        };
        Standing::in_guild(&guild, user, roles).is_staff_of_topic(support, topic_role)
    }
}
