//! Integration tests of the relay worker against a real nats-server per test.

// The fake model of the answer-source tests, for the binaries of the streaming tests.
#[allow(dead_code)]
#[path = "../answers/fake_model.rs"]
mod fake_model;
mod helpers;
mod nothing_lost;
mod streaming;
mod traces;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    sync::atomic::Ordering,
    time::Duration,
};

use async_nats::connection::State;
use bytes::Bytes;
use common::{
    payload::{ErrorBody, ErrorCode, RelayReply},
    relay_client::{RelayClient, RelayError},
    subjects::{headers, ping_subject, stats_subject, SERVICE_NAME},
    test_util::{eventually, NatsServer},
};
use futures::StreamExt;
use helpers::*;
use relay_worker::{Placeholder, WorkerSettings};
use serde_json::{json, Value};

const TIMEOUT: Duration = Duration::from_secs(10);

fn relay(client: async_nats::Client) -> RelayClient {
    RelayClient::new(client, SUBJECT, TIMEOUT)
}

#[tokio::test]
async fn a_valid_request_gets_the_placeholder_reply() {
    let server = NatsServer::start();
    let worker = spawn_worker(&server.settings(), Placeholder).await;

    let reply = relay(client(&server).await)
        .send(&valid_request(3), None)
        .await
        .unwrap();

    assert_eq!(reply, RelayReply::new(Placeholder::REPLY));
    worker.stop().await.unwrap();
}

#[tokio::test]
async fn a_request_over_the_plain_nats_wire_protocol_is_answered() {
    let server = NatsServer::start();
    let _worker = spawn_worker(&server.settings(), Placeholder).await;

    let reply = tokio::task::spawn_blocking(move || {
        let stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("INFO "), "{line}");
        let payload = r#"{"guild_id":"1","channel_id":"2","user_id":"3","content":"hi"}"#;
        write!(
            writer,
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true}}\r\n\
             SUB _INBOX.raw 1\r\nPUB tickets.relay _INBOX.raw {}\r\n{payload}\r\nPING\r\n",
            payload.len()
        )
        .unwrap();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if let Some(header) = line.strip_prefix("MSG _INBOX.raw 1 ") {
                let size: usize = header.trim().parse().unwrap();
                let mut body = vec![0; size + 2];
                reader.read_exact(&mut body).unwrap();
                body.truncate(size);
                return body;
            }
            assert!(!line.is_empty() && !line.starts_with("-ERR"), "{line}");
        }
    })
    .await
    .unwrap();

    let reply: Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(reply, json!({"reply": Placeholder::REPLY}));
}

#[tokio::test]
async fn each_kind_of_bad_payload_gets_a_400_naming_the_problem() {
    let server = NatsServer::start();
    let _worker = spawn_worker(&server.settings(), Placeholder).await;
    let client = client(&server).await;
    let long = "x".repeat(4_001);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "body: is not valid JSON"),
        (b"[1,2]".to_vec(), "body: must be a JSON object"),
        (json!({"channel_id":"2","user_id":"3","content":"hi"}).to_string().into(), "guild_id: is required"),
        (json!({"guild_id":1,"channel_id":"2","user_id":"3","content":"hi"}).to_string().into(), "guild_id: must be a string"),
        (json!({"guild_id":"1","channel_id":"two","user_id":"3","content":"hi"}).to_string().into(), "channel_id: must be a Discord ID"),
        (json!({"guild_id":"1","channel_id":"2","user_id":"123456789012345678901","content":"hi"}).to_string().into(), "user_id: must be a Discord ID"),
        (json!({"guild_id":"1","channel_id":"2","user_id":"3","content":"  "}).to_string().into(), "content: must not be empty"),
        (json!({"guild_id":"1","channel_id":"2","user_id":"3","content":long}).to_string().into(), "content: must be at most 4000 characters"),
        (json!({"guild_id":"1","channel_id":"2","user_id":"3","content":"hi","message_id":"x"}).to_string().into(), "message_id: must be a Discord ID"),
    ];

    for (payload, expected) in cases {
        let message = client
            .request(SUBJECT, Bytes::from(payload.clone()))
            .await
            .unwrap();
        let map = message.headers.as_ref().expect("error headers");
        assert_eq!(
            map.get(headers::SERVICE_ERROR_CODE).unwrap().as_str(),
            "400"
        );
        let description = map.get(headers::SERVICE_ERROR).unwrap().as_str();
        assert!(
            description.starts_with(expected),
            "{description} for {payload:?}"
        );
        let body: ErrorBody = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(body.error.code, ErrorCode::InvalidPayload);
        assert_eq!(body.error.message, description);
    }

    // The requester's view through the shared client: a rejection, not worth retrying.
    let err = relay(client)
        .send_json(Bytes::from_static(b"{}"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RelayError::Rejected { status: 400, .. }),
        "{err:?}"
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn a_failing_answer_source_gets_a_500_error_reply() {
    let server = NatsServer::start();
    let _worker = spawn_worker(&server.settings(), Failing).await;

    let err = relay(client(&server).await)
        .send(&valid_request(3), None)
        .await
        .unwrap_err();

    let RelayError::Rejected { status, body } = &err else {
        panic!("expected a rejection, got {err:?}");
    };
    assert_eq!(*status, 500);
    assert_eq!(body.error.code, ErrorCode::ResponderFailed);
    assert!(
        !body.error.message.contains("unreachable"),
        "internal cause leaked"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn three_workers_share_300_requests() {
    let server = NatsServer::start();
    let responders = [
        Counting::default(),
        Counting::default(),
        Counting::default(),
    ];
    let mut workers = Vec::new();
    for responder in &responders {
        workers.push(
            spawn_worker_with(
                &server.settings(),
                WorkerSettings::new(SUBJECT),
                responder.clone(),
            )
            .await,
        );
    }
    let client = client(&server).await;
    wait_for_instances(&client, 3).await;
    let relay = relay(client);

    let mut requests = send_at_once(&relay, 300);
    while let Some(result) = requests.next().await {
        assert_eq!(result.unwrap().reply, "counted");
    }

    let counts: Vec<usize> = responders.iter().map(Counting::count).collect();
    assert_eq!(counts.iter().sum::<usize>(), 300, "{counts:?}");
    assert!(
        counts.iter().all(|&count| count > 0),
        "a worker got nothing: {counts:?}"
    );
    for worker in workers {
        worker.stop().await.unwrap();
    }
}

#[tokio::test]
async fn service_discovery_finds_every_instance_and_counts_requests_and_errors() {
    let server = NatsServer::start();
    let _workers = [
        spawn_worker_with(
            &server.settings(),
            WorkerSettings::new(SUBJECT),
            Placeholder,
        )
        .await,
        spawn_worker_with(
            &server.settings(),
            WorkerSettings::new(SUBJECT),
            Placeholder,
        )
        .await,
    ];
    let client = client(&server).await;
    wait_for_instances(&client, 2).await;

    let pongs = collect_replies(&client, &ping_subject(SERVICE_NAME), 3).await;
    assert_eq!(pongs.len(), 2, "{pongs:?}");
    assert!(pongs
        .iter()
        .all(|p| p["name"] == SERVICE_NAME && p["version"] == env!("CARGO_PKG_VERSION")));
    assert_ne!(pongs[0]["id"], pongs[1]["id"]);
    let all_services = collect_replies(&client, "$SRV.PING", 3).await;
    assert_eq!(all_services.len(), 2);

    let relay = relay(client.clone());
    for i in 0..5 {
        relay.send(&valid_request(i), None).await.unwrap();
    }
    for _ in 0..3 {
        relay
            .send_json(Bytes::from_static(b"nope"), None)
            .await
            .unwrap_err();
    }

    let stats = collect_replies(&client, &stats_subject(SERVICE_NAME), 3).await;
    assert_eq!(stats.len(), 2);
    let total = |field: &str| -> u64 {
        stats
            .iter()
            .map(|s| s["endpoints"][0][field].as_u64().unwrap())
            .sum()
    };
    assert_eq!(total("num_requests"), 8, "{stats:?}");
    assert_eq!(total("num_errors"), 3, "{stats:?}");
    assert!(stats.iter().all(
        |s| s["endpoints"][0]["subject"] == SUBJECT && s["endpoints"][0]["queue_group"] == "q"
    ));
}

#[tokio::test]
async fn slow_answers_are_handled_concurrently() {
    let server = NatsServer::start();
    let slow = Slow::new(Duration::from_secs(1));
    let _worker = spawn_worker(&server.settings(), slow.clone()).await;
    // A 1 s responder: one at a time, 200 requests would need 200 s; each request gets 60 s.
    let relay = RelayClient::new(client(&server).await, SUBJECT, Duration::from_secs(60));

    let mut requests = send_at_once(&relay, 200);
    let mut answered = 0;
    while let Some(result) = requests.next().await {
        assert!(result.unwrap().reply.starts_with("slow answer"));
        answered += 1;
    }

    assert_eq!(answered, 200);
    assert_eq!(slow.started.load(Ordering::SeqCst), 200);
}

#[tokio::test]
async fn a_full_worker_answers_busy_at_once_instead_of_hoarding_requests() {
    let server = NatsServer::start();
    let (held, mut starts) = Held::new();
    let settings = WorkerSettings {
        max_in_flight: 2,
        ..WorkerSettings::new(SUBJECT)
    };
    let _worker = spawn_worker_with(&server.settings(), settings, held.clone()).await;
    let client = client(&server).await;
    let raw = |i: u64| {
        let client = client.clone();
        async move {
            client
                .request(SUBJECT, valid_request(i).to_json().into())
                .await
                .expect("an answer")
        }
    };

    // Two requests fill the worker...
    let first = tokio::spawn(raw(1));
    let second = tokio::spawn(raw(2));
    for _ in 0..2 {
        starts.recv().await.expect("an answer started");
    }
    // ...so four more are refused at once, while the first two still run.
    for i in 3..7 {
        let refused = raw(i).await;
        let headers = refused.headers.as_ref().expect("error headers");
        assert_eq!(
            headers.get(headers::SERVICE_ERROR_CODE).unwrap().as_str(),
            "503"
        );
        let body: ErrorBody = serde_json::from_slice(&refused.payload).unwrap();
        assert_eq!(body.error.code, ErrorCode::Busy);
    }
    held.release(2);
    for answered in [first.await.unwrap(), second.await.unwrap()] {
        let reply: RelayReply = serde_json::from_slice(&answered.payload).unwrap();
        assert_eq!(reply.reply, "held");
    }
    assert!(
        starts.try_recv().is_err(),
        "no refused request reached the answer source"
    );

    let stats = collect_replies(&client, &stats_subject(SERVICE_NAME), 1).await;
    let endpoint = &stats[0]["endpoints"][0];
    assert_eq!(endpoint["num_requests"], 6, "{endpoint}");
    assert_eq!(
        endpoint["num_errors"], 4,
        "busy answers count as errors: {endpoint}"
    );
    assert_eq!(endpoint["data"]["busy"], 4, "{endpoint}");
}

#[tokio::test]
async fn the_worker_reconnects_after_nats_server_restarts() {
    let mut server = NatsServer::start();
    let _worker = spawn_worker(&server.settings(), Placeholder).await;
    let relay = relay(
        common::nats::connect(&server.settings(), "test-requester")
            .await
            .unwrap(),
    );
    eventually("first answer", READY_WITHIN, || async {
        relay.send(&valid_request(1), None).await.ok()
    })
    .await;

    server.stop();
    eventually("the client to notice", READY_WITHIN, || async {
        (relay.nats().connection_state() != State::Connected).then_some(())
    })
    .await;
    let err = relay.send(&valid_request(2), None).await.unwrap_err();
    assert_eq!(
        err,
        RelayError::Disconnected,
        "fails at once while disconnected"
    );
    server.restart();

    let reply = eventually("answer after restart", Duration::from_secs(20), || async {
        relay.send(&valid_request(3), None).await.ok()
    })
    .await;
    assert_eq!(reply.reply, Placeholder::REPLY);
}

#[tokio::test]
async fn shutdown_answers_every_request_already_in_flight() {
    let server = NatsServer::start();
    let slow = Slow::new(Duration::from_millis(800));
    let worker = spawn_worker(&server.settings(), slow.clone()).await;
    let relay = relay(client(&server).await);

    let requests = tokio::spawn(async move {
        let requests = send_at_once(&relay, 20);
        requests.collect::<Vec<_>>().await
    });
    eventually("20 answers in flight", READY_WITHIN, || async {
        (slow.started.load(Ordering::SeqCst) == 20).then_some(())
    })
    .await;
    worker.stop().await.expect("clean shutdown");

    let results = requests.await.unwrap();
    assert_eq!(results.len(), 20);
    for result in results {
        assert!(result.unwrap().reply.starts_with("slow answer"));
    }
}

#[tokio::test]
async fn a_worker_cut_off_from_nats_stops_within_its_shutdown_timeout() {
    let mut server = NatsServer::start();
    let slow = Slow::new(Duration::from_secs(60));
    let shutdown_timeout = Duration::from_secs(5);
    let settings = WorkerSettings {
        shutdown_timeout,
        ..WorkerSettings::new(SUBJECT)
    };
    let worker = spawn_worker_with(&server.settings(), settings, slow.clone()).await;
    let relay = relay(client(&server).await);
    let request = tokio::spawn(async move { relay.send(&valid_request(1), None).await });
    eventually("an answer in flight", READY_WITHIN, || async {
        (slow.started.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;

    // Its reply can go nowhere now: shutdown must still end, as a supervisor's grace period
    // expects (compose gives the worker 40 s against the default 30 s timeout).
    server.stop();
    let stopping = std::time::Instant::now();
    let outcome = worker.stop().await;
    let took = stopping.elapsed();
    request.abort();
    assert!(outcome.is_err(), "an answer was left unsent: {outcome:?}");
    let bound = shutdown_timeout + relay_worker::FLUSH_GRACE + Duration::from_millis(2500);
    assert!(took < bound, "shutdown took {took:?}, more than {bound:?}");
}

#[tokio::test]
async fn no_worker_means_no_responders_at_once() {
    let server = NatsServer::start();
    let err = relay(client(&server).await)
        .send(&valid_request(1), None)
        .await
        .unwrap_err();
    assert_eq!(err, RelayError::NoWorkers);
}

#[tokio::test]
async fn the_binary_logs_in_house_format_and_exits_0_on_sigterm() {
    let server = NatsServer::start();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_relay-worker"))
        .env("NATS_URL", server.url())
        .env("LOG_LEVEL", "info")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let client = client(&server).await;
    wait_for_instances(&client, 1).await;
    let reply = relay(client).send(&valid_request(7), None).await.unwrap();
    assert_eq!(reply.reply, Placeholder::REPLY);

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || {
        let exit = child.wait().unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        (exit, out)
    })
    .await
    .unwrap();

    assert!(exit.0.success(), "{:?}\n{}", exit.0, exit.1);
    let lines: Vec<&str> = exit.1.lines().collect();
    assert!(
        lines.iter().all(|l| l.starts_with("[WORKER] ")),
        "{}",
        exit.1
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("[WORKER] INFO - relay request") && l.contains("user_id=7")),
        "{}",
        exit.1
    );
    assert!(
        lines.iter().any(|l| l.contains("relay worker stopped")),
        "{}",
        exit.1
    );
}
