//! What the buttons under an answer do to a ticket: "Talk to a human" makes the ticket await
//! staff (the relay stays quiet in it until staff write, across restarts: the entry says so)
//! and pings the Support role once, quoting the question the answer replied to; 👍 and 👎
//! store one vote per answer and count it in the ticket's entry. Who may press what is the
//! command's check; this is the work.

use serenity::all::{
    ChannelId, CreateAllowedMentions, CreateMessage, GetMessages, Message, MessageId, Timestamp,
    UserId,
};

use super::Tickets;
use crate::{
    answers::{one_line, support_ping},
    registry::{Feedback, HumanRequest, RegistryError, Vote, Voted},
};

/// Messages read back to find the question of a later piece of a long answer (its first
/// piece, the reply, is right before it): a long answer is a few pieces.
const LOOK_BACK: u8 = 10;

/// What "Talk to a human" did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    /// The ticket awaits staff now; `pinged` when the Support role was told in the ticket.
    Requested {
        /// The ping was posted.
        pinged: bool,
    },
    /// It already awaited staff: nothing new.
    AlreadyAsked,
    /// The channel is no open ticket.
    NotOpen,
}

impl Tickets {
    /// "Talk to a human" pressed by `by` on `answer` in `channel`.
    #[tracing::instrument(name = "talk_to_a_human", skip_all, fields(channel_id = %channel, by = %by))]
    pub async fn request_human(
        &self,
        channel: ChannelId,
        answer: &Message,
        by: UserId,
    ) -> Result<Escalation, RegistryError> {
        let ticket = match self
            .registry()
            .request_human(channel, Timestamp::now())
            .await?
        {
            HumanRequest::Requested(ticket) => {
                self.inner.metrics.human_requested();
                ticket
            }
            HumanRequest::AlreadyAsked => return Ok(Escalation::AlreadyAsked),
            HumanRequest::NotOpen => return Ok(Escalation::NotOpen),
        };
        let question = self.question_of(channel, answer).await;
        let support = self
            .registry()
            .guild(ticket.guild_id)
            .map(|g| g.support_role_id);
        let message = CreateMessage::new()
            .content(support_ping(support, by, question.as_deref()))
            // Only the Support role: not the presser, nor anyone the question names.
            .allowed_mentions(CreateAllowedMentions::new().roles(support));
        let pinged = match channel.send_message(self.http(), message).await {
            Ok(_) => true,
            Err(err) => {
                tracing::error!(error = %err, "cannot ping the Support team; the ticket still awaits staff");
                false
            }
        };
        tracing::info!(
            pinged,
            "a human was asked for; the assistant stays quiet until staff write"
        );
        Ok(Escalation::Requested { pinged })
    }

    /// 👍 or 👎 pressed by `by` on the answer `answer` in `channel`; `None` when the channel
    /// is no open ticket.
    #[tracing::instrument(name = "answer_vote", skip_all, fields(channel_id = %channel, answer = %answer, ?vote))]
    pub async fn vote(
        &self,
        channel: ChannelId,
        answer: MessageId,
        by: UserId,
        vote: Vote,
    ) -> Result<Option<Voted>, RegistryError> {
        let Some(ticket) = self.registry().open_ticket(channel) else {
            return Ok(None);
        };
        let feedback = Feedback {
            guild_id: ticket.guild_id,
            channel_id: channel,
            answer_message_id: answer,
            source: self.inner.answers.get(answer).and_then(|a| a.source),
            vote,
            user_id: by,
            at: Timestamp::now(),
        };
        let voted = self.registry().record_vote(&feedback).await?;
        if voted != Voted::Unchanged {
            self.inner.metrics.feedback(vote == Vote::Up);
        }
        tracing::info!(?voted, source = ?feedback.source, "answer rated");
        Ok(Some(voted))
    }

    /// The question `answer` replied to, on one line: remembered when the answer is recent,
    /// else found in the cache or read back from the messages before the answer.
    async fn question_of(&self, channel: ChannelId, answer: &Message) -> Option<String> {
        if let Some(known) = self.inner.answers.get(answer.id) {
            return Some(known.question);
        }
        let replied_to = |m: &Message| m.message_reference.as_ref().and_then(|r| r.message_id);
        let reference = replied_to(answer);
        let known = reference.and_then(|id| {
            let referenced = answer.referenced_message.as_deref().filter(|m| m.id == id);
            // The cache's guard is no `Send`: taken and dropped before any await.
            referenced
                .map(|m| m.content.clone())
                .or_else(|| self.cache().message(channel, id).map(|m| m.content.clone()))
        });
        if let Some(text) = known {
            return Some(one_line(&text));
        }
        // The question is just before the answer; so is the first piece of a long answer,
        // the reply, when the buttons are on a later piece.
        let query = GetMessages::new().before(answer.id).limit(LOOK_BACK);
        let earlier = channel.messages(self.http(), query).await.ok()?;
        let question_id = reference.or_else(|| {
            earlier
                .iter()
                .filter(|m| m.author.id == self.bot_id())
                .find_map(replied_to)
        })?;
        let text = match earlier.iter().find(|m| m.id == question_id) {
            Some(question) => question.content.clone(),
            None => {
                channel
                    .message(self.http(), question_id)
                    .await
                    .ok()?
                    .content
            }
        };
        Some(one_line(&text))
    }
}
