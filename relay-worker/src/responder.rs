//! The seam between the relay and whatever writes the answers: the placeholder, or the answer
//! sources of `answer/` (the knowledge base, an AI model). Answers may take seconds, so the
//! worker calls responders concurrently.

use std::{future::Future, sync::Arc};

use common::payload::{RelayReply, RelayRequest};
use futures::{stream, Stream, TryStreamExt};

/// The answer source failed on a well-formed request; the requester gets a 500
/// `responder_failed` error reply.
///
/// It says whether the requester may send the request again ([`Self::is_retryable`]):
/// - **retryable** ([`Self::retryable`]): the source failed *without producing an answer*
///   (the model server answered 5xx or 429, timed out, sent no usable answer, or could not be
///   reached), so a second try cannot make the user see two answers to one message;
/// - **not retryable** ([`Self::new`], the default): trying again would fail the same way (a
///   refused API key, a request the model server rejects), or the failure is not understood.
///
/// The service maps it to the reply (the status stays 500 `responder_failed`); requesters
/// retry only what is marked retryable. Cloning shares the cause, so one failure can be
/// handed to every request joined to it.
#[derive(Debug, Clone)]
pub struct ResponderError {
    cause: Arc<dyn std::error::Error + Send + Sync>,
    retryable: bool,
}

impl ResponderError {
    /// Wraps the cause (an error, or a message) of a failure the requester should not retry.
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            cause: Arc::from(cause.into()),
            retryable: false,
        }
    }

    /// Wraps the cause of a failure that produced no answer: the requester may try again.
    pub fn retryable(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            retryable: true,
            ..Self::new(cause)
        }
    }

    /// Whether the requester may send the request again (see the type's documentation).
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

impl std::fmt::Display for ResponderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.cause.fmt(f)
    }
}

impl std::error::Error for ResponderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.source()
    }
}

/// Writes the answer to one ticket message.
pub trait Responder: Send + Sync + 'static {
    /// Answers `request`. Called concurrently from many tasks.
    fn respond(
        &self,
        request: RelayRequest,
    ) -> impl Future<Output = Result<RelayReply, ResponderError>> + Send;

    /// Answers `request` as a stream of pieces of text, to be shown as they come (for a later
    /// streamed reply). The pieces, joined, are the answer; an error ends the stream.
    ///
    /// The default streams [`Self::respond`]'s whole answer as one piece, so callers can move
    /// to streaming before any answer source streams for real, and a source that can (a model
    /// with `"stream": true`) overrides this method alone.
    fn respond_stream(
        &self,
        request: RelayRequest,
    ) -> impl Stream<Item = Result<String, ResponderError>> + Send {
        stream::once(self.respond(request)).map_ok(|reply| reply.reply)
    }
}

/// Phase 1: the same placeholder answer to everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Placeholder;

impl Placeholder {
    /// The text of the placeholder answer.
    pub const REPLY: &'static str = "AI is thinking... (Phase 1 placeholder)";
}

impl Responder for Placeholder {
    async fn respond(&self, _request: RelayRequest) -> Result<RelayReply, ResponderError> {
        Ok(RelayReply::new(Self::REPLY))
    }
}
