//! The requesting side of the relay, shared by the bot and the HTTP sidecar: publish a request
//! on the relay subject, wait for one worker's reply, and turn every outcome into a typed result.

use std::time::Duration;

use async_nats::{
    client::{Request, RequestErrorKind},
    connection::State,
    Client, HeaderMap, Message, Subject,
};
use bytes::Bytes;

use crate::{
    payload::{ErrorBody, ErrorCode, RelayReply, RelayRequest},
    subjects::headers,
};

/// Why a relay request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// No worker is subscribed to the relay subject (NATS "no responders").
    #[error("no relay worker is running")]
    NoWorkers,
    /// A worker took the request but did not answer in time.
    #[error("no relay worker answered within {0:?}")]
    Timeout(Duration),
    /// The NATS connection is down; the request was not sent.
    #[error("not connected to NATS")]
    Disconnected,
    /// A worker answered with an error (the request was bad, or the answer source failed).
    #[error("the relay worker refused the request ({status}): {}", .body.error.message)]
    Rejected {
        /// `Nats-Service-Error-Code`.
        status: u16,
        /// The error body the worker sent.
        body: ErrorBody,
    },
    /// The reply could not be understood.
    #[error("the relay worker sent an unreadable reply: {0}")]
    InvalidReply(String),
    /// Any other client or connection failure.
    #[error("NATS request failed: {0}")]
    Transport(String),
}

impl RelayError {
    /// Worth trying again: the failure says nothing about the request itself.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::NoWorkers | Self::Timeout(_) | Self::Disconnected | Self::Transport(_) => true,
            Self::Rejected { status, .. } => *status >= 500,
            Self::InvalidReply(_) => false,
        }
    }

    /// The error code that describes this failure to a client.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NoWorkers => ErrorCode::NoWorkers,
            Self::Timeout(_) => ErrorCode::Timeout,
            Self::Disconnected => ErrorCode::Unavailable,
            Self::Rejected { body, .. } => body.error.code,
            Self::InvalidReply(_) | Self::Transport(_) => ErrorCode::Internal,
        }
    }
}

/// Sends relay requests on one subject with one timeout.
#[derive(Debug, Clone)]
pub struct RelayClient {
    client: Client,
    /// A `Subject` clones without allocating (it is shared bytes), once per request.
    subject: Subject,
    timeout: Duration,
}

impl RelayClient {
    /// A client for `subject`, giving up on a reply after `timeout`.
    pub fn new(client: Client, subject: impl Into<String>, timeout: Duration) -> Self {
        Self {
            client,
            subject: Subject::from(subject.into()),
            timeout,
        }
    }

    /// The NATS connection underneath.
    pub fn nats(&self) -> &Client {
        &self.client
    }

    /// Sends a parsed request.
    pub async fn send(
        &self,
        request: &RelayRequest,
        request_id: Option<&str>,
    ) -> Result<RelayReply, RelayError> {
        self.send_json(Bytes::from(request.to_json()), request_id)
            .await
    }

    /// Sends JSON bytes already known to hold a valid request, unchanged (fields this version
    /// does not know reach the worker too).
    pub async fn send_json(
        &self,
        payload: Bytes,
        request_id: Option<&str>,
    ) -> Result<RelayReply, RelayError> {
        // A request while disconnected would sit in the client's buffer until the timeout;
        // failing at once lets callers answer "unavailable" right away.
        if self.client.connection_state() != State::Connected {
            return Err(RelayError::Disconnected);
        }
        let mut request = Request::new().payload(payload).timeout(Some(self.timeout));
        if let Some(id) = request_id {
            let mut map = HeaderMap::new();
            map.insert(headers::REQUEST_ID, id);
            request = request.headers(map);
        }
        let message = self
            .client
            .send_request(self.subject.clone(), request)
            .await
            .map_err(|err| match err.kind() {
                RequestErrorKind::NoResponders => RelayError::NoWorkers,
                RequestErrorKind::TimedOut => RelayError::Timeout(self.timeout),
                _ => RelayError::Transport(err.to_string()),
            })?;
        interpret_reply(&message)
    }
}

/// Reads a worker's reply: an error when `Nats-Service-Error-Code` is set, else `{"reply"}`.
pub fn interpret_reply(message: &Message) -> Result<RelayReply, RelayError> {
    let error_code = message
        .headers
        .as_ref()
        .and_then(|map| map.get(headers::SERVICE_ERROR_CODE));
    if let Some(code) = error_code {
        let status = code.as_str().trim().parse::<u16>().unwrap_or(500);
        let body = serde_json::from_slice::<ErrorBody>(&message.payload).unwrap_or_else(|_| {
            let description = message
                .headers
                .as_ref()
                .and_then(|map| map.get(headers::SERVICE_ERROR))
                .map_or_else(|| "the worker failed".to_owned(), |v| v.to_string());
            let code = if status < 500 {
                ErrorCode::InvalidPayload
            } else {
                ErrorCode::Internal
            };
            ErrorBody::new(code, description)
        });
        return Err(RelayError::Rejected { status, body });
    }
    serde_json::from_slice(&message.payload)
        .map_err(|err| RelayError::InvalidReply(err.to_string()))
}
