//! What happens to one queued message: check that its ticket is still open, send the
//! request to a relay worker (retrying transient failures with backoff) while showing "typing",
//! then post the answer as a reply, split into Discord-sized pieces, or the friendly
//! [`UNAVAILABLE_MESSAGE`] when no answer could be had. Before the request: staff messages and
//! tickets staff are handling are left to them ([`super::handoff`]), a user over their limit is
//! told to slow down ([`super::user_limit`]), and the ticket's conversation is added
//! ([`super::history`]).

use backon::{ExponentialBuilder, Retryable};
use common::{
    payload::{MessageContent, RelayRequest, Snowflake},
    relay_client::RelayError,
};
use serenity::all::{ChannelId, CreateAllowedMentions, CreateMessage, Message, MessageReference};

use super::{Inner, UNAVAILABLE_MESSAGE};
use crate::split::{split_message, DISCORD_MESSAGE_LIMIT};

/// Each retry waits this many times longer than the one before.
const RETRY_BACKOFF_FACTOR: f32 = 2.0;

/// Why a relay gave up, for the log line.
struct Failure {
    error: RelayError,
    attempts: usize,
}

impl Inner {
    #[tracing::instrument(name = "relay", skip_all, fields(message_id = %message.id, user_id = %message.author.id))]
    pub(super) async fn relay(&self, message: Message) {
        // Closed since it was queued: its channel is about to go.
        if !self.registry.is_open_ticket(message.channel_id) {
            return;
        }
        self.record_activity(&message);
        if self.handed_off(&message).await || !self.within_user_limit(&message).await {
            return;
        }
        let Some(mut request) = relay_request(&message) else {
            tracing::debug!("message has nothing to relay");
            return;
        };
        let typing = message.channel_id.start_typing(&self.http);
        request.history = self.history(&message).await;
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

    /// Stores the message's time as the ticket's last activity (auto-close reads it), off the
    /// answer's path: the write is a NATS round trip the user need not wait for.
    fn record_activity(&self, message: &Message) {
        let registry = std::sync::Arc::clone(&self.registry);
        let (channel, at) = (message.channel_id, message.timestamp);
        self.tasks.spawn(async move {
            if let Err(err) = registry.touch(channel, at).await {
                tracing::warn!(error = %err, channel_id = %channel, "cannot record the ticket's activity");
            }
        });
    }

    async fn send_with_retries(&self, request: &RelayRequest) -> Result<String, Failure> {
        let request_id = request
            .message_id
            .as_ref()
            .map(|id| format!("discord-message-{id}"));
        let mut attempts = 0;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.settings.retry_delay)
            .with_factor(RETRY_BACKOFF_FACTOR)
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
    pub(super) async fn post(&self, message: &Message, text: &str) {
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
fn relay_request(message: &Message) -> Option<RelayRequest> {
    let guild_id = message.guild_id?;
    let content = MessageContent::parse(message.content.clone()).ok()?;
    Some(RelayRequest {
        guild_id: Snowflake::from(guild_id.get()),
        channel_id: Snowflake::from(message.channel_id.get()),
        user_id: Snowflake::from(message.author.id.get()),
        content,
        message_id: Some(Snowflake::from(message.id.get())),
        history: Vec::new(),
    })
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
}
