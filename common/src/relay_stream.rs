//! The relay's stream protocol, both sides of it: a requester that names a subject of its own in
//! [`headers::STREAM`] gets the worker's events there while the answer is written, and notices
//! a worker that died with its request instead of waiting for the deadline.
//!
//! The worker numbers its events 0, 1, 2... ([`headers::SEQ`]) and says what each is
//! ([`headers::EVENT`]):
//! - `ack` when it started the answer and has not finished within [`ACK_AFTER`] (a fast answer
//!   costs no extra message), and always before the first chunk;
//! - `heartbeat` every [`HEARTBEAT_EVERY`] after the ack while the answer runs;
//! - `chunk`, whose body is the next piece of the answer text, as the answer source writes it.
//!
//! The final reply is the whole answer on the normal reply subject, as without the header.
//!
//! The requester ([`RelayClient::send_streaming`]) sends the request again (same payload and
//! headers, a new stream subject) to the queue group when neither the reply nor an ack came
//! within [`ACK_WITHIN`] of sending, or no event came for [`SILENCE_LIMIT`] after an ack: the
//! worker is dead or cut off. At most [`MAX_RESENDS`] times, all within the request's one
//! deadline. A live slow worker heartbeats, so it is never asked twice.

use std::time::{Duration, SystemTime};

use async_nats::{client::Request, connection::State, Client, HeaderMap, Message, Subscriber};
use backon::BackoffBuilder;
use bytes::Bytes;
use futures::{future::BoxFuture, stream::FuturesUnordered, FutureExt, Stream, StreamExt as _};
use tokio::time::Instant;

use crate::{
    payload::{RelayReply, RelayRequest},
    relay_client::{
        busy_backoff, interpret_reply_or_busy, request_error, request_headers, unix_millis,
        RelayClient, RelayError,
    },
    subjects::headers,
    trace_context,
};

/// A worker acknowledges a request it has not answered within this long.
pub const ACK_AFTER: Duration = Duration::from_millis(200);
/// A worker heartbeats this often after its ack, until it replies.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// A requester re-sends when neither an ack nor the reply came within this long of sending:
/// [`ACK_AFTER`] plus room for a loaded worker and network.
pub const ACK_WITHIN: Duration = Duration::from_secs(1);
/// A requester re-sends when no event came for this long after an ack: three heartbeats
/// missed, and half a one more for the network.
pub const SILENCE_LIMIT: Duration = Duration::from_millis(3_500);
/// At most this many re-sends of one request.
pub const MAX_RESENDS: usize = 2;

/// What a stream event is ([`headers::EVENT`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The worker started the answer.
    Ack,
    /// The worker is still writing the answer.
    Heartbeat,
    /// The body is the next piece of the answer text.
    Chunk,
}

impl EventKind {
    /// The header value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ack => "ack",
            Self::Heartbeat => "heartbeat",
            Self::Chunk => "chunk",
        }
    }

    /// Reads a header value; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "ack" => Some(Self::Ack),
            "heartbeat" => Some(Self::Heartbeat),
            "chunk" => Some(Self::Chunk),
            _ => None,
        }
    }
}

/// The headers of event number `seq`, of kind `kind`.
pub fn event_headers(kind: EventKind, seq: u64) -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert(headers::EVENT, kind.as_str());
    map.insert(headers::SEQ, seq.to_string().as_str());
    map
}

/// The kind and number of a stream event; `None` when the message is not one.
pub fn read_event(message: &Message) -> Option<(EventKind, u64)> {
    let map = message.headers.as_ref()?;
    let kind = EventKind::parse(map.get(headers::EVENT)?.as_str())?;
    let seq = map.get(headers::SEQ)?.as_str().trim().parse().ok()?;
    Some((kind, seq))
}

/// A new stream subject under `client`'s inbox prefix: `<prefix>.stream.<nuid>`. It has one
/// token more than the client's request inboxes (`<prefix>.<nuid>.<token>`), so it never
/// meets them, and the least-privilege worker may publish to it (`_INBOX.*.stream.>`).
pub fn stream_subject(client: &Client) -> String {
    let inbox = client.new_inbox();
    match inbox.rsplit_once('.') {
        Some((prefix, id)) => format!("{prefix}.stream.{id}"),
        None => format!("{inbox}.stream"),
    }
}

/// What a streamed request yields, in order; [`StreamEvent::Done`] comes last, always.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The next piece of the answer text: the pieces since the start (or since the last
    /// [`StreamEvent::Restart`]), joined, are the answer as written so far.
    Piece(String),
    /// The worker that wrote the pieces so far went silent, and another one starts over:
    /// forget those pieces.
    Restart,
    /// The whole answer (what [`RelayClient::send`] returns), or why there is none. Show this,
    /// not the pieces: only the whole answer carries the sources line and the final wording.
    Done(Result<RelayReply, RelayError>),
}

impl RelayClient {
    /// Sends a parsed request, asking for the worker's events: see [`Self::send_json_streaming`].
    pub fn send_streaming(
        &self,
        request: &RelayRequest,
        request_id: Option<&str>,
    ) -> impl Stream<Item = StreamEvent> + Send + 'static {
        self.send_json_streaming(Bytes::from(request.to_json()), request_id)
    }

    /// Sends JSON bytes already known to hold a valid request, naming a stream subject of its
    /// own: the pieces of the answer as the worker writes them, then the whole answer. A
    /// worker that goes silent (see the module documentation) gets the request re-sent to
    /// another; `busy` answers are retried as by [`Self::send_json`]. Everything ends by the
    /// one deadline of the request. Nothing is sent until the stream is first polled.
    pub fn send_json_streaming(
        &self,
        payload: Bytes,
        request_id: Option<&str>,
    ) -> impl Stream<Item = StreamEvent> + Send + 'static {
        let run = Streamed::new(self.clone(), payload, request_id.map(str::to_owned));
        futures::stream::unfold(Some(run), |run| async move {
            let mut run = run?;
            let event = run.next_event().await;
            let more = !matches!(event, StreamEvent::Done(_));
            Some((event, more.then_some(run)))
        })
    }
}

type Attempt = BoxFuture<'static, (usize, Result<Message, RelayError>)>;

/// One streamed request: its attempts (the first, and the re-sends), and the events of the
/// current one.
struct Streamed {
    relay: RelayClient,
    payload: Bytes,
    request_id: Option<String>,
    deadline: Instant,
    deadline_ms: u64,
    /// The reply of every attempt: a worker given up on may still answer, and its answer is as
    /// good as any (the member sees one answer either way).
    replies: FuturesUnordered<Attempt>,
    /// The number of the current attempt; events and refusals of the others are ignored.
    attempt: usize,
    /// The current attempt's stream subscription (dropping it unsubscribes).
    events: Option<Subscriber>,
    /// When the current attempt counts as silent.
    silent_at: Instant,
    next_seq: u64,
    resends: usize,
    /// Pieces of the current attempt were handed out.
    shown: bool,
    busy_delays: backon::ExponentialBackoff,
    started: bool,
    /// The requester's span when the stream was made: the stream is polled later, maybe
    /// outside it (by an HTTP response body), and every attempt carries its trace context.
    trace: tracing::Span,
}

impl Streamed {
    fn new(relay: RelayClient, payload: Bytes, request_id: Option<String>) -> Self {
        let deadline = Instant::now() + relay.timeout;
        let deadline_ms = unix_millis(SystemTime::now() + relay.timeout);
        Self {
            relay,
            payload,
            request_id,
            deadline,
            deadline_ms,
            replies: FuturesUnordered::new(),
            attempt: 0,
            events: None,
            silent_at: deadline,
            next_seq: 0,
            resends: 0,
            shown: false,
            busy_delays: busy_backoff().build(),
            started: false,
            trace: trace_context::current_span(),
        }
    }

    async fn next_event(&mut self) -> StreamEvent {
        if !self.started {
            self.started = true;
            if let Err(err) = self.start_attempt().await {
                return StreamEvent::Done(Err(err));
            }
        }
        loop {
            // Biased: events already received count before the silence timer, so a requester
            // that was slow to poll does not take a live worker for a dead one.
            tokio::select! {
                biased;
                message = next_message(&mut self.events) => match message {
                    Some(message) => {
                        if let Some(event) = self.on_event(&message) {
                            return event;
                        }
                    }
                    // The subscription ended (the connection closed): the reply decides.
                    None => self.events = None,
                },
                Some((attempt, result)) = self.replies.next() => {
                    if let Some(done) = self.on_reply(attempt, result).await {
                        return StreamEvent::Done(done);
                    }
                }
                () = tokio::time::sleep_until(self.silent_at) => {
                    match self.on_silence().await {
                        Ok(true) => return StreamEvent::Restart,
                        Ok(false) => {}
                        Err(err) => return StreamEvent::Done(Err(err)),
                    }
                }
            }
        }
    }

    /// Sends the request (again), with a new stream subject.
    async fn start_attempt(&mut self) -> Result<(), RelayError> {
        let client = self.relay.client.clone();
        if client.connection_state() != State::Connected {
            return Err(RelayError::Disconnected);
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(RelayError::Timeout(self.relay.timeout));
        }
        let subject = stream_subject(&client);
        // Subscribed before the request is published on the same connection, so the server
        // knows the subscription before any worker can publish to it.
        let events = client
            .subscribe(subject.clone())
            .await
            .map_err(|err| RelayError::Transport(err.to_string()))?;
        let mut map = request_headers(
            self.deadline_ms,
            self.request_id.as_deref(),
            Some(&self.trace),
        );
        map.insert(headers::STREAM, subject.as_str());
        let request = Request::new()
            .payload(self.payload.clone())
            .headers(map)
            .timeout(Some(left));
        self.attempt += 1;
        let attempt = self.attempt;
        let (relay_subject, timeout) = (self.relay.subject.clone(), self.relay.timeout);
        self.replies.push(
            async move {
                let reply = client.send_request(relay_subject, request).await;
                (attempt, reply.map_err(|err| request_error(&err, timeout)))
            }
            .boxed(),
        );
        self.events = Some(events);
        self.next_seq = 0;
        self.shown = false;
        self.silent_at = Instant::now() + ACK_WITHIN;
        Ok(())
    }

    /// An event of the current attempt: it is alive; a chunk is a piece to hand out.
    fn on_event(&mut self, message: &Message) -> Option<StreamEvent> {
        let (kind, seq) = read_event(message)?;
        if seq < self.next_seq {
            return None;
        }
        if seq > self.next_seq {
            tracing::debug!(
                expected = self.next_seq,
                got = seq,
                "relay stream events lost"
            );
        }
        self.next_seq = seq + 1;
        self.silent_at = Instant::now() + SILENCE_LIMIT;
        match kind {
            EventKind::Chunk if !message.payload.is_empty() => {
                self.shown = true;
                Some(StreamEvent::Piece(
                    String::from_utf8_lossy(&message.payload).into_owned(),
                ))
            }
            _ => None,
        }
    }

    /// A reply: any attempt's answer ends the request; a refusal or failure only the current
    /// attempt's (`busy` starts another attempt).
    async fn on_reply(
        &mut self,
        attempt: usize,
        result: Result<Message, RelayError>,
    ) -> Option<Result<RelayReply, RelayError>> {
        let result = result.and_then(|message| interpret_reply_or_busy(&message));
        match result {
            Ok(reply) => Some(Ok(reply)),
            Err(_) if attempt != self.attempt => None,
            Err(RelayError::Busy) => match self.busy_delays.next() {
                None => Some(Err(RelayError::Busy)),
                Some(delay) => {
                    tokio::time::sleep(delay).await;
                    self.start_attempt().await.err().map(Err)
                }
            },
            Err(err) => Some(Err(err)),
        }
    }

    /// The current attempt went silent: re-send when allowed (true when pieces handed out are
    /// to be forgotten), else wait for a reply until the deadline.
    async fn on_silence(&mut self) -> Result<bool, RelayError> {
        if self.resends >= MAX_RESENDS || Instant::now() >= self.deadline {
            // The current attempt's reply ends the request by the deadline at the latest.
            self.silent_at = self.deadline + SILENCE_LIMIT;
            return Ok(false);
        }
        self.resends += 1;
        tracing::warn!(
            resend = self.resends,
            "the relay worker went silent; asking another"
        );
        let restart = self.shown;
        self.start_attempt().await?;
        Ok(restart)
    }
}

/// The next message of `events`, or never when there is no subscription.
async fn next_message(events: &mut Option<Subscriber>) -> Option<Message> {
    match events {
        Some(events) => events.next().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds_round_trip_and_unknown_ones_are_refused() {
        for kind in [EventKind::Ack, EventKind::Heartbeat, EventKind::Chunk] {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("reply"), None);
        let map = event_headers(EventKind::Chunk, 7);
        assert_eq!(map.get(headers::EVENT).unwrap().as_str(), "chunk");
        assert_eq!(map.get(headers::SEQ).unwrap().as_str(), "7");
    }
}
