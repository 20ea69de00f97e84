//! What happens to one queued message, in one place: the relay's [`Decision`] about it is
//! taken, then acted on. A staff message that starts a handoff gets [`HANDOFF_MESSAGE`], a user
//! over their limit [`SLOW_DOWN_MESSAGE`] (once a minute); a message to relay gets the ticket's
//! conversation ([`super::history`]), goes to a relay worker (retrying transient failures with
//! backoff) while the channel shows "typing", and its answer is posted as a reply, split into
//! Discord-sized pieces, the last one carrying the answer's buttons, or [`UNAVAILABLE_MESSAGE`]
//! when no answer could be had. Each answer is counted in the ticket's entry off the answer's
//! path, and so is a staff message (the first staff reply); one that ends a wait for a human
//! is written before the channel's next message is decided. Only the bot process that claims a
//! message acts on it.

use std::sync::Arc;

use backon::{ExponentialBuilder, Retryable};
use common::{
    payload::{RelayReply, RelayRequest},
    relay_client::RelayError,
};
use serenity::all::{
    ChannelId, CreateActionRow, CreateAllowedMentions, CreateMessage, Message, MessageReference,
};

use super::{
    decision::{Decision, Facts},
    notices::{HANDOFF_MESSAGE, SLOW_DOWN_MESSAGE, UNAVAILABLE_MESSAGE},
    Inner,
};
use crate::{
    answers::{self, Answered},
    split::{split_message, DISCORD_MESSAGE_LIMIT},
};

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
        // Staff first: the lookup may wait for REST, and the ticket is read after it.
        let from_staff = self.is_staff(&message).await;
        let ticket = self.registry.open_ticket(message.channel_id);
        let claimed = ticket.as_ref().is_some_and(|t| {
            t.handling.claimed_by.is_some()
                && !self
                    .registry
                    .guild(t.guild_id)
                    .is_some_and(|g| g.staff.assistant_while_claimed)
        });
        let facts = Facts {
            open_ticket: ticket.is_some(),
            from_staff,
            awaiting_staff: ticket.is_some_and(|t| t.awaiting_staff),
            claimed,
        };
        let decision = self.gate.decide(&message, facts);
        if matches!(decision, Decision::StaffWrote { .. }) {
            // Every process records it (the write is idempotent), claimed or not.
            let record = self.record_staff_reply(&message);
            if facts.awaiting_staff {
                // Before the channel's next message: it must find the wait for a human over.
                record.await;
            } else {
                // Off the message's path: a NATS round trip nobody need wait for.
                self.tasks.spawn(record);
            }
        }
        // Every process decides (so each one's memory of handoffs and limits stays the same);
        // only the one that claims the message acts on it.
        if decision.acts() && !self.claims.claim(message.id).await {
            tracing::debug!("another bot process took this message");
            return;
        }
        match decision {
            Decision::TicketClosed => {}
            Decision::StaffWrote { announce } => {
                if announce {
                    tracing::info!("staff joined the ticket; the assistant stays quiet");
                    if let Err(err) = self
                        .send(message.channel_id, HANDOFF_MESSAGE.to_owned(), None, None)
                        .await
                    {
                        tracing::error!(error = %err, "cannot tell the ticket that staff joined");
                    }
                }
            }
            Decision::Quiet => {
                tracing::debug!("staff are handling this ticket; message not relayed");
            }
            Decision::AwaitingStaff => {
                tracing::debug!("a human was asked for in this ticket; message left to staff");
            }
            Decision::Claimed => {
                tracing::debug!("the ticket is claimed; message left to its claimer");
            }
            Decision::SlowDown { notify } => {
                tracing::info!(
                    limit = self.settings.user_rate_limit_per_minute,
                    "user over the rate limit, message not relayed"
                );
                if notify {
                    self.post(&message, SLOW_DOWN_MESSAGE).await;
                }
            }
            Decision::NothingToRelay => tracing::debug!("message has nothing to relay"),
            Decision::Relay(request) => self.answer(&message, request).await,
        }
    }

    /// Sends `request` with the conversation before `message` and posts what comes back.
    async fn answer(&self, message: &Message, mut request: RelayRequest) {
        let typing = message.channel_id.start_typing(&self.http);
        request.history = self.history(message).await;
        let outcome = self.send_with_retries(&request).await;
        typing.stop();
        match outcome {
            Ok(reply) if !reply.reply.trim().is_empty() => self.post_reply(message, reply).await,
            Ok(_) => {
                tracing::error!(
                    "relay worker sent an empty answer; told the user staff will follow up"
                );
                self.post(message, UNAVAILABLE_MESSAGE).await;
            }
            Err(failure) => {
                tracing::error!(
                    error = %failure.error,
                    code = ?failure.error.code(),
                    attempts = failure.attempts,
                    "relay failed; told the user staff will follow up"
                );
                self.post(message, UNAVAILABLE_MESSAGE).await;
            }
        }
    }

    /// The write of a staff message: the ticket's first staff reply, and the end of a wait
    /// for a human (its time as the last activity was stored when it was offered).
    fn record_staff_reply(
        &self,
        message: &Message,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let registry = Arc::clone(&self.registry);
        let (channel, at, by) = (message.channel_id, message.timestamp, message.author.id);
        async move {
            if let Err(err) = registry.staff_wrote(channel, at, by).await {
                tracing::warn!(error = %err, channel_id = %channel, "cannot record the staff reply in the ticket's entry");
            }
        }
    }

    async fn send_with_retries(&self, request: &RelayRequest) -> Result<RelayReply, Failure> {
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
        result.map_err(|error| Failure { error, attempts })
    }

    /// Posts the answer to `message`, its buttons on the last piece; remembers it for them and
    /// counts it in the ticket's entry once its first piece is out.
    async fn post_reply(&self, message: &Message, reply: RelayReply) {
        let pieces = split_message(&reply.reply, DISCORD_MESSAGE_LIMIT);
        let count = pieces.len();
        let mut first_posted_at = None;
        let mut buttons_on = None;
        for (index, piece) in pieces.into_iter().enumerate() {
            // Only the first piece is a reply; the rest follow it as plain messages.
            let reply_to = (index == 0).then_some(message);
            let last = index + 1 == count;
            let buttons =
                (last && self.settings.answer_buttons).then(|| answers::buttons(reply.grounded));
            let with_buttons = buttons.is_some();
            match self
                .send(message.channel_id, piece, reply_to, buttons)
                .await
            {
                Ok(posted) => {
                    first_posted_at.get_or_insert(posted.timestamp);
                    if with_buttons {
                        buttons_on = Some(posted.id);
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, piece = index + 1, pieces = count, "cannot post the answer");
                    break;
                }
            }
        }
        if let Some(answer) = buttons_on {
            self.answers.remember(
                answer,
                Answered {
                    question: answers::one_line(&message.content),
                    source: reply.source.clone(),
                },
            );
        }
        let Some(at) = first_posted_at else { return };
        tracing::info!(pieces = count, grounded = ?reply.grounded, source = ?reply.source, "answer posted");
        let registry = Arc::clone(&self.registry);
        let channel = message.channel_id;
        self.tasks.spawn(async move {
            if let Err(err) = registry.answered(channel, at).await {
                tracing::warn!(error = %err, channel_id = %channel, "cannot count the answer in the ticket's entry");
            }
        });
    }

    /// Posts `text` as a reply to `message`, logging a failure.
    pub(super) async fn post(&self, message: &Message, text: &str) {
        if let Err(err) = self
            .send(message.channel_id, text.to_owned(), Some(message), None)
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
        buttons: Option<Vec<CreateActionRow>>,
    ) -> serenity::Result<Message> {
        let mut builder = CreateMessage::new()
            .content(text)
            .allowed_mentions(CreateAllowedMentions::new());
        if let Some(buttons) = buttons {
            builder = builder.components(buttons);
        }
        if let Some(message) = reply_to {
            // Still post the answer if the user deleted their message meanwhile.
            builder = builder
                .reference_message(MessageReference::from(message).fail_if_not_exists(false));
        }
        channel_id.send_message(&*self.http, builder).await
    }
}
