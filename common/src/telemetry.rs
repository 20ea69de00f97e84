//! One logging set-up for every binary: `LOG_LEVEL` filters, and each event is one line
//! `[SERVICE] LEVEL - message key=value ...` with the fields of its spans appended.

use std::{
    fmt,
    io::{BufWriter, Stdout, Write},
    sync::{Arc, Mutex},
    time::Duration,
};

use tracing::{Event, Subscriber};
use tracing_subscriber::{
    filter::LevelFilter,
    fmt::{
        format::Writer, writer::MutexGuardWriter, FmtContext, FormatEvent, FormatFields,
        FormattedFields, MakeWriter,
    },
    registry::LookupSpan,
    EnvFilter,
};

use crate::config::TelemetrySettings;

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

/// `LOG_LEVEL` is neither a level nor a valid filter directive list.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: LOG_LEVEL: {0}")]
pub struct TelemetryError(String);

/// Formats events as `[SERVICE] LEVEL - message fields span-fields`.
#[derive(Debug, Clone, Copy)]
pub struct LineFormat {
    service: Service,
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(
            writer,
            "[{}] {} - ",
            self.service.prefix(),
            event.metadata().level()
        )?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>() {
                    if !fields.is_empty() {
                        write!(writer, " {fields}")?;
                    }
                }
            }
        }
        writeln!(writer)
    }
}

/// Parses `LOG_LEVEL` (`INFO`, `debug`, or directives like `info,async_nats=warn`).
///
/// A single word must be a level: `EnvFilter` alone would read a typo such as `INFOO` as a
/// target name and silently log nothing else.
pub fn filter(settings: &TelemetrySettings) -> Result<EnvFilter, TelemetryError> {
    let value = settings.log_level.trim();
    let bad = |err: &dyn fmt::Display| TelemetryError(format!("{value:?}: {err}"));
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
        .event_format(LineFormat { service })
        .with_writer(writer)
        .finish()
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

/// Flushes the buffered log lines when dropped. Hold it in `main` until the end.
#[must_use = "dropping the guard at once would lose no line but buffer none either"]
#[derive(Debug)]
pub struct LogGuard(SharedStdout);

impl Drop for LogGuard {
    fn drop(&mut self) {
        flush(&self.0);
    }
}

fn flush(stdout: &Mutex<BufWriter<Stdout>>) {
    if let Ok(mut stdout) = stdout.lock() {
        let _ = stdout.flush();
    }
}

/// Installs the global subscriber, writing to stdout. Call once, first thing in `main`.
///
/// Lines go through a buffer that a background thread flushes every 100 ms (and a panic or the
/// guard's drop at once): a worker logs every request at INFO, and one `write` system call per
/// line was a large part of its cost per request (`relay_bench`).
pub fn init(service: Service, settings: &TelemetrySettings) -> Result<LogGuard, TelemetryError> {
    let filter = filter(settings)?;
    let stdout: SharedStdout = Arc::new(Mutex::new(BufWriter::with_capacity(
        64 * 1024,
        std::io::stdout(),
    )));
    let writer = BufferedStdout(Arc::clone(&stdout));
    tracing::subscriber::set_global_default(subscriber(service, filter, writer))
        .map_err(|err| TelemetryError(err.to_string()))?;

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
        .map_err(|err| TelemetryError(format!("cannot start the log flusher: {err}")))?;
    let on_panic = Arc::downgrade(&stdout);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(stdout) = on_panic.upgrade() {
            flush(&stdout);
        }
        previous(info);
    }));
    Ok(LogGuard(stdout))
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
        };
        let err = filter(&settings).unwrap_err();
        assert!(err.to_string().contains("LOG_LEVEL"), "{err}");
        let settings = TelemetrySettings {
            log_level: "info,async_nats=loud".to_owned(),
        };
        assert!(filter(&settings).is_err());
    }
}
