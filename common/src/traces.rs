//! Spans exported over OTLP (HTTP/protobuf) when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: the
//! tracer provider ([`provider`]), and the layer that hands it the spans of this system's own
//! crates ([`layer`]). [`crate::telemetry::init`] installs both, and shuts the provider down
//! when its guard is dropped, so that the last spans still go out.
//!
//! The batch processor exports from a thread of its own, with a blocking HTTP client (the one
//! the OTLP crate recommends for it): no task of the service's runtime ever waits on the
//! collector, and a collector that is down costs dropped spans, never a slower answer.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use tracing::{level_filters::LevelFilter, Metadata, Subscriber};
use tracing_subscriber::{
    filter::Targets,
    layer::{Context, Filter, Layer},
    registry::LookupSpan,
};

/// `OTEL_EXPORTER_OTLP_ENDPOINT` is no usable collector URL. Defined here, not in
/// [`crate::telemetry`], so that this module needs nothing from the one that installs it.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT: {0}")]
pub struct EndpointError(String);

/// What [`provider`] makes: it exports what the spans hand it, and is shut down once.
pub use opentelemetry_sdk::trace::SdkTracerProvider;

/// The crates whose spans (and the events inside them) are exported. Those of the libraries
/// under them are not: serenity's gateway makes a span per event it reads, and the exporter's
/// own HTTP client would trace its exports.
pub const EXPORTED_TARGETS: [&str; 6] = [
    "bot",
    "common",
    "discord_proxy",
    "relay_http",
    "relay_worker",
    "sandbox",
];

/// How long shutdown waits for the last spans to go out.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// What the OpenTelemetry layer takes from [`EXPORTED_TARGETS`], whatever `LOG_LEVEL` says (a
/// quiet log does not mean no traces): spans at INFO and above, and inside them, the events at
/// WARN and above (the failures, on the span where they happened). An INFO event would be a
/// span event on every request (the worker logs each one), and `relay_bench` measured those as
/// a large part of the cost of traces; the log line has the trace id instead.
///
/// Its type also tells that a subscriber exports: see [`crate::trace_context::enabled`].
#[derive(Debug, Clone)]
pub struct ExportFilter(Targets);

impl Default for ExportFilter {
    fn default() -> Self {
        Self(
            EXPORTED_TARGETS
                .iter()
                .fold(Targets::new(), |targets, target| {
                    targets.with_target(*target, LevelFilter::INFO)
                }),
        )
    }
}

/// Whether a span (`span`) or an event at `level` may be exported, from its kind and level.
fn exports_level(span: bool, level: tracing::Level) -> bool {
    span || level <= tracing::Level::WARN
}

impl ExportFilter {
    /// Events below WARN are not exported (spans are, from INFO).
    fn wants_level(metadata: &Metadata<'_>) -> bool {
        exports_level(metadata.is_span(), *metadata.level())
    }
}

impl<S> Filter<S> for ExportFilter {
    fn enabled(&self, metadata: &Metadata<'_>, context: &Context<'_, S>) -> bool {
        Self::wants_level(metadata) && Filter::<S>::enabled(&self.0, metadata, context)
    }

    fn callsite_enabled(
        &self,
        metadata: &'static Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if Self::wants_level(metadata) {
            Filter::<S>::callsite_enabled(&self.0, metadata)
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Filter::<S>::max_level_hint(&self.0)
    }
}

/// The OTLP traces URL of a collector whose base URL is `endpoint`
/// (`OTEL_EXPORTER_OTLP_ENDPOINT`, e.g. `http://jaeger:4318`): `<endpoint>/v1/traces`.
///
/// Only `http://`: the exporter is built without TLS (a collector runs beside the services, or
/// as a sidecar), and an `https://` endpoint would fail at every export instead of at start.
pub fn traces_url(endpoint: &str) -> Result<String, EndpointError> {
    let endpoint = endpoint.trim();
    let bad = |why: &str| EndpointError(format!("{endpoint:?}: {why}"));
    let uri: http::Uri = endpoint.parse().map_err(|_| bad("not a URL"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(bad(
                "https is not supported; use http:// to a collector beside the service",
            ))
        }
        _ => return Err(bad("expected http://host:port")),
    }
    if uri.host().is_none() {
        return Err(bad("no host"));
    }
    Ok(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
}

/// A tracer provider exporting in batches to the collector at `endpoint` (a base URL, see
/// [`traces_url`]), naming the spans' service `service_name`.
///
/// The exporter reads the rest of its settings from the standard variables
/// (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_TRACES_SAMPLER`,
/// `OTEL_BSP_*`, `OTEL_RESOURCE_ATTRIBUTES`...). Call it where a Tokio runtime may or may not run:
/// it starts threads of its own.
pub fn provider(endpoint: &str, service_name: &str) -> Result<SdkTracerProvider, EndpointError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(traces_url(endpoint)?)
        .build()
        .map_err(|err| EndpointError(err.to_string()))?;
    let resource = Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .build())
}

/// The layer handing the spans of [`EXPORTED_TARGETS`] to `provider`.
pub fn layer<S>(provider: &SdkTracerProvider) -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("ticket-assistant"))
        // Thread names and ids say nothing about a request that hops across tasks.
        .with_threads(false)
        .with_filter(ExportFilter::default())
}

/// Exports what is buffered and stops the exporter, waiting at most [`SHUTDOWN_TIMEOUT`].
pub fn shutdown(provider: &SdkTracerProvider) {
    if let Err(err) = provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
        tracing::warn!(error = %err, "the last spans may not have reached the collector");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_url_is_the_endpoint_and_v1_traces() {
        assert_eq!(
            traces_url("http://jaeger:4318").unwrap(),
            "http://jaeger:4318/v1/traces"
        );
        assert_eq!(
            traces_url(" http://127.0.0.1:4318/ ").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        for bad in [
            "jaeger:4318",
            "https://collector:4318",
            "not a url",
            "http://",
        ] {
            let err = traces_url(bad).unwrap_err().to_string();
            assert!(err.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{bad}: {err}");
        }
    }

    #[test]
    fn only_this_systems_crates_are_exported() {
        let filter = ExportFilter::default();
        let wants = |target: &str, level| {
            let targets = &filter.0;
            targets.would_enable(target, &level)
        };
        assert!(wants("relay_worker::service", tracing::Level::INFO));
        assert!(wants("bot::relay::pipeline", tracing::Level::WARN));
        assert!(!wants("relay_worker::service", tracing::Level::DEBUG));
        assert!(!wants("serenity::gateway", tracing::Level::INFO));
        assert!(!wants("hyper_util::client", tracing::Level::INFO));
    }

    #[test]
    fn spans_from_info_and_events_from_warn_are_exported() {
        use tracing::Level;
        assert!(exports_level(true, Level::INFO));
        assert!(exports_level(false, Level::WARN) && exports_level(false, Level::ERROR));
        assert!(!exports_level(false, Level::INFO));
    }
}
