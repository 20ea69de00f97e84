//! The relay worker's life: it subscribes to the relay subject in the shared queue group,
//! answers each request concurrently up to its in-flight limit (beyond it: `busy` at once, so
//! that the requester tries another worker instead of waiting in this one's buffer), and on
//! shutdown answers every request NATS had already routed to it before it exits.
//!
//! # A drain that loses nothing
//!
//! An unsubscribe takes effect at the server only when the server reads it. Requests the
//! server routed to this worker before that are still on their way, and a client that forgets
//! the subscription at once (async-nats's `unsubscribe`, and its `drain`, which forgets it on
//! its next read) drops them: the requester waits for its timeout. So the worker leaves with
//! NATS's auto-unsubscribe instead: `UNSUB <sid> <n>` with `n` = requests taken so far +
//! [`DRAIN_SLACK`]. Server and client count the same messages on the subscription, so the
//! server sends at most `n` and the client keeps the subscription until it has seen exactly
//! those: every request routed here is answered, none is dropped. When traffic is too light
//! to reach `n` ([`DRAIN_QUIET`] without a request), nothing is in flight and a plain
//! unsubscribe ends it.

use std::{
    future::Future,
    panic::AssertUnwindSafe,
    sync::Arc,
    task::Poll,
    time::{Duration, Instant, SystemTime},
};

use async_nats::{Client, HeaderMap, Message, Subject, Subscriber};
use bytes::Bytes;
use common::{
    payload::{ErrorBody, ErrorCode, RelayReply, RelayRequest},
    relay_client::unix_millis,
    subjects::{headers, QUEUE_GROUP, SERVICE_NAME},
    trace_context::{self, NatsHeadersRef},
};
use futures::{FutureExt, StreamExt};
use tokio::sync::{oneshot, Semaphore};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::{
    discovery::{self, Identity, Stats},
    events::Events,
    responder::{Pieces, Responder, ResponderError},
    settings::WorkerSettings,
};

/// Requests the worker may still take after it asked to leave: more than can be on their way
/// between the server and this client when the unsubscribe reaches the server (at 25,000
/// requests/s per worker, a millisecond's worth is 25), few enough to end the drain at once.
pub const DRAIN_SLACK: u64 = 256;

/// With no request for this long, none is in flight: the drain stops waiting for the slack.
pub const DRAIN_QUIET: Duration = Duration::from_millis(250);

/// A worker stops working on a request this long before the requester's deadline, so that its
/// failure reply still reaches a requester that is listening (a reply takes well under a
/// millisecond on a LAN, tens across regions).
pub const REPLY_MARGIN: Duration = Duration::from_millis(100);

/// Sending the last replies and closing the connection may run this far past the shutdown's
/// deadline, so that answers finished just before it still go out: on a live connection it
/// takes milliseconds.
pub const FLUSH_GRACE: Duration = Duration::from_secs(1);

/// The worker could not start, or could not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Subscribing to the relay or discovery subjects failed.
    #[error("cannot register the {SERVICE_NAME} service: {0}")]
    Register(async_nats::Error),
    /// In-flight requests were still running when the shutdown timeout ran out.
    #[error("{0} requests were still in flight when the shutdown timeout ran out")]
    ShutdownTimeout(usize),
    /// The worker's task was cancelled (its runtime shut down) before it could stop cleanly.
    #[error("the worker task was cancelled before it stopped")]
    Aborted,
    /// Flushing or draining the connection failed.
    #[error("cannot drain the NATS connection: {0}")]
    Drain(String),
}

/// Serves relay requests until `shutdown` completes, then takes no new work, answers what NATS
/// had routed to it, and drains the connection so that every reply reaches NATS.
pub async fn run<R: Responder>(
    client: Client,
    settings: WorkerSettings,
    responder: R,
    shutdown: impl Future<Output = ()>,
) -> Result<(), WorkerError> {
    serve(client, settings, responder, shutdown, None).await
}

/// [`run`], telling `ready` this instance's id once its subscriptions are written to the server
/// (the server reads them in order: when it answers `$SRV.PING.ticket-relay.<id>`, it routes
/// requests here too).
pub(crate) async fn serve<R: Responder>(
    client: Client,
    settings: WorkerSettings,
    responder: R,
    shutdown: impl Future<Output = ()>,
    ready: Option<oneshot::Sender<String>>,
) -> Result<(), WorkerError> {
    let identity = Arc::new(Identity::new(&settings.subject));
    let stats = Arc::new(Stats::new(&identity.id, &responder));
    let mut requests = client
        .queue_subscribe(settings.subject.clone(), QUEUE_GROUP.to_owned())
        .await
        .map_err(|err| WorkerError::Register(err.into()))?;
    let discovery = discovery::serve(&client, Arc::clone(&identity), Arc::clone(&stats))
        .await
        .map_err(|err| WorkerError::Register(err.into()))?;
    tracing::info!(
        subject = %settings.subject,
        queue_group = QUEUE_GROUP,
        max_in_flight = settings.max_in_flight,
        instance = %identity.id,
        "relay worker serving"
    );
    if let Some(ready) = ready {
        // Written, not yet read by the server: see `serve`'s documentation.
        if client.flush().await.is_ok() {
            let _ = ready.send(identity.id.clone());
        }
    }

    let handler = Arc::new(Handler {
        responder,
        client: client.clone(),
        errors_subject: Subject::from(errors_subject(&settings.subject)),
        permits: Arc::new(Semaphore::new(settings.max_in_flight)),
        responder_timeout: settings.responder_timeout,
        stats,
    });
    let tasks = TaskTracker::new();
    let mut taken: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            request = requests.next() => match request {
                Some(request) => {
                    taken += 1;
                    handler.take(request, &tasks).await;
                }
                None => break,
            },
        }
    }

    tracing::info!("relay worker stopping: taking no new work, answering what NATS routed here");
    let stopped = async {
        drain(&mut requests, taken, &handler, &tasks).await;
        tasks.close();
        tasks.wait().await;
    };
    // One deadline for the whole shutdown, so that a worker cut off from NATS (its replies
    // stuck in the client's buffer) still exits within the grace period its supervisor gives.
    let deadline = tokio::time::Instant::now() + settings.shutdown_timeout;
    let outcome = match tokio::time::timeout_at(deadline, stopped).await {
        Ok(()) => Ok(()),
        Err(_) => Err(WorkerError::ShutdownTimeout(tasks.len())),
    };
    // flush() writes every reply to the socket; drain() then closes the connection (the
    // discovery subscriptions with it) after what is written has gone out.
    let drained = async {
        client
            .flush()
            .await
            .map_err(|e| WorkerError::Drain(e.to_string()))?;
        client
            .drain()
            .await
            .map_err(|e| WorkerError::Drain(e.to_string()))
    };
    let flushed_by = deadline.max(tokio::time::Instant::now() + FLUSH_GRACE);
    let drained = tokio::time::timeout_at(flushed_by, drained).await;
    discovery.abort();
    match drained {
        Ok(result) => result?,
        Err(_) => return Err(WorkerError::Drain("timed out".to_owned())),
    }
    tracing::info!("relay worker stopped");
    outcome
}

/// Leaves the queue group without dropping a request on its way here (see the module docs).
async fn drain<R: Responder>(
    requests: &mut Subscriber,
    taken: u64,
    handler: &Arc<Handler<R>>,
    tasks: &TaskTracker,
) {
    if let Err(err) = requests.unsubscribe_after(taken + DRAIN_SLACK).await {
        tracing::warn!(error = %err, "cannot ask NATS to stop routing requests here");
        return;
    }
    loop {
        match tokio::time::timeout(DRAIN_QUIET, requests.next()).await {
            Ok(Some(request)) => handler.take(request, tasks).await,
            // The server sent its last request for this subscription, and we have it.
            Ok(None) => return,
            Err(_) => break,
        }
    }
    if let Err(err) = requests.unsubscribe().await {
        tracing::warn!(error = %err, "cannot unsubscribe the relay subject");
    }
    // Whatever the client had already received is still ours to answer.
    while let Some(request) = requests.next().await {
        handler.take(request, tasks).await;
    }
}

/// Where a header-only copy of every error reply goes, for monitoring (`nats sub`).
pub fn errors_subject(relay_subject: &str) -> String {
    format!("{relay_subject}.errors")
}

/// Why an answer could not be had.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}")]
    Responder(ResponderError),
    #[error("the answer source panicked: {0}")]
    Panicked(String),
    #[error("the answer source did not answer within {0:?}")]
    TimedOut(Duration),
}

struct Handler<R> {
    responder: R,
    client: Client,
    errors_subject: Subject,
    permits: Arc<Semaphore>,
    responder_timeout: Duration,
    stats: Arc<Stats>,
}

impl<R: Responder> Handler<R> {
    /// Takes one request: drops it when its deadline has passed, refuses it when it is bad or
    /// the worker is full, else answers it, inline when the answer is ready at once (no task
    /// to spawn, the common case for fast answer sources) or in a tracked task.
    async fn take(self: &Arc<Self>, message: Message, tasks: &TaskTracker) {
        let received = Instant::now();
        let Some(reply) = message.reply.clone() else {
            tracing::debug!("request without a reply subject; nothing to answer");
            return;
        };
        let span = request_span(&message);
        let budget = match self.budget(&message) {
            Some(budget) => budget,
            None => {
                self.stats.expired();
                let _entered = span.enter();
                tracing::warn!("request dropped: its deadline had passed when it arrived");
                return;
            }
        };
        let parsed = match span.in_scope(|| parse(&message.payload)) {
            Ok(parsed) => parsed,
            Err(body) => {
                return self
                    .reply_error(reply, &body, received)
                    .instrument(span)
                    .await
            }
        };
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            let body = ErrorBody::new(
                ErrorCode::Busy,
                "this worker is at its in-flight limit; try again (another worker may be free)",
            );
            span.in_scope(|| tracing::debug!("busy: at the in-flight limit"));
            return self
                .reply_error(reply, &body, received)
                .instrument(span)
                .await;
        };
        // The future owns its handler so that, if it has to wait, it can move into a task.
        let permit = (permit, self.stats.in_flight());
        let handler = Arc::clone(self);
        let stream = stream_subject(&message);
        let mut answer = Box::pin(
            async move { handler.answer(parsed, budget, stream).await }.instrument(span.clone()),
        );
        match futures::poll!(answer.as_mut()) {
            Poll::Ready(result) => {
                drop(permit);
                self.send(reply, result, received).instrument(span).await;
            }
            Poll::Pending => {
                let handler = Arc::clone(self);
                tasks.spawn(
                    async move {
                        let result = answer.await;
                        drop(permit);
                        handler.send(reply, result, received).await;
                    }
                    .instrument(span),
                );
            }
        }
    }

    /// How long the answer may take: the responder timeout, cut to the request's deadline
    /// less [`REPLY_MARGIN`]; `None` when that leaves nothing.
    fn budget(&self, message: &Message) -> Option<Duration> {
        let deadline = message
            .headers
            .as_ref()
            .and_then(|map| map.get(headers::DEADLINE))
            .and_then(|value| value.as_str().trim().parse::<u64>().ok());
        match deadline {
            None => Some(self.responder_timeout),
            Some(deadline) => {
                let left =
                    Duration::from_millis(deadline.saturating_sub(unix_millis(SystemTime::now())));
                let budget = left.saturating_sub(REPLY_MARGIN);
                (!budget.is_zero()).then(|| budget.min(self.responder_timeout))
            }
        }
    }

    /// The answer source's answer, contained: its panic or its hang becomes a failure of this
    /// request, never of the worker. With a `stream` subject, the requester gets the events of
    /// the answer there while it runs ([`Events`]).
    async fn answer(
        &self,
        request: RelayRequest,
        budget: Duration,
        stream: Option<Subject>,
    ) -> Result<RelayReply, Failure> {
        match stream {
            None => contained(self.responder.respond(request), budget).await,
            // Boxed: held inline, the events' state made the future of every request kilobytes
            // bigger, streamed or not, and `take` moves that future into its box whole.
            Some(subject) => Box::pin(self.streamed(request, budget, subject)).await,
        }
    }

    async fn streamed(
        &self,
        request: RelayRequest,
        budget: Duration,
        subject: Subject,
    ) -> Result<RelayReply, Failure> {
        let (pieces, receiver) = Pieces::channel();
        let answer = self.responder.respond_streaming(request, pieces);
        Events::new(self.client.clone(), subject)
            .around(contained(answer, budget), receiver)
            .await
    }

    async fn send(&self, reply: Subject, result: Result<RelayReply, Failure>, received: Instant) {
        match result {
            Ok(answer) => {
                let body = serde_json::to_vec(&answer).expect("a reply always serializes");
                if let Err(err) = self.client.publish(reply, body.into()).await {
                    tracing::warn!(error = %err, "cannot send the reply");
                }
                self.stats.record(received.elapsed(), None);
            }
            // Only a failure that produced no answer, and says so, may be tried again: a retry
            // of anything else could fail the same way or have the model answer twice.
            Err(Failure::Responder(err)) if err.is_retryable() => {
                tracing::warn!(error = %err, "the answer source failed; the requester may retry");
                let body = ErrorBody::new(
                    ErrorCode::ResponderFailed,
                    "the answer source failed; try again later",
                );
                self.reply_error(reply, &body, received).await;
            }
            Err(failure) => {
                tracing::error!(error = %failure, "the answer source failed");
                let body = ErrorBody::new(
                    ErrorCode::ResponderUnavailable,
                    "the answer source cannot answer this request; trying again will not help",
                );
                self.reply_error(reply, &body, received).await;
            }
        }
    }

    /// Sends the `Nats-Service-Error(-Code)` headers *and* the JSON error body (the services
    /// API convention, readable by `nats req` and programs alike), and a header-only copy to
    /// `<relay subject>.errors` for monitoring.
    async fn reply_error(&self, reply: Subject, body: &ErrorBody, received: Instant) {
        let status = body.error.code.status();
        let mut map = HeaderMap::new();
        map.insert(headers::SERVICE_ERROR, body.error.message.as_str());
        map.insert(headers::SERVICE_ERROR_CODE, status.to_string().as_str());
        if let Err(err) = self
            .client
            .publish_with_headers(reply, map.clone(), body.to_json().into())
            .await
        {
            tracing::warn!(error = %err, "cannot send the error reply");
        }
        if let Err(err) = self
            .client
            .publish_with_headers(self.errors_subject.clone(), map, Bytes::new())
            .await
        {
            tracing::debug!(error = %err, "cannot publish the error copy");
        }
        self.stats.record(
            received.elapsed(),
            Some((&body.error.code, &body.error.message)),
        );
    }
}

/// `answer`, with its panic or its running past `budget` as a [`Failure`]. A plain function
/// and not an `async fn`: that would hold `answer` twice in its state, as its argument and as
/// the future it awaits.
fn contained(
    answer: impl Future<Output = Result<RelayReply, ResponderError>>,
    budget: Duration,
) -> impl Future<Output = Result<RelayReply, Failure>> {
    let call = AssertUnwindSafe(answer).catch_unwind();
    tokio::time::timeout(budget, call).map(move |outcome| match outcome {
        Ok(Ok(Ok(reply))) => Ok(reply),
        Ok(Ok(Err(err))) => Err(Failure::Responder(err)),
        Ok(Err(panic)) => Err(Failure::Panicked(panic_message(panic.as_ref()))),
        Err(_) => Err(Failure::TimedOut(budget)),
    })
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// The span of one request, carrying the `X-Request-Id` the requester sent. Requests without
/// one (most NATS clients) get no span, unless traces are on: an enabled span costs an
/// allocation per request. With traces on, the span continues the requester's trace (its
/// `traceparent` header), or starts one.
fn request_span(message: &Message) -> tracing::Span {
    let map = message.headers.as_ref();
    let request_id = map
        .and_then(|map| map.get(headers::REQUEST_ID))
        .map(|id| id.as_str());
    if trace_context::enabled() {
        let span = tracing::info_span!("relay request", request_id);
        if let Some(map) = map {
            trace_context::continue_trace(&span, &NatsHeadersRef(map));
        }
        return span;
    }
    match request_id {
        Some(request_id) => tracing::info_span!("relay request", request_id),
        None => tracing::Span::none(),
    }
}

/// The subject the requester named for the events of its request, if it did.
fn stream_subject(message: &Message) -> Option<Subject> {
    let value = message
        .headers
        .as_ref()?
        .get(headers::STREAM)?
        .as_str()
        .trim();
    (!value.is_empty()).then(|| Subject::from(value))
}

/// Parses and logs a request, or says why it is refused.
fn parse(payload: &[u8]) -> Result<RelayRequest, ErrorBody> {
    match RelayRequest::parse(payload) {
        Ok(parsed) => {
            tracing::info!(
                guild_id = %parsed.guild_id,
                channel_id = %parsed.channel_id,
                user_id = %parsed.user_id,
                "relay request"
            );
            tracing::debug!(content = parsed.content.as_str(), "relay request content");
            Ok(parsed)
        }
        Err(err) => {
            tracing::warn!(error = %err, "invalid relay request refused");
            Err(ErrorBody::from(&err))
        }
    }
}
