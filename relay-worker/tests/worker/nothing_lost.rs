//! Nothing lost: requests routed to a stopping worker are answered, a full worker sends work
//! elsewhere, expired requests are never worked on, a failing answer source fails one request
//! and not the worker, and no secret reaches a log line.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, SystemTime},
};

use async_nats::HeaderMap;
use common::{
    payload::{ErrorCode, RelayReply, RelayRequest},
    relay_client::{unix_millis, RelayClient},
    subjects::{headers, stats_subject, SERVICE_NAME},
    test_util::NatsServer,
};
use futures::StreamExt;
use relay_worker::{Placeholder, Responder, ResponderError, WorkerSettings};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_under_load_loses_nothing_and_every_worker_exits_0() {
    let server = NatsServer::start();
    let client = client(&server).await;
    let quiet = [("LOG_LEVEL", "warn")];
    let mut workers = VecDeque::from([
        worker_binary(&server, &quiet),
        worker_binary(&server, &quiet),
    ]);
    wait_for_instances(&client, 2).await;

    // 16 clients send a steady stream until told to stop.
    let relay = RelayClient::new(client.clone(), SUBJECT, Duration::from_secs(10));
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let load: Vec<_> = (0..16)
        .map(|i| {
            let (relay, stop, answered) = (relay.clone(), Arc::clone(&stop), Arc::clone(&answered));
            tokio::spawn(async move {
                let mut failures = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match relay.send(&valid_request(i), None).await {
                        Ok(_) => answered.fetch_add(1, Ordering::Relaxed),
                        Err(err) => {
                            failures.push(err);
                            0
                        }
                    };
                }
                failures
            })
        })
        .collect();

    for _ in 0..4 {
        workers.push_back(worker_binary(&server, &quiet));
        wait_for_instances(&client, 3).await;
        let old = workers.pop_front().expect("an old worker");
        let before = answered.load(Ordering::Relaxed);
        sigterm(&old);
        let (status, out, err) = exited(old).await;
        assert!(
            status.success(),
            "a stopped worker exited {status:?}\n{out}\n{err}"
        );
        assert!(
            answered.load(Ordering::Relaxed) > before,
            "the load kept flowing"
        );
    }
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for task in load {
        failures.extend(task.await.expect("a load task"));
    }
    for worker in workers {
        sigterm(&worker);
        let (status, out, err) = exited(worker).await;
        assert!(status.success(), "{status:?}\n{out}\n{err}");
    }
    assert!(
        failures.is_empty(),
        "{} requests lost: {failures:?}",
        failures.len()
    );
    assert!(answered.load(Ordering::Relaxed) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_full_worker_hands_its_excess_to_a_free_one() {
    let server = NatsServer::start();
    let slow = Slow::new(Duration::from_millis(300));
    let fast = Counting::default();
    let slow_settings = WorkerSettings {
        max_in_flight: 2,
        ..WorkerSettings::new(SUBJECT)
    };
    let _slow = spawn_worker_with(&server.settings(), slow_settings, slow.clone()).await;
    let _fast = spawn_worker(&server.settings(), fast.clone()).await;
    let client = client(&server).await;
    let relay = RelayClient::new(client.clone(), SUBJECT, Duration::from_secs(30));

    let mut requests = send_at_once(&relay, 200);
    let mut answered = 0;
    while let Some(result) = requests.next().await {
        result.expect("every request is answered");
        answered += 1;
    }

    assert_eq!(answered, 200);
    let started = slow.started.load(Ordering::SeqCst);
    assert_eq!(started + fast.count(), 200, "each request answered once");
    assert!(fast.count() > started, "the free worker took the excess");
    let stats = collect_replies(&client, &stats_subject(SERVICE_NAME), 2).await;
    let busy: u64 = stats
        .iter()
        .map(|s| s["endpoints"][0]["data"]["busy"].as_u64().unwrap_or(0))
        .sum();
    let errors: u64 = stats
        .iter()
        .map(|s| s["endpoints"][0]["num_errors"].as_u64().unwrap_or(0))
        .sum();
    assert!(busy > 0, "the slow worker was full at times: {stats:?}");
    assert_eq!(
        errors, busy,
        "busy answers are counted as errors: {stats:?}"
    );
}

#[tokio::test]
async fn a_request_past_its_deadline_never_reaches_the_answer_source() {
    let server = NatsServer::start();
    let counting = Counting::default();
    let _worker = spawn_worker(&server.settings(), counting.clone()).await;
    let client = client(&server).await;

    let expired_inbox = client.new_inbox();
    let mut expired_replies = client.subscribe(expired_inbox.clone()).await.unwrap();
    let mut map = HeaderMap::new();
    let past = unix_millis(SystemTime::now() - Duration::from_secs(5));
    map.insert(headers::DEADLINE, past.to_string().as_str());
    client
        .publish_with_reply_and_headers(
            SUBJECT,
            expired_inbox,
            map,
            valid_request(1).to_json().into(),
        )
        .await
        .unwrap();
    // The worker reads its requests in order: once the next one is answered, the expired one
    // has been dealt with.
    let fresh = client
        .request(SUBJECT, valid_request(2).to_json().into())
        .await
        .unwrap();
    let reply: RelayReply = serde_json::from_slice(&fresh.payload).unwrap();
    assert_eq!(reply.reply, "counted");
    client.flush().await.unwrap();

    assert_eq!(counting.count(), 1, "only the fresh request was answered");
    assert!(
        futures::FutureExt::now_or_never(expired_replies.next()).is_none(),
        "nobody waits for an expired request: no answer is sent"
    );
    let stats = collect_replies(&client, &stats_subject(SERVICE_NAME), 1).await;
    assert_eq!(stats[0]["endpoints"][0]["data"]["expired"], 1, "{stats:?}");
}

/// Panics on `panic`, never answers `hang`, answers anything else.
struct Unruly;

impl Responder for Unruly {
    async fn respond(&self, request: RelayRequest) -> Result<RelayReply, ResponderError> {
        match request.content.as_str() {
            "panic" => panic!("the answer source fell over"),
            "hang" => std::future::pending().await,
            _ => Ok(RelayReply::new("fine")),
        }
    }
}

#[tokio::test]
async fn a_panicking_or_hanging_answer_source_fails_that_request_and_the_worker_serves_on() {
    let server = NatsServer::start();
    let settings = WorkerSettings {
        responder_timeout: Duration::from_secs(1),
        ..WorkerSettings::new(SUBJECT)
    };
    let _worker = spawn_worker_with(&server.settings(), settings, Unruly).await;
    let relay = RelayClient::new(client(&server).await, SUBJECT, Duration::from_secs(10));
    let saying = |content: &str| {
        let mut request = valid_request(1);
        request.content = common::payload::MessageContent::parse(content.to_owned()).unwrap();
        request
    };

    for content in ["panic", "hang", "panic"] {
        match relay.send(&saying(content), None).await {
            Err(common::relay_client::RelayError::Rejected { status, body }) => {
                assert_eq!(status, 502, "{content}");
                assert_eq!(
                    body.error.code,
                    ErrorCode::ResponderUnavailable,
                    "{content}"
                );
                assert!(
                    !body.error.message.contains("fell over"),
                    "no internals leak"
                );
            }
            other => panic!("{content}: expected a 502 reply, got {other:?}"),
        }
        let reply = relay.send(&saying("still there?"), None).await.unwrap();
        assert_eq!(reply.reply, "fine", "the worker serves on after {content}");
    }
}

#[tokio::test]
async fn nats_credentials_in_nats_url_never_reach_the_logs() {
    let server = NatsServer::start();
    let url = format!("nats://relay:hunter2@127.0.0.1:{}", server.port());
    let child = worker_binary(
        &server,
        &[("NATS_URL", url.as_str()), ("LOG_LEVEL", "debug")],
    );
    let client = client(&server).await;
    wait_for_instances(&client, 1).await;
    let relay = RelayClient::new(client, SUBJECT, Duration::from_secs(10));
    assert_eq!(
        relay.send(&valid_request(1), None).await.unwrap().reply,
        Placeholder::REPLY
    );
    sigterm(&child);
    let (status, out, err) = exited(child).await;

    assert!(status.success(), "{status:?}\n{out}\n{err}");
    assert!(out.contains("connecting to NATS"), "{out}");
    assert!(out.contains("nats://***@127.0.0.1"), "{out}");
    assert!(
        !out.contains("hunter2") && !err.contains("hunter2"),
        "{out}\n{err}"
    );
}

#[tokio::test]
async fn a_broken_env_line_is_named_by_number_and_not_shown() {
    let server = NatsServer::start();
    let dir = std::env::temp_dir().join(format!("relay-env-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(".env"),
        "LOG_LEVEL=info\nNATS_PASSWORD=\"hunter2\n",
    )
    .unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_relay-worker"))
        .current_dir(&dir)
        .env("NATS_URL", server.url())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (status, out, err) = exited(child).await;
    let _ = std::fs::remove_dir_all(&dir);

    assert!(!status.success());
    assert!(err.contains(".env: line 2 cannot be parsed"), "{err}");
    assert!(
        !err.contains("hunter2") && !out.contains("hunter2"),
        "{out}\n{err}"
    );
}

#[tokio::test]
async fn huge_numeric_settings_are_refused_by_name_without_a_panic() {
    let server = NatsServer::start();
    for (key, value) in [
        ("RELAY_MAX_IN_FLIGHT", "18446744073709551615"),
        ("SHUTDOWN_TIMEOUT_SECS", "18446744073709551615"),
        ("SHUTDOWN_TIMEOUT_SECS", "0"),
        ("RESPONDER_TIMEOUT_SECS", "99999999999"),
    ] {
        let child = worker_binary(&server, &[(key, value)]);
        let (status, out, err) = exited(child).await;
        assert!(!status.success(), "{key}={value} accepted");
        assert!(err.contains(key), "{key}={value}: {err}");
        assert!(!err.contains("panicked"), "{key}={value}: {err}");
        let _ = out;
    }
}
