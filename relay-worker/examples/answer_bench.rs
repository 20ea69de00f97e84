//! Figures of the answer sources, in one run.
//!
//! ```sh
//! cargo build --release -p relay-worker --bins --examples
//! target/release/examples/answer_bench                    # both parts, defaults below
//! target/release/examples/answer_bench --passages 10000 --searches 2000 \
//!     --requests 1000 --workers 2 --in-flight 256 --delay-ms 2000
//! ```
//!
//! 1. **Knowledge search**: writes `--passages` generated passages (200 Markdown files, one
//!    passage per heading, words drawn with a skewed distribution from a 5,000-word vocabulary),
//!    indexes them with the worker's own [`Knowledge`], and times the build and `--searches`
//!    searches of 3 to 8 words (p50, p99). With `KNOWLEDGE_EMBEDDINGS` set, by meaning as well
//!    (the model embeds every section and question: use fewer passages, e.g. 500), and then
//!    times a second open, which takes the section vectors from the cache file the first
//!    build wrote (`KNOWLEDGE_EMBEDDINGS_CACHE`), as a restarted worker does.
//! 2. **Model load**: a fake OpenAI-compatible server in this process answers every chat
//!    completion after `--delay-ms`; `--workers` real `relay-worker` processes
//!    (`ANSWER_SOURCE=llm`, `RELAY_MAX_IN_FLIGHT=--in-flight`) on a private nats-server share
//!    `--requests` concurrent requests (distinct message ids). Prints the wall time, the ideal
//!    (delay × ceil(requests / (workers × in-flight))), and each worker's resident memory idle
//!    and at peak.

#[path = "bench_support/mod.rs"]
mod bench_support;

use bench_support::{proc_status_kib, worker_binary, Kill};

use std::{
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use axum::{routing::post, Json, Router};
use common::{
    payload::{MessageContent, RelayRequest, Snowflake},
    relay_client::RelayClient,
    test_util::NatsServer,
};
use futures::{stream::FuturesUnordered, StreamExt};
use relay_worker::answer::{Knowledge, KnowledgeSettings, DEFAULT_MIN_COVERAGE};
use serde_json::json;

const FILES: usize = 200;
const VOCABULARY: usize = 5_000;
const WORDS_PER_PASSAGE: usize = 60;

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

/// A small deterministic generator (no dependency, same figures every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A word index skewed towards the common words (roughly Zipf-like).
    fn word(&mut self) -> String {
        let uniform = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        let index = (uniform * uniform * uniform * VOCABULARY as f64) as usize;
        format!("term{index}")
    }
}

#[tokio::main]
async fn main() {
    let argv: Vec<String> = std::env::args().collect();
    knowledge_figures(
        arg(&argv, "--passages", 10_000),
        arg(&argv, "--searches", 2_000),
    )
    .await;
    model_load_figures(
        arg(&argv, "--requests", 1_000),
        arg(&argv, "--workers", 2),
        arg(&argv, "--in-flight", 256),
        Duration::from_millis(arg(&argv, "--delay-ms", 2_000) as u64),
    )
    .await;
}

async fn knowledge_figures(passages: usize, searches: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut random = Lcg(42);
    let per_file = passages.div_ceil(FILES);
    let mut written = 0;
    for file in 0..FILES {
        let mut text = format!("# Document {file}\n");
        for section in 0..per_file {
            if written == passages {
                break;
            }
            let words: Vec<String> = (0..WORDS_PER_PASSAGE).map(|_| random.word()).collect();
            text.push_str(&format!(
                "\n## Section {section} {}\n\n{}.\n",
                random.word(),
                words.join(" ")
            ));
            written += 1;
        }
        std::fs::write(dir.path().join(format!("doc{file:03}.md")), text).unwrap();
    }
    let settings = KnowledgeSettings {
        dir: dir.path().to_path_buf(),
        top_k: 3,
        min_coverage: DEFAULT_MIN_COVERAGE,
        min_score: 0.0,
        reload_every: None,
        embeddings: std::env::var_os("KNOWLEDGE_EMBEDDINGS").map(std::path::PathBuf::from),
        embeddings_cache: Some(dir.path().join("cache/vectors.bin")),
    };
    let started = Instant::now();
    let knowledge = Knowledge::open(&settings).await.unwrap();
    let build = started.elapsed();
    let mut times = Vec::with_capacity(searches);
    let mut found = 0;
    for _ in 0..searches {
        let length = 3 + (random.next() % 6) as usize;
        let question: Vec<String> = (0..length).map(|_| random.word()).collect();
        let question = question.join(" ");
        let started = Instant::now();
        let hits = knowledge.search(&question, 3);
        times.push(started.elapsed());
        found += usize::from(!hits.is_empty());
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "knowledge: {} passages in {FILES} files indexed in {:.0} ms (read, split, index); \
         {searches} searches of 3-8 words: p50 {:.0} us, p99 {:.0} us ({found} with hits)",
        knowledge.passages(),
        build.as_secs_f64() * 1e3,
        at(0.50).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
    );
    if settings.embeddings.is_some() {
        // A restart: the section vectors come from the cache file the first build wrote.
        let started = Instant::now();
        let again = Knowledge::open(&settings).await.unwrap();
        println!(
            "knowledge: opened again in {:.0} ms with the vector cache ({} sections)",
            started.elapsed().as_secs_f64() * 1e3,
            again.sections(),
        );
    }
}

async fn model_load_figures(requests: usize, workers: usize, in_flight: usize, delay: Duration) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let counted = Arc::clone(&counted);
            async move {
                counted.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(delay).await;
                Json(json!({"choices": [{"message": {"role": "assistant", "content": "ok"}}]}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    let fake = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let server = NatsServer::start();
    let worker_bin = worker_binary();
    let children: Vec<Child> = (0..workers)
        .map(|_| {
            Command::new(&worker_bin)
                .env("NATS_URL", server.url())
                .env("LOG_LEVEL", "warn")
                .env("RELAY_MAX_IN_FLIGHT", in_flight.to_string())
                .env("ANSWER_SOURCE", "llm")
                .env("LLM_BASE_URL", &base_url)
                .env("LLM_MODEL", "bench")
                .env("LLM_TIMEOUT_SECS", "600")
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let guard = Kill(children);
    let client = async_nats::connect(server.url()).await.unwrap();
    wait_for_instances(&client, workers).await;
    let pids: Vec<u32> = guard.0.iter().map(Child::id).collect();
    let idle: Vec<u64> = pids
        .iter()
        .map(|pid| proc_status_kib(*pid, "VmRSS"))
        .collect();

    let relay = RelayClient::new(client, "tickets.relay", Duration::from_secs(600));
    let started = Instant::now();
    let mut pending: FuturesUnordered<_> = (0..requests)
        .map(|n| {
            let relay = relay.clone();
            async move {
                let request = RelayRequest {
                    guild_id: Snowflake::from(1),
                    channel_id: Snowflake::from(2),
                    user_id: Snowflake::from(3),
                    content: MessageContent::parse(format!("question {n}")).unwrap(),
                    message_id: Some(Snowflake::from(1_000_000 + n as u64)),
                    history: Vec::new(),
                    ticket: None,
                };
                relay.send(&request, None).await
            }
        })
        .collect();
    let mut failed = 0;
    while let Some(outcome) = pending.next().await {
        failed += usize::from(outcome.is_err());
    }
    let wall = started.elapsed();
    let rounds = requests.div_ceil(workers * in_flight);
    println!(
        "model load: {requests} concurrent requests, {workers} workers x RELAY_MAX_IN_FLIGHT \
         {in_flight}, model answering after {delay:?}: wall {:.2} s (ideal {:.2} s = {rounds} x \
         {delay:?}), {} model calls, {failed} failed",
        wall.as_secs_f64(),
        (delay * rounds as u32).as_secs_f64(),
        calls.load(Ordering::Relaxed),
    );
    for (n, pid) in pids.iter().enumerate() {
        println!(
            "worker {n}: resident memory idle {} KiB, peak {} KiB",
            idle[n],
            proc_status_kib(*pid, "VmHWM")
        );
    }
    drop(guard);
    fake.abort();
}

/// Waits until `count` worker instances answer the services API ping.
async fn wait_for_instances(client: &async_nats::Client, count: usize) {
    for _ in 0..200 {
        let inbox = client.new_inbox();
        let mut replies = client.subscribe(inbox.clone()).await.unwrap();
        client
            .publish_with_reply("$SRV.PING.ticket-relay", inbox, "".into())
            .await
            .unwrap();
        let mut seen = 0;
        let window = tokio::time::sleep(Duration::from_millis(200));
        tokio::pin!(window);
        loop {
            tokio::select! {
                () = &mut window => break,
                reply = replies.next() => if reply.is_some() { seen += 1 } else { break },
            }
        }
        if seen >= count {
            return;
        }
    }
    panic!("fewer than {count} workers answer the ping");
}
