//! Figures, not tests: measurements run on demand (`#[ignore]`d), printed for the README.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use common::payload::RelayRequest;

use crate::{
    fake_discord::{FakeDiscord, RateLimits, SandboxOptions, GUILD_ID},
    helpers::{self, Scripted, Seen, TOKEN, USER_ID},
    reference_id, set_up, wait_for_posts, SetUp,
};

/// Median time the bot adds, measured from outside: MESSAGE_CREATE written to the gateway
/// socket -> request arriving at the responder, and answer returned by the responder -> reply
/// POST arriving at the fake Discord. Both include one loopback hop through NATS (and the
/// websocket / HTTP hop), so they are upper bounds of the bot's own share.
///
/// `cargo test --release -p bot --test bot -- --ignored --nocapture relay_latency_figure`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: run it explicitly"]
async fn relay_latency_figure() {
    const MESSAGES: usize = 300;
    // 300 answers in one channel would wait on Discord's 5-per-5-s bucket: measure the bot, not it.
    let fake =
        FakeDiscord::start(SandboxOptions::new(TOKEN).rate_limits(RateLimits::unlimited())).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = helpers::spawn_bot_with_nats(fake.clone(), nats).await;
    let responder = crate::helpers::echo();
    let seen = Arc::clone(&responder.seen);
    bot.start_worker(responder).await;

    let mut inbound = Vec::new();
    let mut outbound = Vec::new();
    for n in 0..MESSAGES {
        let id = fake.send_message(ticket, USER_ID, &format!("message {n}"));
        let post = wait_for_posts(&fake, ticket, n + 1).await.pop().unwrap();
        assert_eq!(reference_id(&post), Some(id));
        let (sent, handled) = arrival(&fake, &seen, id);
        inbound.push(handled.arrived.duration_since(sent));
        outbound.push(post.at.duration_since(handled.answered));
    }
    // The same hops without the bot: a direct request to the same worker, for subtraction.
    let direct = common::nats::connect(&bot.nats.settings(), "direct")
        .await
        .unwrap();
    helpers::wait_connected(&direct).await;
    let direct =
        common::relay_client::RelayClient::new(direct, helpers::SUBJECT, Duration::from_secs(5));
    let mut nats_in = Vec::new();
    let mut nats_out = Vec::new();
    for n in 0..MESSAGES {
        let content = format!("direct {n}");
        let request = RelayRequest {
            guild_id: common::payload::Snowflake::from(GUILD_ID),
            channel_id: common::payload::Snowflake::from(ticket),
            user_id: common::payload::Snowflake::from(USER_ID),
            content: common::payload::MessageContent::parse(content.clone()).unwrap(),
            message_id: None,
            history: Vec::new(),
            ticket: None,
        };
        let sent = std::time::Instant::now();
        direct.send(&request, None).await.unwrap();
        let received = std::time::Instant::now();
        let handled = seen
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.request.content.as_str() == content)
            .cloned()
            .unwrap();
        nats_in.push(handled.arrived.duration_since(sent));
        nats_out.push(received.duration_since(handled.answered));
    }
    for list in [&mut inbound, &mut outbound, &mut nats_in, &mut nats_out] {
        list.sort_unstable();
    }
    let median = |v: &[Duration]| v[v.len() / 2];
    let p90 = |v: &[Duration]| v[v.len() * 9 / 10];
    println!(
        "FIGURE over {MESSAGES} messages: MESSAGE_CREATE written -> request at worker: median {:?} (p90 {:?}); \
         answer returned -> reply POST at fake Discord: median {:?} (p90 {:?})",
        median(&inbound), p90(&inbound), median(&outbound), p90(&outbound)
    );
    println!(
        "BASELINE same hops through NATS without the bot: request -> worker median {:?}; answer -> requester median {:?}",
        median(&nats_in), median(&nats_out)
    );
    bot.shutdown().await.expect("clean shutdown");
}

/// Catch-up: 100 messages written in 10 ticket channels while the bot was away, answered after
/// it connects; the time from its ready to the 100th answer, with Discord's rate limits (5 posts
/// per 5 s per channel, 50 calls/s in all) and without.
///
/// `cargo test --release -p bot --test bot -- --ignored --nocapture catch_up_figure`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: run it explicitly"]
async fn catch_up_figure() {
    for (label, limits) in [
        ("Discord's rate limits", RateLimits::default()),
        ("no rate limits", RateLimits::unlimited()),
    ] {
        let fake = FakeDiscord::start(SandboxOptions::new(TOKEN).rate_limits(limits)).await;
        let SetUp { category, nats, .. } = set_up(&fake).await;
        let channels: Vec<u64> = (0..10)
            .map(|i| fake.add_text_channel(&format!("ticket-{}", 500 + i), Some(category)))
            .collect();
        helpers::register_tickets(&nats, channels.iter().copied().zip(500..)).await;
        for (i, channel) in channels.iter().enumerate() {
            for n in 0..10 {
                fake.post_offline(*channel, 500 + i as u64, &format!("missed message {n}"));
            }
        }
        let _worker =
            relay_worker::test_util::spawn_worker(&nats.settings(), relay_worker::Placeholder)
                .await;
        let started = std::time::Instant::now();
        let bot = crate::helpers::spawn_bot_with_nats(fake.clone(), nats).await;
        let ready = started.elapsed();
        for channel in &channels {
            crate::wait_for_posts(&fake, *channel, 10).await;
        }
        let answered = started.elapsed() - ready;
        let posts: usize = channels
            .iter()
            .map(|c| fake.posted_messages(*c).len())
            .sum();
        println!(
            "catch-up, {label}: {posts} answers in 10 channels {answered:.2?} after the bot was ready"
        );
        bot.shutdown().await.expect("clean shutdown");
    }
}

/// What a 20-message history adds per relayed message: MESSAGE_CREATE written to the gateway ->
/// request at the worker, median over 200 messages of ~200 characters each, with
/// `HISTORY_MAX_MESSAGES=0` against the default 20 (the history is full from the 11th message
/// on; the first message's one REST fetch is left out).
///
/// `cargo test --release -p bot --test bot -- --ignored --nocapture history_cost_figure`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: run it explicitly"]
async fn history_cost_figure() {
    const MESSAGES: usize = 200;
    const WARM_UP: usize = 10;
    let mut medians = Vec::new();
    for history in ["0", "20"] {
        let fake =
            FakeDiscord::start(SandboxOptions::new(TOKEN).rate_limits(RateLimits::unlimited()))
                .await;
        let SetUp { category, nats, .. } = set_up(&fake).await;
        let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
        let mut bot = helpers::spawn_bot_with_vars(
            fake.clone(),
            nats,
            &[
                ("DISCORD_GUILD_ID", &GUILD_ID.to_string()),
                ("HISTORY_MAX_MESSAGES", history),
            ],
        )
        .await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        bot.start_worker(Scripted {
            answer: |content: &str| format!("an answer of about the same length: {content}"),
            delay: |_: &str| Duration::ZERO,
            seen: Arc::clone(&seen),
        })
        .await;
        let mut inbound = Vec::new();
        let mut sizes = Vec::new();
        for n in 0..MESSAGES {
            let text = format!("message {n}: {}", "my order has not arrived yet ".repeat(7));
            let id = fake.send_message(ticket, USER_ID, &text);
            wait_for_posts(&fake, ticket, n + 1).await;
            if n < WARM_UP {
                continue;
            }
            let (sent, handled) = arrival(&fake, &seen, id);
            sizes.push(handled.request.history.len());
            inbound.push(handled.arrived.duration_since(sent));
        }
        inbound.sort_unstable();
        let median = inbound[inbound.len() / 2];
        println!(
            "FIGURE HISTORY_MAX_MESSAGES={history}: MESSAGE_CREATE written -> request at worker over {} messages \
             (history of {}..={} entries, {} bytes of JSON at most): median {median:?} (p90 {:?})",
            inbound.len(),
            sizes.iter().min().unwrap(),
            sizes.iter().max().unwrap(),
            seen.lock().unwrap().iter().map(|s| s.request.to_json().len()).max().unwrap(),
            inbound[inbound.len() * 9 / 10],
        );
        medians.push(median);
        bot.shutdown().await.expect("clean shutdown");
    }
    println!(
        "FIGURE a 20-message history adds {:?} per relayed message (median against median)",
        medians[1].saturating_sub(medians[0])
    );
}

/// When message `id`'s MESSAGE_CREATE was written to the gateway, and what the responder saw
/// of its request.
fn arrival(fake: &FakeDiscord, seen: &Mutex<Vec<Seen>>, id: u64) -> (std::time::Instant, Seen) {
    let sent = written_at(fake, id);
    let handled = seen
        .lock()
        .unwrap()
        .iter()
        .find(|s| s.request.message_id.as_ref().map(|m| m.to_string()) == Some(id.to_string()))
        .cloned()
        .unwrap();
    (sent, handled)
}

/// When message `id`'s MESSAGE_CREATE was written to the gateway.
fn written_at(fake: &FakeDiscord, id: u64) -> std::time::Instant {
    fake.dispatched()
        .into_iter()
        .find(|d| d.name == "MESSAGE_CREATE" && d.id == id.to_string())
        .unwrap()
        .at
}

/// The time to close a 5,000-message ticket: read every message (50 pages of 100), render the
/// two transcript files, archive them (the JetStream object store), post them to `#ticket-logs`
/// and by DM; once without attachments, once with 50 attachments of 100 KiB (5 MiB: downloaded
/// and archived too). Baseline: the floor Discord's global limit (50 calls a second, which the
/// bot's limiter keeps) puts on the calls made, counted in the same run; the sandbox itself
/// limits nothing. Also printed: the same 50 pages read by a bare serenity client with no
/// limiter, and the bot's own split of the time.
///
/// `cargo test --release -p bot --test bot -- --ignored --nocapture transcript_figure`
// One thread, so that the bot's log line (with its own split of the time) is captured.
#[tokio::test]
#[ignore = "a measurement, not a test: run it explicitly"]
async fn transcript_figure() {
    for attachments in [0, 50] {
        close_figure(attachments).await;
    }
}

async fn close_figure(attachments: usize) {
    use bot::close_ticket;
    use sandbox::{fixtures::CommandOption, PERSONAS};
    const MESSAGES: usize = 5_000;
    const ATTACHMENT_BYTES: usize = 100 * 1024;
    let fake =
        FakeDiscord::start(SandboxOptions::new(TOKEN).rate_limits(RateLimits::unlimited())).await;
    let guild = GUILD_ID.to_string();
    let bot = helpers::spawn_bot_with_vars(
        fake.clone(),
        helpers::nats(),
        &[
            ("DISCORD_GUILD_ID", guild.as_str()),
            ("TICKET_CLOSE_DELAY_SECS", "0"),
        ],
    )
    .await;
    let setup = fake.run_command(bot::setup::NAME, crate::fake_discord::ADMIN_ID, true);
    fake.wait_for_answer(setup).await;
    let open = fake.run_command(bot::create_ticket::NAME, USER_ID, false);
    let answer = fake.wait_for_answer(open).await;
    let ticket: u64 = answer[answer.find("<#").unwrap() + 2..answer.len() - 1]
        .parse()
        .unwrap();
    // Every 98th message carries a file, the rest is text (the welcome is the first).
    let mut left = MESSAGES - 1;
    for n in 0..attachments {
        fake.seed_messages(ticket, USER_ID, 97);
        let file = fake.host_file(
            &format!("file-{n}.bin"),
            "application/octet-stream",
            vec![b'x'; ATTACHMENT_BYTES],
        );
        fake.store_offline(
            sandbox::fixtures::MessageSpec::human(ticket, USER_ID, "see the file")
                .with_attachment(file),
        );
        left -= 98;
    }
    fake.seed_messages(ticket, USER_ID, left);

    // Baseline: the pages alone, read by serenity's own client through the sandbox.
    let http = serenity::http::HttpBuilder::new(TOKEN)
        .proxy(fake.url())
        .ratelimiter_disabled(true)
        .build();
    let started = std::time::Instant::now();
    let mut before = None;
    let mut read = 0;
    loop {
        let mut query = serenity::all::GetMessages::new().limit(100);
        if let Some(id) = before {
            query = query.before(id);
        }
        let page = serenity::all::ChannelId::new(ticket)
            .messages(&http, query)
            .await
            .unwrap();
        read += page.len();
        before = page.last().map(|m| m.id);
        if page.len() < 100 {
            break;
        }
    }
    let baseline = started.elapsed();
    assert_eq!(read, MESSAGES);

    let member = PERSONAS.iter().find(|p| p.id == USER_ID).unwrap();
    let started = std::time::Instant::now();
    let close = fake
        .run_command_with(
            member,
            close_ticket::NAME,
            ticket,
            &[CommandOption::String("reason".into(), "figure".into())],
        )
        .unwrap();
    let answer = fake.wait_for_answer(close).await;
    let closed = started.elapsed();
    assert!(
        answer.starts_with("Ticket closed: the transcript (5000 messages"),
        "{answer}"
    );
    let split: Vec<String> = bot
        .logs()
        .lines()
        .filter(|l| l.contains("ticket transcript archived") || l.contains("ticket closed"))
        .map(str::to_owned)
        .collect();
    // The bot keeps to Discord's global limit (50 calls a second, no burst): its REST calls
    // during the close cannot take less than this, whatever the bot does. Downloads of the
    // files go to the CDN, not the API, and are not counted.
    let calls = fake
        .requests()
        .iter()
        .filter(|r| r.at >= started && !r.path.contains("/interactions/"))
        .count();
    let floor = calls as f64 / f64::from(bot::GLOBAL_REST_PER_SECOND);
    println!(
        "close of a {MESSAGES}-message ticket with {attachments} attachments: {:.2} s command -> answer \
         (read, render, download, archive, log post, DM); {calls} REST calls, whose floor at {} \
         calls/s is {floor:.2} s: ratio {:.2}x; the 50 pages alone by a bare serenity client with \
         no limiter: {:.2} s\n  bot's own split:\n  {}",
        closed.as_secs_f64(),
        bot::GLOBAL_REST_PER_SECOND,
        closed.as_secs_f64() / floor,
        baseline.as_secs_f64(),
        split.join("\n  "),
    );
    bot.shutdown().await.unwrap();
}

/// How long one bot process takes to see a ticket another one opened: two registries on one
/// NATS server, a ticket put through one, the time until the other's in-memory copy (kept by
/// its watch of the bucket) has it. 200 tickets, one after the other; against the baseline of
/// the put's own round trip.
///
/// `cargo test --release -p bot --test bot -- --ignored --nocapture registry_watch_figure`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: run it explicitly"]
async fn registry_watch_figure() {
    use bot::registry::{Registry, TicketEntry};
    use serenity::all::{ChannelId, GuildId, Timestamp, UserId};
    const TICKETS: u64 = 200;
    let nats = helpers::nats();
    let mut registries = Vec::new();
    for name in ["first", "second"] {
        let client = common::nats::connect(&nats.settings(), name).await.unwrap();
        helpers::wait_connected(&client).await;
        registries.push(Registry::open(client).await.unwrap());
    }
    let (first, second) = (&registries[0], &registries[1]);
    let mut seen = Vec::new();
    let mut puts = Vec::new();
    for n in 1..=TICKETS {
        let entry = TicketEntry::opened(GuildId::new(1), UserId::new(n), Timestamp::now());
        let started = std::time::Instant::now();
        first.put_ticket(ChannelId::new(n), entry).await.unwrap();
        puts.push(started.elapsed());
        while !second.is_open_ticket(ChannelId::new(n)) {
            tokio::task::yield_now().await;
        }
        seen.push(started.elapsed());
    }
    seen.sort_unstable();
    puts.sort_unstable();
    let at = |v: &[Duration], q: usize| v[v.len() * q / 100];
    println!(
        "a ticket opened by one process is seen by another after: median {:?} (p90 {:?}, max {:?}); \
         the put alone: median {:?}",
        at(&seen, 50),
        at(&seen, 90),
        seen[seen.len() - 1],
        at(&puts, 50),
    );
}

/// What the registry look-up adds to each relayed message: the relay asks
/// `Registry::is_open_ticket`, an in-memory map look-up (no NATS round trip; the buckets are
/// read at start and watched after). Measured with 10,000 open tickets, against the
/// baseline of one NATS round trip (a KV get of the same entry), which a per-message read of
/// the bucket would cost.
///
/// `cargo test --release -p bot --test bot -- --ignored --nocapture registry_lookup_figure`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: run it explicitly"]
async fn registry_lookup_figure() {
    use bot::registry::TicketEntry;
    use serenity::all::{ChannelId, GuildId, Timestamp, UserId};
    const TICKETS: u64 = 10_000;
    const LOOKUPS: u64 = 1_000_000;
    let (_nats, client, registry) = own_registry().await;
    for n in 1..=TICKETS {
        let entry = TicketEntry::opened(GuildId::new(1), UserId::new(n), Timestamp::now());
        registry.put_ticket(ChannelId::new(n), entry).await.unwrap();
    }
    // Loaded from the buckets, as a restarted bot does.
    let started = std::time::Instant::now();
    let registry = bot::registry::Registry::open(client.clone()).await.unwrap();
    let load = started.elapsed();
    assert_eq!(registry.open_tickets(None).len() as u64, TICKETS);

    let started = std::time::Instant::now();
    let mut found = 0u64;
    for n in 0..LOOKUPS {
        found += u64::from(registry.is_open_ticket(ChannelId::new(n % (TICKETS * 2) + 1)));
    }
    let lookup = started.elapsed().as_nanos() as f64 / LOOKUPS as f64;
    assert_eq!(found, LOOKUPS / 2);

    const GETS: u32 = 2_000;
    let started = std::time::Instant::now();
    for n in 0..GETS {
        registry
            .ticket(ChannelId::new(u64::from(n) % TICKETS + 1))
            .await
            .unwrap()
            .unwrap();
    }
    let get = started.elapsed().as_nanos() as f64 / f64::from(GETS);
    println!(
        "registry look-up per relayed message: {lookup:.0} ns (in memory, {TICKETS} open tickets); \
         a KV read of the bucket instead: {:.1} µs; ratio {:.5}x; \
         loading the {TICKETS} tickets at start: {load:?} ({:.1} µs per ticket)",
        get / 1_000.0,
        lookup / get,
        load.as_secs_f64() * 1e6 / TICKETS as f64,
    );
}

/// What the buttons under an answer and its bookkeeping add. From outside: MESSAGE_CREATE
/// written to the gateway -> the answer's POST at the fake Discord, median over alternating
/// rounds with `ANSWER_BUTTONS=false` and `true` (the buttons, and the answer remembered for
/// them, are the only difference: the bookkeeping write runs in both, after the POST). Then
/// that write itself, `Registry::answered` (one compare-and-set, off the answer's path), against
/// the per-message `Registry::touch` every relayed message already costs; and the bytes the
/// buttons add to the POST body.
///
/// `cargo test --release -p bot --test bot -- --ignored --nocapture answer_buttons_cost_figure`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: run it explicitly"]
async fn answer_buttons_cost_figure() {
    use bot::registry::TicketEntry;
    use serenity::all::{ChannelId, GuildId, Timestamp, UserId};
    const ROUNDS: usize = 3;
    const MESSAGES: usize = 100;
    let mut latencies: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut body_bytes = [0usize; 2];
    for _ in 0..ROUNDS {
        for (index, buttons) in ["false", "true"].into_iter().enumerate() {
            let fake =
                FakeDiscord::start(SandboxOptions::new(TOKEN).rate_limits(RateLimits::unlimited()))
                    .await;
            let SetUp { category, nats, .. } = set_up(&fake).await;
            let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
            let guild = GUILD_ID.to_string();
            let mut bot = helpers::spawn_bot_with_vars(
                fake.clone(),
                nats,
                &[
                    ("DISCORD_GUILD_ID", guild.as_str()),
                    ("ANSWER_BUTTONS", buttons),
                ],
            )
            .await;
            bot.start_worker(helpers::echo()).await;
            for n in 0..MESSAGES {
                let id = fake.send_message(ticket, USER_ID, &format!("message {n}"));
                let post = wait_for_posts(&fake, ticket, n + 1).await.pop().unwrap();
                assert_eq!(reference_id(&post), Some(id));
                assert_eq!(post.body["components"].is_array(), buttons == "true");
                latencies[index].push(post.at.duration_since(written_at(&fake, id)));
                body_bytes[index] = post.body.to_string().len();
            }
            bot.shutdown().await.expect("clean shutdown");
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    let without = median(&mut latencies[0]);
    let with = median(&mut latencies[1]);
    println!(
        "FIGURE MESSAGE_CREATE written -> answer POST at fake Discord, median over {} answers each: \
         without buttons {without:?}, with buttons {with:?} (difference {}; p90 {:?} vs {:?}); \
         POST body {} vs {} bytes",
        ROUNDS * MESSAGES,
        with.checked_sub(without).map_or_else(|| format!("-{:?}", without - with), |d| format!("{d:?}")),
        latencies[0][latencies[0].len() * 9 / 10],
        latencies[1][latencies[1].len() * 9 / 10],
        body_bytes[0],
        body_bytes[1],
    );

    // The bookkeeping write, on a registry of its own.
    const WRITES: u32 = 2_000;
    let (_nats, _, registry) = own_registry().await;
    let channel = ChannelId::new(1);
    let entry = TicketEntry::opened(GuildId::new(1), UserId::new(2), Timestamp::now());
    registry.put_ticket(channel, entry).await.unwrap();
    let started = std::time::Instant::now();
    for _ in 0..WRITES {
        registry.answered(channel, Timestamp::now()).await.unwrap();
    }
    let answered = started.elapsed() / WRITES;
    let started = std::time::Instant::now();
    for n in 0..WRITES {
        let at = Timestamp::from_unix_timestamp(1_900_000_000 + i64::from(n)).unwrap();
        registry.touch(channel, at).await.unwrap();
    }
    let touch = started.elapsed() / WRITES;
    println!(
        "FIGURE bookkeeping per answer: Registry::answered {answered:?} (mean of {WRITES}, after the POST, \
         off the answer's path); the per-message Registry::touch already paid: {touch:?}"
    );
}

/// `/ticket-stats` reads every stored ticket (one watch of the `tickets` bucket's latest
/// values) and keeps the guild's: its time with 10,000 tickets of the guild and 10,000 of
/// another in the bucket, median of 5 scans, against a KV get of one entry.
///
/// `cargo test --release -p bot --test bot -- --ignored --nocapture ticket_stats_scan_figure`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: run it explicitly"]
async fn ticket_stats_scan_figure() {
    use bot::registry::{TicketEntry, TicketStatus};
    use futures::StreamExt;
    use serenity::all::{ChannelId, GuildId, Timestamp, UserId};
    const PER_GUILD: u64 = 10_000;
    let (_nats, _, registry) = own_registry().await;
    let now = Timestamp::now();
    let at = |secs: i64| Timestamp::from_unix_timestamp(now.unix_timestamp() + secs).unwrap();
    futures::stream::iter(1..=2 * PER_GUILD)
        .map(|n| {
            let registry = &registry;
            async move {
                let guild = GuildId::new(1 + n % 2);
                let mut entry = TicketEntry::opened(guild, UserId::new(n), at(-3_600));
                // Every field set, as a closed, answered, rated ticket's entry is.
                entry.status = TicketStatus::Deleted;
                entry.closed_at = Some(at(-60));
                entry.closed_by = Some(UserId::new(n));
                entry.reason = Some("solved, thanks".to_owned());
                entry.first_answer_at = Some(at(-3_590));
                entry.staff_replied_at = (n % 3 == 0).then(|| at(-3_000));
                entry.human_requested_at = (n % 5 == 0).then(|| at(-3_100));
                entry.answers = 3;
                entry.feedback_up = 2;
                entry.feedback_down = 1;
                registry.put_ticket(ChannelId::new(n), entry).await.unwrap();
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<()>>()
        .await;
    let mut scans = Vec::new();
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let tickets = registry
            .guild_tickets(GuildId::new(1), at(-86_400))
            .await
            .unwrap();
        scans.push(started.elapsed());
        assert_eq!(tickets.len() as u64, PER_GUILD);
    }
    scans.sort_unstable();
    let started = std::time::Instant::now();
    for n in 1..=100 {
        registry.ticket(ChannelId::new(n)).await.unwrap().unwrap();
    }
    let get = started.elapsed() / 100;
    println!(
        "FIGURE /ticket-stats scan of {} stored tickets ({PER_GUILD} of the guild): median {:?} \
         (min {:?}, max {:?}); one KV get: {get:?}",
        2 * PER_GUILD,
        scans[2],
        scans[0],
        scans[4],
    );
}

/// `/ticket-list` (open tickets, from memory; closed ones, a pass over the bucket) and
/// `/ticket-stats` (with the staff's figures) answered through the sandbox, with 10,000 stored
/// tickets of the guild (100 open, the rest closed, claimed, answered and rated): the time
/// from the interaction to the bot's answer, median of 5.
///
/// `cargo test -p bot --test bot -- --ignored --nocapture staff_commands_figure`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: run it explicitly"]
async fn staff_commands_figure() {
    use bot::registry::{Priority, Rating, TicketEntry, TicketStatus};
    use futures::StreamExt;
    use sandbox::fixtures::CommandOption;
    use serenity::all::{ChannelId, GuildId, Timestamp, UserId};
    const STORED: u64 = 10_000;
    const OPEN: u64 = 100;
    let fake =
        FakeDiscord::start(SandboxOptions::new(TOKEN).rate_limits(RateLimits::unlimited())).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let open: Vec<u64> = (0..OPEN)
        .map(|n| fake.add_text_channel(&format!("case-{n}"), Some(category)))
        .collect();
    {
        let client = common::nats::connect(&nats.settings(), "figure")
            .await
            .unwrap();
        helpers::wait_connected(&client).await;
        let registry = bot::registry::Registry::open(client).await.unwrap();
        let now = Timestamp::now();
        let at = |secs: i64| Timestamp::from_unix_timestamp(now.unix_timestamp() + secs).unwrap();
        futures::stream::iter(0..STORED)
            .map(|n| {
                let (registry, open) = (&registry, &open);
                async move {
                    let guild = GuildId::new(GUILD_ID);
                    let owner = UserId::new(500_000_000_000_000_000 + n);
                    let mut entry = TicketEntry::opened(guild, owner, at(-7_200));
                    let staff = UserId::new(600_000_000_000_000_000 + n % 7);
                    entry.handling.claimed_by = Some(staff);
                    entry.handling.priority = Priority::ALL[usize::try_from(n % 4).unwrap()];
                    entry.staff_replied_at = Some(at(-7_000));
                    entry.handling.staff_replied_by = Some(staff);
                    entry.first_answer_at = Some(at(-7_190));
                    entry.answers = 2;
                    let channel = match open.get(usize::try_from(n).unwrap()) {
                        Some(channel) => *channel,
                        None => {
                            entry.status = TicketStatus::Deleted;
                            entry.closed_at = Some(at(-60));
                            entry.closed_by = Some(staff);
                            entry.handling.rating = Some(Rating {
                                stars: u8::try_from(1 + n % 5).unwrap(),
                                comment: None,
                                at: at(-30),
                                log_message_id: None,
                            });
                            700_000_000_000_000_000 + n
                        }
                    };
                    registry
                        .put_ticket(ChannelId::new(channel), entry)
                        .await
                        .unwrap();
                }
            })
            .buffer_unordered(64)
            .collect::<Vec<()>>()
            .await;
    }
    let bot = helpers::spawn_bot_with_nats(fake.clone(), nats).await;
    let general = fake.add_text_channel("general", None);
    let support = sandbox::PERSONAS
        .iter()
        .find(|p| p.id == crate::fake_discord::SUPPORT_ID)
        .unwrap();
    let timed = |name: &str, options: Vec<CommandOption>| {
        let fake = fake.clone();
        let name = name.to_owned();
        async move {
            let mut times = Vec::new();
            let mut answer = String::new();
            for _ in 0..5 {
                let started = std::time::Instant::now();
                let id = fake
                    .run_command_with(support, &name, general, &options)
                    .unwrap();
                answer = fake.wait_for_answer(id).await;
                times.push(started.elapsed());
            }
            times.sort_unstable();
            (times[2], times[0], times[4], answer)
        }
    };
    let status = |s: &str| vec![CommandOption::String("status".into(), s.into())];
    let list_open = timed(bot::ticket_list::NAME, Vec::new()).await;
    assert!(
        list_open.3.starts_with("**Open tickets:** 100"),
        "{}",
        list_open.3
    );
    let list_closed = timed(bot::ticket_list::NAME, status("closed")).await;
    assert!(
        list_closed.3.starts_with("**Closed tickets:** 9900"),
        "{}",
        list_closed.3
    );
    let stats = timed(bot::ticket_stats::NAME, Vec::new()).await;
    assert!(stats.3.contains("**Staff:**"), "{}", stats.3);
    for (what, (median, min, max, _)) in [
        ("/ticket-list (open, from memory)", list_open),
        ("/ticket-list status:closed (a bucket pass)", list_closed),
        ("/ticket-stats (with staff figures)", stats),
    ] {
        println!(
            "FIGURE {what} with {STORED} stored tickets: median {median:?} (min {min:?}, max {max:?})"
        );
    }
    bot.shutdown().await.unwrap();
}

/// A registry on a nats-server of its own (which lives as long as the first value), and the
/// client it uses.
async fn own_registry() -> (
    common::test_util::NatsServer,
    async_nats::Client,
    bot::registry::Registry,
) {
    let nats = helpers::nats();
    let client = common::nats::connect(&nats.settings(), "figure")
        .await
        .unwrap();
    helpers::wait_connected(&client).await;
    let registry = bot::registry::Registry::open(client.clone()).await.unwrap();
    (nats, client, registry)
}
