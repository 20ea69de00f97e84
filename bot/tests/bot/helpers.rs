//! The tests' own helpers: the harness that starts the bot is the crate's `test_util` (feature
//! `test-util`, shared with the sandbox's tests) and is re-exported here; what only these tests
//! need, a scripted responder and readers of Discord's JSON, is below.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use common::payload::{RelayReply, RelayRequest};
use relay_worker::{
    answer::{AnswerSettings, AnswerSource, LlmSettings, SourceKind},
    Responder, ResponderError,
};
use serde_json::Value;

pub use bot::test_util::{
    nats, nats_with, record_setup, record_topics, register_tickets, register_topic_tickets,
    spawn_bot, spawn_bot_with_nats, spawn_bot_with_settings, spawn_bot_with_vars, spawn_second_bot,
    spawn_traced_bot, wait_connected, TestBot, PROBE, SUBJECT, TOKEN,
};

/// A member without special permissions.
pub const USER_ID: u64 = 400_000_000_000_000_004;
/// Another member.
pub const OTHER_USER_ID: u64 = 400_000_000_000_000_005;

/// A responder for tests: answers with `answer(content)` after `delay(content)`, recording
/// every request it gets (except readiness probes).
pub struct Scripted<A, D> {
    /// The answer to a message.
    pub answer: A,
    /// How long to think about a message.
    pub delay: D,
    /// Requests received, in arrival order, with when they arrived and when the answer left.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

/// The responder most tests want: it answers "answer to <text>" at once.
pub type Echo = Scripted<fn(&str) -> String, fn(&str) -> Duration>;

/// An [`Echo`]; its `seen` records every request it answers.
pub fn echo() -> Echo {
    Scripted {
        answer: |content| format!("answer to {content}"),
        delay: |_| Duration::ZERO,
        seen: Arc::default(),
    }
}

/// One request a [`Scripted`] responder received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request.
    pub request: RelayRequest,
    /// When it arrived.
    pub arrived: std::time::Instant,
    /// When the answer was handed back to the worker.
    pub answered: std::time::Instant,
}

impl<A, D> Responder for Scripted<A, D>
where
    A: Fn(&str) -> String + Send + Sync + 'static,
    D: Fn(&str) -> Duration + Send + Sync + 'static,
{
    async fn respond(&self, request: RelayRequest) -> Result<RelayReply, ResponderError> {
        let arrived = std::time::Instant::now();
        let content = request.content.as_str().to_owned();
        if content == PROBE {
            return Ok(RelayReply::new("ready"));
        }
        let delay = (self.delay)(&content);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let reply = RelayReply::new((self.answer)(&content));
        self.seen.lock().expect("seen").push(Seen {
            request,
            arrived,
            answered: std::time::Instant::now(),
        });
        Ok(reply)
    }
}

/// A responder whose whole reply (grounded or not, with a source or not) is `reply(content)`,
/// made at once.
pub struct Replying<F>(pub F);

impl<F> Responder for Replying<F>
where
    F: Fn(&str) -> RelayReply + Send + Sync + 'static,
{
    async fn respond(&self, request: RelayRequest) -> Result<RelayReply, ResponderError> {
        let content = request.content.as_str();
        if content == PROBE {
            return Ok(RelayReply::new("ready"));
        }
        Ok((self.0)(content))
    }
}

/// The contents of the requests a [`Scripted`] responder answered, in arrival order.
pub fn asked(seen: &Mutex<Vec<Seen>>) -> Vec<String> {
    seen.lock()
        .expect("seen")
        .iter()
        .map(|s| s.request.content.as_str().to_owned())
        .collect()
}

/// Reads a permission field (Discord sends strings; accept numbers too).
pub fn permission_bits(value: &Value) -> u64 {
    match value {
        Value::String(text) => text.parse().expect("numeric permission string"),
        Value::Number(number) => number.as_u64().expect("permission number"),
        other => panic!("not a permission value: {other}"),
    }
}

/// `(id, type, allow, deny)` of each overwrite in a channel body, sorted.
pub fn overwrites(body: &Value) -> Vec<(u64, u64, u64, u64)> {
    let mut list: Vec<_> = body["permission_overwrites"]
        .as_array()
        .expect("permission_overwrites")
        .iter()
        .map(|o| {
            (
                permission_bits(&o["id"]),
                o["type"].as_u64().expect("type"),
                permission_bits(&o["allow"]),
                permission_bits(&o["deny"]),
            )
        })
        .collect();
    list.sort_unstable();
    list
}

/// Whether a message body carries allowed mentions that allow nothing.
pub fn mentions_nothing(body: &Value) -> bool {
    let mentions = &body["allowed_mentions"];
    let empty = |key: &str| {
        mentions
            .get(key)
            .is_none_or(|v| v.as_array().is_some_and(Vec::is_empty))
    };
    mentions.is_object()
        && mentions["parse"].as_array().is_some_and(Vec::is_empty)
        && empty("users")
        && empty("roles")
        && mentions.get("replied_user").is_none_or(|v| v == false)
}

/// The real relay worker asking `model_url`, streaming or not.
pub async fn start_llm_worker(bot: &mut TestBot, model_url: &str, stream: bool) {
    bot.start_worker(llm_answers(model_url, stream).await).await;
}

/// The `llm` answer source asking the test model at `model_url`, streaming or not.
pub async fn llm_answers(model_url: &str, stream: bool) -> AnswerSource {
    let settings = AnswerSettings {
        source: SourceKind::Llm,
        llm: Some(LlmSettings {
            base_url: model_url.parse().unwrap(),
            api_key: None,
            model: "test-model".to_owned(),
            system_prompt: "You are the test assistant.".to_owned(),
            max_tokens: 200,
            temperature: 0.0,
            timeout: Duration::from_secs(30),
            stream,
        }),
        ..AnswerSettings::placeholder()
    };
    AnswerSource::start(&settings).await.unwrap()
}
