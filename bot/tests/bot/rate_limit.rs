//! The bot's REST rate limiter against the sandbox's Discord limits: a burst over the global
//! limit gets 429s, and the bot waits as told and still answers every message; a call that gets
//! no answer is counted by why.

use std::time::Duration;

use relay_worker::Placeholder;

use crate::{
    content,
    fake_discord::{FakeDiscord, Limit, RateLimits, SandboxOptions},
    helpers::{self, spawn_bot_with_nats, TOKEN, USER_ID},
    metrics::Scrape,
    set_up, wait_for_posts, SetUp,
};

#[tokio::test]
async fn a_burst_over_the_global_limit_gets_429s_and_every_message_is_still_answered() {
    const CHANNELS: usize = 30;
    // A fifth of Discord's global limit: the bot's own pace (50/s) is bound to exceed it.
    let limits = RateLimits {
        global: Some(Limit {
            requests: 10,
            per: Duration::from_secs(1),
        }),
        route: None,
    };
    let fake = FakeDiscord::start(SandboxOptions::new(TOKEN).rate_limits(limits)).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let tickets: Vec<u64> = (0..CHANNELS)
        .map(|n| fake.add_text_channel(&format!("ticket-{}", USER_ID + n as u64), Some(category)))
        .collect();
    let owners = (0..CHANNELS).map(|n| USER_ID + n as u64);
    helpers::register_tickets(&nats, tickets.iter().copied().zip(owners)).await;
    let mut bot = spawn_bot_with_nats(fake.clone(), nats).await;
    bot.start_worker(Placeholder).await;

    for ticket in &tickets {
        fake.send_message(*ticket, USER_ID, "help");
    }
    let mut answers = Vec::new();
    for ticket in &tickets {
        answers.push(wait_for_posts(&fake, *ticket, 1).await);
    }

    assert!(
        !fake.rate_limited().is_empty(),
        "the burst was over the limit"
    );
    for posts in &answers {
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].status, 200);
        assert_eq!(content(&posts[0]), Placeholder::REPLY);
    }
    let logs = bot.logs();
    assert!(logs.contains("Discord rate limited a call"), "{logs}");
    assert!(!logs.contains("[BOT] ERROR"), "{logs}");
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn credentials_in_the_proxy_url_reach_no_log_line_nor_error() {
    const SECRET: &str = "s3cret-pa55";
    let fake = FakeDiscord::start(TOKEN).await;
    let with_credentials =
        fake.url()
            .replacen("http://", &format!("http://proxy-user:{SECRET}@"), 1);
    let bot = crate::helpers::spawn_bot_with_vars(
        fake.clone(),
        helpers::nats(),
        &[("DISCORD_PROXY_URL", with_credentials.as_str())],
    )
    .await;
    let logs = bot.logs();
    assert!(logs.contains("upstream=http://***@127.0.0.1"), "{logs}");
    assert!(!logs.contains(SECRET), "{logs}");
    bot.shutdown().await.unwrap();

    // A proxy that cannot be reached: the bot stops, and still says nothing of the password.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let unreachable = format!("http://proxy-user:{SECRET}@127.0.0.1:{port}");
    let nats = helpers::nats();
    let (logs, _guard) = common::test_util::capture_logs(common::telemetry::Service::Bot, "debug");
    let source = common::config::ConfigSource::from_vars([
        ("DISCORD_TOKEN", TOKEN),
        ("DISCORD_PROXY_URL", unreachable.as_str()),
        ("NATS_URL", nats.url().as_str()),
    ]);
    let settings = source.nats().unwrap();
    let bot_settings = bot::BotSettings::load(&source, &settings).unwrap();
    assert!(!format!("{bot_settings:?}").contains(SECRET));
    let client = common::nats::connect(&settings, "bot").await.unwrap();
    let err = bot::run(bot_settings, client, std::future::pending())
        .await
        .expect_err("no proxy to talk to");
    assert!(!err.to_string().contains(SECRET), "{err}");
    let logs = logs.contents();
    assert!(logs.contains("cannot reach DISCORD_PROXY_URL"), "{logs}");
    assert!(!logs.contains(SECRET), "{logs}");
}

/// A `DISCORD_PROXY_URL` that takes the turn request and never answers it is taken as stalled
/// after `DISCORD_HTTP_TIMEOUT_SECS`, like a call: the call takes its global turn in the
/// process instead, and goes through.
#[tokio::test]
async fn a_proxy_that_never_hands_out_a_turn_is_stalled_and_the_call_still_goes() {
    let proxy = axum::Router::new()
        .route(
            "/discord-proxy/turn",
            axum::routing::post(std::future::pending::<()>),
        )
        .fallback(|| async { axum::Json(serde_json::json!({"id": "1"})) });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, proxy).await.unwrap() });
    let limiter = bot::RateLimitedProxy::start(
        &url,
        Duration::from_secs(1),
        bot::metrics::RestCounts::default(),
    )
    .await
    .unwrap();

    let answer = reqwest::get(format!("{}/api/v10/users/@me", limiter.url()))
        .await
        .unwrap();

    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), r#"{"id":"1"}"#);
}

/// A call the limiter cannot deliver is answered 502 (nothing listens upstream) or 504 (the
/// upstream takes it and never answers within `DISCORD_HTTP_TIMEOUT_SECS`), and counted as
/// unanswered, by reason, so that an outage shows on the dashboard.
#[tokio::test]
async fn calls_that_get_no_answer_are_counted_by_reason() {
    let metrics = bot::metrics::BotMetrics::new("t");
    let live = || bot::metrics::Live {
        open_tickets: Box::new(|| 0),
        shards: None,
    };
    let unanswered = |page: &str, reason: &str| {
        Scrape::of_process(page).sample(
            "ticket_bot_discord_unanswered",
            &[
                ("service", "ticket-bot"),
                ("instance", "t"),
                ("reason", reason),
            ],
        )
    };
    let page = metrics.page(&live());
    assert_eq!(unanswered(&page, "unreachable"), Some(0.0), "{page}");
    assert_eq!(unanswered(&page, "timeout"), Some(0.0), "{page}");
    // The status of one call through a limiter (1 s per call) in front of `upstream`.
    let status_through = |upstream: String| {
        let counts = metrics.rest();
        async move {
            let limiter = bot::RateLimitedProxy::start(&upstream, Duration::from_secs(1), counts)
                .await
                .unwrap();
            reqwest::get(format!("{}/api/v10/users/@me", limiter.url()))
                .await
                .unwrap()
                .status()
        }
    };

    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nobody = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    assert_eq!(status_through(nobody).await, 502);

    // Takes the connection and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stalled = format!("http://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    assert_eq!(status_through(stalled).await, 504);

    let page = metrics.page(&live());
    assert_eq!(unanswered(&page, "unreachable"), Some(1.0), "{page}");
    assert_eq!(unanswered(&page, "timeout"), Some(1.0), "{page}");
    // Neither reached Discord, so neither is a call by status.
    assert!(
        !page.contains("ticket_bot_discord_requests_total"),
        "{page}"
    );
}
