//! `POST /relay?stream=true`: server-sent events, the pieces of the answer and then exactly one
//! reply or error; a request refused before it reaches a worker gets the JSON error of `/relay`.

use axum::http::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// One server-sent event: its `event` and its `data` as JSON.
#[derive(Debug, PartialEq)]
struct Event {
    event: String,
    data: Value,
}

/// The events of a `text/event-stream` body (comments, the keep-alives, skipped).
fn events(body: &[u8]) -> Vec<Event> {
    let text = std::str::from_utf8(body).expect("UTF-8");
    text.split("\n\n")
        .filter_map(|block| {
            let mut event = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event:") {
                    event = Some(name.trim().to_owned());
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push(value.strip_prefix(' ').unwrap_or(value));
                }
            }
            let event = event?;
            let data = serde_json::from_str(&data.join("\n")).expect("data is JSON");
            Some(Event { event, data })
        })
        .collect()
}

async fn stream(app: &TestApp, content: &str) -> TestResponse {
    app.send(
        Method::POST,
        "/relay?stream=true",
        &[("content-type", "application/json")],
        valid_request(content).to_string(),
    )
    .await
}

fn event(event: &str, data: Value) -> Event {
    Event {
        event: event.to_owned(),
        data,
    }
}

#[tokio::test]
async fn stream_true_gives_the_pieces_then_the_reply() {
    let app = spawn_app().await;

    let response = stream(&app, STREAM).await;

    assert_eq!(response.status, 200);
    assert_eq!(
        response.headers["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    assert!(response.headers.contains_key("x-request-id"));
    let mut expected: Vec<Event> = STREAMED
        .iter()
        .map(|piece| event("chunk", json!({ "text": piece })))
        .collect();
    expected.push(event("reply", json!({ "reply": STREAMED.concat() })));
    assert_eq!(events(&response.body), expected);
}

#[tokio::test]
async fn a_source_that_cannot_stream_gives_the_reply_alone() {
    let app = spawn_app().await;

    let response = stream(&app, "hello").await;

    let plain = app.relay(&valid_request("hello")).await.json();
    assert_eq!(events(&response.body), [event("reply", plain)]);
}

#[tokio::test]
async fn a_failed_answer_is_one_error_event_with_the_body_relay_returns() {
    let app = spawn_app().await;

    let response = stream(&app, REFUSE).await;

    let plain = app.relay(&valid_request(REFUSE)).await;
    plain.assert_error(502, "responder_unavailable");
    assert_eq!(events(&response.body), [event("error", plain.json())]);
}

#[tokio::test]
async fn a_request_refused_before_the_worker_gets_the_json_error_not_a_stream() {
    let app = spawn_app().await;

    let response = app
        .send(
            Method::POST,
            "/relay?stream=true",
            &[("content-type", "application/json")],
            json!({"guild_id": "1"}).to_string(),
        )
        .await;

    response.assert_error(400, "invalid_payload");
}
