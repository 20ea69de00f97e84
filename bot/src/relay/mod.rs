//! The ticket relay: each human message in a channel the [`Registry`] holds as an open ticket
//! goes to a relay worker over NATS, and the answer comes back as a reply to that message.
//!
//! Ordering: every channel has its own bounded queue and task ([`queue`]), so one channel's
//! messages are answered in the order they were sent while other channels proceed in parallel.
//! Messages enter the queues through [`Relay::offer`], a synchronous call made from serenity's
//! shard loop (a collector sees events in gateway order; the spawned event handlers do not run in
//! order), with the `message` handler as a fallback before the collector is registered; a
//! message seen twice is taken once. When its turn comes, the relay decides what the message
//! calls for ([`decision`]: relay it, or not because staff wrote it or handle the ticket, or
//! because a human was asked for, or because its author is over their limit), and the
//! [`pipeline`] acts on that: notices, request with retries, typing, the answer posted with
//! its buttons ([`crate::answers`]) and counted in the ticket's entry.
//!
//! Robustness: a full queue (a user flooding one channel) drops the message with a notice and a
//! WARN line instead of waiting; a channel task that has been idle for a while ends; every
//! failure is logged and never ends the task. Messages still queued at shutdown are counted in
//! a WARN line and left to the next start's [`catch_up`].

mod catch_up;
mod decision;
mod handoff;
mod history;
mod notices;
mod pipeline;
mod queue;
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
use serenity::all::{Cache, ChannelId, Http, Message, MessageType, UserId};
use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use decision::Gate;
use queue::{SeenIds, SEEN_IDS_REMEMBERED};

use crate::{
    answers::RecentAnswers, guild::staff::Standing, registry::Registry, settings::RelaySettings,
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
    /// The answers posted lately, for their buttons.
    answers: Arc<RecentAnswers>,
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
    /// What the relay's decisions remember (handoffs, users' allowances).
    gate: Gate,
}

impl Relay {
    /// A relay of the bot `bot_id`, sending requests with `client` and talking to Discord with
    /// `http`; `cache` is the gateway's; the answers it posts go in `answers`.
    pub fn new(
        client: RelayClient,
        http: Arc<Http>,
        cache: Arc<Cache>,
        registry: Arc<Registry>,
        answers: Arc<RecentAnswers>,
        settings: RelaySettings,
        bot_id: UserId,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                http,
                cache,
                registry,
                answers,
                bot_id,
                queues: Mutex::new(HashMap::new()),
                seen: Mutex::new(SeenIds::new(SEEN_IDS_REMEMBERED)),
                tasks: TaskTracker::new(),
                cancel: CancellationToken::new(),
                pending: AtomicUsize::new(0),
                backfill: history::Backfill::default(),
                gate: Gate::new(&settings),
                settings,
            }),
        }
    }

    /// Takes a new message: queues it for its channel when it is a relayable human message.
    /// Never blocks, never fails; call it in the order messages arrive.
    pub fn offer(&self, message: &Message) {
        if self.is_relayable(message) {
            self.enqueue(message);
        }
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
        if message.guild_id.is_none()
            || message.author.bot
            || message.author.system
            || message.webhook_id.is_some()
            || !matches!(
                message.kind,
                MessageType::Regular | MessageType::InlineReply
            )
            || message.content.trim().is_empty()
        {
            return false;
        }
        if message.author.id == self.inner.bot_id {
            return false;
        }
        self.inner.registry.is_open_ticket(message.channel_id)
    }
}

impl Inner {
    /// Whether the author of `message` is staff ([`Standing::is_staff`]), with the roles the
    /// message carries (gateway messages do) or else the cached member's (messages fetched
    /// over REST carry none), and the permissions those roles have in the cached guild.
    fn is_staff(&self, message: &Message) -> bool {
        let Some(guild_id) = message.guild_id else {
            return false;
        };
        let support = self.registry.guild(guild_id).map(|g| g.support_role_id);
        let Some(guild) = self.cache.guild(guild_id) else {
            return false;
        };
        let roles = match (&message.member, guild.members.get(&message.author.id)) {
            (Some(member), _) => member.roles.clone(),
            (None, Some(member)) => member.roles.clone(),
            // The owner needs no roles; anyone else unknown to the cache is not staff.
            (None, None) => Vec::new(),
        };
        Standing::in_guild(&guild, message.author.id, roles).is_staff(support)
    }
}
