//! `GET /health`: the NATS connection, and with `?deep=true` the workers that answer a ping;
//! the deep check guarded as `/relay` is (token, concurrency limit) and cached.

use std::time::Duration;

use axum::http::Method;
use common::test_util::eventually;
use relay_http::HttpSettings;
use serde_json::json;

use crate::helpers::{
    app_with_a_token, app_with_its_one_slot_taken, spawn_app, spawn_app_with, test_settings,
    Options, PING_WINDOW, READY_WITHIN,
};

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[tokio::test]
async fn health_is_200_while_connected() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json(),
        json!({"status":"ok","nats":"connected","version":VERSION})
    );
}

#[tokio::test]
async fn health_is_503_while_disconnected_and_recovers() {
    let mut app = spawn_app().await;
    app.nats.stop();
    let response = eventually("/health to fail", READY_WITHIN, || async {
        let response = app.get("/health").await;
        (response.status == 503).then_some(response)
    })
    .await;
    assert_eq!(
        response.json(),
        json!({"status":"unavailable","nats":"disconnected","version":VERSION})
    );
    app.nats.restart();
    app.wait_until_connected().await;
}

#[tokio::test]
async fn deep_health_counts_the_workers_that_answer() {
    let app = spawn_app().await;
    let response = app.get("/health?deep=true").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json(),
        json!({"status":"ok","nats":"connected","version":VERSION,"workers":1})
    );

    // A second worker on the same server is counted too.
    let _second =
        relay_worker::test_util::spawn_worker(&app.nats.settings(), relay_worker::Placeholder)
            .await;
    eventually("two workers", READY_WITHIN, || async {
        let json = app.get("/health?deep=true").await.json();
        (json["workers"] == 2).then_some(())
    })
    .await;
}

#[tokio::test]
async fn deep_health_is_503_without_workers_while_plain_health_is_200() {
    let app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let response = app.get("/health?deep=true").await;
    assert_eq!(response.status, 503);
    assert_eq!(
        response.json(),
        json!({"status":"unavailable","nats":"connected","version":VERSION,"workers":0})
    );
    assert_eq!(app.get("/health").await.status, 200);
    assert_eq!(app.get("/health?deep=false").await.status, 200);
}

#[tokio::test]
async fn a_bad_deep_value_is_400() {
    let app = spawn_app().await;
    let message = app
        .get("/health?deep=maybe")
        .await
        .assert_error(400, "invalid_payload");
    assert!(message.starts_with("deep:"), "{message}");
}

#[tokio::test]
async fn health_needs_no_token() {
    let app = spawn_app_with(Options {
        settings: relay_http::HttpSettings {
            api_token: Some("t0ken".to_owned().into()),
            ..crate::helpers::test_settings()
        },
        worker: false,
    })
    .await;
    assert_eq!(app.get("/health").await.status, 200);
}

#[tokio::test]
async fn deep_health_needs_the_token_when_one_is_set() {
    let app = app_with_a_token().await;
    app.get("/health?deep=true")
        .await
        .assert_error(401, "unauthorized");
    let wrong = [("authorization", "Bearer nope")];
    app.send(Method::GET, "/health?deep=true", &wrong, "")
        .await
        .assert_error(401, "unauthorized");
    let right = [("authorization", "Bearer t0ken")];
    let response = app.send(Method::GET, "/health?deep=true", &right, "").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["workers"], 1);
    assert_eq!(
        app.get("/health").await.status,
        200,
        "plain health stays open"
    );
}

#[tokio::test]
async fn deep_health_counts_against_the_concurrency_limit() {
    let (app, first) = app_with_its_one_slot_taken().await;

    let message = app.get("/health?deep=true").await.assert_error(503, "busy");
    assert!(message.contains("concurrent requests"), "{message}");
    assert_eq!(
        app.get("/health").await.status,
        200,
        "plain health is not limited"
    );

    app.gate.add_permits(1);
    let (status, body) = first.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.get("/health?deep=true").await.status, 200);
}

#[tokio::test]
async fn deep_health_answers_from_its_cache_while_it_is_fresh() {
    let app = spawn_app_with(Options {
        settings: HttpSettings {
            health_cache: Duration::from_secs(3_600),
            ..test_settings()
        },
        ..Options::default()
    })
    .await;
    assert_eq!(app.get("/health?deep=true").await.json()["workers"], 1);

    // A second worker, seen by a fresh ping...
    let _second =
        relay_worker::test_util::spawn_worker(&app.nats.settings(), relay_worker::Placeholder)
            .await;
    let client = async_nats::connect(app.nats.url()).await.expect("connect");
    eventually("a fresh ping to see two workers", READY_WITHIN, || async {
        (relay_http::count_workers(&client, PING_WINDOW).await == 2).then_some(())
    })
    .await;
    // ...but not by the deep check, which answers from its cache.
    let cached = app.get("/health?deep=true").await;
    assert_eq!(cached.status, 200);
    assert_eq!(cached.json()["workers"], 1);
}
