//! The one test harness for everything that needs a relay worker (feature `test-util`): the
//! worker's own tests, the broker tests, relay-http's and the bot's. It starts a real worker
//! in-process with the answer source a test chooses, on the test's own nats-server, and returns
//! once that worker receives requests; and it has the sample request every suite sends.

use std::time::Duration;

use common::{
    config::NatsSettings,
    payload::{MessageContent, RelayRequest, Snowflake},
    subjects::{ping_subject, DEFAULT_RELAY_SUBJECT, SERVICE_NAME},
};

use crate::{Responder, RunningWorker, WorkerSettings};

/// The relay subject of the tests.
pub const SUBJECT: &str = DEFAULT_RELAY_SUBJECT;

/// How long a test worker may take to be routed requests.
const READY_WITHIN: Duration = Duration::from_secs(15);

/// Connects to NATS as the `relay-worker` binary does (`common::nats::connect` with
/// `settings`, so users and inbox prefixes apply), starts a worker with `worker` settings and
/// `responder`, and returns once the server routes requests to it: a client with `settings`
/// pings this very instance, which the server answers only after it has read the worker's
/// subscriptions (they come first on the worker's connection).
pub async fn spawn_worker_with<R: Responder>(
    settings: &NatsSettings,
    worker: WorkerSettings,
    responder: R,
) -> RunningWorker {
    spawn_worker_probed(settings, worker, responder, settings).await
}

/// [`spawn_worker_with`], pinging with `probe` settings: for users that may not publish
/// `$SRV` pings themselves (the `worker` user of `nats/least-privilege.conf`).
pub async fn spawn_worker_probed<R: Responder>(
    settings: &NatsSettings,
    worker: WorkerSettings,
    responder: R,
    probe: &NatsSettings,
) -> RunningWorker {
    let client = common::nats::connect(settings, "test-worker")
        .await
        .expect("the test worker connects to NATS");
    let mut running = crate::spawn(client, worker, responder);
    assert!(
        running.ready().await,
        "the test worker stopped before serving"
    );
    let instance = running.instance_id().expect("ready").to_owned();
    let prober = common::nats::connect(probe, "test-probe")
        .await
        .expect("the probe connects to NATS");
    let subject = format!("{}.{instance}", ping_subject(SERVICE_NAME));
    let deadline = tokio::time::Instant::now() + READY_WITHIN;
    loop {
        let ping = prober.request(subject.clone(), bytes::Bytes::new());
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(1), ping).await {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "worker {instance} never answered its ping"
        );
        // The probe's own connection may still be coming up (it connects in the background).
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
        ticket: None,
    }
}
