//! Test harness (feature `test-util`): a real `nats-server` per test on a free port, ready when
//! `start` returns, stoppable and restartable on the same port, killed on `Drop`.
//!
//! The binary is `$NATS_SERVER_BIN`, else `nats-server` on `PATH`, else `/usr/sbin/nats-server`.
//!
//! Also [`capture_logs`], the log lines of one test in the house format, and [`eventually`].

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{mpsc, Arc, Mutex},
    time::Duration,
};

use crate::{
    config::{NatsSettings, TelemetrySettings},
    telemetry::{self, Service},
};

const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A running `nats-server` owned by one test.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    args: Vec<String>,
    logs: Arc<Mutex<String>>,
}

/// Extra arguments for a [`NatsServer`] (a config file, cluster routes, a server name...).
#[derive(Debug, Default, Clone)]
pub struct NatsServerBuilder {
    args: Vec<String>,
    port: Option<u16>,
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

    /// Starts the server and waits until it accepts clients.
    pub fn start(self) -> NatsServer {
        let mut server = NatsServer {
            child: None,
            port: self.port.unwrap_or(0),
            args: self.args,
            logs: Arc::default(),
        };
        server.spawn();
        server
    }
}

impl NatsServer {
    /// A plain server on a free port.
    pub fn start() -> Self {
        Self::builder().start()
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
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nats-server"))
            .find(|candidate| candidate.is_file())
    });
    on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/nats-server"))
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
    let logs = CapturedLogs::default();
    let settings = TelemetrySettings {
        log_level: log_level.to_owned(),
    };
    let filter = telemetry::filter(&settings).expect("a valid log level");
    let writer = logs.clone();
    let subscriber = telemetry::subscriber(service, filter, move || writer.clone());
    (logs, tracing::subscriber::set_default(subscriber))
}
