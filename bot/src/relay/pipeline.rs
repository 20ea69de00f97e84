//! What happens to one queued message, in one place: the relay's [`Decision`] about it is
//! taken, then acted on. A staff message that starts a handoff gets [`HANDOFF_MESSAGE`], a user
//! over their limit [`SLOW_DOWN_MESSAGE`] (once a minute); a message to relay gets the ticket's
//! conversation ([`super::history`]), goes to a relay worker (retrying transient failures with
//! backoff; the requester itself sends it again when its worker goes silent) while the channel
//! shows "typing", and its answer is posted as a reply as it is written: the first words as
//! soon as they arrive, then edits, as the channel's limits and the bot's REST budget allow
//! ([`StreamPlan`]). The whole answer ends it, split into Discord-sized pieces, the last one
//! carrying the answer's buttons, exactly as an answer that never streamed is posted; or
//! [`UNAVAILABLE_MESSAGE`] when no answer could be had. "Typing" is the first thing to go when
//! the budget runs low. Each answer is counted in the ticket's entry off the answer's
//! path, and so is a staff message (the first staff reply); one that ends a wait for a human
//! is written before the channel's next message is decided. Only the bot process that claims a
//! message acts on it.

use std::{sync::Arc, time::Duration};

use backon::{BackoffBuilder, ExponentialBuilder};
use common::{
    payload::{RelayReply, RelayRequest},
    relay_client::RelayError,
    relay_stream::StreamEvent,
    trace_context,
};
use futures::StreamExt as _;
use serenity::all::{
    ChannelId, CreateActionRow, CreateAllowedMentions, CreateMessage, EditMessage, Message,
    MessageId, MessageReference,
};
use tokio::time::Instant;
use tracing::Instrument as _;

use super::{
    decision::{Decision, Facts},
    notices::{HANDOFF_MESSAGE, SLOW_DOWN_MESSAGE, UNAVAILABLE_MESSAGE},
    stream_plan::{Pace, Step, StreamPlan},
    Inner,
};
use crate::{
    answers::{self, Answered},
    metrics::since,
    split::DISCORD_MESSAGE_LIMIT,
};

/// Each retry waits this many times longer than the one before.
const RETRY_BACKOFF_FACTOR: f32 = 2.0;

/// serenity's pace for "typing": Discord shows it for 10 seconds.
const TYPING_EVERY: Duration = Duration::from_secs(7);

/// One answer on its way to the channel.
struct Posting<'a> {
    /// The member's message it answers.
    question: &'a Message,
    plan: StreamPlan,
    /// The answer's messages posted so far, in order.
    posted: Vec<Message>,
    /// Whether the answer source found the documents back it (its buttons).
    grounded: Option<bool>,
    /// The message that carries the answer's buttons.
    buttons_on: Option<MessageId>,
}

/// What woke the answer's loop.
enum Heard {
    Event(Option<StreamEvent>),
    /// The plan asked to be woken.
    Wake,
    /// Time to show "typing" again.
    Typing,
}

/// Sleeps until `until`, or forever.
async fn sleep_until_some(until: Option<Instant>) {
    match until {
        Some(until) => tokio::time::sleep_until(until).await,
        None => std::future::pending().await,
    }
}

/// Why a relay gave up, for the log line.
struct Failure {
    error: RelayError,
    attempts: usize,
}

impl Inner {
    /// Decides and acts on `message` in a span of its own: with traces on, the root of the
    /// message's trace (not a part of its channel task's), whose context goes with the relay
    /// request to the worker.
    pub(super) async fn relay(&self, message: Message) {
        let span = tracing::info_span!("ticket message", message_id = %message.id, user_id = %message.author.id);
        trace_context::start_trace(&span);
        self.decide_and_act(message).instrument(span).await;
    }

    async fn decide_and_act(&self, message: Message) {
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
                    self.metrics.handed_off();
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

    /// Sends `request` with the conversation before `message` and posts what comes back: the
    /// pieces of the answer as they arrive (see [`StreamPlan`]), then the whole answer.
    async fn answer(&self, message: &Message, mut request: RelayRequest) {
        self.metrics.relayed();
        self.show_typing(message.channel_id);
        request.history = self.history(message).await;
        // The topic and form answers travel with every request, not only the first: the
        // worker keeps nothing between requests.
        request.ticket = self
            .registry
            .open_ticket(message.channel_id)
            .and_then(|t| t.context());
        let mut posting = Posting {
            question: message,
            plan: StreamPlan::new(DISCORD_MESSAGE_LIMIT),
            posted: Vec::new(),
            grounded: None,
            buttons_on: None,
        };
        let outcome = self.ask(&request, &mut posting).await;
        let reply = match outcome {
            Ok(reply) if !reply.reply.trim().is_empty() => {
                posting.grounded = reply.grounded;
                posting
                    .plan
                    .finish(&reply.reply, self.settings.answer_buttons);
                Some(reply)
            }
            Ok(_) => {
                tracing::error!(
                    "relay worker sent an empty answer; told the user staff will follow up"
                );
                posting.plan.finish(UNAVAILABLE_MESSAGE, false);
                None
            }
            Err(failure) => {
                tracing::error!(
                    error = %failure.error,
                    code = ?failure.error.code(),
                    attempts = failure.attempts,
                    "relay failed; told the user staff will follow up"
                );
                posting.plan.finish(UNAVAILABLE_MESSAGE, false);
                None
            }
        };
        // The whole answer always goes out; its edits wait their turn in the channel.
        while let Step::Wait(Some(until)) = self.act(&mut posting).await {
            tokio::time::sleep_until(until).await;
        }
        if !posting.posted.is_empty() {
            self.metrics.replied(since(&message.timestamp));
        }
        if let Some(reply) = reply {
            self.answered(&posting, &reply);
        }
    }

    /// Sends `request` (retrying transient failures with backoff) and posts the pieces of the
    /// answer as they arrive, keeping the channel "typing" until the first of them is posted.
    async fn ask(
        &self,
        request: &RelayRequest,
        posting: &mut Posting<'_>,
    ) -> Result<RelayReply, Failure> {
        let request_id = request
            .message_id
            .as_ref()
            .map(|id| format!("discord-message-{id}"));
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(self.settings.retry_delay)
            .with_factor(RETRY_BACKOFF_FACTOR)
            .with_max_times(self.settings.max_retries)
            .with_jitter()
            .build();
        let channel = posting.question.channel_id;
        let mut attempts = 0;
        loop {
            attempts += 1;
            tracing::debug!(attempt = attempts, "relay request sent");
            let mut events =
                std::pin::pin!(self.client.send_streaming(request, request_id.as_deref()));
            let mut wake: Option<Instant> = None;
            let mut typing_at = Instant::now() + TYPING_EVERY;
            let done = loop {
                let heard = tokio::select! {
                    event = events.next() => Heard::Event(event),
                    () = sleep_until_some(wake) => Heard::Wake,
                    () = tokio::time::sleep_until(typing_at), if posting.plan.posted() == 0 => Heard::Typing,
                };
                match heard {
                    Heard::Event(Some(StreamEvent::Piece(piece))) => posting.plan.push(&piece),
                    Heard::Event(Some(StreamEvent::Restart)) => posting.plan.restart(),
                    Heard::Event(Some(StreamEvent::Done(result))) => break result,
                    Heard::Event(None) => {
                        break Err(RelayError::Transport(
                            "the relay stream ended without a reply".to_owned(),
                        ))
                    }
                    Heard::Wake => {}
                    Heard::Typing => {
                        self.show_typing(channel);
                        typing_at = Instant::now() + TYPING_EVERY;
                        continue;
                    }
                }
                wake = match self.act(posting).await {
                    Step::Wait(until) => until,
                    _ => None,
                };
            };
            let error = match done {
                Ok(reply) => return Ok(reply),
                Err(error) => error,
            };
            let delay = if error.is_transient() {
                delays.next()
            } else {
                None
            };
            let Some(delay) = delay else {
                return Err(Failure { error, attempts });
            };
            tracing::warn!(error = %error, retry_in = ?delay, "relay attempt failed, retrying");
            tokio::time::sleep(delay).await;
            // The next attempt's pieces start the answer over.
            posting.plan.restart();
        }
    }

    /// Makes the plan's steps until it waits (returned: ask again then, or when more text
    /// comes) or is done.
    async fn act(&self, posting: &mut Posting<'_>) -> Step {
        let channel = posting.question.channel_id;
        loop {
            let pace = Pace::of(self.budget.left());
            let step = posting.plan.next(Instant::now(), pace);
            let made = match &step {
                Step::Wait(_) | Step::Done => return step,
                Step::Post {
                    index,
                    text,
                    buttons,
                } => {
                    // Only the first message is a reply; the rest follow it as plain messages.
                    let reply_to = (*index == 0).then_some(posting.question);
                    let rows = buttons.then(|| answers::buttons(posting.grounded));
                    self.send(channel, text.clone(), reply_to, rows)
                        .await
                        .map(|posted| {
                            if *index == 0 {
                                self.metrics.first_words(since(&posting.question.timestamp));
                            }
                            if *buttons {
                                posting.buttons_on = Some(posted.id);
                            }
                            posting.posted.push(posted);
                        })
                }
                Step::Edit {
                    index,
                    text,
                    buttons,
                } => {
                    let mut edit = EditMessage::new()
                        .content(text.clone())
                        .allowed_mentions(CreateAllowedMentions::new());
                    if *buttons {
                        edit = edit.components(answers::buttons(posting.grounded));
                    }
                    let id = posting.posted[*index].id;
                    channel.edit_message(&*self.http, id, edit).await.map(|_| {
                        if *buttons {
                            posting.buttons_on = Some(id);
                        }
                    })
                }
                Step::Delete { index } => {
                    let gone = posting.posted.remove(*index);
                    channel.delete_message(&*self.http, gone.id).await
                }
            };
            if let Err(err) = made {
                tracing::error!(error = %err, step = step.name(), "cannot post the answer");
                posting.plan.failed(&step);
            }
        }
    }

    /// Shows "typing" in `channel` (off the answer's path) while the REST budget is ample: it
    /// is the first thing to go when every ticket is busy.
    fn show_typing(&self, channel: ChannelId) {
        if !Pace::of(self.budget.left()).allows_typing() {
            tracing::debug!("REST budget low: no typing call");
            return;
        }
        let http = Arc::clone(&self.http);
        self.tasks.spawn(async move {
            if let Err(err) = channel.broadcast_typing(&*http).await {
                tracing::debug!(error = %err, channel_id = %channel, "cannot show typing");
            }
        });
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

    /// The answer is posted: remembered for its buttons, and counted in the ticket's entry
    /// (at its first message's time) off the answer's path.
    fn answered(&self, posting: &Posting<'_>, reply: &RelayReply) {
        let message = posting.question;
        if let Some(answer) = posting.buttons_on {
            self.answers.remember(
                answer,
                Answered {
                    question: answers::one_line(&message.content),
                    source: reply.source.clone(),
                },
            );
        }
        let Some(at) = posting.posted.first().map(|first| first.timestamp) else {
            return;
        };
        tracing::info!(pieces = posting.posted.len(), grounded = ?reply.grounded, source = ?reply.source, "answer posted");
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
