//! An OTLP collector stand-in: an HTTP server on 127.0.0.1 that takes `POST /v1/traces` as the
//! exporter sends it (protobuf `ExportTraceServiceRequest`), decodes it and keeps the spans, so
//! that a test can read what a service exported and how the spans link up.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{body::Bytes, extract::State, http::StatusCode, routing::post, Router};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{any_value::Value, KeyValue},
};
use prost::Message as _;

use super::eventually;
use crate::traces::SdkTracerProvider;

/// One exported span, its ids in lower-case hex as in a `traceparent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectedSpan {
    /// The `service.name` of the resource that exported it.
    pub service: String,
    /// The span's name.
    pub name: String,
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits; `None` for the root of a trace.
    pub parent_span_id: Option<String>,
    /// The span's string attributes (`code.module.name`, fields of the tracing span...).
    pub attributes: Vec<(String, String)>,
}

impl CollectedSpan {
    /// The string attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Default)]
struct Received {
    spans: Vec<CollectedSpan>,
    count: usize,
    keep: bool,
}

/// The running stand-in; it stops when dropped.
#[derive(Debug)]
pub struct OtlpCollector {
    addr: SocketAddr,
    received: Arc<Mutex<Received>>,
    server: tokio::task::JoinHandle<()>,
}

impl OtlpCollector {
    /// Serves on a free port of 127.0.0.1, keeping every span.
    pub async fn start() -> Self {
        Self::serve("127.0.0.1:0".parse().expect("an address"), true).await
    }

    /// Serves on `addr`, counting the spans and keeping none (for benchmarks).
    pub async fn sink(addr: SocketAddr) -> Self {
        Self::serve(addr, false).await
    }

    async fn serve(addr: SocketAddr, keep: bool) -> Self {
        let received = Arc::new(Mutex::new(Received {
            keep,
            ..Received::default()
        }));
        let app = Router::new()
            .route("/v1/traces", post(export))
            .with_state(Arc::clone(&received));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("the collector binds");
        let addr = listener.local_addr().expect("a bound address");
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the collector serves");
        });
        Self {
            addr,
            received,
            server,
        }
    }

    /// The base URL to give as `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The spans received so far.
    pub fn spans(&self) -> Vec<CollectedSpan> {
        self.received.lock().expect("collector").spans.clone()
    }

    /// How many spans were received so far.
    pub fn count(&self) -> usize {
        self.received.lock().expect("collector").count
    }

    /// Flushes `provider` until `found` finds what it looks for in the spans received (the
    /// exporter sends a batch every few seconds otherwise); panics after `within`. A flush
    /// blocks until the stand-in answers, so it runs off this thread, where the stand-in may be
    /// serving.
    pub async fn flush_until<T>(
        &self,
        provider: &SdkTracerProvider,
        what: &str,
        within: Duration,
        found: impl Fn(&[CollectedSpan]) -> Option<T>,
    ) -> T {
        eventually(what, within, || {
            let provider = provider.clone();
            let found = &found;
            async move {
                tokio::task::spawn_blocking(move || provider.force_flush())
                    .await
                    .expect("the flushing thread")
                    .ok()?;
                found(&self.spans())
            }
        })
        .await
    }
}

impl Drop for OtlpCollector {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn export(State(received): State<Arc<Mutex<Received>>>, body: Bytes) -> StatusCode {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut received = received.lock().expect("collector");
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .as_ref()
            .and_then(|resource| string_attribute(&resource.attributes, "service.name"))
            .unwrap_or_default();
        for span in resource_spans
            .scope_spans
            .into_iter()
            .flat_map(|scope| scope.spans)
        {
            received.count += 1;
            if !received.keep {
                continue;
            }
            let attributes = span
                .attributes
                .iter()
                .filter_map(|kv| {
                    string_attribute(std::slice::from_ref(kv), &kv.key)
                        .map(|value| (kv.key.clone(), value))
                })
                .collect();
            received.spans.push(CollectedSpan {
                service: service.clone(),
                name: span.name,
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent_span_id: (!span.parent_span_id.is_empty())
                    .then(|| hex(&span.parent_span_id)),
                attributes,
            });
        }
    }
    StatusCode::OK
}

fn string_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(text) => Some(text.clone()),
            Value::IntValue(number) => Some(number.to_string()),
            Value::BoolValue(flag) => Some(flag.to_string()),
            _ => None,
        }
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
