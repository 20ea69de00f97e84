//! Test harness (feature `test-util`): a real `nats-server` per test on a free port, ready when
//! `start` returns, stoppable and restartable on the same port, killed on `Drop`; with
//! [`NatsServerBuilder::jetstream`], JetStream on in a private store directory removed on drop.
//!
//! The binary is `$NATS_SERVER_BIN` (scripts/test sets it to a nats-server 2.10 or newer, which
//! JetStream KV with async-nats 0.51 needs), else the copy `scripts/nats-server-bin` installs in
//! `target/tools/nats-server`, else `nats-server` on `PATH`, else `/usr/sbin/nats-server`.
//!
//! [`LeastPrivilegeServer`] runs the repo's `nats/least-privilege.conf` with test passwords and
//! connects as each of its users. Also [`capture_logs`], the log lines of one test in the house
//! format ([`capture_traced_logs`] with its spans exported), [`OtlpCollector`], a stand-in that
//! receives them, [`eventually`], [`assert_received_nothing`] and [`TestDir`].

mod least_privilege;
mod otlp;

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        mpsc, Arc, Mutex,
    },
    time::Duration,
};

use async_nats::Subscriber;
use futures::FutureExt;

pub use least_privilege::{Events, LeastPrivilegeServer};
pub use otlp::{CollectedSpan, OtlpCollector};

use crate::{
    config::{NatsSettings, TelemetrySettings},
    telemetry::{self, Service},
};

const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// The oldest nats-server whose JetStream API async-nats 0.51's KV calls understand (2.9 answers
/// in a shape it cannot parse: "data did not match any variant of untagged enum Response").
const JETSTREAM_MIN_VERSION: (u32, u32) = (2, 10);

/// A running `nats-server` owned by one test.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    args: Vec<String>,
    logs: Arc<Mutex<String>>,
    /// JetStream's files; declared after `child` and removed only once the server is killed.
    store: Option<TestDir>,
}

/// Extra arguments for a [`NatsServer`] (a config file, cluster routes, a server name...).
#[derive(Debug, Default, Clone)]
pub struct NatsServerBuilder {
    args: Vec<String>,
    port: Option<u16>,
    jetstream: bool,
}

impl NatsServerBuilder {
    /// Adds a command-line argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Starts with `-c path` (the config's own client port is overridden by `-p`).
    pub fn config(self, path: impl AsRef<Path>) -> Self {
        self.arg("-c").arg(path.as_ref().display().to_string())
    }

    /// Listens on this client port instead of a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Turns JetStream on (`-js`), its files in a directory of this server's own (`--store_dir`,
    /// kept across [`NatsServer::restart`], removed on drop). Starting then checks that the
    /// binary is 2.10 or newer and says how to get one if not.
    pub fn jetstream(mut self) -> Self {
        self.jetstream = true;
        self
    }

    /// Starts the server and waits until it accepts clients.
    pub fn start(self) -> NatsServer {
        let mut args = self.args;
        let store = self.jetstream.then(|| {
            let dir = TestDir::new("jetstream");
            args.extend([
                "-js".to_owned(),
                "--store_dir".to_owned(),
                dir.path().display().to_string(),
            ]);
            dir
        });
        let mut server = NatsServer {
            child: None,
            port: self.port.unwrap_or(0),
            args,
            logs: Arc::default(),
            store,
        };
        server.spawn();
        if server.store.is_some() {
            server.check_jetstream_version();
        }
        server
    }
}

impl NatsServer {
    /// A plain server on a free port.
    pub fn start() -> Self {
        Self::builder().start()
    }

    /// A server on a free port with JetStream on (see [`NatsServerBuilder::jetstream`]).
    pub fn start_jetstream() -> Self {
        Self::builder().jetstream().start()
    }

    /// A server with extra arguments.
    pub fn builder() -> NatsServerBuilder {
        NatsServerBuilder::default()
    }

    /// `nats://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client port (unchanged across [`restart`](Self::restart)).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Settings pointing at this server, everything else default.
    pub fn settings(&self) -> NatsSettings {
        NatsSettings::new(self.url())
    }

    /// Everything the server has logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().expect("log buffer").clone()
    }

    /// Where JetStream keeps its files, when it is on.
    pub fn store_dir(&self) -> Option<&Path> {
        self.store.as_ref().map(TestDir::path)
    }

    /// Kills the server; clients see their connection drop.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and waits until it is ready.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn spawn(&mut self) {
        let port = if self.port == 0 {
            "-1".to_owned()
        } else {
            self.port.to_string()
        };
        let mut child = Command::new(binary())
            .args(["-a", "127.0.0.1", "-p", &port])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", binary().display()));
        let stderr = child.stderr.take().expect("piped stderr");
        let (ready_tx, ready_rx) = mpsc::channel();
        let logs = Arc::clone(&self.logs);
        // The thread keeps draining stderr so that the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut listening = None;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(address) = line.split("Listening for client connections on ").nth(1) {
                    listening = address
                        .rsplit(':')
                        .next()
                        .and_then(|p| p.trim().parse().ok());
                }
                if line.contains("Server is ready") {
                    let _ = ready_tx.send(listening);
                }
                let mut logs = logs.lock().expect("log buffer");
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        match ready_rx.recv_timeout(READY_TIMEOUT) {
            Ok(Some(port)) => self.port = port,
            outcome => {
                let _ = child.kill();
                panic!(
                    "nats-server did not become ready ({outcome:?}); its log:\n{}",
                    self.logs()
                );
            }
        }
        self.child = Some(child);
    }

    /// Panics with what to do when the server is too old for the KV API of async-nats, rather
    /// than letting the test fail later on an unparsable JetStream answer.
    fn check_jetstream_version(&self) {
        let logs = self.logs();
        // nats-server logs "  Version:  2.10.26" while starting.
        let version = logs
            .lines()
            .find_map(|line| line.split("Version:").nth(1))
            .map(str::trim)
            .unwrap_or("unknown");
        let mut numbers = version.split('.').map(|part| part.parse::<u32>().ok());
        let (major, minor) = (numbers.next().flatten(), numbers.next().flatten());
        let recent_enough = matches!((major, minor), (Some(major), Some(minor))
            if (major, minor) >= JETSTREAM_MIN_VERSION);
        assert!(
            recent_enough,
            "{} is nats-server {version}; JetStream KV needs {}.{} or newer. Run the tests with \
             scripts/test, or set NATS_SERVER_BIN=$(scripts/nats-server-bin)",
            binary().display(),
            JETSTREAM_MIN_VERSION.0,
            JETSTREAM_MIN_VERSION.1,
        );
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER_BIN") {
        return PathBuf::from(path);
    }
    // What scripts/nats-server-bin installs when this machine has no recent enough server: when
    // it is there, the one on PATH is too old.
    let installed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools/nats-server/bin/nats-server");
    if installed.is_file() {
        return installed;
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nats-server"))
            .find(|candidate| candidate.is_file())
    });
    on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/nats-server"))
}

/// A directory of one test under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub struct TestDir(PathBuf);

impl TestDir {
    /// Creates a fresh directory whose name contains `label`.
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "ticket-test-{}-{label}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create the test directory");
        Self(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Asserts that nothing has reached `subscriber` so far. Call it after a `flush()` of the
/// receiving client that follows the publish: the server sends the flush's PONG after every
/// message it delivered before, so a delivered message would already be here.
pub fn assert_received_nothing(subscriber: &mut Subscriber, what: &str) {
    if let Some(Some(message)) = futures::StreamExt::next(subscriber).now_or_never() {
        panic!("{what} received a message on {}", message.subject);
    }
}

/// Retries `attempt` until it returns `Some`, for at most `within`; panics naming `what`.
///
/// For conditions that have no event to wait on (a client noticing a restarted server): the
/// real operation is retried, so success means it really works.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = attempt().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Log lines captured for one test, in the services' own format. Each line is also echoed to
/// stderr, which the test runner shows when the test fails.
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<String>>);

impl CapturedLogs {
    /// Everything logged so far.
    pub fn contents(&self) -> String {
        self.0.lock().expect("log buffer").clone()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        eprint!("{text}");
        self.0.lock().expect("log buffer").push_str(&text);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures what this thread logs, as `service` at `log_level`, until the guard is dropped.
///
/// `#[tokio::test]` runs every task it spawns on the test's own thread, so this sees exactly
/// the lines of the code under test, also when several tests share a process.
pub fn capture_logs(
    service: Service,
    log_level: &str,
) -> (CapturedLogs, tracing::subscriber::DefaultGuard) {
    capture(log_level, |filter, writer| {
        tracing::Dispatch::new(telemetry::subscriber(service, filter, writer))
    })
}

/// [`capture_logs`] with traces: the spans of this thread go to `provider` (see
/// [`crate::traces`]), and the lines inside a trace carry its `trace_id`.
pub fn capture_traced_logs(
    service: Service,
    log_level: &str,
    provider: &opentelemetry_sdk::trace::SdkTracerProvider,
) -> (CapturedLogs, tracing::subscriber::DefaultGuard) {
    capture(log_level, |filter, writer| {
        tracing::Dispatch::new(telemetry::traced_subscriber(
            service, filter, writer, provider,
        ))
    })
}

/// Sets the subscriber `make` builds, filtered at `log_level` and writing to new
/// [`CapturedLogs`], as this thread's default.
fn capture(
    log_level: &str,
    make: impl FnOnce(tracing_subscriber::EnvFilter, CapturedWriter) -> tracing::Dispatch,
) -> (CapturedLogs, tracing::subscriber::DefaultGuard) {
    let logs = CapturedLogs::default();
    let settings = TelemetrySettings {
        log_level: log_level.to_owned(),
        ..TelemetrySettings::default()
    };
    let filter = telemetry::filter(&settings).expect("a valid log level");
    let dispatch = make(filter, CapturedWriter(logs.clone()));
    (logs, tracing::dispatcher::set_default(&dispatch))
}

/// Hands the formatter a clone of the [`CapturedLogs`] for each line.
struct CapturedWriter(CapturedLogs);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedWriter {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_jetstream_server_keeps_its_files_across_a_restart_and_removes_them_on_drop() {
        let mut server = NatsServer::start_jetstream();
        let store = server.store_dir().expect("a store directory").to_owned();
        let client = async_nats::connect(server.url()).await.expect("connect");
        let jetstream = async_nats::jetstream::new(client);
        let bucket = jetstream
            .create_key_value(async_nats::jetstream::kv::Config {
                bucket: "harness".to_owned(),
                storage: async_nats::jetstream::stream::StorageType::File,
                ..Default::default()
            })
            .await
            .expect("JetStream is on and answers KV calls");
        bucket.put("key", "value".into()).await.expect("put");

        server.restart();
        let client = async_nats::connect(server.url()).await.expect("connect");
        let bucket = async_nats::jetstream::new(client)
            .get_key_value("harness")
            .await
            .expect("the bucket survives a restart");
        let value = bucket.get("key").await.expect("get");
        assert_eq!(value.as_deref(), Some(&b"value"[..]));

        assert!(store.is_dir());
        drop(server);
        assert!(!store.exists(), "{} is removed on drop", store.display());
    }
}
