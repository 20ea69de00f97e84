//! The bot's JetStream stores under `nats/least-privilege.conf`: the real [`Registry`],
//! [`Archive`] and [`Claims`] code, logged in as the `bot` user, creates and uses its buckets
//! (guilds, tickets, votes on answers, claims) and its transcript archive with no permissions
//! violation (two registries watching each other included), and the worker and HTTP users
//! cannot read what it stored.

use std::time::Duration;

use bot::{
    archive::{self, Archive},
    claims::Claims,
    identify::{self, IdentifyGate},
    registry::{
        Feedback, HumanRequest, Registry, TicketEntry, Vote, Voted, FEEDBACK_BUCKET, GUILDS_BUCKET,
        TICKETS_BUCKET,
    },
};
use common::test_util::{eventually, LeastPrivilegeServer};
use futures::future::join_all;
use serenity::all::{ChannelId, GuildId, MessageId, Timestamp, UserId};

/// Longer than any test: no claim of these tests goes stale unless a test says so.
const CLAIMS_STALE_AFTER: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_claim_left_acting_is_taken_over_once_stale_and_a_fresh_or_done_one_is_respected() {
    let broker = LeastPrivilegeServer::start_jetstream();
    let (bot, _events) = broker.connect_as("bot").await;
    let message = MessageId::new(50);
    // A process claims the message, then crashes: it neither acts nor releases the claim.
    let crashed = Claims::new(bot.clone(), CLAIMS_STALE_AFTER);
    assert!(crashed.claim(message).await);

    let patient = Claims::new(bot.clone(), CLAIMS_STALE_AFTER);
    assert!(
        !patient.claim(message).await,
        "a claim younger than the budget is respected"
    );
    // For this process every claim still acting is stale.
    let successor = Claims::new(bot.clone(), Duration::ZERO);
    assert!(
        successor.claim(message).await,
        "the stale claim is taken over"
    );
    assert!(
        !patient.claim(message).await,
        "the claim taken over is fresh again"
    );
    // The successor acts and says so: a claim marked done is never taken over.
    successor.settle(message).await;
    let eager = Claims::new(bot.clone(), Duration::ZERO);
    assert!(
        !eager.claim(message).await,
        "a done claim is respected, however old"
    );
    broker.assert_no_violations();
}

#[tokio::test]
async fn the_registry_works_as_the_bot_user_and_other_users_are_refused() {
    let broker = LeastPrivilegeServer::start_jetstream();
    let (bot, _events) = broker.connect_as("bot").await;
    let registry = Registry::open(bot.clone())
        .await
        .expect("buckets created as bot");
    let (guild, channel, owner) = (GuildId::new(1), ChannelId::new(42), UserId::new(7));
    let opened = Timestamp::from_unix_timestamp(1_790_000_000).unwrap();
    registry
        .put_ticket(channel, TicketEntry::opened(guild, owner, opened))
        .await
        .unwrap();
    registry.touch(channel, Timestamp::now()).await.unwrap();
    registry.answered(channel, Timestamp::now()).await.unwrap();
    assert!(matches!(
        registry.request_human(channel, Timestamp::now()).await,
        Ok(HumanRequest::Requested(_))
    ));
    registry
        .staff_wrote(channel, Timestamp::now(), owner)
        .await
        .unwrap();
    let mut vote = Feedback {
        guild_id: guild,
        channel_id: channel,
        answer_message_id: MessageId::new(43),
        source: Some("knowledge".to_owned()),
        vote: Vote::Up,
        user_id: owner,
        at: Timestamp::now(),
    };
    assert_eq!(registry.record_vote(&vote).await.unwrap(), Voted::Counted);
    vote.vote = Vote::Down;
    assert_eq!(registry.record_vote(&vote).await.unwrap(), Voted::Changed);
    assert_eq!(registry.vote(MessageId::new(43)).await.unwrap(), Some(vote));
    // The statistics' scan sees what was written since the bucket was opened (empty).
    assert_eq!(
        registry.guild_tickets(guild, opened).await.unwrap().len(),
        1
    );
    // A restart reads everything back (keys and gets), and the statistics scan the bucket.
    let again = Registry::open(bot.clone()).await.expect("loaded as bot");
    let stored = again.open_ticket(channel).expect("still open");
    assert!(stored.last_activity > opened);
    assert_eq!(
        (stored.answers, stored.feedback_up, stored.feedback_down),
        (1, 0, 1)
    );
    assert!(stored.human_requested_at.is_some() && stored.staff_replied_at.is_some());
    assert!(!stored.awaiting_staff, "staff wrote after the request");
    let scanned = again.guild_tickets(guild, opened).await.unwrap();
    assert_eq!(scanned, vec![stored]);
    // Each sees what the other writes, by its watch.
    let other = ChannelId::new(43);
    again
        .put_ticket(other, TicketEntry::opened(guild, UserId::new(8), opened))
        .await
        .unwrap();
    eventually(
        "the first registry to see the second's ticket",
        Duration::from_secs(10),
        || {
            let seen = registry.is_open_ticket(other);
            async move { seen.then_some(()) }
        },
    )
    .await;
    let of_seven = again.find_tickets(|t| t.owner_id == owner).await.unwrap();
    assert_eq!(of_seven.len(), 1);

    // The archive: created, written, read back.
    let archive = Archive::new(bot.clone());
    archive
        .put(&archive::transcript_txt(channel), b"the transcript")
        .await
        .expect("archived as bot");
    assert_eq!(
        archive
            .get(&archive::transcript_txt(channel))
            .await
            .unwrap(),
        Some(b"the transcript".to_vec())
    );
    assert_eq!(archive.get("42/absent").await.unwrap(), None);
    assert!(archive.attachments(channel).await.unwrap().is_empty());

    // The claims: one process takes a message; a release lets another start take it.
    let (first, second) = (
        Claims::new(bot.clone(), CLAIMS_STALE_AFTER),
        Claims::new(bot.clone(), CLAIMS_STALE_AFTER),
    );
    let message = MessageId::new(40);
    assert!(first.claim(message).await);
    assert!(!second.claim(message).await);
    first.release(message).await;
    assert!(second.claim(message).await);
    broker.assert_no_violations();

    // A refused JetStream request is never answered: only its timeout ends it, so the users
    // and the stores are tried side by side, with a short timeout where the test picks the
    // context.
    let refusals = ["worker", "http"].map(|user| {
        let broker = &broker;
        async move {
            let (client, mut events) = broker.connect_as(user).await;
            let js = async_nats::jetstream::ContextBuilder::new()
                .timeout(REFUSED_WAIT)
                .build(client.clone());
            let opens = [GUILDS_BUCKET, TICKETS_BUCKET, FEEDBACK_BUCKET].map(|bucket| {
                let js = js.clone();
                async move { (bucket, js.get_key_value(bucket).await.is_err()) }
            });
            let archive = Archive::new(client.clone());
            let (opens, registry, archived) = tokio::join!(
                join_all(opens),
                Registry::open(client.clone()),
                archive.get("42/transcript.txt"),
            );
            for (bucket, refused) in opens {
                assert!(refused, "{user} may not open {bucket}");
            }
            assert!(registry.is_err(), "{user} cannot run the registry");
            assert!(archived.is_err(), "{user} cannot read the archive");
            assert!(
                !events.reported_violations().is_empty(),
                "the server told {user} of its refusals"
            );
        }
    });
    join_all(refusals).await;
}

/// How long a refused request waits for the answer that never comes.
const REFUSED_WAIT: Duration = Duration::from_secs(2);

#[tokio::test]
async fn identify_turns_work_as_the_bot_user_and_other_users_are_refused() {
    let broker = LeastPrivilegeServer::start_jetstream();
    let (bot, _events) = broker.connect_as("bot").await;
    // Two processes of a bot with two identify buckets.
    let (first, second) = (
        IdentifyGate::new(bot.clone(), 2),
        IdentifyGate::new(bot.clone(), 2),
    );
    first.wait_turn(0).await;
    // Shard 1 is in the other bucket: free.
    second.wait_turn(1).await;
    let js = async_nats::jetstream::new(bot.clone());
    let store = js
        .get_key_value(identify::BUCKET)
        .await
        .expect("created as bot");
    let held = |key: &'static str| {
        let store = store.clone();
        async move {
            let value = store.get(key).await.unwrap().expect("the bucket is taken");
            String::from_utf8(value.to_vec())
                .unwrap()
                .parse::<u64>()
                .unwrap()
        }
    };
    let busy = held("bucket-0").await;
    first.identified(0).await;
    let free = held("bucket-0").await;
    assert!(
        free < busy,
        "freed one window after the identify, sooner than the busy hold"
    );
    second.identified(1).await;
    broker.assert_no_violations();

    let (worker, _events) = broker.connect_as("worker").await;
    let js = async_nats::jetstream::ContextBuilder::new()
        .timeout(REFUSED_WAIT)
        .build(worker);
    assert!(
        js.get_key_value(identify::BUCKET).await.is_err(),
        "worker may not open the identify bucket"
    );
}

/// relay-http's `GET /metrics`, logged in to `broker` as `http`, scraped until `ready` holds for
/// its page (`what` names that moment in a failure).
async fn scrape_as_http(
    broker: &LeastPrivilegeServer,
    what: &str,
    ready: impl Fn(&str) -> bool,
) -> String {
    use axum::{body::Body, http::Request};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    let http = common::nats::connect(&broker.settings_for("http"), "relay-http")
        .await
        .expect("connect");
    let app = relay_http::app(relay_http::AppState::new(
        http,
        relay_worker::test_util::SUBJECT,
        &relay_http::HttpSettings::default(),
    ));
    eventually(what, Duration::from_secs(15), || {
        let app = app.clone();
        let ready = &ready;
        async move {
            let response = app
                .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
                .await
                .unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let page = String::from_utf8(body.to_vec()).unwrap();
            ready(&page).then_some(page)
        }
    })
    .await
}

/// `GET /metrics` under `nats/least-privilege.conf`: relay-http as `http` gathers the pages of
/// a bot process (as `bot`, answering as the `ticket-bot` service) and of a worker (as
/// `worker`) with no violation; no other user may ask the services for them, nor pose as the
/// bot's metrics endpoint.
#[tokio::test]
async fn metrics_are_gathered_as_http_from_the_bot_and_worker_users_and_others_are_refused() {
    use relay_worker::{test_util::spawn_worker_probed, Placeholder, WorkerSettings};

    let broker = LeastPrivilegeServer::start();
    let (bot, _events) = broker.connect_as("bot").await;
    let metrics = bot::metrics::BotMetrics::new("broker-test-bot");
    metrics.relayed();
    let live = bot::metrics::Live {
        open_tickets: Box::new(|| 2),
        shards: None,
    };
    let _service = bot::metrics::serve(&bot, metrics, live)
        .await
        .expect("the bot user may answer as ticket-bot");
    let worker = spawn_worker_probed(
        &broker.settings_for("worker"),
        WorkerSettings::new(relay_worker::test_util::SUBJECT),
        Placeholder,
        &broker.settings_for("admin"),
    )
    .await;
    let page = scrape_as_http(&broker, "both pages gathered", |page| {
        page.contains(
            r#"ticket_bot_messages_relayed_total{service="ticket-bot",instance="broker-test-bot"} 1"#,
        ) && page.contains(r#"relay_worker_requests_total{service="ticket-relay""#)
    })
    .await;
    assert!(
        page.contains(
            r#"ticket_bot_tickets_open{service="ticket-bot",instance="broker-test-bot"} 2"#
        ),
        "{page}"
    );
    broker.assert_no_violations();

    // Only relay-http (and the admin) may ask; nobody but a bot may listen as its endpoint.
    for (user, subject) in [
        ("bot", "$SRV.STATS.ticket-relay"),
        ("worker", "$SRV.STATS.ticket-bot"),
    ] {
        let (client, mut events) = broker.connect_as(user).await;
        client
            .publish(subject, bytes::Bytes::new())
            .await
            .expect("published");
        events
            .permissions_violation(&format!("Publish to \"{subject}\""))
            .await;
    }
    for user in ["worker", "http"] {
        let (client, mut events) = broker.connect_as(user).await;
        let _subscription = client
            .queue_subscribe("ticket-bot.metrics", "q".to_owned())
            .await
            .expect("sent");
        events
            .permissions_violation("Subscription to \"ticket-bot.metrics\"")
            .await;
    }
    worker.stop().await.expect("the worker stops cleanly");
}

/// The shared `discord-proxy` under `nats/least-privilege.conf`: logged in as `proxy`, it
/// answers as the `discord-proxy` service with no violation, and relay-http (as `http`) gathers
/// its page, with a call it forwarded, into `GET /metrics`. The `proxy` user may do nothing
/// else: no relay request, no listening on the relay subject, no JetStream; and no other
/// requester may pose as its endpoint.
#[tokio::test]
async fn the_discord_proxy_serves_its_metrics_as_the_proxy_user_and_may_do_nothing_else() {
    let broker = LeastPrivilegeServer::start_jetstream();
    let (proxy, _events) = broker.connect_as("proxy").await;
    let metrics = bot::metrics::ProxyMetrics::new("broker-test-proxy");
    metrics.rest().call("/api/v10/channels/1/messages", 200);
    let _service = bot::metrics::serve_proxy(&proxy, metrics)
        .await
        .expect("the proxy user may answer as discord-proxy");
    let page = scrape_as_http(&broker, "the proxy's page gathered", |page| {
        page.contains(r#"discord_proxy_requests_total{service="discord-proxy",instance="broker-test-proxy",group="channels/messages",status="200"} 1"#)
    })
    .await;
    assert!(
        page.contains(r#"ticket_up{service="discord-proxy",instance="broker-test-proxy"} 1"#),
        "{page}"
    );
    broker.assert_no_violations();

    let (proxy, mut events) = broker.connect_as("proxy").await;
    proxy
        .publish("tickets.relay", bytes::Bytes::from_static(b"{}"))
        .await
        .expect("published");
    events
        .permissions_violation("Publish to \"tickets.relay\"")
        .await;
    let _listening = proxy
        .queue_subscribe("tickets.relay", "q".to_owned())
        .await
        .expect("sent");
    events
        .permissions_violation("Subscription to \"tickets.relay\"")
        .await;
    let js = async_nats::jetstream::ContextBuilder::new()
        .timeout(REFUSED_WAIT)
        .build(proxy);
    assert!(
        js.get_key_value(TICKETS_BUCKET).await.is_err(),
        "the proxy may not open the tickets bucket"
    );
    events
        .permissions_violation("Publish to \"$JS.API.STREAM.INFO.KV_tickets\"")
        .await;
    for user in ["bot", "worker", "http"] {
        let (client, mut events) = broker.connect_as(user).await;
        let _subscription = client
            .queue_subscribe("discord-proxy.metrics", "q".to_owned())
            .await
            .expect("sent");
        events
            .permissions_violation("Subscription to \"discord-proxy.metrics\"")
            .await;
    }
}
