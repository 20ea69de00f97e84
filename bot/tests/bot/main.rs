//! End-to-end tests of the bot: serenity's real client against a fake Discord, a real
//! nats-server per test, and a real relay worker.

mod fake_discord;
mod helpers;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use common::payload::{ErrorBody, ErrorCode, RelayReply, RelayRequest};
use futures::StreamExt;

use axum::http::Method;
use bot::{create_ticket, setup, UNAVAILABLE_MESSAGE};
use common::test_util::{eventually, NatsServer};
use fake_discord::{fixtures::MessageSpec, FakeDiscord, Recorded, ADMIN_ID, BOT_ID, GUILD_ID};
use helpers::{
    mentions_nothing, overwrites, spawn_bot, spawn_bot_with_nats, spawn_bot_with_vars, Scripted,
    OTHER_USER_ID, TOKEN, USER_ID,
};
use relay_worker::Placeholder;
use serde_json::Value;

const VIEW: u64 = 1 << 10;
const SEND: u64 = 1 << 11;
const EMBED: u64 = 1 << 14;
const ATTACH: u64 = 1 << 15;
const HISTORY: u64 = 1 << 16;
const MANAGE_CHANNELS: u64 = 1 << 4;
const MEMBER: u64 = VIEW | SEND | HISTORY | ATTACH | EMBED;
const ROLE: u64 = 0;
const USER: u64 = 1;

/// A guild where /setup has run: (category, support role).
fn set_up(fake: &FakeDiscord) -> (u64, u64) {
    (fake.add_category("Tickets"), fake.add_role("Support"))
}

fn channel_creates(fake: &FakeDiscord) -> Vec<Recorded> {
    fake.calls(Method::POST, &format!("/guilds/{GUILD_ID}/channels"))
}

fn role_creates(fake: &FakeDiscord) -> Vec<Recorded> {
    fake.calls(Method::POST, &format!("/guilds/{GUILD_ID}/roles"))
}

fn reference_id(call: &Recorded) -> Option<u64> {
    call.body["message_reference"]["message_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .or_else(|| call.body["message_reference"]["message_id"].as_u64())
}

/// Waits until `count` messages were posted in `channel`.
async fn wait_for_posts(fake: &FakeDiscord, channel: u64, count: usize) -> Vec<Recorded> {
    let suffix = format!("/channels/{channel}/messages");
    fake.wait_for(&format!("{count} messages in channel {channel}"), |calls| {
        let posts: Vec<_> = calls
            .iter()
            .filter(|c| c.method == Method::POST && c.path.ends_with(&suffix))
            .cloned()
            .collect();
        (posts.len() >= count).then_some(posts)
    })
    .await
}

fn content(call: &Recorded) -> &str {
    call.body["content"].as_str().unwrap_or_default()
}

// ---------------------------------------------------------------- /setup

#[tokio::test]
async fn setup_by_an_admin_creates_exactly_the_hidden_category_and_the_support_role() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = spawn_bot(fake.clone()).await;

    let interaction = fake.run_command(setup::NAME, ADMIN_ID, true);
    let answer = fake.wait_for_answer(interaction).await;

    assert!(answer.contains("created the Tickets category"), "{answer}");
    let roles = role_creates(&fake);
    assert_eq!(roles.len(), 1, "one role created");
    assert_eq!(roles[0].body["name"], "Support");
    let support: u64 = fake
        .roles()
        .iter()
        .find(|r| r["name"] == "Support")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let channels = channel_creates(&fake);
    assert_eq!(channels.len(), 1, "one channel created");
    assert_eq!(channels[0].body["name"], "Tickets");
    assert_eq!(channels[0].body["type"], 4, "a category");
    assert_eq!(
        overwrites(&channels[0].body),
        {
            let mut expected = vec![
                (GUILD_ID, ROLE, 0, VIEW),
                (support, ROLE, VIEW, 0),
                (BOT_ID, USER, VIEW | MANAGE_CHANNELS, 0),
            ];
            expected.sort_unstable();
            expected
        },
        "hidden from @everyone, visible to Support and the bot"
    );
    // Deferred (type 5), ephemeral (flag 64), then answered with no mentions allowed.
    let callbacks = fake.callbacks(interaction);
    assert_eq!(callbacks[0].body["type"], 5);
    assert_eq!(callbacks[0].body["data"]["flags"], 64);
    let edit = fake.calls(Method::PATCH, "/messages/@original");
    assert!(mentions_nothing(&edit[0].body), "{}", edit[0].body);
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn setup_by_a_non_admin_is_refused_and_creates_nothing() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = spawn_bot(fake.clone()).await;

    let interaction = fake.run_command(setup::NAME, USER_ID, false);
    let answer = fake.wait_for_answer(interaction).await;

    assert_eq!(answer, setup::NOT_ADMIN);
    let callback = &fake.callbacks(interaction)[0];
    assert_eq!(callback.body["type"], 4, "answered at once");
    assert_eq!(callback.body["data"]["flags"], 64, "ephemeral");
    assert!(mentions_nothing(&callback.body["data"]));
    assert!(channel_creates(&fake).is_empty());
    assert!(role_creates(&fake).is_empty());
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn setup_twice_creates_nothing_new() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = spawn_bot(fake.clone()).await;

    let first = fake.run_command(setup::NAME, ADMIN_ID, true);
    fake.wait_for_answer(first).await;
    let second = fake.run_command(setup::NAME, ADMIN_ID, true);
    let answer = fake.wait_for_answer(second).await;

    assert!(answer.contains("already set up"), "{answer}");
    assert_eq!(channel_creates(&fake).len(), 1);
    assert_eq!(role_creates(&fake).len(), 1);
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn setup_refused_by_discord_explains_and_removes_the_role_it_made() {
    let fake = FakeDiscord::start(TOKEN).await;
    fake.revoke_manage_channels();
    let bot = spawn_bot(fake.clone()).await;

    let interaction = fake.run_command(setup::NAME, ADMIN_ID, true);
    let answer = fake.wait_for_answer(interaction).await;

    assert!(answer.contains("Manage Channels"), "{answer}");
    assert_eq!(role_creates(&fake).len(), 1, "the role was made first");
    assert!(
        fake.roles().is_empty(),
        "and removed again: {:?}",
        fake.roles()
    );
    assert!(fake.channels().is_empty());
    assert!(bot.logs().contains("[BOT] ERROR - Discord refused"));
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn setup_without_manage_roles_explains_what_to_fix_and_creates_nothing() {
    let fake = FakeDiscord::start(TOKEN).await;
    fake.revoke_manage_roles();
    let bot = spawn_bot(fake.clone()).await;

    let interaction = fake.run_command(setup::NAME, ADMIN_ID, true);
    let answer = fake.wait_for_answer(interaction).await;

    assert!(answer.contains("**Manage Roles**"), "{answer}");
    assert_eq!(role_creates(&fake)[0].status, 403);
    assert!(
        channel_creates(&fake).is_empty(),
        "no category without its role"
    );
    assert!(fake.roles().is_empty());
    assert!(bot.logs().contains("[BOT] ERROR - Discord refused"));
    bot.shutdown().await.expect("clean shutdown");
}

// ---------------------------------------------------------------- /create-ticket

#[tokio::test]
async fn create_ticket_makes_a_private_channel_with_exactly_the_specified_overwrites() {
    let fake = FakeDiscord::start(TOKEN).await;
    let (category, support) = set_up(&fake);
    let bot = spawn_bot(fake.clone()).await;

    let interaction = fake.run_command(create_ticket::NAME, USER_ID, false);
    let answer = fake.wait_for_answer(interaction).await;

    let creates = channel_creates(&fake);
    assert_eq!(creates.len(), 1);
    let body = &creates[0].body;
    assert_eq!(body["name"], format!("ticket-{USER_ID}"));
    assert_eq!(body["type"], 0, "a text channel");
    assert_eq!(
        body["parent_id"],
        category.to_string(),
        "in the Tickets category"
    );
    let mut expected = vec![
        (GUILD_ID, ROLE, 0, VIEW),
        (USER_ID, USER, MEMBER, 0),
        (support, ROLE, MEMBER, 0),
        (BOT_ID, USER, MEMBER | MANAGE_CHANNELS, 0),
    ];
    expected.sort_unstable();
    assert_eq!(overwrites(body), expected);

    let channel = fake
        .channels()
        .iter()
        .find(|c| c["name"] == format!("ticket-{USER_ID}"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    assert_eq!(answer, format!("Your ticket is ready: <#{channel}>"));
    // Acknowledged before the slow work (Discord's 3-second deadline), ephemerally.
    let requests = fake.requests();
    let deferred = requests
        .iter()
        .position(|c| c.path.contains(&format!("/interactions/{interaction}/")))
        .unwrap();
    let created = requests
        .iter()
        .position(|c| c.method == Method::POST && c.path.ends_with("/channels"))
        .unwrap();
    assert!(deferred < created);
    assert_eq!(requests[deferred].body["type"], 5);
    assert_eq!(requests[deferred].body["data"]["flags"], 64);
    let welcome = wait_for_posts(&fake, channel, 1).await;
    assert!(content(&welcome[0]).starts_with("Welcome"));
    assert!(mentions_nothing(&welcome[0].body), "{}", welcome[0].body);
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn create_ticket_again_links_the_existing_channel_instead_of_making_another() {
    let fake = FakeDiscord::start(TOKEN).await;
    set_up(&fake);
    let bot = spawn_bot(fake.clone()).await;

    let first = fake.run_command(create_ticket::NAME, USER_ID, false);
    let created = fake.wait_for_answer(first).await;
    let second = fake.run_command(create_ticket::NAME, USER_ID, false);
    let again = fake.wait_for_answer(second).await;

    assert_eq!(channel_creates(&fake).len(), 1);
    let link = created.trim_start_matches("Your ticket is ready: ");
    assert_eq!(again, format!("You already have a ticket: {link}"));
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn two_simultaneous_create_ticket_of_one_user_leave_exactly_one_channel() {
    let fake = FakeDiscord::start(TOKEN).await;
    set_up(&fake);
    let bot = spawn_bot(fake.clone()).await;

    // Back to back on the gateway: serenity handles each in its own task, concurrently.
    let first = fake.run_command(create_ticket::NAME, USER_ID, false);
    let second = fake.run_command(create_ticket::NAME, USER_ID, false);
    let mut answers = vec![
        fake.wait_for_answer(first).await,
        fake.wait_for_answer(second).await,
    ];
    answers.sort();

    assert_eq!(
        channel_creates(&fake).len(),
        1,
        "{}",
        fake_discord::describe(&fake.requests())
    );
    let tickets = fake
        .channels()
        .iter()
        .filter(|c| c["name"] == format!("ticket-{USER_ID}"))
        .count();
    assert_eq!(tickets, 1);
    assert!(
        answers[0].starts_with("You already have a ticket"),
        "{answers:?}"
    );
    assert!(
        answers[1].starts_with("Your ticket is ready"),
        "{answers:?}"
    );
    // Another user is not held up by that lock and gets their own channel.
    let other = fake.run_command(create_ticket::NAME, OTHER_USER_ID, false);
    assert!(fake
        .wait_for_answer(other)
        .await
        .starts_with("Your ticket is ready"));
    assert_eq!(channel_creates(&fake).len(), 2);
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn create_ticket_before_setup_says_to_run_setup() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = spawn_bot(fake.clone()).await;

    let interaction = fake.run_command(create_ticket::NAME, USER_ID, false);

    assert_eq!(
        fake.wait_for_answer(interaction).await,
        create_ticket::NOT_SET_UP
    );
    assert!(channel_creates(&fake).is_empty());
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn create_ticket_without_manage_channels_explains_what_to_fix_and_leaves_nothing() {
    let fake = FakeDiscord::start(TOKEN).await;
    set_up(&fake);
    fake.revoke_manage_channels();
    let before = fake.channels().len();
    let bot = spawn_bot(fake.clone()).await;

    let interaction = fake.run_command(create_ticket::NAME, USER_ID, false);
    let answer = fake.wait_for_answer(interaction).await;

    assert!(answer.contains("**Manage Channels**"), "{answer}");
    assert_eq!(channel_creates(&fake)[0].status, 403);
    assert_eq!(fake.channels().len(), before, "nothing half-made");
    assert!(bot.logs().contains("[BOT] ERROR - Discord refused"));
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn create_ticket_in_a_full_category_explains_the_50_channel_limit() {
    let fake = FakeDiscord::start(TOKEN).await;
    let (category, _) = set_up(&fake);
    for n in 0..fake_discord::CATEGORY_LIMIT {
        fake.add_text_channel(&format!("old-{n}"), Some(category));
    }
    let before = fake.channels().len();
    let bot = spawn_bot(fake.clone()).await;

    let interaction = fake.run_command(create_ticket::NAME, USER_ID, false);
    let answer = fake.wait_for_answer(interaction).await;

    assert!(answer.contains("Tickets category is full"), "{answer}");
    assert_eq!(channel_creates(&fake)[0].status, 400);
    assert_eq!(fake.channels().len(), before);
    assert!(bot.logs().contains("[BOT] WARN - Discord refused"));
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn create_ticket_in_a_full_guild_explains_the_500_channel_limit() {
    let fake = FakeDiscord::start(TOKEN).await;
    set_up(&fake);
    while fake.channels().len() < fake_discord::GUILD_CHANNEL_LIMIT {
        let n = fake.channels().len();
        fake.add_text_channel(&format!("chat-{n}"), None);
    }
    let bot = spawn_bot(fake.clone()).await;

    let interaction = fake.run_command(create_ticket::NAME, USER_ID, false);
    let answer = fake.wait_for_answer(interaction).await;

    assert!(answer.contains("limit of 500 channels"), "{answer}");
    assert_eq!(fake.channels().len(), fake_discord::GUILD_CHANNEL_LIMIT);
    bot.shutdown().await.expect("clean shutdown");
}

// ---------------------------------------------------------------- relay

#[tokio::test]
async fn a_ticket_message_gets_the_worker_reply_as_a_reply_with_no_mentions() {
    let fake = FakeDiscord::start(TOKEN).await;
    let (category, _) = set_up(&fake);
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = spawn_bot(fake.clone()).await;
    bot.start_worker(Placeholder).await;

    let message = fake.send_message(ticket, USER_ID, "my printer is on fire @everyone");
    let posts = wait_for_posts(&fake, ticket, 1).await;

    assert_eq!(content(&posts[0]), Placeholder::REPLY);
    assert_eq!(
        reference_id(&posts[0]),
        Some(message),
        "a reply to the user's message"
    );
    assert!(mentions_nothing(&posts[0].body), "{}", posts[0].body);
    assert!(
        !fake
            .calls(Method::POST, &format!("/channels/{ticket}/typing"))
            .is_empty(),
        "typing shown"
    );
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn other_channels_bots_webhooks_system_messages_and_the_bot_itself_get_nothing() {
    let fake = FakeDiscord::start(TOKEN).await;
    let (category, _) = set_up(&fake);
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let general = fake.add_text_channel("general", None);
    let mut bot = spawn_bot(fake.clone()).await;
    bot.start_worker(Placeholder).await;

    fake.send_message(general, USER_ID, "hello in general");
    fake.send(MessageSpec {
        bot: true,
        ..MessageSpec::human(ticket, OTHER_USER_ID, "a bot speaks")
    });
    fake.send(MessageSpec::human(ticket, BOT_ID, "the bot's own message"));
    fake.send(MessageSpec {
        webhook: true,
        ..MessageSpec::human(ticket, OTHER_USER_ID, "a webhook speaks")
    });
    fake.send(MessageSpec {
        kind: 7,
        ..MessageSpec::human(ticket, USER_ID, "joined")
    });
    fake.send_message(ticket, USER_ID, "   ");
    // Messages of one channel are handled in order: once this one is answered, the ones
    // before it in the ticket channel were dropped, not queued.
    let marker = fake.send_message(ticket, USER_ID, "the only real question");
    let posts = wait_for_posts(&fake, ticket, 1).await;

    assert_eq!(posts.len(), 1, "{}", fake_discord::describe(&posts));
    assert_eq!(reference_id(&posts[0]), Some(marker));
    // The general channel's message was dropped when it arrived (its channel is cached).
    assert!(fake.posted_messages(general).is_empty());
    assert!(fake
        .calls(Method::POST, &format!("/channels/{general}/typing"))
        .is_empty());
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn with_no_worker_the_bot_tries_exactly_three_times_then_posts_the_friendly_message() {
    let fake = FakeDiscord::start(TOKEN).await;
    let (category, _) = set_up(&fake);
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    // `-V` makes nats-server log every protocol line it receives: each relay attempt is one
    // `HPUB tickets.relay` line, counted where it reached NATS, and nothing answers it.
    let nats = NatsServer::builder().arg("-V").start();
    let bot = spawn_bot_with_nats(fake.clone(), nats).await;

    let message = fake.send_message(ticket, USER_ID, "is anyone there?");
    let posts = wait_for_posts(&fake, ticket, 1).await;

    assert_eq!(content(&posts[0]), UNAVAILABLE_MESSAGE);
    assert_eq!(reference_id(&posts[0]), Some(message));
    // A publish made after the friendly message marks the end of the bot's attempts in the
    // server's log, which a reader thread copies with some lag.
    let marker = common::nats::connect(&bot.nats.settings(), "marker")
        .await
        .unwrap();
    helpers::wait_connected(&marker).await;
    marker.publish("attempts.counted", "".into()).await.unwrap();
    marker.flush().await.unwrap();
    let log = eventually(
        "the marker in the server log",
        Duration::from_secs(10),
        || async {
            let log = bot.nats.logs();
            log.contains("PUB attempts.counted").then_some(log)
        },
    )
    .await;
    let before_marker = log.split("PUB attempts.counted").next().unwrap();
    let attempts = before_marker
        .lines()
        .filter(|l| l.contains("PUB tickets.relay "))
        .count();
    assert_eq!(attempts, 3, "1 attempt + 2 retries");
    let logs = bot.logs();
    assert!(
        logs.lines()
            .any(|l| l.starts_with("[BOT] ERROR - relay failed")
                && l.contains(&format!("message_id={message}"))),
        "an ERROR line for the message"
    );
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_5000_character_answer_arrives_as_messages_of_at_most_2000_characters_in_order() {
    let fake = FakeDiscord::start(TOKEN).await;
    let (category, _) = set_up(&fake);
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = spawn_bot(fake.clone()).await;
    let answer: String = (0..1000)
        .map(|i| {
            if i % 40 == 39 {
                format!("w{i:03}\n")
            } else {
                format!("w{i:03} ")
            }
        })
        .collect();
    assert_eq!(answer.chars().count(), 5000);
    let expected = answer.clone();
    bot.start_worker(Scripted {
        answer: move |_: &str| expected.clone(),
        delay: |_: &str| Duration::ZERO,
        seen: Arc::default(),
    })
    .await;

    let message = fake.send_message(ticket, USER_ID, "tell me everything");
    let posts = wait_for_posts(&fake, ticket, 3).await;

    for post in &posts {
        assert!(content(post).chars().count() <= 2000);
        assert_eq!(post.status, 200);
        assert!(mentions_nothing(&post.body));
    }
    let words: Vec<&str> = posts
        .iter()
        .flat_map(|p| content(p).split_whitespace())
        .collect();
    assert_eq!(
        words,
        answer.split_whitespace().collect::<Vec<_>>(),
        "every word, in order"
    );
    assert_eq!(reference_id(&posts[0]), Some(message));
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
    assert_eq!(fake.posted_messages(ticket).len(), 3);
}

// Multi-threaded like production: serenity runs each event handler in its own task, and on a
// multi-threaded runtime those tasks really do start out of order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_quick_messages_are_answered_in_order_even_when_the_first_is_slowest() {
    let fake = FakeDiscord::start(TOKEN).await;
    let (category, _) = set_up(&fake);
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = spawn_bot(fake.clone()).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    bot.start_worker(Scripted {
        answer: |content: &str| format!("answer to {content}"),
        delay: |content: &str| match content {
            "one" => Duration::from_millis(600),
            "two" => Duration::from_millis(200),
            _ => Duration::ZERO,
        },
        seen: Arc::clone(&seen),
    })
    .await;

    let ids: Vec<u64> = ["one", "two", "three"]
        .iter()
        .map(|text| fake.send_message(ticket, USER_ID, text))
        .collect();
    let posts = wait_for_posts(&fake, ticket, 3).await;

    let answers: Vec<&str> = posts.iter().map(content).collect();
    assert_eq!(
        answers,
        ["answer to one", "answer to two", "answer to three"]
    );
    let replied: Vec<Option<u64>> = posts.iter().map(reference_id).collect();
    assert_eq!(replied, ids.iter().copied().map(Some).collect::<Vec<_>>());
    // The worker saw complete requests, message IDs included.
    let requests: Vec<Value> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| serde_json::from_slice(&s.request.to_json()).unwrap())
        .collect();
    assert_eq!(requests[0]["message_id"], ids[0].to_string());
    assert_eq!(requests[0]["channel_id"], ticket.to_string());
    assert_eq!(requests[0]["user_id"], USER_ID.to_string());
    assert_eq!(requests[0]["guild_id"], GUILD_ID.to_string());
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn after_nats_server_restarts_the_next_message_is_answered() {
    let fake = FakeDiscord::start(TOKEN).await;
    let (category, _) = set_up(&fake);
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = spawn_bot(fake.clone()).await;
    bot.start_worker(Placeholder).await;
    fake.send_message(ticket, USER_ID, "before the restart");
    wait_for_posts(&fake, ticket, 1).await;

    bot.nats.restart();
    // Both the bot's and the worker's connections find the server again on their own.
    helpers::wait_connected(&bot.bot_nats).await;
    bot.wait_for_worker().await;
    let message = fake.send_message(ticket, USER_ID, "after the restart");
    let posts = wait_for_posts(&fake, ticket, 2).await;

    assert_eq!(content(&posts[1]), Placeholder::REPLY);
    assert_eq!(reference_id(&posts[1]), Some(message));
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_request_the_worker_rejects_as_bad_is_not_retried() {
    let fake = FakeDiscord::start(TOKEN).await;
    let (category, _) = set_up(&fake);
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let bot = spawn_bot(fake.clone()).await;
    // A stand-in worker that calls every request bad (400), the way the relay worker answers
    // an invalid payload, and counts what it gets.
    let rejecter = common::nats::connect(&bot.nats.settings(), "rejecter")
        .await
        .unwrap();
    helpers::wait_connected(&rejecter).await;
    let mut requests = rejecter
        .queue_subscribe(helpers::SUBJECT, "q".to_owned())
        .await
        .unwrap();
    rejecter.flush().await.unwrap();
    let received = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&received);
    let responder = tokio::spawn(async move {
        while let Some(request) = requests.next().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(common::subjects::headers::SERVICE_ERROR, "content: too odd");
            headers.insert(common::subjects::headers::SERVICE_ERROR_CODE, "400");
            let body = ErrorBody::new(ErrorCode::InvalidPayload, "content: too odd").to_json();
            let reply = request.reply.expect("a request");
            rejecter
                .publish_with_headers(reply, headers, body.into())
                .await
                .unwrap();
        }
    });

    let message = fake.send_message(ticket, USER_ID, "something the worker dislikes");
    let posts = wait_for_posts(&fake, ticket, 1).await;

    assert_eq!(content(&posts[0]), UNAVAILABLE_MESSAGE);
    assert_eq!(reference_id(&posts[0]), Some(message));
    assert_eq!(received.load(Ordering::SeqCst), 1, "no retry after a 400");
    assert!(bot.logs().contains("[BOT] ERROR - relay failed"));
    responder.abort();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_flood_in_one_channel_is_bounded_and_the_overflow_is_told_to_resend() {
    let fake = FakeDiscord::start(TOKEN).await;
    let (category, _) = set_up(&fake);
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = spawn_bot(fake.clone()).await;
    // The first message is held until the test lets it go, so the queue fills up.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let held = Arc::clone(&gate);
    bot.start_worker(Gated { gate: held }).await;

    let first = fake.send_message(ticket, USER_ID, "first");
    fake.wait_for("typing for the first message", |calls| {
        calls
            .iter()
            .any(|c| c.path.ends_with(&format!("/channels/{ticket}/typing")))
            .then_some(())
    })
    .await;
    let capacity = bot::RelaySettings::new(Duration::from_secs(10)).queue_capacity;
    let queued: Vec<u64> = (0..capacity)
        .map(|n| fake.send_message(ticket, USER_ID, &format!("queued {n}")))
        .collect();
    let overflow = fake.send_message(ticket, USER_ID, "one too many");
    let busy = wait_for_posts(&fake, ticket, 1).await;
    gate.add_permits(1);
    let posts = wait_for_posts(&fake, ticket, capacity + 2).await;

    assert_eq!(content(&busy[0]), bot::BUSY_MESSAGE);
    assert_eq!(reference_id(&busy[0]), Some(overflow));
    let answered: Vec<Option<u64>> = posts[1..].iter().map(reference_id).collect();
    let expected: Vec<Option<u64>> = std::iter::once(first).chain(queued).map(Some).collect();
    assert_eq!(
        answered, expected,
        "everything queued is answered, in order"
    );
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_slow_ticket_does_not_hold_up_another_ticket_channel() {
    let fake = FakeDiscord::start(TOKEN).await;
    let (category, _) = set_up(&fake);
    let slow = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let quick = fake.add_text_channel(&format!("ticket-{OTHER_USER_ID}"), Some(category));
    let mut bot = spawn_bot(fake.clone()).await;
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    bot.start_worker(Gated {
        gate: Arc::clone(&gate),
    })
    .await;

    fake.send_message(slow, USER_ID, "first");
    fake.wait_for("typing in the slow channel", |calls| {
        calls
            .iter()
            .any(|c| c.path.ends_with(&format!("/channels/{slow}/typing")))
            .then_some(())
    })
    .await;
    let message = fake.send_message(quick, OTHER_USER_ID, "hello");
    // Answered while the first channel's request is still held by the worker.
    let posts = wait_for_posts(&fake, quick, 1).await;
    assert_eq!(reference_id(&posts[0]), Some(message));
    assert!(fake.posted_messages(slow).is_empty());
    gate.add_permits(1);
    wait_for_posts(&fake, slow, 1).await;
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

/// Answers "first" only once the test adds a permit to `gate`; everything else at once.
struct Gated {
    gate: Arc<tokio::sync::Semaphore>,
}

impl relay_worker::Responder for Gated {
    async fn respond(
        &self,
        request: RelayRequest,
    ) -> Result<RelayReply, relay_worker::ResponderError> {
        if request.content.as_str() == "first" {
            let _permit = self
                .gate
                .acquire()
                .await
                .map_err(relay_worker::ResponderError::new)?;
        }
        Ok(RelayReply::new(format!(
            "answer to {}",
            request.content.as_str()
        )))
    }
}

// ---------------------------------------------------------------- lifecycle

#[tokio::test]
async fn without_a_guild_id_the_commands_are_registered_globally() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = spawn_bot_with_vars(fake.clone(), NatsServer::start(), &[]).await;

    let global = fake.calls(
        Method::PUT,
        &format!("/applications/{}/commands", fake_discord::APP_ID),
    );
    assert_eq!(global.len(), 1);
    let names: Vec<&str> = global[0]
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["setup", "create-ticket"]);
    let setup = &global[0].body[0];
    assert_eq!(
        helpers::permission_bits(&setup["default_member_permissions"]),
        8,
        "Administrator"
    );
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn shutdown_closes_the_gateway_session_and_run_returns_ok() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = spawn_bot(fake.clone()).await;
    assert_eq!(fake.identifies(), 1);
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("run returns Ok after shutdown");
}

#[tokio::test]
async fn a_wrong_token_stops_the_bot_at_start_with_an_error_naming_what_to_check() {
    let fake = FakeDiscord::start(TOKEN).await;
    let nats = NatsServer::start();
    let proxy = fake.url();
    let nats_url = nats.url();
    let source = common::config::ConfigSource::from_vars([
        ("DISCORD_TOKEN", "not-the-token"),
        ("DISCORD_PROXY_URL", proxy.as_str()),
        ("NATS_URL", nats_url.as_str()),
    ]);
    let settings = bot::BotSettings::load(&source, &source.nats().unwrap()).unwrap();
    let client = common::nats::connect(&nats.settings(), "bot")
        .await
        .unwrap();

    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        bot::run(settings, client, std::future::pending()),
    )
    .await
    .expect("run returns instead of retrying forever");

    let err = outcome
        .expect_err("a refused token is an error")
        .to_string();
    assert!(err.contains("DISCORD_TOKEN"), "{err}");
    assert!(!err.contains("not-the-token"), "{err}");
    assert_eq!(
        fake.requests().len(),
        1,
        "only the gateway discovery was tried"
    );
    assert_eq!(fake.requests()[0].status, 401);
    assert_eq!(fake.identifies(), 0);
}

/// The `bot` binary, run from an empty directory so that no `.env` or `config.toml` applies.
fn bot_binary(vars: &[(&str, &str)]) -> tokio::process::Command {
    let dir = std::env::temp_dir().join(format!("bot-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_bot"));
    command
        .current_dir(dir)
        .env_clear()
        .envs(vars.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn the_binary_without_discord_token_exits_with_an_error_naming_it() {
    let output = tokio::time::timeout(Duration::from_secs(20), bot_binary(&[]).output())
        .await
        .expect("exits at once")
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DISCORD_TOKEN"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn the_binary_stops_cleanly_on_sigterm() {
    let fake = FakeDiscord::start(TOKEN).await;
    let nats = NatsServer::start();
    let proxy = fake.url();
    let nats_url = nats.url();
    let child = bot_binary(&[
        ("DISCORD_TOKEN", TOKEN),
        ("DISCORD_PROXY_URL", proxy.as_str()),
        ("NATS_URL", nats_url.as_str()),
        ("LOG_LEVEL", "info"),
    ])
    .spawn()
    .unwrap();
    fake.wait_until_ready().await;

    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the bot exits after SIGTERM")
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("[BOT] INFO - shutting down"), "{stdout}");
    assert!(stdout.contains("[BOT] INFO - bot stopped"), "{stdout}");
    assert!(!stdout.contains(TOKEN), "the token reached a log line");
}

#[tokio::test]
async fn the_fake_discord_refuses_a_wrong_token() {
    let fake = FakeDiscord::start(TOKEN).await;
    let http = serenity::http::HttpBuilder::new("not-the-token")
        .proxy(fake.url())
        .ratelimiter_disabled(true)
        .build();

    let err = http.get_gateway().await.expect_err("401");

    let serenity::Error::Http(http_error) = &err else {
        panic!("not an HTTP error: {err}")
    };
    assert_eq!(
        http_error.status_code().map(|s| s.as_u16()),
        Some(401),
        "{err}"
    );
    assert_eq!(fake.requests()[0].status, 401);
}

// ---------------------------------------------------------------- figure

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
    let fake = FakeDiscord::start(TOKEN).await;
    let (category, _) = set_up(&fake);
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = spawn_bot(fake.clone()).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    bot.start_worker(Scripted {
        answer: |content: &str| format!("answer to {content}"),
        delay: |_: &str| Duration::ZERO,
        seen: Arc::clone(&seen),
    })
    .await;

    let mut inbound = Vec::new();
    let mut outbound = Vec::new();
    for n in 0..MESSAGES {
        let id = fake.send_message(ticket, USER_ID, &format!("message {n}"));
        let post = wait_for_posts(&fake, ticket, n + 1).await.pop().unwrap();
        assert_eq!(reference_id(&post), Some(id));
        let sent = fake
            .dispatched()
            .into_iter()
            .find(|d| d.name == "MESSAGE_CREATE" && d.id == id.to_string())
            .unwrap()
            .at;
        let handled = seen
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.request.message_id.as_ref().map(|m| m.to_string()) == Some(id.to_string()))
            .cloned()
            .unwrap();
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
