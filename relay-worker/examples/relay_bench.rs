//! Request-reply benchmark of the relay worker against a trivial responder, in one run.
//!
//! ```sh
//! cargo build --release -p relay-worker --bins --examples
//! target/release/examples/relay_bench --requests 100000 --concurrency 64 --rounds 3
//! WORKER_LOG_LEVEL=warn target/release/examples/relay_bench   # without the per-request log line
//! # Traces on: a collector stand-in that counts what it gets, then the worker exporting to it
//! target/release/examples/relay_bench --otlp-sink 127.0.0.1:4318 &
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 target/release/examples/relay_bench
//! target/release/examples/relay_bench --against nats://127.0.0.1:4222 --requests 20000 --rounds 1
//! ```
//!
//! It starts a private nats-server, then in separate processes the real `relay-worker` binary
//! (on `tickets.relay`) and a trivial responder (this program with `--trivial`, answering a
//! fixed reply on `bench.trivial` from a plain subscription). One client sends the same valid
//! request to each with the same concurrency, alternating rounds, and prints throughput,
//! p50/p99 latency, their ratio, and the worker's resident memory idle and at peak.
//!
//! `--against URL` only loads a worker that is already running on that server's
//! `tickets.relay` (one started under `valgrind --tool=callgrind`, say, to count its
//! instructions per request) and prints the client's side of each round.

#[path = "bench_support/mod.rs"]
mod bench_support;

use bench_support::{proc_status_kib, worker_binary, Kill};

use std::{
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use common::test_util::{NatsServer, OtlpCollector};
use futures::StreamExt;

const TRIVIAL_SUBJECT: &str = "bench.trivial";
const RELAY_SUBJECT: &str = "tickets.relay";
const PAYLOAD: &[u8] =
    br#"{"guild_id":"1","channel_id":"2","user_id":"3","content":"hi","message_id":"4"}"#;

struct Args {
    requests: usize,
    concurrency: usize,
    rounds: usize,
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

#[tokio::main]
async fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if let Some(i) = argv.iter().position(|a| a == "--trivial") {
        return trivial_responder(&argv[i + 1]).await;
    }
    if let Some(i) = argv.iter().position(|a| a == "--otlp-sink") {
        return otlp_sink(&argv[i + 1]).await;
    }
    let args = Args {
        requests: arg(&argv, "--requests", 50_000),
        concurrency: arg(&argv, "--concurrency", 64),
        rounds: arg(&argv, "--rounds", 3),
    };
    if let Some(i) = argv.iter().position(|a| a == "--against") {
        return against(&argv[i + 1], &args).await;
    }

    let server = NatsServer::start();
    let worker_bin = worker_binary();
    let exe = std::env::current_exe().unwrap();
    let worker = Command::new(&worker_bin)
        .env("NATS_URL", server.url())
        // The production default: one INFO line per request.
        .env(
            "LOG_LEVEL",
            std::env::var("WORKER_LOG_LEVEL").unwrap_or_else(|_| "INFO".into()),
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let trivial = Command::new(&exe)
        .args(["--trivial", &server.url()])
        .spawn()
        .unwrap();
    let _guard = Kill(vec![worker, trivial]);
    let worker_pid = _guard.0[0].id();
    let trivial_pid = _guard.0[1].id();

    let client = async_nats::connect(server.url()).await.unwrap();
    for subject in [RELAY_SUBJECT, TRIVIAL_SUBJECT] {
        wait_until_answered(&client, subject).await;
    }
    let idle_kib = proc_status_kib(worker_pid, "VmRSS");

    println!(
        "{} requests per round, concurrency {}, {} rounds, nats-server {}",
        args.requests,
        args.concurrency,
        args.rounds,
        server.url()
    );
    let mut trivial_runs = Vec::new();
    let mut relay_runs = Vec::new();
    for round in 1..=args.rounds {
        let t = load(&client, TRIVIAL_SUBJECT, Some(trivial_pid), &args).await;
        println!("round {round} trivial responder: {t}");
        let r = load(&client, RELAY_SUBJECT, Some(worker_pid), &args).await;
        println!("round {round} relay-worker:      {r}");
        trivial_runs.push(t);
        relay_runs.push(r);
    }
    let t = Summary::median(trivial_runs);
    let r = Summary::median(relay_runs);
    println!("median trivial responder: {t}");
    println!("median relay-worker:      {r}");
    println!(
        "relay-worker / trivial throughput: {:.2}x; p50 {:.2}x, p99 {:.2}x",
        r.rps / t.rps,
        r.p50.as_secs_f64() / t.p50.as_secs_f64(),
        r.p99.as_secs_f64() / t.p99.as_secs_f64()
    );
    let (r_cpu, t_cpu) = (r.cpu_per_request.unwrap(), t.cpu_per_request.unwrap());
    println!(
        "CPU time per request in the responder process: relay-worker {:.1} us, trivial {:.1} us ({:.2}x)",
        r_cpu.as_secs_f64() * 1e6,
        t_cpu.as_secs_f64() * 1e6,
        r_cpu.as_secs_f64() / t_cpu.as_secs_f64()
    );
    println!(
        "relay-worker resident memory: idle {} KiB, peak under load {} KiB",
        idle_kib,
        proc_status_kib(worker_pid, "VmHWM")
    );
}

/// Loads the worker already serving on `url`, round after round.
async fn against(url: &str, args: &Args) {
    let client = async_nats::connect(url).await.unwrap();
    wait_until_answered(&client, RELAY_SUBJECT).await;
    for round in 1..=args.rounds {
        let r = load(&client, RELAY_SUBJECT, None, args).await;
        println!("round {round} relay-worker: {r}");
    }
}

async fn wait_until_answered(client: &async_nats::Client, subject: &str) {
    for _ in 0..200 {
        if client
            .request(subject.to_owned(), Bytes::from_static(PAYLOAD))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing answers on {subject}");
}

#[derive(Clone, Copy)]
struct Summary {
    rps: f64,
    /// CPU (user + system) the responding process spent per request: less noisy than rates.
    /// Unknown for a worker of another run (`--against`).
    cpu_per_request: Option<Duration>,
    p50: Duration,
    p99: Duration,
}

impl Summary {
    fn median(mut runs: Vec<Summary>) -> Summary {
        runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
        runs[runs.len() / 2]
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>8.0} req/s  p50 {:>7.1} us  p99 {:>7.1} us",
            self.rps,
            self.p50.as_secs_f64() * 1e6,
            self.p99.as_secs_f64() * 1e6,
        )?;
        match self.cpu_per_request {
            Some(cpu) => write!(f, "  responder CPU {:>5.1} us/req", cpu.as_secs_f64() * 1e6),
            None => Ok(()),
        }
    }
}

/// User + system CPU time of a process so far, from /proc/PID/stat (in clock ticks of 10 ms).
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

async fn load(
    client: &async_nats::Client,
    subject: &'static str,
    responder_pid: Option<u32>,
    args: &Args,
) -> Summary {
    let cpu_before = responder_pid.map(cpu_time);
    let remaining = Arc::new(std::sync::atomic::AtomicUsize::new(args.requests));
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let client = client.clone();
            let remaining = Arc::clone(&remaining);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while remaining
                    .fetch_update(
                        std::sync::atomic::Ordering::Relaxed,
                        std::sync::atomic::Ordering::Relaxed,
                        |n| n.checked_sub(1),
                    )
                    .is_ok()
                {
                    let sent = Instant::now();
                    let reply = client
                        .request(subject, Bytes::from_static(PAYLOAD))
                        .await
                        .unwrap();
                    assert!(reply.headers.is_none(), "error reply");
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(args.requests);
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    let cpu = responder_pid
        .zip(cpu_before)
        .map(|(pid, before)| cpu_time(pid) - before);
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Summary {
        rps: latencies.len() as f64 / elapsed.as_secs_f64(),
        cpu_per_request: cpu.map(|cpu| cpu / u32::try_from(latencies.len()).unwrap()),
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// The baseline: a plain subscription answering a fixed reply, one message at a time.
async fn trivial_responder(url: &str) {
    let client = async_nats::connect(url).await.unwrap();
    let mut requests = client.subscribe(TRIVIAL_SUBJECT).await.unwrap();
    let reply = Bytes::from_static(br#"{"reply":"AI is thinking... (Phase 1 placeholder)"}"#);
    while let Some(message) = requests.next().await {
        if let Some(to) = message.reply {
            client.publish(to, reply.clone()).await.unwrap();
        }
    }
}

/// An OTLP collector stand-in on `addr` that counts the spans it gets (the worker's env passes
/// through, so `OTEL_EXPORTER_OTLP_ENDPOINT` pointing here measures the cost of traces on).
async fn otlp_sink(addr: &str) {
    let sink = OtlpCollector::sink(addr.parse().expect("host:port")).await;
    println!("OTLP sink at {}", sink.endpoint());
    let mut reported = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let count = sink.count();
        if count != reported {
            println!("spans received: {count}");
            reported = count;
        }
    }
}
