//! The bot's life as a library: command registration without a guild, a clean shutdown of
//! `run`, a wrong token stopping it at start, and the fake refusing that token the way Discord
//! does.

use std::time::Duration;

use axum::http::Method;

use crate::{
    fake_discord::{self, FakeDiscord},
    helpers::{self, spawn_bot, spawn_bot_with_vars, TOKEN},
};

#[tokio::test]
async fn without_a_guild_id_the_commands_are_registered_globally() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = spawn_bot_with_vars(fake.clone(), crate::helpers::nats(), &[]).await;

    let global = fake.calls(
        Method::PUT,
        &format!("/applications/{}/commands", fake_discord::APP_ID),
    );
    assert_eq!(global.len(), 1);
    let names: Vec<&str> = global[0]
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "setup",
            "create-ticket",
            "close-ticket",
            "ticket-panel",
            "ticket-add",
            "ticket-remove",
            "ticket-stats",
            "ticket-transcript",
            "ticket-reopen",
            "ticket-topic",
            "ticket-claim",
            "ticket-unclaim",
            "ticket-transfer",
            "ticket-priority",
            "ticket-block",
            "ticket-unblock",
            "ticket-list",
            "ticket-hours"
        ]
    );
    // Administrators only: /setup, /ticket-panel, /ticket-topic and /ticket-hours. The rest are
    // for everyone (Support is a role, not a permission Discord could filter on): the bot checks
    // who may do what.
    let admin_only: Vec<bool> = (0..names.len())
        .map(|i| [0, 3, 9, 17].contains(&i))
        .collect();
    for (index, admin_only) in admin_only.iter().enumerate() {
        let command = &global[0].body[index];
        let bits = &command["default_member_permissions"];
        if *admin_only {
            assert_eq!(helpers::permission_bits(bits), 8, "{command}");
        } else {
            assert!(bits.is_null(), "{command}");
        }
        assert_eq!(command["dm_permission"], false, "{command}");
    }
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn shutdown_closes_the_gateway_session_and_run_returns_ok() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = spawn_bot(fake.clone()).await;
    assert_eq!(fake.identifies(), 1);
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("run returns Ok after shutdown");
}

#[tokio::test]
async fn a_wrong_token_stops_the_bot_at_start_with_an_error_naming_what_to_check() {
    let fake = FakeDiscord::start(TOKEN).await;
    let nats = crate::helpers::nats();
    let proxy = fake.url();
    let nats_url = nats.url();
    let source = common::config::ConfigSource::from_vars([
        ("DISCORD_TOKEN", "not-the-token"),
        ("DISCORD_PROXY_URL", proxy.as_str()),
        ("NATS_URL", nats_url.as_str()),
    ]);
    let settings = bot::BotSettings::load(&source, &source.nats().unwrap()).unwrap();
    let client = common::nats::connect(&nats.settings(), "bot")
        .await
        .unwrap();

    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        bot::run(settings, client, std::future::pending()),
    )
    .await
    .expect("run returns instead of retrying forever");

    let err = outcome
        .expect_err("a refused token is an error")
        .to_string();
    assert!(err.contains("DISCORD_TOKEN"), "{err}");
    assert!(!err.contains("not-the-token"), "{err}");
    assert_eq!(
        fake.requests().len(),
        1,
        "only the gateway discovery was tried"
    );
    assert_eq!(fake.requests()[0].status, 401);
    assert_eq!(fake.identifies(), 0);
}

#[tokio::test]
async fn the_fake_discord_refuses_a_wrong_token() {
    let fake = FakeDiscord::start(TOKEN).await;
    let http = serenity::http::HttpBuilder::new("not-the-token")
        .proxy(fake.url())
        .ratelimiter_disabled(true)
        .build();

    let err = http.get_gateway().await.expect_err("401");

    let serenity::Error::Http(http_error) = &err else {
        panic!("not an HTTP error: {err}")
    };
    assert_eq!(
        http_error.status_code().map(|s| s.as_u16()),
        Some(401),
        "{err}"
    );
    assert_eq!(fake.requests()[0].status, 401);
}
