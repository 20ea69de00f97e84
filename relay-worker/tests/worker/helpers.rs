//! Helpers of the worker tests: test responders, `$SRV` queries and request helpers. Workers are
//! started with the shared harness, `relay_worker::test_util`.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use async_nats::Client;
use common::{
    payload::{RelayReply, RelayRequest, Snowflake},
    relay_client::{RelayClient, RelayError},
    subjects::SERVICE_NAME,
    test_util::{eventually, NatsServer},
};
use futures::{stream::FuturesUnordered, Future, StreamExt};
pub use relay_worker::test_util::{sample_request, spawn_worker, spawn_worker_with, SUBJECT};
use relay_worker::{Responder, ResponderError};
use serde_json::Value;

pub const READY_WITHIN: Duration = Duration::from_secs(10);

/// A plain client, connected when returned.
pub async fn client(server: &NatsServer) -> Client {
    async_nats::connect(server.url())
        .await
        .expect("test client connects")
}

/// Waits until `count` worker instances have their relay endpoint registered.
///
/// An instance lists its endpoint in `$SRV.INFO` only after subscribing to it, and its INFO
/// reply leaves on the same connection after that subscription, so once we read the reply the
/// server routes requests to that instance.
pub async fn wait_for_instances(client: &Client, count: usize) {
    eventually("worker instances", READY_WITHIN, || async {
        let infos = collect_replies(client, &format!("$SRV.INFO.{SERVICE_NAME}"), count).await;
        let ready = infos
            .iter()
            .filter(|info| info["endpoints"].as_array().is_some_and(|e| !e.is_empty()))
            .count();
        (ready >= count).then_some(())
    })
    .await;
}

/// Publishes one request and collects up to `expected` replies (waiting at most 2 s).
pub async fn collect_replies(client: &Client, subject: &str, expected: usize) -> Vec<Value> {
    let inbox = client.new_inbox();
    let mut replies = client.subscribe(inbox.clone()).await.expect("subscribe");
    client
        .publish_with_reply(subject.to_owned(), inbox, "".into())
        .await
        .expect("publish");
    client.flush().await.expect("flush");
    let mut found = Vec::new();
    while found.len() < expected {
        match tokio::time::timeout(Duration::from_secs(2), replies.next()).await {
            // An empty message is the server's "no responders" status: nobody is up yet.
            Ok(Some(message)) if message.payload.is_empty() => break,
            Ok(Some(message)) => {
                found.push(serde_json::from_slice(&message.payload).expect("json"));
            }
            _ => break,
        }
    }
    found
}

/// The sample request, from user `user`.
pub fn valid_request(user: u64) -> RelayRequest {
    let mut request = sample_request();
    request.user_id = Snowflake::from(user);
    request
}

/// `count` requests sent at once through `relay` (request `i` from user `i`), to be awaited in
/// the order they complete.
pub fn send_at_once(
    relay: &RelayClient,
    count: u64,
) -> FuturesUnordered<impl Future<Output = Result<RelayReply, RelayError>>> {
    (0..count)
        .map(|i| {
            let relay = relay.clone();
            async move { relay.send(&valid_request(i), None).await }
        })
        .collect()
}

/// Counts the requests it answers.
#[derive(Clone, Default)]
pub struct Counting(pub Arc<AtomicUsize>);

impl Counting {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Responder for Counting {
    async fn respond(&self, _request: RelayRequest) -> Result<RelayReply, ResponderError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(RelayReply::new("counted"))
    }
}

/// Takes `delay` per answer and counts how many answers have started.
#[derive(Clone)]
pub struct Slow {
    pub delay: Duration,
    pub started: Arc<AtomicUsize>,
}

impl Slow {
    pub fn new(delay: Duration) -> Self {
        Self {
            delay,
            started: Arc::default(),
        }
    }
}

impl Responder for Slow {
    async fn respond(&self, request: RelayRequest) -> Result<RelayReply, ResponderError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        Ok(RelayReply::new(format!(
            "slow answer to {}",
            request.user_id
        )))
    }
}

/// Always fails, like an AI backend that is down.
pub struct Failing;

impl Responder for Failing {
    async fn respond(&self, _request: RelayRequest) -> Result<RelayReply, ResponderError> {
        Err(ResponderError::retryable("model backend unreachable"))
    }
}

/// Holds every answer until [`Held::release`]; tells each start on `started`.
#[derive(Clone)]
pub struct Held {
    started: tokio::sync::mpsc::UnboundedSender<()>,
    gate: Arc<tokio::sync::Semaphore>,
}

impl Held {
    /// The responder, and the receiver of its starts.
    pub fn new() -> (Self, tokio::sync::mpsc::UnboundedReceiver<()>) {
        let (started, starts) = tokio::sync::mpsc::unbounded_channel();
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        (Self { started, gate }, starts)
    }

    /// Lets `count` held answers finish.
    pub fn release(&self, count: usize) {
        self.gate.add_permits(count);
    }
}

impl Responder for Held {
    async fn respond(&self, _request: RelayRequest) -> Result<RelayReply, ResponderError> {
        let _ = self.started.send(());
        let _permit = self.gate.acquire().await.expect("gate never closed");
        Ok(RelayReply::new("held"))
    }
}

/// The `relay-worker` binary against `server`, with extra variables; stdout piped.
pub fn worker_binary(server: &NatsServer, vars: &[(&str, &str)]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_relay-worker"))
        .env("NATS_URL", server.url())
        .envs(vars.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the relay-worker binary starts")
}

/// Sends SIGTERM to `child`.
pub fn sigterm(child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -TERM failed");
}

/// Waits for `child` to exit; returns its status and everything it printed (stdout, stderr).
pub async fn exited(mut child: std::process::Child) -> (std::process::ExitStatus, String, String) {
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut out = String::new();
        let mut err = String::new();
        if let Some(mut stdout) = child.stdout.take() {
            stdout.read_to_string(&mut out).expect("read stdout");
        }
        if let Some(mut stderr) = child.stderr.take() {
            stderr.read_to_string(&mut err).expect("read stderr");
        }
        (child.wait().expect("wait for the worker"), out, err)
    })
    .await
    .expect("the waiting thread")
}
