//! The ticket relay: each human message in a channel the [`Registry`] holds as an open ticket
//! goes to a relay worker over NATS, and the answer comes back as a reply to that message.
//!
//! Ordering: every channel has its own bounded queue and task ([`queue`]), so one channel's
//! messages are answered in the order they were sent while other channels proceed in parallel.
//! Messages enter the queues through [`Relay::offer`], a synchronous call made from serenity's
//! shard loop (a collector sees events in gateway order; the spawned event handlers do not run in
//! order), with the `message` handler as a fallback before the collector is registered; a
//! message seen twice is taken once. Each message then goes through the [`pipeline`]: request
//! with retries, typing, the answer posted.
//!
//! Robustness: a full queue (a user flooding one channel) drops the message with a notice and a
//! WARN line instead of waiting; a channel task that has been idle for a while ends; every
//! failure is logged and never ends the task. Messages still queued at shutdown are counted in
//! a WARN line and left to the next start's [`catch_up`].

mod catch_up;
mod handoff;
mod history;
mod pipeline;
mod queue;
mod user_limit;

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use common::relay_client::RelayClient;
use serenity::all::{Cache, ChannelId, Http, Message, MessageType};
use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use queue::{SeenIds, SEEN_IDS_REMEMBERED};

use crate::registry::Registry;

/// What the user reads when no answer could be had.
pub const UNAVAILABLE_MESSAGE: &str =
    "Sorry, the assistant is unavailable right now. A member of staff will follow up here soon.";

/// What the user reads when their channel's queue is full.
pub const BUSY_MESSAGE: &str =
    "I'm still answering your earlier messages; please send this one again in a moment.";

pub use handoff::HANDOFF_MESSAGE;
pub use user_limit::SLOW_DOWN_MESSAGE;

/// Three attempts in all: enough to ride out a worker restarting, few enough that the user is
/// not kept waiting for long.
const MAX_RETRIES: usize = 2;
/// Long enough for a restarted worker to subscribe again, short next to the request timeout.
const RETRY_DELAY: Duration = Duration::from_millis(500);
/// More than a person types while waiting for one answer; beyond it is a flood, told to resend.
const QUEUE_CAPACITY: usize = 16;
/// A conversation's pauses keep its task; an abandoned ticket frees it.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Cancelled tasks stop at their next await, so this is plenty and keeps shutdown bounded.
const ABANDON_WAIT: Duration = Duration::from_secs(1);
/// `CATCHUP_MAX_AGE_MINUTES`' default: an hour, long enough for a restart or a deploy, short
/// enough that nobody gets a bot answer to a question staff has long dealt with.
const CATCH_UP_MAX_AGE: Duration = Duration::from_secs(60 * 60);

/// How the relay behaves; [`RelaySettings::new`] gives the production values.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// How long one request waits for a reply (`RELAY_TIMEOUT_SECS`).
    pub timeout: Duration,
    /// Retries after the first attempt, on transient failures only.
    pub max_retries: usize,
    /// Delay before the first retry; it doubles for each later one.
    pub retry_delay: Duration,
    /// Messages one channel may have waiting before new ones are turned away.
    pub queue_capacity: usize,
    /// An idle channel task ends after this long (a new message starts another).
    pub idle_timeout: Duration,
    /// How far back catch-up looks after a (re)connect (`CATCHUP_MAX_AGE_MINUTES`; zero: no
    /// catch-up).
    pub catch_up_max_age: Duration,
    /// Earlier ticket messages sent with each request (`HISTORY_MAX_MESSAGES`).
    pub history_max_messages: usize,
    /// How long the assistant stays quiet after staff wrote (`HANDOFF_QUIET_MINUTES`).
    pub handoff_quiet: Duration,
    /// Messages relayed per user per minute, 0 for no limit (`USER_RATE_LIMIT_PER_MINUTE`).
    pub user_rate_limit_per_minute: u32,
}

impl RelaySettings {
    /// Production values with the given request timeout.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            max_retries: MAX_RETRIES,
            retry_delay: RETRY_DELAY,
            queue_capacity: QUEUE_CAPACITY,
            idle_timeout: IDLE_TIMEOUT,
            catch_up_max_age: CATCH_UP_MAX_AGE,
            history_max_messages: common::payload::History::MAX_MESSAGES,
            handoff_quiet: handoff::DEFAULT_QUIET,
            user_rate_limit_per_minute: user_limit::DEFAULT_PER_MINUTE,
        }
    }
}

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
    settings: RelaySettings,
    queues: Mutex<HashMap<ChannelId, mpsc::Sender<Message>>>,
    seen: Mutex<SeenIds>,
    tasks: TaskTracker,
    cancel: CancellationToken,
    /// Messages queued or being answered, for the shutdown's count of what is left.
    pending: AtomicUsize,
    backfill: history::Backfill,
    handoffs: handoff::Handoffs,
    user_limit: user_limit::UserLimit,
}

impl Relay {
    /// A relay sending requests with `client` and talking to Discord with `http`.
    pub fn new(
        client: RelayClient,
        http: Arc<Http>,
        cache: Arc<Cache>,
        registry: Arc<Registry>,
        settings: RelaySettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                http,
                cache,
                registry,
                queues: Mutex::new(HashMap::new()),
                seen: Mutex::new(SeenIds::new(SEEN_IDS_REMEMBERED)),
                tasks: TaskTracker::new(),
                cancel: CancellationToken::new(),
                pending: AtomicUsize::new(0),
                backfill: history::Backfill::default(),
                handoffs: handoff::Handoffs::default(),
                user_limit: user_limit::UserLimit::new(settings.user_rate_limit_per_minute),
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
        lock(&self.inner.queues).clear();
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
        if message.author.id == self.inner.cache.current_user().id {
            return false;
        }
        self.inner.registry.is_open_ticket(message.channel_id)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The data behind these locks stays consistent even if a holder panicked.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
