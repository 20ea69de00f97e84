//! The bot in shards across processes: two processes run shards 0-1 and 2-3 of 4 against a
//! 20-guild sandbox with Discord's identify limit and rate limits on, through one shared
//! `discord-proxy`. Every guild's ticket messages are answered exactly once (each by the
//! process whose shards hold the guild), a process stopped and started again answers what was
//! written meanwhile (catch-up), no IDENTIFY goes over the limit, and the two together never
//! meet the sandbox's global 429.

use std::{collections::HashMap, time::Duration};

use bot::{
    metrics::{ProxyMetrics, RestCounts},
    proxy::{self, ProxySettings},
};
use common::test_util::eventually;
use relay_worker::test_util::spawn_worker;
use sandbox::{guild_id, shard_of, WAIT};
use tokio_util::sync::CancellationToken;

use crate::{
    content,
    fake_discord::{FakeDiscord, Limit, RateLimits, SandboxOptions, ADMIN_ID, MEMBER_A_ID},
    helpers::{echo, nats, spawn_bot_with_vars, spawn_second_bot, TOKEN},
    metrics::Scrape,
    reference_id,
    tickets::mentioned_channel,
};

const GUILDS: usize = 20;
const SHARDS: u32 = 4;

/// A `discord-proxy` in front of `fake`, stopped when the token is cancelled.
async fn discord_proxy(fake: &FakeDiscord) -> (String, CancellationToken) {
    let (url, stop, _metrics) = discord_proxy_with(fake, Duration::from_secs(15)).await;
    (url, stop)
}

/// [`discord_proxy`] with `timeout` as its `DISCORD_HTTP_TIMEOUT_SECS`; also its metrics.
async fn discord_proxy_with(
    fake: &FakeDiscord,
    timeout: Duration,
) -> (String, CancellationToken, ProxyMetrics) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let settings = ProxySettings {
        addr: listener.local_addr().unwrap(),
        upstream: fake.url(),
        timeout,
    };
    let stop = CancellationToken::new();
    let stopped = stop.clone().cancelled_owned();
    let metrics = ProxyMetrics::new("test-proxy");
    let counted = metrics.clone();
    tokio::spawn(async move {
        proxy::run(listener, &settings, &counted, stopped)
            .await
            .unwrap()
    });
    (url, stop, metrics)
}

/// Waits until every guild's shard has a session.
async fn wait_all_connected(fake: &FakeDiscord) {
    eventually("every guild's shard connected", WAIT, || {
        let all = (0..GUILDS).all(|k| fake.guild_connected(guild_id(k)));
        async move { all.then_some(()) }
    })
    .await;
}

/// Runs `/setup` and then `/create-ticket` in guild `k`; returns the ticket channel.
async fn set_up_and_open(fake: &FakeDiscord, k: usize) -> u64 {
    let guild = guild_id(k);
    let setup = fake.run_command_in(guild, bot::setup::NAME, ADMIN_ID, true);
    let answer = fake.wait_for_answer(setup).await;
    assert!(!answer.is_empty(), "guild {k}: {answer}");
    let create = fake.run_command_in(guild, bot::create_ticket::NAME, MEMBER_A_ID, false);
    let answer = fake.wait_for_answer(create).await;
    assert!(
        answer.starts_with("Your ticket is ready"),
        "guild {k}: {answer}"
    );
    mentioned_channel(&answer)
}

/// Waits until each message of `sent` (channel → message IDs) has its answer, then checks
/// that it has exactly one.
async fn assert_each_answered_once(fake: &FakeDiscord, sent: &HashMap<u64, Vec<u64>>) {
    let expected: usize = sent.values().map(Vec::len).sum();
    let answers = fake
        .wait_for(&format!("{expected} answers"), |calls| {
            let answers: Vec<_> = calls
                .iter()
                .filter(|c| c.method == axum::http::Method::POST)
                .filter(|c| {
                    sent.iter().any(|(channel, ids)| {
                        c.path.ends_with(&format!("/channels/{channel}/messages"))
                            && reference_id(c).is_some_and(|id| ids.contains(&id))
                    })
                })
                .cloned()
                .collect();
            (answers.len() >= expected).then_some(answers)
        })
        .await;
    for ids in sent.values() {
        for id in ids {
            let replies: Vec<_> = answers
                .iter()
                .filter(|a| reference_id(a) == Some(*id))
                .collect();
            assert_eq!(replies.len(), 1, "message {id}: {replies:#?}");
            assert!(content(replies[0]).starts_with("answer to"), "{replies:#?}");
        }
    }
}

#[tokio::test]
async fn two_processes_on_shard_ranges_answer_every_guild_once_within_the_identify_and_global_limits(
) {
    // Two identify buckets: shards 0 and 2 share one, 1 and 3 the other, so the two processes
    // contend for both.
    let fake =
        FakeDiscord::start(SandboxOptions::new(TOKEN).guilds(GUILDS).identify_limit(2)).await;
    let (proxy_url, stop_proxy) = discord_proxy(&fake).await;
    let shard_vars = |range| {
        [
            ("DISCORD_PROXY_URL", proxy_url.clone()),
            ("DISCORD_SHARD_COUNT", SHARDS.to_string()),
            ("DISCORD_SHARDS", range),
        ]
    };
    let (lower, upper) = (shard_vars("0-1".to_owned()), shard_vars("2-3".to_owned()));
    let lower = lower.each_ref().map(|(k, v)| (*k, v.as_str()));
    let upper = upper.each_ref().map(|(k, v)| (*k, v.as_str()));

    let first = spawn_bot_with_vars(fake.clone(), nats(), &lower).await;
    let _worker = spawn_worker(&first.nats.settings(), echo()).await;
    let second = spawn_second_bot(&fake, &first, &upper, |_| {}).await;
    wait_all_connected(&fake).await;
    let mut shards = fake.session_shards();
    shards.sort_by_key(|s| s.id);
    assert_eq!(
        shards.iter().map(|s| (s.id, s.count)).collect::<Vec<_>>(),
        (0..SHARDS).map(|id| (id, SHARDS)).collect::<Vec<_>>(),
        "each shard once, across the two processes"
    );

    let mut tickets = HashMap::new();
    for k in 0..GUILDS {
        tickets.insert(k, set_up_and_open(&fake, k).await);
    }
    let mut sent: HashMap<u64, Vec<u64>> = HashMap::new();
    for (k, channel) in &tickets {
        let id = fake.send_message(*channel, MEMBER_A_ID, &format!("hello from guild {k}"));
        sent.entry(*channel).or_default().push(id);
    }
    assert_each_answered_once(&fake, &sent).await;

    // The upper process stops; what is written in its guilds meanwhile waits for it.
    second.shutdown().await.unwrap();
    let upper_guilds: Vec<usize> = (0..GUILDS)
        .filter(|k| shard_of(guild_id(*k), SHARDS) >= 2)
        .collect();
    assert!(!upper_guilds.is_empty());
    for k in &upper_guilds {
        let channel = tickets[k];
        let id = fake.post_offline(channel, MEMBER_A_ID, &format!("while away in guild {k}"));
        sent.entry(channel).or_default().push(id);
    }
    let second = spawn_second_bot(&fake, &first, &upper, |_| {}).await;
    assert_each_answered_once(&fake, &sent).await;

    assert_eq!(fake.invalid_sessions(), 0, "{:#?}", fake.identify_log());
    assert!(
        fake.identify_log().iter().all(|i| i.accepted),
        "{:#?}",
        fake.identify_log()
    );
    assert_eq!(
        fake.global_rate_limited(),
        0,
        "the sandbox's global bucket never refused a call"
    );
    second.shutdown().await.unwrap();
    first.shutdown().await.unwrap();
    stop_proxy.cancel();
}

/// `calls` GETs of `/users/@me` through `limiter` at once; their statuses.
async fn burst(limiter: &bot::RateLimitedProxy, calls: usize) -> Vec<u16> {
    let client = reqwest::Client::new();
    let url = format!("{}/api/v10/users/@me", limiter.url());
    let sent = (0..calls).map(|_| {
        let call = client
            .get(&url)
            .header("authorization", format!("Bot {TOKEN}"));
        async move {
            call.send()
                .await
                .map_or(0, |answer| answer.status().as_u16())
        }
    });
    futures::future::join_all(sent).await
}

/// Three bot processes' limiters take their calls' global turns in the one queue of the shared
/// `discord-proxy`. Two of them send 100 calls each at once, twice what the proxy may pass: the
/// queue lasts about four seconds, far past the one-second `DISCORD_HTTP_TIMEOUT_SECS` of each
/// hop, and no call is lost to a timeout, since waiting for a turn is not a stalled call. The
/// sandbox's global bucket never answers 429, and the third process, which sent 5 calls
/// meanwhile, reads the others' spending in its budget. The proxy's metrics count every call
/// it forwarded and the time the turns waited.
#[tokio::test]
async fn limiters_wait_in_one_queue_at_the_discord_proxy_and_lose_no_call_to_the_timeout() {
    let limits = RateLimits {
        global: Some(Limit {
            requests: bot::GLOBAL_REST_PER_SECOND,
            per: Duration::from_secs(1),
        }),
        route: None,
    };
    let fake = FakeDiscord::start(SandboxOptions::new(TOKEN).rate_limits(limits)).await;
    let timeout = Duration::from_secs(1);
    let (proxy_url, stop_proxy, proxy_metrics) = discord_proxy_with(&fake, timeout).await;
    let start = || {
        let url = proxy_url.clone();
        async move {
            bot::RateLimitedProxy::start(&url, timeout, RestCounts::default())
                .await
                .unwrap()
        }
    };
    let (a, b, c) = (start().await, start().await, start().await);

    let few_of_c = async {
        eventually("the others' calls reaching the sandbox", WAIT, || {
            let reached = fake.calls(reqwest::Method::GET, "/users/@me").len();
            // More than a second's worth: the shared budget is being spent in full.
            async move { (reached > 60).then_some(()) }
        })
        .await;
        let statuses = burst(&c, 5).await;
        (statuses, c.budget().left())
    };
    let (of_a, of_b, (of_c, left_for_c)) = tokio::join!(burst(&a, 100), burst(&b, 100), few_of_c);

    let all: Vec<u16> = [of_a, of_b, of_c].concat();
    assert!(all.iter().all(|s| *s == 200), "{all:?}");
    assert_eq!(fake.calls(reqwest::Method::GET, "/users/@me").len(), 205);
    assert_eq!(fake.global_rate_limited(), 0, "{:?}", fake.rate_limited());
    // By its own 5 calls c would have 45 left; the others spent most of the shared second (all
    // of it but for a loaded machine's delays), below the half at which the relay edits less.
    let left = left_for_c.expect("measured");
    assert!(left < 25, "{left} left by c's reading of the shared budget");
    // The proxy counted every call it forwarded, and the turns' waits, for the one scrape.
    let page = proxy_metrics.page();
    let calls = r#"discord_proxy_requests_total{service="discord-proxy",instance="test-proxy",group="users/@me",status="200"} 205"#;
    assert!(page.contains(calls), "{page}");
    let waited = Scrape::of_process(&page)
        .sample(
            "discord_proxy_rate_limit_wait_seconds",
            &[("service", "discord-proxy"), ("instance", "test-proxy")],
        )
        .expect("the wait is on the page");
    assert!(
        waited > 1.0,
        "{waited} s waited in all at the proxy: {page}"
    );
    stop_proxy.cancel();
}
