//! The sharded bot under load, scaled down from the figure in the README's sharding section:
//! a sandbox with `GUILDS` guilds, `SHARDS` shards, Discord's rate limits and identify limit,
//! bot processes on disjoint shard ranges through one `discord-proxy`; each guild's two members
//! open a ticket and write `MESSAGES` messages in it. Prints the time against the floor that
//! the global limit sets, the 429s caused, and whether each message was answered exactly once.
//!
//! ```sh
//! NATS_SERVER_BIN=... cargo run --example shard_load -p bot            # 2 processes
//! PROCESSES=1 NATS_SERVER_BIN=... cargo run --example shard_load -p bot
//! GUILDS=100 MESSAGES=2 ...                                             # the issue's shape
//! ```
//!
//! The processes run as tasks of this one (the tests' harness), so resident memory is
//! printed for all of them together.

use std::{collections::HashMap, time::Instant};

use axum::http::Method;
use bot::{
    proxy::{self, ProxySettings},
    test_util::{nats, spawn_bot_with_vars, spawn_second_bot, PROBE, TOKEN},
};
use common::payload::{RelayReply, RelayRequest};
use relay_worker::{test_util::spawn_worker, Responder, ResponderError};
use sandbox::{guild_id, Sandbox, SandboxOptions, ADMIN_ID, MEMBER_A_ID, MEMBER_B_ID};

/// Answers every message at once.
struct Echo;

impl Responder for Echo {
    async fn respond(&self, request: RelayRequest) -> Result<RelayReply, ResponderError> {
        let content = request.content.as_str();
        if content == PROBE {
            return Ok(RelayReply::new("ready"));
        }
        Ok(RelayReply::new(format!("answer to {content}")))
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// The ticket channel mentioned in `/create-ticket`'s answer.
fn mentioned_channel(answer: &str) -> u64 {
    let start = answer.find("<#").expect("a channel mention") + 2;
    let end = start + answer[start..].find('>').expect("the mention's end");
    answer[start..end].parse().expect("a channel ID")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (guilds, shards, processes, messages) = (
        env("GUILDS", 20),
        env("SHARDS", 4),
        env("PROCESSES", 2).clamp(1, 2),
        env("MESSAGES", 2),
    );
    let fake = Sandbox::start(SandboxOptions::new(TOKEN).guilds(guilds).identify_limit(1)).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", listener.local_addr().unwrap());
    let settings = ProxySettings {
        addr: listener.local_addr().unwrap(),
        upstream: fake.url(),
        timeout: std::time::Duration::from_secs(15),
    };
    tokio::spawn(async move {
        proxy::run(listener, &settings, std::future::pending())
            .await
            .unwrap()
    });
    let count = shards.to_string();
    let half = shards / 2;
    let (lower, upper) = if processes == 2 {
        (format!("0-{}", half - 1), format!("{half}-{}", shards - 1))
    } else {
        (format!("0-{}", shards - 1), String::new())
    };
    let vars = |range: &str| {
        vec![
            ("DISCORD_PROXY_URL".to_owned(), proxy_url.clone()),
            ("DISCORD_SHARD_COUNT".to_owned(), count.clone()),
            ("DISCORD_SHARDS".to_owned(), range.to_owned()),
        ]
    };
    let lower_vars = vars(&lower);
    let lower_refs: Vec<(&str, &str)> = lower_vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let first = spawn_bot_with_vars(fake.clone(), nats(), &lower_refs).await;
    let _worker = spawn_worker(&first.nats.settings(), Echo).await;
    let upper_vars = vars(&upper);
    let upper_refs: Vec<(&str, &str)> = upper_vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let second = if processes == 2 {
        Some(spawn_second_bot(&fake, &first, &upper_refs, |_| {}).await)
    } else {
        None
    };
    while !(0..guilds).all(|k| fake.guild_connected(guild_id(k))) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let started = Instant::now();
    let requests_before = fake.requests().len();
    // Interaction callbacks and webhooks do not count against the global limit.
    let counted = |calls: &[sandbox::Recorded]| {
        calls
            .iter()
            .filter(|c| {
                !c.path.starts_with("/api/v10/interactions/")
                    && !c.path.starts_with("/api/v10/webhooks/")
            })
            .count()
    };
    let counted_before = counted(&fake.requests());

    let setups = (0..guilds).map(|k| {
        let fake = fake.clone();
        async move {
            let id = fake.run_command_in(guild_id(k), bot::setup::NAME, ADMIN_ID, true);
            fake.wait_for_answer(id).await;
        }
    });
    futures::future::join_all(setups).await;
    let opens = (0..guilds)
        .flat_map(|k| [(k, MEMBER_A_ID), (k, MEMBER_B_ID)])
        .map(|(k, member)| {
            let fake = fake.clone();
            async move {
                let id = fake.run_command_in(guild_id(k), bot::create_ticket::NAME, member, false);
                (mentioned_channel(&fake.wait_for_answer(id).await), member)
            }
        });
    let tickets = futures::future::join_all(opens).await;
    let mut sent: HashMap<u64, u64> = HashMap::new();
    for n in 0..messages {
        for (channel, member) in &tickets {
            let id = fake.send_message(*channel, *member, &format!("question {n}"));
            sent.insert(id, *channel);
        }
    }
    let replies = fake
        .wait_for_within(
            std::time::Duration::from_secs(1800),
            "every answer",
            |calls| {
                let replies: Vec<u64> = calls
                    .iter()
                    .filter(|c| c.method == Method::POST && c.path.ends_with("/messages"))
                    .filter_map(|c| {
                        c.body["message_reference"]["message_id"]
                            .as_str()?
                            .parse()
                            .ok()
                    })
                    .filter(|id| sent.contains_key(id))
                    .collect();
                let distinct: std::collections::HashSet<_> = replies.iter().collect();
                (distinct.len() == sent.len()).then_some(replies)
            },
        )
        .await;
    let elapsed = started.elapsed();
    // Settle, then count again: a late duplicate would show.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let calls = fake.requests().len() - requests_before;
    let limited = counted(&fake.requests()) - counted_before;
    let floor = limited as f64 / f64::from(bot::GLOBAL_REST_PER_SECOND);
    println!(
        "{guilds} guilds, {shards} shards, {processes} process(es): {} tickets, {} messages",
        tickets.len(),
        sent.len()
    );
    println!(
        "answered {} ({} exactly once) in {:.1} s; {calls} REST calls, {limited} under the global limit: floor at 50/s {:.1} s",
        replies.len(),
        if replies.len() == sent.len() {
            "each"
        } else {
            "NOT each"
        },
        elapsed.as_secs_f64(),
        floor
    );
    println!(
        "429s: {} global, {} in all; identifies {} ({} refused); resident memory {} MiB for all processes",
        fake.global_rate_limited(),
        fake.rate_limited().len(),
        fake.identifies(),
        fake.invalid_sessions(),
        resident_kib() / 1024
    );
    if let Some(second) = second {
        second.shutdown().await.unwrap();
    }
    first.shutdown().await.unwrap();
}
