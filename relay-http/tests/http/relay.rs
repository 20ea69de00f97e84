//! `POST /relay`: the happy path and every way it can fail, each with its status and body.

use std::time::Duration;

use axum::{body::Body, http::Request};
use common::{
    payload::{ErrorBody, ErrorCode},
    subjects::headers,
};
use futures::StreamExt;
use relay_http::{AppState, HttpSettings};
use relay_worker::Placeholder;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::helpers::{spawn_app, spawn_app_with, valid_request, Options, FAIL, STALL, SUBJECT};

#[tokio::test]
async fn a_valid_request_gets_the_workers_reply() {
    let app = spawn_app().await;
    let response = app.relay(&valid_request("hello")).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), json!({"reply": Placeholder::REPLY}));
}

#[tokio::test]
async fn unknown_fields_are_accepted_and_message_id_is_optional() {
    let app = spawn_app().await;
    let body = json!({"guild_id":"1","channel_id":"2","user_id":"3","content":"hi","extra":[1]});
    let response = app.relay(&body).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
}

#[tokio::test]
async fn contract_violations_are_400_naming_the_field() {
    let app = spawn_app().await;
    let mut missing = valid_request("hi");
    missing.as_object_mut().unwrap().remove("channel_id");
    let cases: Vec<(String, &str)> = vec![
        ("{not json".to_owned(), "body: is not valid JSON"),
        ("[1,2]".to_owned(), "body: must be a JSON object"),
        ("".to_owned(), "body: is not valid JSON"),
        (missing.to_string(), "channel_id: is required"),
        (
            with("guild_id", json!(123)).to_string(),
            "guild_id: must be a string, got a number",
        ),
        (
            with("user_id", json!("12ab")).to_string(),
            "user_id: must be a Discord ID: a string of 1 to 20 digits",
        ),
        (
            with("message_id", json!("123456789012345678901")).to_string(),
            "message_id: must be a Discord ID",
        ),
        (
            with("content", json!("   ")).to_string(),
            "content: must not be empty or only whitespace",
        ),
        (
            with("content", json!("a".repeat(4001))).to_string(),
            "content: must be at most 4000 characters, got 4001",
        ),
    ];
    for (body, expected) in cases {
        let response = app.relay_with(&[], body.clone()).await;
        let message = response.assert_error(400, "invalid_payload");
        assert!(message.starts_with(expected), "{body:.60}: {message}");
    }
}

#[tokio::test]
async fn history_is_validated_and_requests_without_it_stay_valid() {
    let app = spawn_app().await;
    let entry = |role: &str| json!({"role": role, "author_id": "3", "content": "earlier"});
    let valid = json!([entry("user"), entry("assistant"), entry("staff")]);
    for history in [valid, json!([]), Value::Null] {
        let response = app.relay(&with("history", history.clone())).await;
        assert_eq!(response.status, 200, "{history}: {:?}", response.body);
    }
    let cases = [
        (
            json!([entry("user"), entry("user"), entry("bot")]),
            "history[2].role: must be one of user, assistant, staff",
        ),
        (
            json!(vec![entry("user"); 21]),
            "history: at most 20 messages, got 21",
        ),
        (
            json!({"role": "user"}),
            "history: must be an array, got an object",
        ),
        (
            json!([{"role": "user", "author_id": "x", "content": "hi"}]),
            "history[0].author_id: must be a Discord ID",
        ),
        (
            json!([{"role": "staff", "author_id": "3"}]),
            "history[0].content: is required",
        ),
    ];
    for (history, expected) in cases {
        let response = app.relay(&with("history", history.clone())).await;
        let message = response.assert_error(400, "invalid_payload");
        assert!(message.starts_with(expected), "{history}: {message}");
    }
}

fn with(field: &str, value: Value) -> Value {
    let mut request = valid_request("hi");
    request[field] = value;
    request
}

#[tokio::test]
async fn a_missing_or_wrong_content_type_is_415() {
    let app = spawn_app().await;
    let body = valid_request("hi").to_string();
    let response = app
        .send(axum::http::Method::POST, "/relay", &[], body.clone())
        .await;
    response.assert_error(415, "unsupported_media_type");
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let response = app
            .send(
                axum::http::Method::POST,
                "/relay",
                &[("content-type", content_type)],
                body.clone(),
            )
            .await;
        response.assert_error(415, "unsupported_media_type");
    }
    let response = app
        .relay_with(&[("content-type", "application/json; charset=utf-8")], body)
        .await;
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_at_the_limit_is_read() {
    let app = spawn_app_with(Options {
        settings: HttpSettings {
            body_limit: 200,
            ..crate::helpers::test_settings()
        },
        ..Options::default()
    })
    .await;
    let message = app
        .relay_with(&[], vec![b' '; 201])
        .await
        .assert_error(413, "payload_too_large");
    assert_eq!(message, "body: must be at most 200 bytes");
    // Exactly at the limit the body is read and judged on its content.
    let mut at_limit = valid_request("hi").to_string().into_bytes();
    at_limit.resize(200, b' ');
    assert_eq!(app.relay_with(&[], at_limit).await.status, 200);
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_is_413_without_a_content_length() {
    let nats = common::test_util::NatsServer::start();
    let client = common::nats::connect(&nats.settings(), "t").await.unwrap();
    let settings = HttpSettings {
        body_limit: 100,
        ..crate::helpers::test_settings()
    };
    let app = relay_http::app(AppState::new(client, SUBJECT, &settings));
    let chunks = (0..10).map(|_| Ok::<_, std::io::Error>(vec![b' '; 20]));
    let request = Request::post("/relay")
        .header("content-type", "application/json")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    assert!(request.headers().get("content-length").is_none());
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 413);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(body.error.code, ErrorCode::PayloadTooLarge);
}

#[tokio::test]
async fn no_worker_running_is_503_no_workers() {
    let app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let message = app
        .relay(&valid_request("hi"))
        .await
        .assert_error(503, "no_workers");
    assert!(message.contains("no relay worker"), "{message}");
}

#[tokio::test]
async fn a_worker_that_stops_leaves_503_no_workers() {
    let mut app = spawn_app_with(Options {
        settings: HttpSettings {
            relay_timeout: Duration::from_secs(1),
            ..crate::helpers::test_settings()
        },
        ..Options::default()
    })
    .await;
    app.stop_worker().await;
    // The worker's unsubscribe may reach the server a moment after `run` returns; a request
    // in that moment goes to the departing worker and times out, so ask until it is gone.
    let response = common::test_util::eventually("no_workers", helpers_within(), || async {
        let response = app.relay(&valid_request("hi")).await;
        (response.status == 503).then_some(response)
    })
    .await;
    response.assert_error(503, "no_workers");
}

#[tokio::test]
async fn a_worker_that_never_answers_is_504_timeout() {
    let app = spawn_app_with(Options {
        worker: false,
        settings: HttpSettings {
            relay_timeout: Duration::from_millis(300),
            ..crate::helpers::test_settings()
        },
    })
    .await;
    let _silent = crate::helpers::silent_worker(&app).await;
    let message = app
        .relay(&valid_request("hi"))
        .await
        .assert_error(504, "timeout");
    assert!(message.contains("0.3s"), "{message}");
}

#[tokio::test]
async fn an_answer_source_that_stalls_is_cut_off_by_the_worker_before_the_deadline() {
    let app = spawn_app_with(Options {
        settings: HttpSettings {
            relay_timeout: Duration::from_millis(600),
            ..crate::helpers::test_settings()
        },
        ..Options::default()
    })
    .await;
    // The deadline travels with the request: the worker gives up first and says so.
    app.relay(&valid_request(STALL))
        .await
        .assert_error(502, "responder_unavailable");
}

#[tokio::test]
async fn a_worker_error_passes_through_with_its_status_and_message() {
    let app = spawn_app().await;
    let message = app
        .relay(&valid_request(FAIL))
        .await
        .assert_error(500, "responder_failed");
    assert_eq!(message, "the answer source failed; try again later");
}

/// Starts a raw NATS responder on the relay subject that answers every request with `reply`.
async fn raw_responder(
    app: &crate::helpers::TestApp,
    reply: impl Fn() -> (async_nats::HeaderMap, &'static str) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let client = async_nats::connect(app.nats.url()).await.unwrap();
    let mut requests = client.subscribe(SUBJECT).await.unwrap();
    crate::helpers::round_trip(&client).await;
    tokio::spawn(async move {
        while let Some(request) = requests.next().await {
            let (headers, body) = reply();
            client
                .publish_with_headers(request.reply.unwrap(), headers, body.into())
                .await
                .unwrap();
        }
    })
}

#[tokio::test]
async fn a_4xx_from_a_worker_keeps_its_status_and_body() {
    let app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let _responder = raw_responder(&app, || {
        let mut map = async_nats::HeaderMap::new();
        map.insert(headers::SERVICE_ERROR_CODE, "422");
        map.insert(headers::SERVICE_ERROR, "nope");
        (
            map,
            r#"{"error":{"code":"invalid_payload","message":"content: refused by policy"}}"#,
        )
    })
    .await;
    let message = app
        .relay(&valid_request("hi"))
        .await
        .assert_error(422, "invalid_payload");
    assert_eq!(message, "content: refused by policy");
}

#[tokio::test]
async fn an_unreadable_worker_reply_is_an_opaque_500() {
    let app = spawn_app_with(Options {
        worker: false,
        ..Options::default()
    })
    .await;
    let _responder = raw_responder(&app, || {
        (async_nats::HeaderMap::new(), "secret internals, not JSON")
    })
    .await;
    let message = app
        .relay(&valid_request("hi"))
        .await
        .assert_error(500, "internal");
    assert!(!message.contains("secret"), "{message}");
}

#[tokio::test]
async fn nats_down_is_503_and_both_endpoints_recover_after_restart() {
    let mut app = spawn_app().await;
    app.nats.stop();
    common::test_util::eventually("/health to see NATS down", helpers_within(), || async {
        (app.get("/health").await.status == 503).then_some(())
    })
    .await;
    // Once the sidecar knows, /relay fails at once with 503 (a hang would end in a 504).
    app.relay(&valid_request("hi"))
        .await
        .assert_error(503, "unavailable");
    let health = app.get("/health").await.json();
    assert_eq!(health["nats"], "disconnected");
    assert_eq!(health["status"], "unavailable");

    app.nats.restart();
    app.wait_until_connected().await;
    app.wait_until_relaying().await;
    let response = app.relay(&valid_request("hi")).await;
    assert_eq!(response.json(), json!({"reply": Placeholder::REPLY}));
}

fn helpers_within() -> Duration {
    crate::helpers::READY_WITHIN
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_in_json() {
    let app = spawn_app().await;
    let message = app.get("/nope").await.assert_error(404, "not_found");
    assert!(message.contains("/nope"), "{message}");
    // It names every route the OpenAPI document describes, with its method.
    let document: serde_json::Value = serde_json::from_str(relay_http::OPENAPI_DOCUMENT).unwrap();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            let route = format!("{} {path}", method.to_uppercase());
            assert!(message.contains(&route), "{route} missing from {message}");
        }
    }
    app.get("/relay")
        .await
        .assert_error(405, "method_not_allowed");
    app.send(axum::http::Method::DELETE, "/health", &[], "")
        .await
        .assert_error(405, "method_not_allowed");
    app.send(axum::http::Method::POST, "/openapi.json", &[], "")
        .await
        .assert_error(405, "method_not_allowed");
}
