//! One logging set-up for every binary: `LOG_LEVEL` filters, and each event is one line
//! `[SERVICE] LEVEL - message key=value ...` with the fields of its spans appended, each name
//! once (a command's span and the ticket operation's span inside it both name the channel), and
//! `trace_id=<32 hex digits>` last when traces are on and the event belongs to a sampled trace.
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, [`init`] also installs the OpenTelemetry layer of
//! [`crate::traces`]; unset, the subscriber is the logging one alone, as if traces did not exist.

use std::{
    fmt,
    io::{BufWriter, Stdout, Write},
    sync::{Arc, Mutex},
    time::Duration,
};

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::{
    field::{Field, Visit},
    span, Event, Subscriber,
};
use tracing_subscriber::{
    field::RecordFields,
    filter::LevelFilter,
    fmt::{
        format::Writer, writer::MutexGuardWriter, FmtContext, FormatEvent, FormatFields,
        FormattedFields, MakeWriter,
    },
    layer::SubscriberExt as _,
    registry::LookupSpan,
    EnvFilter, Layer as _,
};

use crate::{config::TelemetrySettings, trace_context, traces};

/// The log line prefix of each binary, as documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The Discord bot: `[BOT]`.
    Bot,
    /// A relay worker: `[WORKER]`.
    Worker,
    /// The HTTP sidecar: `[API]`.
    Api,
    /// The local Discord stand-in: `[SANDBOX]`.
    Sandbox,
}

impl Service {
    /// The text between the brackets.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Bot => "BOT",
            Self::Worker => "WORKER",
            Self::Api => "API",
            Self::Sandbox => "SANDBOX",
        }
    }
}

/// Logging or tracing cannot start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `LOG_LEVEL` is neither a level nor a valid filter directive list.
    #[error("invalid configuration: LOG_LEVEL: {0}")]
    LogLevel(String),
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` is no usable collector URL.
    #[error(transparent)]
    OtlpEndpoint(#[from] traces::EndpointError),
    /// A subscriber was installed already, or the flusher thread could not start.
    #[error("cannot start logging: {0}")]
    Start(String),
}

/// Formats events as `[SERVICE] LEVEL - message fields span-fields [trace_id=...]`.
#[derive(Debug, Clone, Copy)]
pub struct LineFormat {
    service: Service,
    /// Whether to look for the trace of the event (only a subscriber with traces has one).
    trace_ids: bool,
}

impl<S> FormatEvent<S, LineFields> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, LineFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(
            writer,
            "[{}] {} - ",
            self.service.prefix(),
            event.metadata().level()
        )?;
        let mut visitor = FieldsVisitor::new(writer.by_ref(), " ");
        event.record(&mut visitor);
        visitor.result?;
        if let Some(scope) = ctx.event_scope() {
            // A name the event or an outer span gave already is left out: same ticket, same
            // channel, and a line that names it twice reads as two.
            let mut written: Vec<&'static str> = event.fields().map(|f| f.name()).collect();
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<LineFields>>() else {
                    continue;
                };
                for (name, field) in span_fields(fields) {
                    let declared = span.fields().field(name).map(|f| f.name());
                    if declared.is_some_and(|name| written.contains(&name)) {
                        continue;
                    }
                    write!(writer, " {field}")?;
                    written.extend(declared);
                }
            }
        }
        if self.trace_ids {
            if let Some(trace_id) = trace_context::current_trace_id() {
                write!(writer, " trace_id={trace_id}")?;
            }
        }
        writeln!(writer)
    }
}

/// Between two fields of a span as stored (a value may hold spaces, never this control
/// character unescaped: `?` and string values are escaped, IDs and numbers hold none).
const SPAN_FIELD_SEPARATOR: &str = "\u{1f}";

/// Formats fields as `name=value` (a string value quoted, the message bare), a span's apart
/// by [`SPAN_FIELD_SEPARATOR`] so that [`LineFormat`] can print each name once per line.
#[derive(Debug, Default, Clone, Copy)]
pub struct LineFields;

impl<'writer> FormatFields<'writer> for LineFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = FieldsVisitor::new(writer, SPAN_FIELD_SEPARATOR);
        fields.record(&mut visitor);
        visitor.result
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &span::Record<'_>,
    ) -> fmt::Result {
        let empty = current.fields.is_empty();
        let mut visitor = FieldsVisitor::new(current.as_writer(), SPAN_FIELD_SEPARATOR);
        visitor.first = empty;
        fields.record(&mut visitor);
        visitor.result
    }
}

/// A span's stored fields, each as its name and its `name=value` text.
fn span_fields(fields: &FormattedFields<LineFields>) -> impl Iterator<Item = (&str, &str)> {
    fields
        .fields
        .split(SPAN_FIELD_SEPARATOR)
        .filter(|field| !field.is_empty())
        .map(|field| (field.split('=').next().unwrap_or(field), field))
}

/// Writes each field as `name=value`, `separator` between two.
struct FieldsVisitor<'a> {
    writer: Writer<'a>,
    separator: &'static str,
    first: bool,
    result: fmt::Result,
}

impl<'a> FieldsVisitor<'a> {
    fn new(writer: Writer<'a>, separator: &'static str) -> Self {
        Self {
            writer,
            separator,
            first: true,
            result: Ok(()),
        }
    }
}

impl Visit for FieldsVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        let separator = if self.first { "" } else { self.separator };
        self.first = false;
        let name = field.name();
        self.result = if name == "message" {
            write!(self.writer, "{separator}{value:?}")
        } else {
            write!(self.writer, "{separator}{name}={value:?}")
        };
    }
}

/// Parses `LOG_LEVEL` (`INFO`, `debug`, or directives like `info,async_nats=warn`).
///
/// A single word must be a level: `EnvFilter` alone would read a typo such as `INFOO` as a
/// target name and silently log nothing else.
pub fn filter(settings: &TelemetrySettings) -> Result<EnvFilter, TelemetryError> {
    let value = settings.log_level.trim();
    let bad = |err: &dyn fmt::Display| TelemetryError::LogLevel(format!("{value:?}: {err}"));
    if !value.contains(['=', ',']) {
        let level: LevelFilter = value.parse().map_err(|err| bad(&err))?;
        return Ok(EnvFilter::default().add_directive(level.into()));
    }
    EnvFilter::try_new(value).map_err(|err| bad(&err))
}

/// A subscriber writing this service's lines to `writer`.
pub fn subscriber<W>(
    service: Service,
    filter: EnvFilter,
    writer: W,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .fmt_fields(LineFields)
        .event_format(LineFormat {
            service,
            trace_ids: false,
        })
        .with_writer(writer)
        .finish()
}

/// [`subscriber`] with the spans of this system's crates exported through `provider` (see
/// [`crate::traces`]), and each line inside a sampled trace ending in its `trace_id`.
///
/// `filter` (`LOG_LEVEL`) filters the lines only: the exporter takes what
/// [`traces::ExportFilter`] lets through, so a quiet log still gives whole traces.
pub fn traced_subscriber<W>(
    service: Service,
    filter: EnvFilter,
    writer: W,
    provider: &SdkTracerProvider,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let lines = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .fmt_fields(LineFields)
        .event_format(LineFormat {
            service,
            trace_ids: true,
        })
        .with_writer(writer)
        .with_filter(filter);
    tracing_subscriber::registry()
        .with(lines)
        .with(traces::layer(provider))
}

/// How long a log line may wait in the stdout buffer.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

type SharedStdout = Arc<Mutex<BufWriter<Stdout>>>;

/// The buffered stdout as the formatter's writer: each line is one locked write to the buffer.
struct BufferedStdout(SharedStdout);

impl<'a> MakeWriter<'a> for BufferedStdout {
    type Writer = MutexGuardWriter<'a, BufWriter<Stdout>>;

    fn make_writer(&'a self) -> Self::Writer {
        self.0.make_writer()
    }
}

/// Flushes the buffered log lines, and exports the last spans, when dropped. Hold it in `main`
/// until the end.
#[must_use = "dropping the guard at once would lose no line but buffer none either"]
#[derive(Debug)]
pub struct LogGuard {
    stdout: SharedStdout,
    traces: Option<SdkTracerProvider>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        // First: a failed export is logged, and that line is flushed below.
        if let Some(provider) = self.traces.take() {
            traces::shutdown(&provider);
        }
        flush(&self.stdout);
    }
}

fn flush(stdout: &Mutex<BufWriter<Stdout>>) {
    if let Ok(mut stdout) = stdout.lock() {
        let _ = stdout.flush();
    }
}

/// Installs the global subscriber, writing to stdout, and exporting spans as `binary` (the
/// `service.name`, unless `OTEL_SERVICE_NAME` names another) when `OTEL_EXPORTER_OTLP_ENDPOINT`
/// is set. Call once, first thing in `main`.
///
/// Lines go through a buffer that a background thread flushes every 100 ms (and a panic or the
/// guard's drop at once): a worker logs every request at INFO, and one `write` system call per
/// line was a large part of its cost per request (`relay_bench`).
pub fn init(
    service: Service,
    binary: &str,
    settings: &TelemetrySettings,
) -> Result<LogGuard, TelemetryError> {
    let filter = filter(settings)?;
    let stdout: SharedStdout = Arc::new(Mutex::new(BufWriter::with_capacity(
        64 * 1024,
        std::io::stdout(),
    )));
    let writer = BufferedStdout(Arc::clone(&stdout));
    let started =
        |err: tracing::subscriber::SetGlobalDefaultError| TelemetryError::Start(err.to_string());
    let traces = match &settings.otel_exporter_otlp_endpoint {
        None => {
            tracing::subscriber::set_global_default(subscriber(service, filter, writer))
                .map_err(started)?;
            None
        }
        Some(endpoint) => {
            let name = settings.otel_service_name.as_deref().unwrap_or(binary);
            let provider = traces::provider(endpoint, name)?;
            tracing::subscriber::set_global_default(traced_subscriber(
                service, filter, writer, &provider,
            ))
            .map_err(started)?;
            tracing::info!(
                endpoint = %traces::traces_url(endpoint)?,
                service_name = name,
                "exporting traces"
            );
            Some(provider)
        }
    };

    let flusher = Arc::downgrade(&stdout);
    std::thread::Builder::new()
        .name("log-flush".to_owned())
        .spawn(move || {
            while let Some(stdout) = flusher.upgrade() {
                flush(&stdout);
                drop(stdout);
                std::thread::sleep(FLUSH_EVERY);
            }
        })
        .map_err(|err| TelemetryError::Start(format!("cannot start the log flusher: {err}")))?;
    let on_panic = Arc::downgrade(&stdout);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(stdout) = on_panic.upgrade() {
            flush(&stdout);
        }
        previous(info);
    }));
    Ok(LogGuard { stdout, traces })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(service: Service, level: &str, log: impl FnOnce()) -> String {
        let (logs, guard) = crate::test_util::capture_logs(service, level);
        log();
        drop(guard);
        logs.contents()
    }

    #[test]
    fn lines_carry_prefix_level_message_and_fields() {
        let out = capture(Service::Worker, "INFO", || {
            let span = tracing::info_span!("request", request_id = "abc");
            let _entered = span.enter();
            tracing::info!(guild_id = "1", "relay request");
        });
        assert_eq!(
            out,
            "[WORKER] INFO - relay request guild_id=\"1\" request_id=\"abc\"\n"
        );
    }

    #[test]
    fn a_name_given_by_the_event_or_an_outer_span_is_written_once() {
        let out = capture(Service::Bot, "INFO", || {
            let command = tracing::info_span!("command", channel_id = 7, user_id = 8);
            let _command = command.enter();
            let ticket = tracing::info_span!(
                "ticket",
                channel_id = 7,
                by = 8,
                reason = tracing::field::Empty
            );
            let _ticket = ticket.enter();
            ticket.record("reason", "too slow, sorry");
            tracing::info!(by = "staff", note = %"two words", "closed");
        });
        assert_eq!(
            out,
            "[BOT] INFO - closed by=\"staff\" note=two words channel_id=7 user_id=8 \
             reason=\"too slow, sorry\"\n"
        );
    }

    /// The id of the trace `span` belongs to, as a log line writes it.
    fn trace_id_of(span: &tracing::Span) -> String {
        use opentelemetry::trace::TraceContextExt as _;
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        span.context().span().span_context().trace_id().to_string()
    }

    #[test]
    fn lines_inside_a_sampled_trace_end_with_its_id() {
        // No exporter: the spans are sampled, then dropped.
        let provider = SdkTracerProvider::builder().build();
        let (logs, guard) =
            crate::test_util::capture_traced_logs(Service::Worker, "INFO", &provider);
        let span = tracing::info_span!("request", request_id = "abc");
        let trace_id = trace_id_of(&span);
        span.in_scope(|| tracing::info!(guild_id = "1", "relay request"));
        tracing::info!("outside any span");
        drop(guard);

        assert_eq!(trace_id.len(), 32);
        assert!(trace_id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(trace_id, "0".repeat(32));
        assert_eq!(
            logs.contents(),
            format!(
                "[WORKER] INFO - relay request guild_id=\"1\" request_id=\"abc\" trace_id={trace_id}\n\
                 [WORKER] INFO - outside any span\n"
            )
        );
    }

    #[test]
    fn lines_of_an_unsampled_trace_or_without_traces_carry_no_id() {
        let provider = SdkTracerProvider::builder()
            .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOff)
            .build();
        let (logs, guard) = crate::test_util::capture_traced_logs(Service::Api, "INFO", &provider);
        tracing::info_span!("request").in_scope(|| tracing::info!("not sampled"));
        drop(guard);
        assert_eq!(logs.contents(), "[API] INFO - not sampled\n");

        let out = capture(Service::Api, "INFO", || {
            tracing::info_span!("request").in_scope(|| tracing::info!("no traces"));
        });
        assert_eq!(out, "[API] INFO - no traces\n");
    }

    #[test]
    fn a_quiet_log_still_exports_whole_spans() {
        let provider = SdkTracerProvider::builder().build();
        let (logs, guard) = crate::test_util::capture_traced_logs(Service::Bot, "WARN", &provider);
        let span = tracing::info_span!("ticket message");
        assert!(
            !span.is_disabled(),
            "the exporter takes INFO spans at LOG_LEVEL=WARN"
        );
        span.in_scope(|| {
            tracing::info!("hidden");
            tracing::warn!("shown");
        });
        let trace_id = trace_id_of(&span);
        drop(guard);
        assert_eq!(
            logs.contents(),
            format!("[BOT] WARN - shown trace_id={trace_id}\n")
        );
    }

    #[test]
    fn log_level_filters() {
        let out = capture(Service::Bot, "warn", || {
            tracing::info!("hidden");
            tracing::warn!("shown");
        });
        assert_eq!(out, "[BOT] WARN - shown\n");
    }

    #[test]
    fn bad_log_level_is_a_named_error() {
        let settings = TelemetrySettings {
            log_level: "INFOO".to_owned(),
            ..TelemetrySettings::default()
        };
        let err = filter(&settings).unwrap_err();
        assert!(err.to_string().contains("LOG_LEVEL"), "{err}");
        let settings = TelemetrySettings {
            log_level: "info,async_nats=loud".to_owned(),
            ..TelemetrySettings::default()
        };
        assert!(filter(&settings).is_err());
    }
}
