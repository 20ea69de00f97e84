//! A dead worker is noticed, not waited out: two real `relay-worker` binaries with the `llm`
//! source over a slow fake model; the one answering is SIGKILLed mid-answer, and the
//! requester gets the answer of the other (the ack and heartbeats of `common::relay_stream`
//! stopped). A live slow worker heartbeats, and is asked once.

use std::{
    io::{BufRead, BufReader},
    process::Child,
    time::Duration,
};

use common::{relay_client::RelayClient, relay_stream::StreamEvent, test_util::NatsServer};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::{
    fake_model::{FakeModel, Reply},
    helpers::*,
};

/// The requester's whole deadline: far beyond what a failover takes.
const RELAY_TIMEOUT: Duration = Duration::from_secs(30);

/// Bounds each wait, so that a broken setup fails instead of hanging.
const WITHIN: Duration = Duration::from_secs(30);

/// The answer of the slow fake model: ten pieces over about three seconds.
const PIECES: &[&str] = &[
    "One ", "two ", "three ", "four ", "five ", "six ", "seven ", "eight ", "nine ", "ten.",
];

/// A worker binary, SIGKILLed when dropped (a failing test leaves no process behind).
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `count` worker binaries answering with the model at `base_url`; each line they log
/// arrives on the receiver with the worker's index.
fn model_workers(
    server: &NatsServer,
    base_url: &str,
    count: usize,
) -> (Vec<Worker>, mpsc::UnboundedReceiver<(usize, String)>) {
    let (lines, receiver) = mpsc::unbounded_channel();
    let workers = (0..count)
        .map(|index| {
            let mut child = worker_binary(
                server,
                &[
                    ("LOG_LEVEL", "info"),
                    ("ANSWER_SOURCE", "llm"),
                    ("LLM_BASE_URL", base_url),
                    ("LLM_MODEL", "test-model"),
                ],
            );
            let stdout = child.stdout.take().expect("piped");
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let _ = lines.send((index, line));
                }
            });
            Worker(child)
        })
        .collect();
    (workers, receiver)
}

/// The index of the worker that logs the relay request.
async fn holder(lines: &mut mpsc::UnboundedReceiver<(usize, String)>) -> usize {
    loop {
        let (index, line) = tokio::time::timeout(WITHIN, lines.recv())
            .await
            .expect("a worker logs the request")
            .expect("the workers are running");
        if line.contains("relay request") {
            return index;
        }
    }
}

fn slow_answer(first: Duration) -> Reply {
    Reply::Streamed {
        pieces: PIECES,
        first,
        every: Duration::from_millis(300),
    }
}

#[tokio::test]
async fn a_worker_killed_mid_answer_is_noticed_and_the_other_answers_once() {
    let fake = FakeModel::start([
        slow_answer(Duration::from_millis(300)),
        slow_answer(Duration::from_millis(300)),
    ])
    .await;
    let server = NatsServer::start();
    let (mut workers, mut lines) = model_workers(&server, &fake.base_url, 2);
    let client = client(&server).await;
    wait_for_instances(&client, 2).await;
    let relay = RelayClient::new(client, SUBJECT, RELAY_TIMEOUT);
    let events = tokio::spawn(
        relay
            .send_streaming(&sample_request(), Some("killed-mid-answer"))
            .collect::<Vec<_>>(),
    );

    let killed = holder(&mut lines).await;
    fake.wait_for_requests(1).await;
    workers[killed].0.kill().expect("SIGKILL");
    let events = tokio::time::timeout(WITHIN, events)
        .await
        .expect("the request ends")
        .expect("the requester did not panic");

    let Some(StreamEvent::Done(Ok(reply))) = events.last() else {
        panic!("no answer: {events:?}");
    };
    assert_eq!(reply.reply, PIECES.concat().trim_end());
    let done = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::Done(_)))
        .count();
    assert_eq!(done, 1, "{events:?}");
    assert_eq!(fake.requests().len(), 2, "the model was asked again, once");
}

#[tokio::test]
async fn a_live_slow_worker_heartbeats_and_is_asked_once() {
    let fake = FakeModel::start([slow_answer(Duration::from_secs(5))]).await;
    let server = NatsServer::start();
    let (_workers, _lines) = model_workers(&server, &fake.base_url, 2);
    let client = client(&server).await;
    wait_for_instances(&client, 2).await;
    let relay = RelayClient::new(client, SUBJECT, RELAY_TIMEOUT);

    let events: Vec<StreamEvent> = tokio::time::timeout(
        WITHIN,
        relay
            .send_streaming(&sample_request(), Some("slow"))
            .collect(),
    )
    .await
    .expect("the request ends");

    assert!(
        !events.contains(&StreamEvent::Restart),
        "asked again: {events:?}"
    );
    let Some(StreamEvent::Done(Ok(reply))) = events.last() else {
        panic!("no answer: {events:?}");
    };
    let pieces: String = events
        .iter()
        .filter_map(|event| match event {
            StreamEvent::Piece(piece) => Some(piece.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(pieces, reply.reply);
    assert_eq!(fake.requests().len(), 1, "the model was asked once");
}
