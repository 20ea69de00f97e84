//! Nothing lost on the bot's side: ticket messages sent while it was away are answered when it
//! connects, once each and in order; a stalled Discord call holds a channel only until
//! `DISCORD_HTTP_TIMEOUT_SECS`; what is still queued at shutdown is counted, then answered by
//! the next start.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::http::Method;
use common::test_util::{eventually, NatsServer};
use relay_worker::test_util::spawn_worker;

use crate::{
    content,
    fake_discord::{fixtures, FakeDiscord, GUILD_ID},
    helpers::{
        echo, spawn_bot_with_settings, spawn_bot_with_vars, Scripted, OTHER_USER_ID, TOKEN, USER_ID,
    },
    reference_id, set_up, wait_for_posts, SetUp,
};

async fn start(
    fake: &FakeDiscord,
    nats: NatsServer,
    extra: &[(&str, &str)],
) -> crate::helpers::TestBot {
    let guild = GUILD_ID.to_string();
    let mut vars = vec![("DISCORD_GUILD_ID", guild.as_str())];
    vars.extend_from_slice(extra);
    spawn_bot_with_vars(fake.clone(), nats, &vars).await
}

async fn wait_for_catch_up(bot: &crate::helpers::TestBot) {
    eventually(
        "the catch-up to finish",
        Duration::from_secs(30),
        || async { bot.logs().contains("catch-up done").then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn messages_sent_while_the_bot_was_away_are_answered_once_each_and_in_order() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let other = fake.add_text_channel(&format!("ticket-{OTHER_USER_ID}"), Some(category));
    let responder = echo();
    let seen = Arc::clone(&responder.seen);
    let _worker = spawn_worker(&nats.settings(), responder).await;

    // Answered while the bot runs.
    let bot = start(&fake, nats, &[]).await;
    let first = fake.send_message(ticket, USER_ID, "first");
    wait_for_posts(&fake, ticket, 1).await;
    let (outcome, nats, _) = bot.stop().await;
    outcome.expect("clean shutdown");

    // Written while it is away.
    let second = fake.post_offline(ticket, USER_ID, "second");
    let third = fake.post_offline(ticket, USER_ID, "third");
    let fourth = fake.post_offline(other, OTHER_USER_ID, "fourth");

    let bot = start(&fake, nats, &[]).await;
    let posts = wait_for_posts(&fake, ticket, 3).await;
    wait_for_posts(&fake, other, 1).await;
    wait_for_catch_up(&bot).await;

    let replied: Vec<Option<u64>> = posts.iter().map(reference_id).collect();
    assert_eq!(
        replied,
        [Some(first), Some(second), Some(third)],
        "one answer each, in order"
    );
    assert_eq!(content(&posts[2]), "answer to third");
    let other_posts = fake.posted_messages(other);
    assert_eq!(other_posts.len(), 1);
    assert_eq!(reference_id(&other_posts[0]), Some(fourth));
    let mut asked = crate::helpers::asked(&seen);
    asked.sort();
    assert_eq!(
        asked,
        ["first", "fourth", "second", "third"],
        "the worker was asked once each"
    );
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_message_that_also_arrives_live_during_catch_up_is_answered_once() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let _worker = spawn_worker(&nats.settings(), echo()).await;
    let missed = fake.post_offline(ticket, USER_ID, "missed");

    let bot = start(&fake, nats, &[]).await;
    // Discord may deliver it live as well while the catch-up reads the history.
    let mut spec = fixtures::MessageSpec::human(ticket, USER_ID, "missed");
    spec.id = missed;
    fake.dispatch("MESSAGE_CREATE", fixtures::message_create(&spec));
    let fresh = fake.send_message(ticket, USER_ID, "fresh");
    wait_for_posts(&fake, ticket, 2).await;
    wait_for_catch_up(&bot).await;
    // A last message: once it is answered, everything queued before it is too.
    let last = fake.send_message(ticket, USER_ID, "last");
    let posts = wait_for_posts(&fake, ticket, 3).await;

    let replies_to = |id: u64| posts.iter().filter(|p| reference_id(p) == Some(id)).count();
    assert_eq!(replies_to(missed), 1, "{posts:#?}");
    assert_eq!(replies_to(fresh), 1);
    assert_eq!(replies_to(last), 1);
    assert_eq!(posts.len(), 3);
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_stalled_discord_call_holds_the_channel_only_until_the_http_timeout() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let _worker = spawn_worker(&nats.settings(), echo()).await;
    let bot = start(&fake, nats, &[("DISCORD_HTTP_TIMEOUT_SECS", "1")]).await;

    // Discord never answers the post of the first answer.
    fake.stall_next(Method::POST, &format!("/channels/{ticket}/messages"));
    fake.send_message(ticket, USER_ID, "one");
    let two = fake.send_message(ticket, USER_ID, "two");
    let posts = wait_for_posts(&fake, ticket, 1).await;

    assert_eq!(
        reference_id(&posts[0]),
        Some(two),
        "the next message got its answer"
    );
    assert_eq!(content(&posts[0]), "answer to two");
    assert!(
        bot.logs().contains("cannot post the answer"),
        "the stalled call is logged:\n{}",
        bot.logs()
    );
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn messages_still_queued_at_shutdown_are_counted_then_answered_by_the_next_start() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    // Slow until the restart: the first answer outlasts the shutdown's grace period.
    let slow = Arc::new(AtomicBool::new(true));
    let responder = Scripted {
        answer: |content: &str| format!("answer to {content}"),
        delay: {
            let slow = Arc::clone(&slow);
            move |_: &str| {
                if slow.load(Ordering::SeqCst) {
                    Duration::from_secs(30)
                } else {
                    Duration::ZERO
                }
            }
        },
        seen: Arc::new(Mutex::new(Vec::new())),
    };
    let _worker = spawn_worker(&nats.settings(), responder).await;
    let bot = start(&fake, nats, &[]).await;

    let ids: Vec<u64> = ["a", "b", "c"]
        .iter()
        .map(|text| fake.send_message(ticket, USER_ID, text))
        .collect();
    fake.wait_for("the first answer to start", |calls| {
        calls
            .iter()
            .any(|c| c.path.ends_with(&format!("/channels/{ticket}/typing")))
            .then_some(())
    })
    .await;
    let (outcome, nats, logs) = bot.stop().await;
    outcome.expect("clean shutdown");
    assert!(
        logs.contains("3 ticket messages unanswered at shutdown"),
        "the count is logged:\n{logs}"
    );
    assert!(fake.posted_messages(ticket).is_empty());

    slow.store(false, Ordering::SeqCst);
    let bot = start(&fake, nats, &[]).await;
    let posts = wait_for_posts(&fake, ticket, 3).await;
    let replied: Vec<Option<u64>> = posts.iter().map(reference_id).collect();
    assert_eq!(replied, ids.iter().copied().map(Some).collect::<Vec<_>>());
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_claim_left_by_a_crashed_process_is_taken_over_once_stale_and_answered_once() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let responder = echo();
    let seen = Arc::clone(&responder.seen);
    let _worker = spawn_worker(&nats.settings(), responder).await;

    // Written while no bot ran, and claimed by a process that crashed before it answered.
    let left = fake.post_offline(ticket, USER_ID, "left behind");
    let arrange = async_nats::connect(nats.url()).await.unwrap();
    let crashed = bot::claims::Claims::new(arrange, Duration::from_secs(3600));
    assert!(crashed.claim(serenity::all::MessageId::new(left)).await);
    let claimed_at = tokio::time::Instant::now();

    // The new process starts once the claim is stale for it.
    let mut settings = bot::BotSettings::load(
        &common::config::ConfigSource::from_vars([("DISCORD_TOKEN", TOKEN)]),
        &nats.settings(),
    )
    .unwrap();
    short_budgets(&mut settings);
    tokio::time::sleep_until(claimed_at + settings.claim_stale_after()).await;
    let guild = GUILD_ID.to_string();
    let vars = [("DISCORD_GUILD_ID", guild.as_str())];
    let bot = spawn_bot_with_settings(fake.clone(), nats, &vars, short_budgets).await;

    let posts = wait_for_posts(&fake, ticket, 1).await;
    wait_for_catch_up(&bot).await;
    assert_eq!(reference_id(&posts[0]), Some(left));
    assert_eq!(content(&posts[0]), "answer to left behind");
    assert!(
        bot.logs().contains("took over a claim its process left"),
        "{}",
        bot.logs()
    );
    assert_eq!(crate::helpers::asked(&seen), ["left behind"]);
    assert_eq!(fake.posted_messages(ticket).len(), 1, "answered once");
}

/// Budgets short enough that a claim goes stale within seconds.
fn short_budgets(settings: &mut bot::BotSettings) {
    settings.relay_timeout = Duration::from_secs(1);
    settings.discord_http_timeout = Duration::from_secs(2);
}
