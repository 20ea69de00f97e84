//! The bot against Discord's rate limits, as the sandbox enforces them: 1,000 messages in 1,000
//! ticket channels sent within one second, and how the real bot binary gets them all answered.
//! Prints the 429s the bot caused, the time against the floor set by 50 requests per second,
//! and the bot's resident memory. A benchmark: it reports figures and asserts none.
//!
//! ```text
//! cargo build --release -p bot --bin bot
//! cargo run --release -p sandbox --features test-util --example rate_limit_bench
//! ```
//!
//! Settings: `BENCH_TICKETS` (default 1000), `BOT_BIN` (default: the `bot` next to this
//! example's folder, i.e. `target/release/bot`).

use std::{
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use axum::http::Method;
use common::test_util::NatsServer;
use relay_worker::{test_util::spawn_worker, Placeholder};
use sandbox::{rate_limit::DISCORD_GLOBAL, Sandbox, SandboxOptions, GUILD_ID, MEMBER_A_ID};

const TOKEN: &str = "bench-token";
/// How long the answers may take before the bench gives up (the floor is 40 s).
const GIVE_UP_AFTER: Duration = Duration::from_secs(300);

fn bot_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("BOT_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("this example's path");
    // target/release/examples/rate_limit_bench -> target/release/bot
    exe.parent()
        .and_then(|examples| examples.parent())
        .map(|release| release.join("bot"))
        .expect("a target folder")
}

/// `VmRSS` and `VmHWM` (peak) of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::main]
async fn main() {
    let tickets: usize = std::env::var("BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let binary = bot_binary();
    assert!(
        binary.is_file(),
        "{} is missing: cargo build --release -p bot --bin bot (or set BOT_BIN)",
        binary.display()
    );

    let nats = NatsServer::start_jetstream();
    let worker = spawn_worker(&nats.settings(), Placeholder).await;
    let sandbox = Sandbox::start(SandboxOptions::new(TOKEN)).await;
    let category = sandbox.add_category("Tickets");
    sandbox.add_role("Support");
    // Made before the bot connects, so that its cache knows them (no lookups per message), and
    // registered as the bot's own tickets, as `/setup` and `/create-ticket` would have left
    // them.
    let channels: Vec<u64> = (0..tickets)
        .map(|n| {
            sandbox.add_text_channel(
                &format!("ticket-{}", MEMBER_A_ID + n as u64),
                Some(category),
            )
        })
        .collect();
    bot::test_util::record_setup(&nats, &sandbox).await;
    let owners = (0..tickets).map(|n| MEMBER_A_ID + n as u64);
    bot::test_util::register_tickets(&nats, channels.iter().copied().zip(owners)).await;

    let proxy = sandbox.url();
    let guild = GUILD_ID.to_string();
    let mut bot = tokio::process::Command::new(&binary)
        .env_clear()
        .env("DISCORD_TOKEN", TOKEN)
        .env("DISCORD_PROXY_URL", &proxy)
        .env("DISCORD_GUILD_ID", &guild)
        .env("NATS_URL", nats.url())
        .env("LOG_LEVEL", "error")
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the bot starts");
    let pid = bot.id().expect("the bot runs");
    sandbox.wait_until_ready().await;
    let (idle_rss, _) = memory_kib(pid);
    let calls_before = sandbox.requests().len();

    let started = Instant::now();
    for (n, channel) in channels.iter().enumerate() {
        sandbox.send_message(
            *channel,
            MEMBER_A_ID + n as u64,
            "hello, my printer is on fire",
        );
    }
    let sent_in = started.elapsed();
    sandbox
        .wait_for_within(GIVE_UP_AFTER, "every message answered", |calls| {
            let answered = calls[calls_before..]
                .iter()
                .filter(|c| {
                    c.method == Method::POST && c.status == 200 && c.path.ends_with("/messages")
                })
                .count();
            (answered >= tickets).then_some(())
        })
        .await;
    let elapsed = started.elapsed();
    let (rss, peak) = memory_kib(pid);

    let calls = sandbox.requests()[calls_before..].to_vec();
    let posts = calls
        .iter()
        .filter(|c| c.method == Method::POST && c.path.ends_with("/messages"))
        .count();
    let typing = calls.iter().filter(|c| c.path.ends_with("/typing")).count();
    let refused = sandbox.rate_limited();
    let global_429 = refused
        .iter()
        .filter(|c| !c.path.contains("/interactions/") && !c.path.contains("/webhooks/"))
        .count();
    let per_second = f64::from(DISCORD_GLOBAL.requests) / DISCORD_GLOBAL.per.as_secs_f64();
    let floor = Duration::from_secs_f64(calls.len() as f64 / per_second);

    println!(
        "RATE LIMIT BENCH: {tickets} messages in {tickets} ticket channels, sent in {sent_in:.2?}"
    );
    println!("  answered:     all {tickets} in {elapsed:.2?}");
    println!(
        "  REST calls:   {} accepted ({posts} messages, {typing} typing, {} other); floor at {per_second} req/s: {floor:.2?}; elapsed/floor = {:.2}",
        calls.len(),
        calls.len() - posts - typing,
        elapsed.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "  429s caused:  {} ({global_429} outside interaction endpoints)",
        refused.len()
    );
    println!(
        "  bot memory:   VmRSS {:.1} MiB idle, {:.1} MiB after the burst (peak {:.1} MiB)",
        idle_rss as f64 / 1024.0,
        rss as f64 / 1024.0,
        peak as f64 / 1024.0
    );

    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(20), bot.wait()).await;
    let _ = tokio::time::timeout(Duration::from_secs(15), worker.stop()).await;
}
