//! The relay contract's `history` over NATS: validated by the worker like every field (a 400
//! naming the entry and field), and requests without it still answered.

use bytes::Bytes;
use common::{
    payload::{ErrorCode, RelayReply},
    relay_client::RelayError,
};
use relay_worker::{answer::AnswerSettings, Placeholder};
use serde_json::{json, Value};

use crate::helpers::*;

fn with_history(history: Value) -> Value {
    json!({"guild_id": "1", "channel_id": "2", "user_id": "3", "content": "hi", "history": history})
}

async fn send(worker: &TestWorker, body: &Value) -> Result<RelayReply, RelayError> {
    worker
        .relay
        .send_json(Bytes::from(body.to_string()), None)
        .await
}

#[tokio::test]
async fn requests_without_history_or_with_a_valid_one_are_answered() {
    let worker = spawn(&AnswerSettings::placeholder()).await;
    let old = json!({"guild_id": "1", "channel_id": "2", "user_id": "3", "content": "hi"});
    let valid = with_history(json!([
        {"role": "user", "author_id": "3", "content": "first"},
        {"role": "assistant", "author_id": "4", "content": "second"},
        {"role": "staff", "author_id": "5", "content": "third"},
    ]));
    for body in [
        old,
        valid,
        with_history(Value::Null),
        with_history(json!([])),
    ] {
        let reply = send(&worker, &body).await.unwrap();
        assert_eq!(reply.reply, Placeholder::REPLY, "{body}");
    }
}

#[tokio::test]
async fn a_bad_history_is_a_400_naming_the_entry_and_field() {
    let worker = spawn(&AnswerSettings::placeholder()).await;
    let entry = |role: &str| json!({"role": role, "author_id": "3", "content": "x"});
    let cases = [
        (
            json!([entry("user"), entry("user"), entry("moderator")]),
            "history[2].role: must be one of user, assistant, staff",
        ),
        (
            json!(vec![entry("user"); 21]),
            "history: at most 20 messages, got 21",
        ),
        (
            json!("earlier messages"),
            "history: must be an array, got a string",
        ),
        (json!([42]), "history[0]: must be an object, got a number"),
        (
            json!([{"role": "user", "author_id": 3, "content": "x"}]),
            "history[0].author_id: must be a string, got a number",
        ),
        (
            json!([{"role": "user", "author_id": "3", "content": ""}]),
            "history[0].content: must not be empty or only whitespace",
        ),
        (
            json!(vec![
                json!({"role": "user", "author_id": "3", "content": "a".repeat(4000)});
                9
            ]),
            "history: at most 32000 characters of content in total, got 36000",
        ),
    ];
    for (history, expected) in cases {
        let err = send(&worker, &with_history(history)).await.unwrap_err();
        let RelayError::Rejected { status, body } = err else {
            panic!("expected a 400 reply for {expected}, got {err:?}");
        };
        assert_eq!((status, body.error.code), (400, ErrorCode::InvalidPayload));
        assert_eq!(body.error.message, expected);
    }
}
