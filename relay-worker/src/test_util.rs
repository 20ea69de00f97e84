//! The one test harness for everything that needs a relay worker (feature `test-util`): the
//! worker's own tests, the broker tests, relay-http's and the bot's. It starts a real worker
//! in-process with the answer source a test chooses, on the test's own nats-server, and returns
//! once that worker receives requests; and it has the sample request every suite sends.

use common::{
    config::NatsSettings,
    payload::{MessageContent, RelayRequest, Snowflake},
    subjects::DEFAULT_RELAY_SUBJECT,
};

use crate::{Responder, RunningWorker, WorkerSettings};

/// The relay subject of the tests.
pub const SUBJECT: &str = DEFAULT_RELAY_SUBJECT;

/// Connects to NATS as the `relay-worker` binary does (`common::nats::connect` with
/// `settings`, so users and inbox prefixes apply), starts a worker with `worker` settings and
/// `responder`, and returns once the server routes requests to it.
pub async fn spawn_worker_with<R: Responder>(
    settings: &NatsSettings,
    worker: WorkerSettings,
    responder: R,
) -> RunningWorker {
    let client = common::nats::connect(settings, "test-worker")
        .await
        .expect("the test worker connects to NATS");
    let mut running = crate::spawn(client, worker, responder);
    assert!(
        running.ready().await,
        "the test worker stopped before serving"
    );
    running
}

/// [`spawn_worker_with`] on [`SUBJECT`] with default worker settings.
pub async fn spawn_worker<R: Responder>(settings: &NatsSettings, responder: R) -> RunningWorker {
    spawn_worker_with(settings, WorkerSettings::new(SUBJECT), responder).await
}

/// A valid request: guild 1, channel 2, user 3, message 4, saying `hello`.
pub fn sample_request() -> RelayRequest {
    sample_request_saying("hello")
}

/// [`sample_request`] with this content (which must be valid message content).
pub fn sample_request_saying(content: &str) -> RelayRequest {
    RelayRequest {
        guild_id: Snowflake::from(1),
        channel_id: Snowflake::from(2),
        user_id: Snowflake::from(3),
        content: MessageContent::parse(content.to_owned()).expect("valid sample content"),
        message_id: Some(Snowflake::from(4)),
        history: Vec::new(),
    }
}
