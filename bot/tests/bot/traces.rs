//! Traces across the hops: one member's message, through the real bot, a real relay worker with
//! the llm answer source and a fake model, exported over OTLP to a collector stand-in, is one
//! trace: the bot's span of the message at its root, the worker's span of the request under it
//! (its parent came over NATS), the model call under that (and its `traceparent` went to the
//! model).
//!
//! Bot and worker run in this process, on this thread, so one subscriber sees both; their spans
//! meet only through the headers, since the worker's tasks never run inside the bot's spans.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{extract::State, http::HeaderMap, routing::post, Json, Router};
use common::test_util::{CollectedSpan, OtlpCollector};
use serde_json::{json, Value};

use crate::{
    fake_discord::FakeDiscord,
    helpers::{spawn_traced_bot, start_llm_worker, TOKEN, USER_ID},
    set_up, wait_for_posts, SetUp,
};

const ANSWER: &str = "Refunds take five working days.";

/// A fake OpenAI-compatible model that answers [`ANSWER`] and keeps the `traceparent` of each
/// request.
#[derive(Clone, Default)]
struct TracedModel {
    traceparents: Arc<Mutex<Vec<Option<String>>>>,
}

impl TracedModel {
    async fn start(&self) -> String {
        let app = Router::new()
            .route("/v1/chat/completions", post(Self::complete))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    async fn complete(
        State(model): State<Self>,
        headers: HeaderMap,
        Json(_): Json<Value>,
    ) -> Json<Value> {
        let traceparent = headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        model.traceparents.lock().unwrap().push(traceparent);
        Json(json!({"choices": [{"message": {"role": "assistant", "content": ANSWER}}]}))
    }
}

/// The one span named `name` among `spans`.
fn one<'a>(spans: &[&'a CollectedSpan], name: &str) -> &'a CollectedSpan {
    let named: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(named.len(), 1, "one {name:?} span: {spans:#?}");
    named[0]
}

#[tokio::test]
async fn one_ticket_message_is_one_trace_from_the_bot_through_the_worker_to_the_model() {
    let collector = OtlpCollector::start().await;
    let provider = common::traces::provider(&collector.endpoint(), "traces-test")
        .expect("a provider exporting to the stand-in");
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let model = TracedModel::default();
    let model_url = model.start().await;
    let mut bot = spawn_traced_bot(fake.clone(), nats, &provider).await;
    start_llm_worker(&mut bot, &model_url, false).await;

    fake.send_message(ticket, USER_ID, "how do refunds work?");
    let posts = wait_for_posts(&fake, ticket, 1).await;
    assert_eq!(posts[0].body["content"], ANSWER);
    // The bot's span ends once the answer is posted.
    let spans = collector
        .flush_until(
            &provider,
            "the bot's span",
            Duration::from_secs(20),
            |spans| {
                spans
                    .iter()
                    .any(|s| s.name == "ticket message")
                    .then(|| spans.to_vec())
            },
        )
        .await;

    // The worker's readiness probe made a trace of its own (a request without a caller).
    let roots: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "ticket message")
        .collect();
    let root = one(&roots, "ticket message");
    let trace: Vec<_> = spans
        .iter()
        .filter(|s| s.trace_id == root.trace_id)
        .collect();
    let request = one(&trace, "relay request");
    let call = one(&trace, "model call");
    assert_eq!(
        trace.len(),
        3,
        "the bot's, the worker's, the model call's: {trace:#?}"
    );
    assert_eq!(
        root.parent_span_id, None,
        "the message starts its own trace"
    );
    assert_eq!(
        request.parent_span_id.as_deref(),
        Some(root.span_id.as_str()),
        "the worker's span continues the bot's, from the NATS headers"
    );
    assert_eq!(
        call.parent_span_id.as_deref(),
        Some(request.span_id.as_str())
    );
    assert!(
        spans.iter().all(|s| s.service == "traces-test"),
        "{spans:#?}"
    );
    let sent = format!("00-{}-{}-01", root.trace_id, call.span_id);
    assert!(
        model.traceparents.lock().unwrap().contains(&Some(sent)),
        "the model was asked under the model call's span: {:?}",
        model.traceparents.lock().unwrap()
    );

    let logs = bot.logs();
    let suffix = format!(" trace_id={}", root.trace_id);
    let traced_line = |text: &str| {
        logs.lines()
            .any(|l| l.contains(text) && l.ends_with(&suffix))
    };
    assert!(
        traced_line("INFO - answer posted"),
        "the bot's line:\n{logs}"
    );
    assert!(
        traced_line("INFO - relay request"),
        "the worker's line:\n{logs}"
    );
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}
