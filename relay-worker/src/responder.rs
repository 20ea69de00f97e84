//! The seam between the relay and whatever writes the answers: Phase 1's placeholder today, an
//! AI model later. Answers may take seconds, so the worker calls responders concurrently.

use std::future::Future;

use common::payload::{RelayReply, RelayRequest};

/// The answer source failed on a well-formed request; the requester gets a 500 error reply.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ResponderError(Box<dyn std::error::Error + Send + Sync>);

impl ResponderError {
    /// Wraps the cause (an error, or a message).
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(cause.into())
    }
}

/// Writes the answer to one ticket message.
pub trait Responder: Send + Sync + 'static {
    /// Answers `request`. Called concurrently from many tasks.
    fn respond(
        &self,
        request: RelayRequest,
    ) -> impl Future<Output = Result<RelayReply, ResponderError>> + Send;
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
