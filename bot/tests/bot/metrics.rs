//! One scrape for the whole system: after a scripted load (member messages through the bot,
//! relays through relay-http, one request refused busy, one model error), relay-http's
//! `GET /metrics` parses with an OpenMetrics parser we did not write, and every counter moved
//! by exactly what happened; a stopped worker then shows as down.

use std::time::Duration;

use axum::{
    body::Body,
    extract::State,
    http::{Request, StatusCode},
    routing::post,
    Json, Router,
};
use common::{
    payload::RelayRequest,
    subjects::{headers, SERVICE_NAME},
    test_util::eventually,
};
use http_body_util::BodyExt as _;
use openmetrics_parser::{MetricsExposition, OpenMetricsType, OpenMetricsValue};
use relay_worker::{
    test_util::{sample_request, spawn_worker_with},
    WorkerSettings,
};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};
use tower::ServiceExt as _;

use crate::{
    fake_discord::{FakeDiscord, SandboxOptions},
    helpers::{llm_answers, spawn_bot_with_nats, SUBJECT, TOKEN, USER_ID},
    set_up, wait_for_posts, SetUp,
};

/// What the fake model says it used per call.
const TOKENS_IN: u64 = 11;
const TOKENS_OUT: u64 = 7;
/// A question the fake model answers 500.
const FAIL: &str = "please fail";
/// A question the fake model holds until released.
const HOLD: &str = "please hold";

/// The fake model's hold: tells when a request is held, lets them go when released.
#[derive(Clone)]
struct Hold {
    holding: mpsc::UnboundedSender<()>,
    released: watch::Receiver<bool>,
}

/// A fake OpenAI-compatible model: answers with its usage, fails [`FAIL`], holds [`HOLD`]
/// (saying so on the receiver) until the sender says `true`.
async fn start_model() -> (String, watch::Sender<bool>, mpsc::UnboundedReceiver<()>) {
    let (release, released) = watch::channel(false);
    let (holding, held) = mpsc::unbounded_channel();
    async fn complete(
        State(Hold {
            holding,
            mut released,
        }): State<Hold>,
        Json(body): Json<Value>,
    ) -> (StatusCode, Json<Value>) {
        let asked = body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_owned();
        if asked.contains(FAIL) {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": {"message": "the fake model fails on purpose"}})),
            );
        }
        if asked.contains(HOLD) {
            let _ = holding.send(());
            let _ = released.wait_for(|r| *r).await;
        }
        (
            StatusCode::OK,
            Json(json!({
                "choices": [{"message": {"role": "assistant", "content": "An answer."}}],
                "usage": {"prompt_tokens": TOKENS_IN, "completion_tokens": TOKENS_OUT}
            })),
        )
    }
    let app = Router::new()
        .route("/v1/chat/completions", post(complete))
        .with_state(Hold { holding, released });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, release, held)
}

/// relay-http's router on `nats`, with its default settings.
fn sidecar(nats: async_nats::Client) -> Router {
    relay_http::app(relay_http::AppState::new(
        nats,
        SUBJECT,
        &relay_http::HttpSettings::default(),
    ))
}

/// A parsed scrape.
pub(crate) struct Scrape(MetricsExposition<OpenMetricsType, OpenMetricsValue>);

impl Scrape {
    async fn of(app: &Router) -> Self {
        let response = app
            .clone()
            .oneshot(
                Request::get("/metrics")
                    .header("accept", "application/openmetrics-text; version=1.0.0")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text"),
            "{:?}",
            response.headers()
        );
        let page = String::from_utf8(
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap();
        Self::parse(&page)
    }

    /// A page that `/metrics` served.
    fn parse(page: &str) -> Self {
        let parsed = openmetrics_parser::openmetrics::parse_openmetrics(page)
            .unwrap_or_else(|err| panic!("not OpenMetrics ({err:?}):\n{page}"));
        Self(parsed)
    }

    /// One process's page, as `/metrics` would serve it alone.
    pub(crate) fn of_process(page: &str) -> Self {
        Self::parse(&common::metrics::merge([page]))
    }

    /// The sum of the family's samples whose labels include `labels` (a histogram's count).
    fn value(&self, family: &str, labels: &[(&str, &str)]) -> f64 {
        self.sample(family, labels).unwrap_or(0.0)
    }

    /// [`Self::value`], or `None` when no sample of the family has `labels`.
    pub(crate) fn sample(&self, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let family = self.0.families.get(family)?;
        family
            .iter_samples()
            .filter(|sample| {
                let set = sample.get_labelset().unwrap();
                labels
                    .iter()
                    .all(|(name, value)| set.get_label_value(name) == Some(*value))
            })
            .map(|sample| match &sample.value {
                OpenMetricsValue::Counter(counter) => counter.value.as_f64(),
                OpenMetricsValue::Gauge(gauge) => gauge.as_f64(),
                OpenMetricsValue::Histogram(histogram) => histogram.count.unwrap_or(0) as f64,
                other => panic!("unexpected sample {other:?}"),
            })
            .reduce(|sum, value| sum + value)
    }

    /// The instance IDs `ticket_up` lists for `service`, with their state.
    fn up(&self, service: &str) -> Vec<(String, f64)> {
        let family = &self.0.families["ticket_up"];
        family
            .iter_samples()
            .filter_map(|sample| {
                let set = sample.get_labelset().unwrap();
                (set.get_label_value("service") == Some(service)).then(|| {
                    let OpenMetricsValue::Gauge(value) = &sample.value else {
                        panic!("ticket_up is a gauge")
                    };
                    (
                        set.get_label_value("instance").unwrap().to_owned(),
                        value.as_f64(),
                    )
                })
            })
            .collect()
    }
}

/// `POST /relay` saying `content`; its status.
async fn relay(app: &Router, content: &str) -> StatusCode {
    let body = json!({"guild_id": "1", "channel_id": "2", "user_id": "3", "content": content});
    app.clone()
        .oneshot(
            Request::post("/relay")
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap()
        .status()
}

/// Every REST call the fake Discord has seen so far.
async fn discord_calls(fake: &FakeDiscord) -> usize {
    fake.wait_for("the calls so far", |calls| Some(calls.len()))
        .await
}

#[tokio::test]
async fn one_scrape_counts_what_the_bot_the_worker_and_the_sidecar_did() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let (model_url, release, mut holding) = start_model().await;
    let bot = spawn_bot_with_nats(fake.clone(), nats).await;
    let settings = bot.nats.settings();
    // One request at a time, so that a second one while the first is held is refused busy.
    let worker_settings = WorkerSettings {
        max_in_flight: 1,
        ..WorkerSettings::new(SUBJECT)
    };
    let answers = llm_answers(&model_url, false).await;
    let worker = spawn_worker_with(&settings, worker_settings, answers).await;
    let nats = common::nats::connect(&settings, "metrics-test")
        .await
        .unwrap();
    let app = sidecar(nats.clone());

    // Before: the bot has adopted its ticket, every process answers.
    let before = eventually(
        "the bot and the worker on the page",
        Duration::from_secs(15),
        || {
            let app = app.clone();
            async move {
                let scrape = Scrape::of(&app).await;
                let both = scrape.up(SERVICE_NAME).len() == 1
                    && scrape.up("ticket-bot").len() == 1
                    && scrape.value("ticket_bot_tickets_open", &[]) == 1.0;
                both.then_some(scrape)
            }
        },
    )
    .await;

    // The scripted load.
    const MEMBER_MESSAGES: usize = 3;
    const RELAYS: usize = 4;
    for n in 0..MEMBER_MESSAGES {
        fake.send_message(ticket, USER_ID, &format!("question number {n}"));
        wait_for_posts(&fake, ticket, n + 1).await;
    }
    for n in 0..RELAYS {
        assert_eq!(
            relay(&app, &format!("relay number {n}")).await,
            StatusCode::OK
        );
    }
    assert_eq!(relay(&app, FAIL).await, StatusCode::INTERNAL_SERVER_ERROR);
    // Busy: one request held by the model fills the worker; a second is refused at once.
    // (Sent from a task: the held one is answered only once released.)
    let held = {
        let request = RelayRequest {
            content: common::payload::MessageContent::parse(HOLD.to_owned()).unwrap(),
            ..sample_request()
        };
        let nats = nats.clone();
        tokio::spawn(async move { nats.request(SUBJECT, request.to_json().into()).await })
    };
    holding.recv().await.expect("the model holds the request");
    let refused = nats
        .request(SUBJECT, sample_request().to_json().into())
        .await
        .unwrap();
    assert_eq!(
        refused
            .headers
            .as_ref()
            .and_then(|map| map.get(headers::SERVICE_ERROR_CODE))
            .map(|code| code.as_str()),
        Some("503"),
        "busy while the model holds the only request the worker takes"
    );
    release.send_replace(true);
    held.await.unwrap().unwrap();

    let after = Scrape::of(&app).await;
    // The classic text format (what curl gets) parses with a Prometheus parser, with the same
    // counts.
    let classic = {
        let response = app
            .clone()
            .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    };
    let parsed = openmetrics_parser::prometheus::parse_prometheus(&classic)
        .unwrap_or_else(|err| panic!("not Prometheus text ({err:?}):\n{classic}"));
    let relayed = &parsed.families["ticket_bot_messages_relayed_total"];
    assert_eq!(relayed.iter_samples().count(), 1);
    let delta = |family: &str, labels: &[(&str, &str)]| {
        after.value(family, labels) - before.value(family, labels)
    };
    let relayed_by_bot = MEMBER_MESSAGES as f64;
    // The relays and the held request.
    let answered_directly = RELAYS as f64 + 1.0;
    let answered = relayed_by_bot + answered_directly;
    assert_eq!(
        delta("relay_worker_requests", &[("outcome", "answered")]),
        answered
    );
    assert_eq!(delta("relay_worker_requests", &[("outcome", "busy")]), 1.0);
    assert_eq!(delta("relay_worker_requests", &[("outcome", "5xx")]), 1.0);
    assert_eq!(delta("relay_worker_requests", &[("outcome", "4xx")]), 0.0);
    assert_eq!(
        delta("relay_worker_requests", &[("outcome", "expired")]),
        0.0
    );
    let model_calls = answered + 1.0;
    assert_eq!(delta("relay_worker_model_calls", &[]), model_calls);
    assert_eq!(
        delta("relay_worker_model_duration_seconds", &[]),
        model_calls
    );
    assert_eq!(
        delta("relay_worker_model_errors", &[("kind", "server")]),
        1.0
    );
    assert_eq!(delta("relay_worker_model_errors", &[]), 1.0);
    let answered_calls = model_calls - 1.0;
    assert_eq!(
        delta("relay_worker_model_tokens", &[("direction", "in")]),
        answered_calls * TOKENS_IN as f64
    );
    assert_eq!(
        delta("relay_worker_model_tokens", &[("direction", "out")]),
        answered_calls * TOKENS_OUT as f64
    );
    assert_eq!(
        delta("relay_worker_answer_duration_seconds", &[("source", "llm")]),
        answered
    );
    assert_eq!(after.value("relay_worker_in_flight", &[]), 0.0);
    // The sidecar: its own requests (the scrapes count too: one before, this one after).
    assert_eq!(
        delta(
            "relay_http_requests",
            &[("route", "/relay"), ("status", "200")]
        ),
        RELAYS as f64
    );
    assert_eq!(
        delta(
            "relay_http_requests",
            &[("route", "/relay"), ("status", "500")]
        ),
        1.0
    );
    assert_eq!(
        delta(
            "relay_http_request_duration_seconds",
            &[("route", "/relay")]
        ),
        RELAYS as f64 + 1.0
    );
    // The bot.
    assert_eq!(delta("ticket_bot_messages_relayed", &[]), relayed_by_bot);
    assert_eq!(
        delta("ticket_bot_reply_duration_seconds", &[]),
        relayed_by_bot
    );
    assert_eq!(
        delta("ticket_bot_first_words_duration_seconds", &[]),
        relayed_by_bot
    );
    assert_eq!(after.value("ticket_bot_queue_depth", &[]), 0.0);
    assert_eq!(after.value("ticket_bot_tickets_open", &[]), 1.0);
    assert_eq!(delta("ticket_bot_tickets_opened", &[]), 0.0);
    assert_eq!(delta("ticket_bot_discord_rate_limited", &[]), 0.0);
    assert_eq!(
        after.value(
            "ticket_bot_shard_state",
            &[("shard", "0"), ("state", "connected")]
        ),
        1.0
    );
    // Every REST call the fake Discord saw, from the bot's first (gateway discovery), is
    // counted, typing included (it may still be on its way when the answers are posted).
    eventually("every REST call counted", Duration::from_secs(15), || {
        let (app, fake) = (app.clone(), fake.clone());
        async move {
            let scrape = Scrape::of(&app).await;
            let counted = scrape.value("ticket_bot_discord_requests", &[]);
            (counted > 0.0 && counted == discord_calls(&fake).await as f64).then_some(())
        }
    })
    .await;

    // A stopped worker shows as down on the next scrape, not as a gap.
    let worker_id = after.up(SERVICE_NAME)[0].0.clone();
    worker.stop().await.unwrap();
    let down = Scrape::of(&app).await;
    assert_eq!(down.up(SERVICE_NAME), vec![(worker_id, 0.0)]);
    assert_eq!(down.up("ticket-bot").len(), 1);
    assert_eq!(down.up("ticket-bot")[0].1, 1.0);
    bot.shutdown().await.unwrap();
}

/// The metric names a dashboard's queries use: `ticket_…`, `relay_…` and `discord_proxy_…`
/// identifiers.
fn queried_metrics(dashboard: &Value) -> Vec<String> {
    let mut names = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            let mut rest = expr;
            while let Some(at) = rest.find(|c: char| c.is_ascii_lowercase()) {
                let word: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[at + word.len()..];
                if ["ticket_", "relay_", "discord_proxy_"]
                    .iter()
                    .any(|prefix| word.starts_with(prefix))
                {
                    names.push(word);
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

#[tokio::test]
async fn every_metric_the_dashboard_queries_is_on_the_page() {
    let dashboard: Value = serde_json::from_str(include_str!(
        "../../../deploy/grafana/dashboards/ticket-assistant.json"
    ))
    .expect("the dashboard is JSON");
    assert_eq!(dashboard["uid"], "ticket-assistant");
    let queried = queried_metrics(&dashboard);
    assert!(queried.len() >= 20, "{queried:?}");
    assert!(
        queried
            .iter()
            .any(|name| name.starts_with("discord_proxy_")),
        "{queried:?}"
    );

    // A heartbeat soon, so that the gateway latency is known (Discord asks for one in 41 s).
    let fake = FakeDiscord::start(
        SandboxOptions::new(TOKEN).heartbeat_interval(Duration::from_millis(200)),
    )
    .await;
    let SetUp { nats, .. } = set_up(&fake).await;
    let bot = spawn_bot_with_nats(fake.clone(), nats).await;
    let settings = bot.nats.settings();
    let (model_url, _release, _holding) = start_model().await;
    let answers = llm_answers(&model_url, false).await;
    let worker = spawn_worker_with(&settings, WorkerSettings::new(SUBJECT), answers).await;
    let nats = common::nats::connect(&settings, "metrics-test")
        .await
        .unwrap();
    // A shared discord-proxy that has forwarded one call (its series appear with the first).
    let proxy = bot::metrics::ProxyMetrics::new("dashboard-proxy");
    proxy.rest().call("/api/v10/channels/1/messages", 200);
    let _proxy_service = bot::metrics::serve_proxy(&nats, proxy).await.unwrap();
    let app = sidecar(nats.clone());
    eventually(
        "the three processes on the page",
        Duration::from_secs(15),
        || {
            let app = app.clone();
            async move {
                let scrape = Scrape::of(&app).await;
                (scrape.up(SERVICE_NAME).len() == 1
                    && scrape.up("ticket-bot").len() == 1
                    && scrape.up("discord-proxy").len() == 1
                    && scrape.value("ticket_bot_shard_state", &[]) > 0.0
                    && scrape.value("ticket_bot_gateway_latency_seconds", &[]) > 0.0)
                    .then_some(())
            }
        },
    )
    .await;
    // One relay, so that the sidecar's own families have their first series.
    assert_eq!(relay(&app, "hello").await, StatusCode::OK);
    let page = Scrape::of(&app).await;
    let served: Vec<String> = page
        .0
        .families
        .iter()
        .flat_map(|(name, family)| {
            let suffixes: &[&str] = match family.family_type {
                OpenMetricsType::Counter => &["_total"],
                OpenMetricsType::Histogram => &["_bucket", "_count", "_sum"],
                _ => &[""],
            };
            suffixes.iter().map(move |suffix| format!("{name}{suffix}"))
        })
        .collect();
    let missing: Vec<&String> = queried
        .iter()
        .filter(|name| !served.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries {missing:?}, which /metrics lacks"
    );
    worker.stop().await.unwrap();
    bot.shutdown().await.unwrap();
}
