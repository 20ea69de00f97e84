//! `GET /health`: the NATS connection, and with `?deep=true` the workers that answer a ping.

use common::test_util::eventually;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, Options, READY_WITHIN};

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
