//! Traces through the sidecar: a `/relay` request is a span that continues the caller's
//! `traceparent` (or starts a trace), and the worker's span of the request, whose parent came
//! over NATS, sits under it, streamed or not. The spans go to an OTLP collector stand-in.

use std::time::Duration;

use axum::http::Method;
use common::{
    telemetry::Service,
    test_util::{capture_traced_logs, CollectedSpan, OtlpCollector},
    traces::SdkTracerProvider,
};

use tracing::subscriber::DefaultGuard;

use crate::helpers::{spawn_app, valid_request, TestApp, STREAM};

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN: &str = "b7ad6b7169203331";

/// A sidecar and its worker whose spans go to a collector stand-in.
struct Traced {
    app: TestApp,
    collector: OtlpCollector,
    provider: SdkTracerProvider,
    _subscriber: DefaultGuard,
}

impl Traced {
    async fn start() -> Self {
        let collector = OtlpCollector::start().await;
        let provider = common::traces::provider(&collector.endpoint(), "relay-http").unwrap();
        let app = spawn_app().await;
        // After the start: its readiness requests are no part of the test.
        let (_logs, subscriber) = capture_traced_logs(Service::Api, "info", &provider);
        Self {
            app,
            collector,
            provider,
            _subscriber: subscriber,
        }
    }

    /// Flushes until `count` spans named `name` came; returns all of them.
    async fn exported(&self, name: &str, count: usize) -> Vec<CollectedSpan> {
        let what = format!("{count} {name:?} spans");
        self.collector
            .flush_until(&self.provider, &what, Duration::from_secs(20), |spans| {
                (spans.iter().filter(|s| s.name == name).count() >= count).then(|| spans.to_vec())
            })
            .await
    }
}

/// The span with this id.
fn by_id<'a>(spans: &'a [CollectedSpan], id: &str) -> &'a CollectedSpan {
    spans
        .iter()
        .find(|s| s.span_id == id)
        .unwrap_or_else(|| panic!("no span {id}: {spans:#?}"))
}

#[tokio::test]
async fn a_callers_trace_goes_on_through_relay_to_the_worker_streamed_or_not() {
    let traced = Traced::start().await;
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN}-01");
    let headers = [
        ("content-type", "application/json"),
        ("traceparent", traceparent.as_str()),
        ("tracestate", "congo=t61rcWkgMzE"),
    ];

    for (path, content) in [("/relay", "hi"), ("/relay?stream=true", STREAM)] {
        let body = valid_request(content).to_string();
        let response = traced.app.send(Method::POST, path, &headers, body).await;
        assert_eq!(response.status, 200, "{path}");
    }

    let spans = traced.exported("relay request", 2).await;
    let relays: Vec<_> = spans.iter().filter(|s| s.name == "POST /relay").collect();
    let requests: Vec<_> = spans.iter().filter(|s| s.name == "relay request").collect();
    assert_eq!((relays.len(), requests.len()), (2, 2), "{spans:#?}");
    for relay in &relays {
        assert_eq!(relay.trace_id, TRACE_ID);
        assert_eq!(relay.parent_span_id.as_deref(), Some(CALLER_SPAN));
    }
    for request in &requests {
        assert_eq!(request.trace_id, TRACE_ID, "{spans:#?}");
        let parent = by_id(&spans, request.parent_span_id.as_deref().expect("a parent"));
        assert_eq!(parent.name, "POST /relay", "{spans:#?}");
    }
    assert_ne!(
        requests[0].parent_span_id, requests[1].parent_span_id,
        "each request under its own /relay span"
    );
}

#[tokio::test]
async fn a_relay_request_without_a_trace_starts_one() {
    let traced = Traced::start().await;

    assert_eq!(traced.app.relay(&valid_request("hi")).await.status, 200);

    let spans = traced.exported("relay request", 1).await;
    let request = spans.iter().find(|s| s.name == "relay request").unwrap();
    let relay = by_id(&spans, request.parent_span_id.as_deref().expect("a parent"));
    assert_eq!(relay.name, "POST /relay");
    assert_eq!(relay.parent_span_id, None, "a root: {spans:#?}");
    assert_eq!(relay.trace_id, request.trace_id);
}
