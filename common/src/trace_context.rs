//! W3C trace context across the system's hops: a span's `traceparent` (and `tracestate`, when
//! there is one) goes into the headers of a NATS request or an HTTP call, and a span on the
//! other side takes it as its parent, so one member's message is one trace from the bot through
//! the worker to the model.
//!
//! Everything here is a no-op unless the process's subscriber carries the OpenTelemetry layer
//! ([`crate::traces`], installed when `OTEL_EXPORTER_OTLP_ENDPOINT` is set): [`enabled`] asks
//! the current subscriber, which costs a thread-local read and allocates nothing, so the hot
//! paths call these functions unconditionally and make their spans only through them.

use async_nats::HeaderMap;
use opentelemetry::{
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::TraceContextExt,
    Context,
};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::traces::ExportFilter;

/// HTTP headers (axum's and reqwest's) as the carrier of a trace context: OpenTelemetry's own.
pub use opentelemetry_http::{HeaderExtractor, HeaderInjector};

/// Whether the current subscriber exports spans (it carries the exporter's filter, and so the
/// OpenTelemetry layer: see [`crate::traces::ExportFilter`]).
pub fn enabled() -> bool {
    tracing::dispatcher::get_default(|dispatch| dispatch.is::<ExportFilter>())
}

/// A span made by `make` when traces are on, [`Span::none`] when they are off: a span the log
/// lines do not need costs an allocation per request, and nothing else would read it.
pub fn traced_span(make: impl FnOnce() -> Span) -> Span {
    if enabled() {
        make()
    } else {
        Span::none()
    }
}

/// `span` (fresh, not yet entered) starts a trace of its own instead of joining the one of the
/// span around it: one trace per unit of work that a long-lived span holds many of.
pub fn start_trace(span: &Span) {
    if enabled() {
        // The parent can only be wrong when the span was entered already: a caller's bug that
        // costs a longer trace, nothing more.
        let _ = span.set_parent(Context::new());
    }
}

/// `span` (fresh, not yet entered) continues the trace that `incoming` carries, if it carries
/// one; otherwise it keeps its parent (or starts a trace).
pub fn continue_trace(span: &Span, incoming: &dyn Extractor) {
    if !enabled() {
        return;
    }
    let remote = TraceContextPropagator::new().extract(incoming);
    if remote.span().span_context().is_valid() {
        let _ = span.set_parent(remote);
    }
}

/// Writes the trace context of `span` (the current span when `None`) through `injector`;
/// nothing when traces are off or the span is not part of a trace.
pub fn inject(span: Option<&Span>, injector: &mut dyn Injector) {
    if !enabled() {
        return;
    }
    let context = match span {
        Some(span) => span.context(),
        None => Span::current().context(),
    };
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, injector);
    }
}

/// [`inject`] into the headers of a NATS message.
pub fn inject_nats(span: Option<&Span>, map: &mut HeaderMap) {
    inject(span, &mut NatsHeaders(map));
}

/// The headers that carry the trace context of `span` (the current span when `None`) on an
/// HTTP request: empty, which allocates nothing, when traces are off.
pub fn http_headers(span: Option<&Span>) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    inject(span, &mut HeaderInjector(&mut map));
    map
}

/// The current span, to carry its trace context into work that runs later, outside it (a
/// stream polled after its caller returned); [`Span::none`] when traces are off.
pub fn current_span() -> Span {
    if enabled() {
        Span::current()
    } else {
        Span::none()
    }
}

/// A span for a request that came in with `incoming` headers: made by `make` when traces are on
/// (continuing the caller's trace when it sent one), [`Span::none`] when they are off.
pub fn server_span(incoming: &dyn Extractor, make: impl FnOnce() -> Span) -> Span {
    if !enabled() {
        return Span::none();
    }
    let span = make();
    continue_trace(&span, incoming);
    span
}

/// The trace id of the innermost entered span, when it belongs to a sampled trace: what a log
/// line carries as `trace_id`.
pub fn current_trace_id() -> Option<opentelemetry::trace::TraceId> {
    Context::map_current(|context| {
        let span = context.span();
        let span_context = span.span_context();
        (span_context.is_valid() && span_context.is_sampled()).then(|| span_context.trace_id())
    })
}

/// NATS headers as the carrier of a trace context. NATS header names are case-sensitive; the
/// W3C names are written in lower case ([`crate::subjects::headers::TRACEPARENT`]), and read
/// in any case.
pub struct NatsHeaders<'a>(pub &'a mut HeaderMap);

impl Injector for NatsHeaders<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value);
    }
}

/// Read-only NATS headers as the carrier of a trace context.
pub struct NatsHeadersRef<'a>(pub &'a HeaderMap);

impl Extractor for NatsHeadersRef<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if let Some(value) = self.0.get(key) {
            return Some(value.as_str());
        }
        self.0
            .iter()
            .find(|(name, _)| AsRef::<str>::as_ref(name).eq_ignore_ascii_case(key))
            .and_then(|(_, values)| values.first())
            .map(async_nats::HeaderValue::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .iter()
            .map(|(name, _)| AsRef::<str>::as_ref(name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subjects::headers;

    #[test]
    fn nats_headers_round_trip_a_trace_context() {
        let mut map = HeaderMap::new();
        {
            let mut injector = NatsHeaders(&mut map);
            injector.set(
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
            );
            injector.set("tracestate", "congo=t61rcWkgMzE".to_owned());
        }
        assert_eq!(
            map.get(headers::TRACEPARENT).map(|v| v.as_str()),
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        );
        let extractor = NatsHeadersRef(&map);
        let context = TraceContextPropagator::new().extract(&extractor);
        let span = context.span();
        let remote = span.span_context();
        assert!(remote.is_valid() && remote.is_remote() && remote.is_sampled());
        assert_eq!(
            remote.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(remote.span_id().to_string(), "b7ad6b7169203331");
        assert_eq!(remote.trace_state().header(), "congo=t61rcWkgMzE");
    }

    #[test]
    fn nats_header_names_are_read_in_any_case() {
        let mut map = HeaderMap::new();
        map.insert(
            "Traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        );
        let extractor = NatsHeadersRef(&map);
        assert!(extractor.get("traceparent").is_some());
        assert_eq!(extractor.keys(), ["Traceparent"]);
        assert_eq!(extractor.get("tracestate"), None);
    }

    #[test]
    fn http_headers_round_trip_and_refuse_what_is_no_header_value() {
        let mut map = http::HeaderMap::new();
        {
            let mut injector = HeaderInjector(&mut map);
            injector.set(
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00".to_owned(),
            );
            injector.set("tracestate", "bad\nvalue".to_owned());
        }
        assert_eq!(map.len(), 1, "{map:?}");
        let context = TraceContextPropagator::new().extract(&HeaderExtractor(&map));
        let span = context.span();
        let remote = span.span_context();
        assert!(remote.is_valid() && !remote.is_sampled());
    }

    fn traced() -> (
        opentelemetry_sdk::trace::SdkTracerProvider,
        tracing::subscriber::DefaultGuard,
    ) {
        // No exporter: spans are sampled, then dropped.
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let (_logs, guard) = crate::test_util::capture_traced_logs(
            crate::telemetry::Service::Worker,
            "info",
            &provider,
        );
        (provider, guard)
    }

    fn trace_id(span: &Span) -> String {
        span.context().span().span_context().trace_id().to_string()
    }

    #[test]
    fn a_server_span_continues_the_callers_trace_and_passes_it_on() {
        let (_provider, _guard) = traced();
        assert!(enabled());
        let mut incoming = HeaderMap::new();
        incoming.insert(
            headers::TRACEPARENT,
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        );
        incoming.insert(headers::TRACESTATE, "congo=t61rcWkgMzE");
        let span = server_span(&NatsHeadersRef(&incoming), || {
            tracing::info_span!("relay request")
        });

        let mut outgoing = HeaderMap::new();
        span.in_scope(|| inject_nats(None, &mut outgoing));
        let traceparent = outgoing.get(headers::TRACEPARENT).expect("a traceparent");
        let parts: Vec<&str> = traceparent.as_str().split('-').collect();
        assert_eq!(parts[..2], ["00", "0af7651916cd43dd8448eb211c80319c"]);
        assert_ne!(parts[2], "b7ad6b7169203331", "the span's own id goes on");
        assert_eq!(parts[3], "01");
        assert_eq!(
            outgoing.get(headers::TRACESTATE).map(|v| v.as_str()),
            Some("congo=t61rcWkgMzE")
        );
        let http = http_headers(Some(&span));
        assert_eq!(
            http.get(headers::TRACEPARENT).and_then(|v| v.to_str().ok()),
            Some(traceparent.as_str())
        );
    }

    #[test]
    fn a_new_trace_starts_inside_a_long_lived_span_and_without_a_caller() {
        let (_provider, _guard) = traced();
        let channel = tracing::info_span!("ticket_channel");
        let message = channel.in_scope(|| {
            let message = tracing::info_span!("ticket message");
            start_trace(&message);
            message
        });
        assert_ne!(trace_id(&message), trace_id(&channel));
        let alone = server_span(&NatsHeadersRef(&HeaderMap::new()), || {
            tracing::info_span!("relay request")
        });
        assert_eq!(trace_id(&alone).len(), 32);
        assert_ne!(trace_id(&alone), "0".repeat(32));
    }

    #[test]
    fn without_the_layer_the_hooks_allocate_nothing() {
        let (_logs, _guard) =
            crate::test_util::capture_logs(crate::telemetry::Service::Worker, "info");
        let span = tracing::info_span!("relay request", request_id = "abc");
        let _entered = span.enter();
        let mut map = HeaderMap::new();
        let incoming = http::HeaderMap::new();
        let hooks = allocation_counter::measure(|| {
            for _ in 0..100 {
                inject_nats(None, &mut map);
                inject_nats(Some(&current_span()), &mut map);
                let call = traced_span(|| tracing::info_span!("model call"));
                drop(http_headers(Some(&call)));
                drop(server_span(&HeaderExtractor(&incoming), || {
                    tracing::info_span!("POST /relay")
                }));
                start_trace(&span);
            }
        });
        assert_eq!(hooks.count_total, 0, "{hooks:?}");
        // The counter sees what a span costs the log alone.
        let one_span = allocation_counter::measure(|| drop(tracing::info_span!("relay", n = 1)));
        assert!(one_span.count_total > 0, "{one_span:?}");
    }

    #[test]
    fn without_the_layer_nothing_is_injected_or_made() {
        let (_logs, _guard) =
            crate::test_util::capture_logs(crate::telemetry::Service::Worker, "info");
        assert!(!enabled());
        let span = tracing::info_span!("work");
        let _entered = span.enter();
        let mut map = HeaderMap::new();
        inject_nats(None, &mut map);
        inject_nats(Some(&span), &mut map);
        assert!(map.is_empty());
        assert!(http_headers(None).is_empty());
        assert!(current_span().is_none());
        assert!(traced_span(|| tracing::info_span!("extra")).is_none());
        assert_eq!(current_trace_id(), None);
    }
}
