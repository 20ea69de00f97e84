//! The ticket relay: each human message in a `ticket-` channel goes to a relay worker over NATS,
//! and the answer comes back as a reply to that message.
//!
//! Ordering: every channel has its own bounded queue and task, so one channel's messages are
//! answered in the order they were sent while other channels proceed in parallel. Messages enter
//! the queues through [`Relay::offer`], a synchronous call made from serenity's shard loop (a
//! collector sees events in gateway order; the spawned event handlers do not run in order), with
//! the `message` handler as a fallback before the collector is registered; a message seen twice
//! is taken once.
//!
//! Robustness: a full queue (a user flooding one channel) drops the message with a notice and a
//! WARN line instead of waiting; a channel task that has been idle for a while ends; every
//! failure is logged and never ends the task.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use backon::{ExponentialBuilder, Retryable};
use common::{
    payload::{MessageContent, RelayRequest, Snowflake},
    relay_client::{RelayClient, RelayError},
};
use serenity::{
    all::{
        Cache, ChannelId, CreateAllowedMentions, CreateMessage, Http, Message, MessageId,
        MessageReference, MessageType,
    },
    model::channel::Channel,
};
use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::Instrument;

use crate::split::{split_message, DISCORD_MESSAGE_LIMIT};

/// Prefix of the channels whose messages are relayed.
pub const TICKET_CHANNEL_PREFIX: &str = "ticket-";

/// What the user reads when no answer could be had.
pub const UNAVAILABLE_MESSAGE: &str =
    "Sorry, the assistant is unavailable right now. A member of staff will follow up here soon.";

/// What the user reads when their channel's queue is full.
pub const BUSY_MESSAGE: &str =
    "I'm still answering your earlier messages; please send this one again in a moment.";

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
}

impl RelaySettings {
    /// Production values with the given request timeout.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            max_retries: 2,
            retry_delay: Duration::from_millis(500),
            queue_capacity: 16,
            idle_timeout: Duration::from_secs(300),
        }
    }
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
    settings: RelaySettings,
    queues: Mutex<HashMap<ChannelId, mpsc::Sender<Message>>>,
    seen: Mutex<SeenIds>,
    tasks: TaskTracker,
    cancel: CancellationToken,
}

impl Relay {
    /// A relay sending requests with `client` and talking to Discord with `http`.
    pub fn new(
        client: RelayClient,
        http: Arc<Http>,
        cache: Arc<Cache>,
        settings: RelaySettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                http,
                cache,
                settings,
                queues: Mutex::new(HashMap::new()),
                seen: Mutex::new(SeenIds::new(4096)),
                tasks: TaskTracker::new(),
                cancel: CancellationToken::new(),
            }),
        }
    }

    /// Takes a new message: queues it for its channel when it is a relayable human message.
    /// Never blocks, never fails; call it in the order messages arrive.
    pub fn offer(&self, message: &Message) {
        if !self.is_relayable(message) {
            return;
        }
        if !lock(&self.inner.seen).insert(message.id) {
            return;
        }
        if self.inner.cancel.is_cancelled() || self.inner.tasks.is_closed() {
            return;
        }
        let channel_id = message.channel_id;
        let mut queues = lock(&self.inner.queues);
        let sender = queues
            .entry(channel_id)
            .or_insert_with(|| self.spawn_channel_task(channel_id));
        match sender.try_send(message.clone()) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(message)) => {
                tracing::warn!(
                    channel_id = %channel_id,
                    message_id = %message.id,
                    "ticket channel queue full, message not relayed"
                );
                let inner = Arc::clone(&self.inner);
                self.inner.tasks.spawn(async move {
                    inner.post(&message, BUSY_MESSAGE).await;
                });
            }
            Err(mpsc::error::TrySendError::Closed(message)) => {
                // The channel's task is gone though the relay runs (it panicked): start another
                // so that one bad message cannot silence the channel for good.
                tracing::error!(channel_id = %channel_id, "ticket channel task ended unexpectedly, restarting it");
                let sender = self.spawn_channel_task(channel_id);
                let _ = sender.try_send(message);
                queues.insert(channel_id, sender);
            }
        }
    }

    fn spawn_channel_task(&self, channel_id: ChannelId) -> mpsc::Sender<Message> {
        let (tx, rx) = mpsc::channel(self.inner.settings.queue_capacity);
        let span = tracing::info_span!("ticket_channel", channel_id = %channel_id);
        self.inner
            .tasks
            .spawn(channel_task(Arc::clone(&self.inner), channel_id, rx).instrument(span));
        tx
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
            let _ = tokio::time::timeout(Duration::from_secs(1), self.inner.tasks.wait()).await;
        }
    }

    /// Cheap checks that need no I/O: a human's regular message with text, in a guild channel
    /// that is (or might be, when the cache does not know it) a ticket channel.
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
        cached_is_ticket(&self.inner.cache, message).unwrap_or(true)
    }
}

/// Whether the cache knows the message's channel as a ticket channel (`None`: not cached).
fn cached_is_ticket(cache: &Cache, message: &Message) -> Option<bool> {
    let guild = cache.guild(message.guild_id?)?;
    let channel = guild.channels.get(&message.channel_id)?;
    Some(channel.name.starts_with(TICKET_CHANNEL_PREFIX))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The data behind these locks stays consistent even if a holder panicked.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn channel_task(inner: Arc<Inner>, channel_id: ChannelId, mut rx: mpsc::Receiver<Message>) {
    loop {
        let message = tokio::select! {
            message = rx.recv() => message,
            () = inner.cancel.cancelled() => return,
            () = tokio::time::sleep(inner.settings.idle_timeout) => {
                let mut queues = lock(&inner.queues);
                // Under the queues lock nobody can be queueing for this channel right now.
                if rx.is_empty() {
                    queues.remove(&channel_id);
                    return;
                }
                continue;
            }
        };
        let Some(message) = message else { return };
        tokio::select! {
            () = inner.relay(message) => {}
            () = inner.cancel.cancelled() => return,
        }
    }
}

/// Why a relay gave up, for the log line.
struct Failure {
    error: RelayError,
    attempts: usize,
}

impl Inner {
    #[tracing::instrument(name = "relay", skip_all, fields(message_id = %message.id, user_id = %message.author.id))]
    async fn relay(&self, message: Message) {
        if !self.is_ticket_channel(&message).await {
            return;
        }
        let Some(request) = relay_request(&message) else {
            tracing::debug!("message has nothing to relay");
            return;
        };
        let typing = message.channel_id.start_typing(&self.http);
        let outcome = self.send_with_retries(&request).await;
        typing.stop();
        match outcome {
            Ok(reply) if !reply.trim().is_empty() => self.post_reply(&message, &reply).await,
            Ok(_) => {
                tracing::error!(
                    "relay worker sent an empty answer; told the user staff will follow up"
                );
                self.post(&message, UNAVAILABLE_MESSAGE).await;
            }
            Err(failure) => {
                tracing::error!(
                    error = %failure.error,
                    code = ?failure.error.code(),
                    attempts = failure.attempts,
                    "relay failed; told the user staff will follow up"
                );
                self.post(&message, UNAVAILABLE_MESSAGE).await;
            }
        }
    }

    /// Whether the channel is a ticket channel: the cache knows most channels, else ask Discord.
    async fn is_ticket_channel(&self, message: &Message) -> bool {
        if let Some(known) = cached_is_ticket(&self.cache, message) {
            return known;
        }
        match message.channel_id.to_channel(&*self.http).await {
            Ok(Channel::Guild(channel)) => channel.name.starts_with(TICKET_CHANNEL_PREFIX),
            Ok(_) => false,
            Err(err) => {
                tracing::warn!(error = %err, "cannot look up the channel, message not relayed");
                false
            }
        }
    }

    async fn send_with_retries(&self, request: &RelayRequest) -> Result<String, Failure> {
        let request_id = request
            .message_id
            .as_ref()
            .map(|id| format!("discord-message-{id}"));
        let mut attempts = 0;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.settings.retry_delay)
            .with_factor(2.0)
            .with_max_times(self.settings.max_retries)
            .with_jitter();
        let result = (|| {
            attempts += 1;
            let attempt = attempts;
            let request_id = request_id.as_deref();
            async move {
                tracing::debug!(attempt, "relay request sent");
                self.client.send(request, request_id).await
            }
        })
        .retry(backoff)
        .when(RelayError::is_transient)
        .notify(|err, delay| {
            tracing::warn!(error = %err, retry_in = ?delay, "relay attempt failed, retrying");
        })
        .await;
        result
            .map(|reply| reply.reply)
            .map_err(|error| Failure { error, attempts })
    }

    async fn post_reply(&self, message: &Message, reply: &str) {
        let pieces = split_message(reply, DISCORD_MESSAGE_LIMIT);
        let count = pieces.len();
        for (index, piece) in pieces.into_iter().enumerate() {
            // Only the first piece is a reply; the rest follow it as plain messages.
            let reply_to = (index == 0).then_some(message);
            if let Err(err) = self.send(message.channel_id, piece, reply_to).await {
                tracing::error!(error = %err, piece = index + 1, pieces = count, "cannot post the answer");
                return;
            }
        }
        tracing::info!(pieces = count, "answer posted");
    }

    /// Posts `text` as a reply to `message`, logging a failure.
    async fn post(&self, message: &Message, text: &str) {
        if let Err(err) = self
            .send(message.channel_id, text.to_owned(), Some(message))
            .await
        {
            tracing::error!(error = %err, "cannot post to the ticket channel");
        }
    }

    async fn send(
        &self,
        channel_id: ChannelId,
        text: String,
        reply_to: Option<&Message>,
    ) -> serenity::Result<Message> {
        let mut builder = CreateMessage::new()
            .content(text)
            .allowed_mentions(CreateAllowedMentions::new());
        if let Some(message) = reply_to {
            // Still post the answer if the user deleted their message meanwhile.
            builder = builder
                .reference_message(MessageReference::from(message).fail_if_not_exists(false));
        }
        channel_id.send_message(&*self.http, builder).await
    }
}

/// The relay request for a message, or `None` when its text cannot be relayed.
pub fn relay_request(message: &Message) -> Option<RelayRequest> {
    let guild_id = message.guild_id?;
    let content = MessageContent::parse(message.content.clone()).ok()?;
    Some(RelayRequest {
        guild_id: Snowflake::from(guild_id.get()),
        channel_id: Snowflake::from(message.channel_id.get()),
        user_id: Snowflake::from(message.author.id.get()),
        content,
        message_id: Some(Snowflake::from(message.id.get())),
    })
}

/// The most recent message IDs seen, so that a message offered twice is relayed once.
struct SeenIds {
    order: VecDeque<MessageId>,
    set: HashSet<MessageId>,
    capacity: usize,
}

impl SeenIds {
    fn new(capacity: usize) -> Self {
        Self {
            order: VecDeque::with_capacity(capacity),
            set: HashSet::with_capacity(capacity),
            capacity,
        }
    }

    /// `true` when `id` is new.
    fn insert(&mut self, id: MessageId) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(content: &str, guild: bool) -> Message {
        let mut json = serde_json::json!({
            "id": "40", "channel_id": "30", "author": { "id": "20", "username": "u", "discriminator": "0" },
            "content": content, "timestamp": "2026-11-27T08:00:00.000000+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "pinned": false, "type": 0,
        });
        if guild {
            json["guild_id"] = "10".into();
        }
        serde_json::from_value(json).expect("a message")
    }

    #[test]
    fn relay_request_carries_every_id_and_the_text() {
        let request = relay_request(&message("help me", true)).expect("relayable");
        assert_eq!(request.guild_id.as_str(), "10");
        assert_eq!(request.channel_id.as_str(), "30");
        assert_eq!(request.user_id.as_str(), "20");
        assert_eq!(
            request.message_id.as_ref().map(Snowflake::as_str),
            Some("40")
        );
        assert_eq!(request.content.as_str(), "help me");
    }

    #[test]
    fn nothing_to_relay_without_text_or_outside_a_guild() {
        assert!(relay_request(&message("  \n ", true)).is_none());
        assert!(
            relay_request(&message(&"x".repeat(MessageContent::MAX_CHARS + 1), true)).is_none()
        );
        assert!(relay_request(&message("hi", false)).is_none());
    }

    #[test]
    fn seen_ids_remember_recent_ids_only() {
        let mut seen = SeenIds::new(2);
        assert!(seen.insert(MessageId::new(1)));
        assert!(!seen.insert(MessageId::new(1)));
        assert!(seen.insert(MessageId::new(2)));
        assert!(seen.insert(MessageId::new(3)));
        assert!(seen.insert(MessageId::new(1)), "1 was forgotten");
    }
}
