//! The relay worker as a NATS service: registers `ticket-relay` with the services API, takes
//! requests from the relay subject in the shared queue group, answers each one concurrently
//! (bounded), and shuts down without dropping a request it has taken.

use std::{future::Future, sync::Arc, task::Poll};

use async_nats::{
    service::{self, Request, ServiceExt},
    Client, HeaderMap,
};
use common::{
    payload::{ErrorBody, ErrorCode, RelayReply, RelayRequest},
    subjects::{headers, ENDPOINT_NAME, QUEUE_GROUP, SERVICE_NAME},
};
use futures::StreamExt;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::{
    responder::{Responder, ResponderError},
    settings::WorkerSettings,
};

/// The worker could not start, or could not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Registering the service or its endpoint failed.
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

/// Serves relay requests until `shutdown` completes, then stops taking requests, answers those
/// already taken, and drains the connection so that every reply reaches NATS.
pub async fn run<R: Responder>(
    client: Client,
    settings: WorkerSettings,
    responder: R,
    shutdown: impl Future<Output = ()>,
) -> Result<(), WorkerError> {
    serve(client, settings, responder, shutdown, None).await
}

/// [`run`], telling `ready` once the server routes requests to this worker.
pub(crate) async fn serve<R: Responder>(
    client: Client,
    settings: WorkerSettings,
    responder: R,
    shutdown: impl Future<Output = ()>,
    ready: Option<oneshot::Sender<()>>,
) -> Result<(), WorkerError> {
    let service = client
        .service_builder()
        .description("Answers ticket messages relayed from Discord")
        .queue_group(QUEUE_GROUP)
        .start(SERVICE_NAME, env!("CARGO_PKG_VERSION"))
        .await
        .map_err(WorkerError::Register)?;
    let mut endpoint = service
        .endpoint_builder()
        .name(ENDPOINT_NAME)
        .add(settings.subject.as_str())
        .await
        .map_err(WorkerError::Register)?;
    tracing::info!(
        subject = %settings.subject,
        queue_group = QUEUE_GROUP,
        max_in_flight = settings.max_in_flight,
        "relay worker serving"
    );
    if let Some(ready) = ready {
        // The server answers a flush after it has processed the subscription before it.
        if client.flush().await.is_ok() {
            let _ = ready.send(());
        }
    }

    let handler = Arc::new(Handler {
        responder,
        client: client.clone(),
        errors_subject: errors_subject(&settings.subject),
    });
    let permits = Arc::new(Semaphore::new(settings.max_in_flight));
    let tasks = TaskTracker::new();
    tokio::pin!(shutdown);

    loop {
        // Taking the permit first keeps unserved requests queued in NATS, not in our memory.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => permit.expect("semaphore never closed"),
        };
        let request = tokio::select! {
            () = &mut shutdown => break,
            request = endpoint.next() => match request {
                Some(request) => request,
                None => break,
            },
        };
        handler.serve(request, permit, &tasks).await;
    }

    tracing::info!("relay worker stopping: no new requests, finishing in-flight ones");
    let stopped = async {
        if let Err(err) = endpoint.stop().await {
            tracing::warn!(error = %err, "cannot unsubscribe the relay endpoint");
        }
        // Requests delivered before the unsubscribe took effect are ours to answer.
        while let Some(request) = endpoint.next().await {
            let permit = Arc::clone(&permits)
                .acquire_owned()
                .await
                .expect("semaphore never closed");
            handler.serve(request, permit, &tasks).await;
        }
        tasks.close();
        tasks.wait().await;
    };
    let outcome = match tokio::time::timeout(settings.shutdown_timeout, stopped).await {
        Ok(()) => Ok(()),
        Err(_) => Err(WorkerError::ShutdownTimeout(tasks.len())),
    };
    if let Err(err) = service.stop().await {
        tracing::warn!(error = %err, "cannot stop the service cleanly");
    }
    // flush() waits until the server has every reply; drain() then closes the connection.
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
    match tokio::time::timeout(settings.shutdown_timeout, drained).await {
        Ok(result) => result?,
        Err(_) => return Err(WorkerError::Drain("timed out".to_owned())),
    }
    tracing::info!("relay worker stopped");
    outcome
}

/// Where error replies are also accounted; see [`Handler::reply_error`].
pub fn errors_subject(relay_subject: &str) -> String {
    format!("{relay_subject}.errors")
}

struct Handler<R> {
    responder: R,
    client: Client,
    errors_subject: String,
}

impl<R: Responder> Handler<R> {
    /// Answers one request: inline when the answer is ready at once (no task to spawn, the
    /// common case for fast answer sources), else in a tracked task holding `permit`.
    async fn serve(
        self: &Arc<Self>,
        request: Request,
        permit: OwnedSemaphorePermit,
        tasks: &TaskTracker,
    ) {
        let span = request_span(&request);
        let parsed = match span.in_scope(|| parse(&request)) {
            Ok(parsed) => parsed,
            Err(body) => return self.reply_error(request, &body).instrument(span).await,
        };
        // The future owns its handler so that, if it has to wait, it can move into a task.
        let handler = Arc::clone(self);
        let mut answer = Box::pin(
            async move { handler.responder.respond(parsed).await }.instrument(span.clone()),
        );
        match futures::poll!(answer.as_mut()) {
            Poll::Ready(result) => self.send(request, result).instrument(span).await,
            Poll::Pending => {
                let handler = Arc::clone(self);
                tasks.spawn(
                    async move {
                        let result = answer.await;
                        handler.send(request, result).await;
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
        }
    }

    async fn send(&self, request: Request, result: Result<RelayReply, ResponderError>) {
        match result {
            Ok(reply) => {
                let body = serde_json::to_vec(&reply).expect("a reply always serializes");
                if let Err(err) = request.respond(Ok(body.into())).await {
                    tracing::warn!(error = %err, "cannot send the reply");
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "the answer source failed");
                let body = ErrorBody::new(
                    ErrorCode::ResponderFailed,
                    "the answer source failed; try again later",
                );
                self.reply_error(request, &body).await;
            }
        }
    }

    /// Sends `Nats-Service-Error(-Code)` headers *and* the JSON error body.
    ///
    /// async-nats's services API sends error replies with an empty body, and only counts an
    /// error in `$SRV.STATS` when it sends one itself. So the reply goes out here, with the body,
    /// and the API then records the error by sending its header-only copy to
    /// `<relay subject>.errors`, where monitoring may listen and nothing else does.
    async fn reply_error(&self, mut request: Request, body: &ErrorBody) {
        let status = body.error.code.status();
        let Some(reply) = request.message.reply.take() else {
            tracing::debug!("request without a reply subject; nothing to answer");
            return;
        };
        let mut map = HeaderMap::new();
        map.insert(headers::SERVICE_ERROR, body.error.message.as_str());
        map.insert(headers::SERVICE_ERROR_CODE, status.to_string().as_str());
        if let Err(err) = self
            .client
            .publish_with_headers(reply, map, body.to_json().into())
            .await
        {
            tracing::warn!(error = %err, "cannot send the error reply");
        }
        request.message.reply = Some(self.errors_subject.clone().into());
        let accounted = service::error::Error {
            status: body.error.message.clone(),
            code: usize::from(status),
        };
        if let Err(err) = request.respond(Err(accounted)).await {
            tracing::debug!(error = %err, "cannot account the error reply");
        }
    }
}

/// The span of one request, carrying the `X-Request-Id` the requester sent. Requests without
/// one (most NATS clients) get no span: an enabled span costs an allocation per request.
fn request_span(request: &Request) -> tracing::Span {
    match request
        .message
        .headers
        .as_ref()
        .and_then(|map| map.get(headers::REQUEST_ID))
    {
        Some(request_id) => tracing::info_span!("relay", request_id = request_id.as_str()),
        None => tracing::Span::none(),
    }
}

/// Parses and logs a request, or says why it is refused.
fn parse(request: &Request) -> Result<RelayRequest, ErrorBody> {
    match RelayRequest::parse(&request.message.payload) {
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
