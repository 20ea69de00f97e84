//! The worker binary with `OTEL_EXPORTER_OTLP_ENDPOINT` set: its span of a request continues the
//! requester's trace, goes to the collector (a stand-in here) by the time it exits, and its log
//! line of the request carries the trace id.

use async_nats::HeaderMap;
use common::{
    subjects::headers,
    test_util::{NatsServer, OtlpCollector},
};

use crate::{helpers::*, relay};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

#[tokio::test]
async fn the_binary_exports_its_request_span_under_the_callers_trace_before_it_exits() {
    let collector = OtlpCollector::start().await;
    let server = NatsServer::start();
    let endpoint = collector.endpoint();
    let child = worker_binary(
        &server,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("LOG_LEVEL", "info"),
        ],
    );
    let client = client(&server).await;
    wait_for_instances(&client, 1).await;

    let mut map = HeaderMap::new();
    map.insert(
        headers::TRACEPARENT,
        format!("00-{TRACE_ID}-{CALLER_SPAN}-01").as_str(),
    );
    let request = valid_request(7).to_json();
    let reply = client
        .request_with_headers(SUBJECT, map, request.into())
        .await
        .expect("an answer");
    assert!(reply.headers.is_none(), "not an error reply");
    // A request without a trace context starts a trace of its own.
    relay(client).send(&valid_request(8), None).await.unwrap();

    sigterm(&child);
    let (status, out, err) = exited(child).await;
    assert!(status.success(), "{status:?}\n{out}\n{err}");

    // The batch processor exports every few seconds: these went out on shutdown.
    let spans = collector.spans();
    let requests: Vec<_> = spans.iter().filter(|s| s.name == "relay request").collect();
    assert_eq!(requests.len(), 2, "{spans:#?}");
    let continued = requests
        .iter()
        .find(|s| s.trace_id == TRACE_ID)
        .expect("the span of the traced request");
    assert_eq!(continued.parent_span_id.as_deref(), Some(CALLER_SPAN));
    assert_eq!(continued.service, "relay-worker");
    let own = requests.iter().find(|s| s.trace_id != TRACE_ID).unwrap();
    assert_eq!(own.parent_span_id, None, "a root");

    let line = out
        .lines()
        .find(|l| l.starts_with("[WORKER] INFO - relay request") && l.contains("user_id=7"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.ends_with(&format!(" trace_id={TRACE_ID}")), "{line}");
    assert!(out.contains("exporting traces"), "{out}");
}
