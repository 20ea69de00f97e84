//! `x-request-id`: taken from the request (or generated), returned on the response, sent to the
//! worker as the NATS header `X-Request-Id`, and written on both services' log lines.

use common::{subjects::headers, telemetry::Service, test_util::capture_logs};
use futures::StreamExt;

use crate::helpers::{spawn_app, spawn_app_with, valid_request, Options, TestApp, SUBJECT};

/// Sidecar without a worker, plus a raw subscriber on the relay subject that answers and hands
/// over the `X-Request-Id` header it received.
async fn app_with_spy() -> (
    TestApp,
    tokio::sync::mpsc::UnboundedReceiver<Option<String>>,
) {
    let app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let client = async_nats::connect(app.nats.url()).await.unwrap();
    let mut requests = client.subscribe(SUBJECT).await.unwrap();
    crate::helpers::round_trip(&client).await;
    let (seen_tx, seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(request) = requests.next().await {
            let id = request
                .headers
                .as_ref()
                .and_then(|map| map.get(headers::REQUEST_ID))
                .map(|value| value.to_string());
            let _ = seen_tx.send(id);
            client
                .publish(request.reply.unwrap(), r#"{"reply":"spy"}"#.into())
                .await
                .unwrap();
        }
    });
    (app, seen)
}

#[tokio::test]
async fn a_given_request_id_is_returned_and_sent_to_the_worker() {
    let (app, mut seen) = app_with_spy().await;
    let response = app
        .relay_with(
            &[("x-request-id", "client-id-42")],
            valid_request("hi").to_string(),
        )
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.request_id(), "client-id-42");
    assert_eq!(seen.recv().await.unwrap().as_deref(), Some("client-id-42"));
}

#[tokio::test]
async fn a_missing_request_id_is_generated_returned_and_sent() {
    let (app, mut seen) = app_with_spy().await;
    let response = app.relay(&valid_request("hi")).await;
    assert_eq!(response.status, 200);
    let id = uuid::Uuid::parse_str(response.request_id()).expect("a UUID");
    assert_eq!(id.get_version_num(), 4);
    assert_eq!(
        seen.recv().await.unwrap(),
        Some(response.request_id().to_owned())
    );

    let other = app.relay(&valid_request("hi")).await;
    assert_ne!(other.request_id(), response.request_id());
}

#[tokio::test]
async fn an_unusable_request_id_is_replaced() {
    let (app, mut seen) = app_with_spy().await;
    let long = "x".repeat(129);
    for bad in [long.as_str(), "has space", ""] {
        let response = app
            .relay_with(&[("x-request-id", bad)], valid_request("hi").to_string())
            .await;
        assert_eq!(response.status, 200);
        assert!(
            uuid::Uuid::parse_str(response.request_id()).is_ok(),
            "{bad:?}"
        );
        assert_eq!(
            seen.recv().await.unwrap(),
            Some(response.request_id().to_owned())
        );
    }
}

#[tokio::test]
async fn errors_carry_the_request_id_too() {
    let app = spawn_app().await;
    let response = app.relay_with(&[("x-request-id", "bad-body-1")], "{").await;
    response.assert_error(400, "invalid_payload");
    assert_eq!(response.request_id(), "bad-body-1");
    let response = app.get("/nope").await;
    assert!(uuid::Uuid::parse_str(response.request_id()).is_ok());
}

/// The test runtime is single-threaded, so the sidecar and the worker (both spawned on it) log
/// through this thread's default subscriber, which captures their lines.
#[tokio::test]
async fn both_services_log_the_request_id() {
    let (logs, _guard) = capture_logs(Service::Api, "warn,relay_worker=debug,relay_http=debug");

    let app = spawn_app().await;
    let ok = app
        .relay_with(
            &[("x-request-id", "log-ok-1")],
            valid_request("hi").to_string(),
        )
        .await;
    assert_eq!(ok.status, 200);
    let refused = app.relay_with(&[("x-request-id", "log-bad-2")], "{").await;
    assert_eq!(refused.status, 400);

    let logs = logs.contents();
    let line = |needle: &str, id: &str| {
        logs.lines()
            .any(|line| line.contains(needle) && line.contains(&format!("request_id=\"{id}\"")))
    };
    assert!(
        line("relay request", "log-ok-1"),
        "worker line missing:\n{logs}"
    );
    assert!(
        line("relay answered", "log-ok-1"),
        "sidecar line missing:\n{logs}"
    );
    assert!(
        line("request refused", "log-bad-2"),
        "sidecar line missing:\n{logs}"
    );
}
