//! The seam between the relay and whatever writes the answers: the placeholder, or the answer
//! sources of `answer/` (the knowledge base, an AI model). Answers may take seconds, so the
//! worker calls responders concurrently.

use std::{future::Future, sync::Arc};

use common::{
    metrics::Registry,
    payload::{RelayReply, RelayRequest},
};
use tokio::sync::mpsc;

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

    /// Answers `request` as [`Self::respond`] does, handing the pieces of the answer text to
    /// `pieces` as they are written (the requester asked for them with `X-Relay-Stream`). The
    /// reply is still the whole answer: the pieces are a preview of it.
    ///
    /// The default hands out no piece, for sources that cannot stream (the worker still sends
    /// the requester its ack and heartbeats); a source that can (a model with
    /// `"stream": true`) overrides this.
    fn respond_streaming(
        &self,
        request: RelayRequest,
        pieces: Pieces,
    ) -> impl Future<Output = Result<RelayReply, ResponderError>> + Send {
        drop(pieces);
        self.respond(request)
    }

    /// The answer source's name, the `source` label of `relay_worker_answer_duration_seconds`.
    fn source(&self) -> &'static str {
        "custom"
    }

    /// Registers what the answer source measures with the serving worker's metrics.
    fn register_metrics(&self, registry: &mut Registry) {
        let _ = registry;
    }
}

/// Where a streaming answer source hands the pieces of its answer text, in order; the worker
/// sends them on to the requester as `chunk` events.
#[derive(Debug, Clone)]
pub struct Pieces(mpsc::UnboundedSender<String>);

impl Pieces {
    /// Pieces that arrive on the returned receiver.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<String>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Self(sender), receiver)
    }

    /// Hands out the next piece (an empty one is skipped). A requester that is gone is no
    /// failure of the answer, so nothing is returned.
    pub fn send(&self, piece: impl Into<String>) {
        let piece = piece.into();
        if !piece.is_empty() {
            let _gone = self.0.send(piece);
        }
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

    fn source(&self) -> &'static str {
        "placeholder"
    }
}
