//! Integration tests of the deployment's broker side: the real stack against the repo's
//! least-privilege nats-server config (what each service's user may and may not do), and
//! workers scaling out across a cluster of two nats-servers joined by routes.

mod helpers;

use bytes::Bytes;
use common::{
    payload::{ErrorCode, RelayReply},
    relay_client::{RelayClient, RelayError},
    relay_stream::StreamEvent,
    subjects::{headers, ping_subject, QUEUE_GROUP, SERVICE_NAME},
    test_util::{eventually, NatsServer},
};
use futures::StreamExt;
use helpers::*;
use relay_worker::Placeholder;
use serde_json::Value;

fn relay(client: async_nats::Client) -> RelayClient {
    RelayClient::new(client, SUBJECT, WITHIN)
}

#[tokio::test]
async fn bot_and_http_users_get_the_placeholder_reply_from_a_worker_user() {
    let broker = LeastPrivilegeServer::start();
    let worker = spawn_worker(&broker).await;

    for user in REQUESTERS {
        // Connected exactly as the bot and relay-http binaries connect.
        let client = common::nats::connect(&broker.settings_for(user), user)
            .await
            .expect("connect");
        let reply = first_reply(&relay(client)).await;
        assert_eq!(reply.reply, Placeholder::REPLY, "as {user}");
    }

    worker.stop().await.expect("the worker stops cleanly");
    broker.assert_no_violations();
}

#[tokio::test]
async fn error_replies_reach_the_requester_and_their_copy_reaches_the_errors_subject() {
    let broker = LeastPrivilegeServer::start();
    let worker = spawn_worker(&broker).await;
    let (admin, _) = broker.connect_as("admin").await;
    let mut errors = admin.subscribe(ERRORS_SUBJECT).await.expect("subscribe");
    admin.flush().await.expect("flush");
    let (bot, _) = broker.connect_as("bot").await;
    let relay = relay(bot);
    first_reply(&relay).await;

    let refused = relay
        .send_json(Bytes::from_static(b"{\"guild_id\":\"1\"}"), None)
        .await
        .expect_err("an invalid request is refused");
    match refused {
        RelayError::Rejected { status, body } => {
            assert_eq!(status, 400);
            assert_eq!(body.error.code, ErrorCode::InvalidPayload);
        }
        other => panic!("expected a 400 error reply, got {other:?}"),
    }
    // The worker user may publish the services API's header-only copy of the error.
    let copy = tokio::time::timeout(WITHIN, errors.next())
        .await
        .expect("the error copy arrives")
        .expect("subscription open");
    let code = copy
        .headers
        .as_ref()
        .and_then(|map| map.get(headers::SERVICE_ERROR_CODE))
        .map(|value| value.as_str().to_owned());
    assert_eq!(code.as_deref(), Some("400"));

    worker.stop().await.expect("the worker stops cleanly");
    broker.assert_no_violations();
}

#[tokio::test]
async fn workers_answer_service_discovery_under_their_permissions() {
    let broker = LeastPrivilegeServer::start();
    let worker = spawn_worker(&broker).await;
    let (admin, _) = broker.connect_as("admin").await;
    let (bot, _) = broker.connect_as("bot").await;
    first_reply(&relay(bot)).await;

    for subject in ["$SRV.PING".to_owned(), ping_subject(SERVICE_NAME)] {
        let reply = admin
            .request(subject.clone(), Bytes::new())
            .await
            .expect("ping answered");
        let info: Value = serde_json::from_slice(&reply.payload).expect("JSON");
        assert_eq!(info["name"], SERVICE_NAME, "{subject}");
        let id = info["id"].as_str().expect("id").to_owned();
        let by_id = admin
            .request(format!("$SRV.INFO.{SERVICE_NAME}.{id}"), Bytes::new())
            .await
            .expect("info by id answered");
        let info: Value = serde_json::from_slice(&by_id.payload).expect("JSON");
        assert_eq!(info["endpoints"][0]["queue_group"], QUEUE_GROUP);
        let stats = admin
            .request(format!("$SRV.STATS.{SERVICE_NAME}"), Bytes::new())
            .await
            .expect("stats answered");
        let stats: Value = serde_json::from_slice(&stats.payload).expect("JSON");
        assert!(stats["endpoints"][0]["num_requests"].as_u64() >= Some(1));
    }

    // relay-http's `/health?deep=true` counts workers with this ping.
    let (http, _) = broker.connect_as("http").await;
    let pong = http
        .request(ping_subject(SERVICE_NAME), Bytes::new())
        .await
        .expect("the http user's ping is answered");
    let pong: Value = serde_json::from_slice(&pong.payload).expect("JSON");
    assert_eq!(pong["name"], SERVICE_NAME);

    worker.stop().await.expect("the worker stops cleanly");
    broker.assert_no_violations();
}

#[tokio::test]
async fn bot_and_http_users_cannot_listen_on_the_relay_subject() {
    let broker = LeastPrivilegeServer::start();
    let worker = spawn_worker(&broker).await;
    let (http, _) = broker.connect_as("http").await;
    let relay = relay(http);
    first_reply(&relay).await;

    for user in REQUESTERS {
        let (client, mut events) = broker.connect_as(user).await;
        let mut eavesdropper = client
            .subscribe(SUBJECT)
            .await
            .expect("the client sends SUB");
        events
            .permissions_violation(&format!("Subscription to \"{SUBJECT}\""))
            .await;
        // Joining the workers' queue group is refused too.
        let mut impostor = client
            .queue_subscribe(SUBJECT, QUEUE_GROUP.to_owned())
            .await
            .expect("the client sends SUB");
        events
            .permissions_violation(&format!("Subscription to \"{SUBJECT}\""))
            .await;

        // Requests keep flowing to the worker, and none reaches this client.
        for _ in 0..5 {
            relay.send(&sample_request(), None).await.expect("answered");
        }
        client.flush().await.expect("flush");
        assert_received_nothing(&mut eavesdropper, &format!("{user}'s subscription"));
        assert_received_nothing(&mut impostor, &format!("{user}'s queue subscription"));
    }

    let logs = broker.logs();
    for user in REQUESTERS {
        let logged = logs.lines().any(|line| {
            line.contains("Subscription Violation")
                && line.contains(&format!("User \"{user}\""))
                && line.contains(&format!("Subject \"{SUBJECT}\""))
        });
        assert!(
            logged,
            "the server logs the refused subscription of {user}:\n{logs}"
        );
    }
    worker.stop().await.expect("the worker stops cleanly");
}

#[tokio::test]
async fn bot_and_http_users_cannot_read_each_others_replies() {
    let broker = LeastPrivilegeServer::start();
    let worker = spawn_worker(&broker).await;

    for (user, other) in [("bot", "http"), ("http", "bot")] {
        let (client, mut events) = broker.connect_as(user).await;
        // Subscribing to the other's inboxes is refused outright.
        let other_inboxes = format!("_INBOX.{other}.>");
        let mut refused = client
            .subscribe(other_inboxes.clone())
            .await
            .expect("the client sends SUB");
        events
            .permissions_violation(&format!("Subscription to \"{other_inboxes}\""))
            .await;
        // `_INBOX.>` stays allowed for standard clients, but the server withholds what the
        // deny covers: the other's replies never arrive.
        let mut wildcard = client.subscribe("_INBOX.>").await.expect("subscribe");
        client.flush().await.expect("flush");

        let (victim, _) = broker.connect_as(other).await;
        let victim = relay(victim);
        first_reply(&victim).await;
        victim
            .send(&sample_request(), None)
            .await
            .expect("answered");
        client.flush().await.expect("flush");
        assert_received_nothing(&mut refused, &format!("{user} on {other_inboxes}"));
        assert_received_nothing(&mut wildcard, &format!("{user} on _INBOX.>"));
    }
    worker.stop().await.expect("the worker stops cleanly");
}

#[tokio::test]
async fn a_standard_client_with_the_bot_user_and_default_inboxes_gets_replies() {
    let broker = LeastPrivilegeServer::start();
    let worker = spawn_worker(&broker).await;
    // Like `nats --user bot req tickets.relay ...`: the default `_INBOX` prefix.
    let client = async_nats::ConnectOptions::with_user_and_password(
        "bot".to_owned(),
        LeastPrivilegeServer::password("bot").to_owned(),
    )
    .connect(broker.url())
    .await
    .expect("connect");
    let reply = eventually("a reply on a default inbox", WITHIN, || async {
        client
            .request(SUBJECT, sample_request().to_json().into())
            .await
            .ok()
    })
    .await;
    let body: Value = serde_json::from_slice(&reply.payload).expect("json");
    assert_eq!(body["reply"], Placeholder::REPLY);
    worker.stop().await.expect("the worker stops cleanly");
}

#[tokio::test]
async fn bot_and_http_users_cannot_answer_requests() {
    let broker = LeastPrivilegeServer::start();
    let (admin, _) = broker.connect_as("admin").await;

    for user in REQUESTERS {
        // Where a requester waits for its answer. (No request is sent: with no worker the
        // server would answer it at once with a no-responders status on this very inbox.)
        let inbox = admin.new_inbox();
        let mut replies = admin.subscribe(inbox.clone()).await.expect("subscribe");
        admin.flush().await.expect("flush");

        let (client, mut events) = broker.connect_as(user).await;
        client
            .publish(inbox.clone(), Bytes::from_static(b"{\"reply\":\"forged\"}"))
            .await
            .expect("the client sends PUB");
        client.flush().await.expect("flush");
        events
            .permissions_violation(&format!("Publish to \"{inbox}\""))
            .await;
        admin.flush().await.expect("flush");
        assert_received_nothing(&mut replies, "the requester's inbox");
    }
}

#[tokio::test]
async fn the_worker_user_cannot_publish_requests_nor_listen_outside_its_queue_group() {
    let broker = LeastPrivilegeServer::start();
    let (client, mut events) = broker.connect_as("worker").await;

    client
        .publish(SUBJECT, Bytes::from(sample_request().to_json()))
        .await
        .expect("the client sends PUB");
    events
        .permissions_violation(&format!("Publish to \"{SUBJECT}\""))
        .await;

    let mut outside_group = client
        .subscribe(SUBJECT)
        .await
        .expect("the client sends SUB");
    events
        .permissions_violation(&format!("Subscription to \"{SUBJECT}\""))
        .await;
    let mut other_group = client
        .queue_subscribe(SUBJECT, "other".to_owned())
        .await
        .expect("the client sends SUB");
    events
        .permissions_violation(&format!("Subscription to \"{SUBJECT}\""))
        .await;

    // An allowed requester's message reaches neither subscription.
    let (bot, _) = broker.connect_as("bot").await;
    bot.publish(SUBJECT, Bytes::from(sample_request().to_json()))
        .await
        .expect("publish");
    bot.flush().await.expect("flush");
    client.flush().await.expect("flush");
    assert_received_nothing(&mut outside_group, "a worker subscription outside group q");
    assert_received_nothing(&mut other_group, "a worker subscription in another group");
}

#[tokio::test]
async fn a_worker_on_one_cluster_node_answers_a_request_published_on_the_other() {
    let (route_a, route_b) = (free_port(), free_port());
    let node = |name: &str, own: u16, peer: u16| {
        NatsServer::builder()
            .arg("--name")
            .arg(name)
            .arg("--cluster_name")
            .arg("relay-test")
            .arg("--cluster")
            .arg(format!("nats://127.0.0.1:{own}"))
            .arg("--routes")
            .arg(format!("nats://127.0.0.1:{peer}"))
            // Clients then only know the node they were given, so the worker really stays
            // on A and the requester on B.
            .arg("--no_advertise")
            .start()
    };
    let node_a = node("node-a", route_a, route_b);
    let node_b = node("node-b", route_b, route_a);

    let worker_client = common::nats::connect(&node_a.settings(), "worker-on-a")
        .await
        .expect("connect");
    let worker = serve(worker_client.clone());
    let requester = common::nats::connect(&node_b.settings(), "requester-on-b")
        .await
        .expect("connect");
    let relay = relay(requester.clone());

    // Until the route is up and has carried the worker's interest, B has no responders.
    let reply = first_reply(&relay).await;
    assert_eq!(reply.reply, Placeholder::REPLY);
    assert_eq!(worker_client.server_info().port, node_a.port());
    assert_eq!(requester.server_info().port, node_b.port());
    // Service discovery spans the cluster too: `nats micro stats` on B sees A's worker.
    let answered = eventually("B's view of A's worker", WITHIN, || async {
        let stats = requester
            .request(format!("$SRV.STATS.{SERVICE_NAME}"), Bytes::new())
            .await
            .ok()?;
        serde_json::from_slice::<Value>(&stats.payload).ok()
    })
    .await;
    assert!(answered["endpoints"][0]["num_requests"].as_u64() >= Some(1));

    worker.stop().await.expect("the worker stops cleanly");
    assert!(
        node_a.logs().contains("Route connection created"),
        "A logs its route to B:\n{}",
        node_a.logs()
    );
}

#[tokio::test]
async fn a_worker_streams_to_the_bot_and_http_stream_subjects_under_its_permissions() {
    let broker = LeastPrivilegeServer::start();
    let worker = spawn_worker_answering(&broker, Streaming).await;

    for user in REQUESTERS {
        // Connected exactly as the bot and relay-http binaries connect (inbox `_INBOX.<user>`).
        let client = common::nats::connect(&broker.settings_for(user), user)
            .await
            .expect("connect");
        let relay = relay(client);
        first_reply(&relay).await;
        let events: Vec<StreamEvent> = relay
            .send_streaming(&sample_request(), None)
            .collect()
            .await;
        let expected: Vec<StreamEvent> = STREAMED
            .iter()
            .map(|piece| StreamEvent::Piece((*piece).to_owned()))
            .chain([StreamEvent::Done(Ok(RelayReply::new(STREAMED.concat())))])
            .collect();
        assert_eq!(events, expected, "as {user}");
    }

    worker.stop().await.expect("the worker stops cleanly");
    broker.assert_no_violations();
}

#[tokio::test]
async fn only_workers_publish_stream_events_and_only_on_stream_subjects() {
    let broker = LeastPrivilegeServer::start();
    let (admin, _) = broker.connect_as("admin").await;
    let (worker, mut worker_events) = broker.connect_as("worker").await;

    // The bot and http cannot write into each other's stream (nor their own: no requester
    // publishes to an inbox).
    for (user, other) in [("bot", "http"), ("http", "bot"), ("bot", "bot")] {
        let subject = format!("_INBOX.{other}.stream.forged");
        let mut stream = admin.subscribe(subject.clone()).await.expect("subscribe");
        admin.flush().await.expect("flush");
        let (client, mut events) = broker.connect_as(user).await;
        client
            .publish(subject.clone(), Bytes::from_static(b"forged piece"))
            .await
            .expect("the client sends PUB");
        client.flush().await.expect("flush");
        events
            .permissions_violation(&format!("Publish to \"{subject}\""))
            .await;
        admin.flush().await.expect("flush");
        assert_received_nothing(&mut stream, &format!("{user} on {subject}"));
    }

    // The worker's allow covers stream subjects alone, not the requesters' reply inboxes.
    let inbox = "_INBOX.bot.not-a-stream";
    let mut replies = admin.subscribe(inbox).await.expect("subscribe");
    admin.flush().await.expect("flush");
    worker
        .publish(inbox, Bytes::from_static(b"{\"reply\":\"unasked\"}"))
        .await
        .expect("the client sends PUB");
    worker.flush().await.expect("flush");
    worker_events
        .permissions_violation(&format!("Publish to \"{inbox}\""))
        .await;
    admin.flush().await.expect("flush");
    assert_received_nothing(&mut replies, "a plain inbox written by a worker");
}
