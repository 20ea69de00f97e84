//! The relay of ticket-channel messages: the worker's answer as a reply that mentions nobody,
//! what is not relayed, retries and the friendly failure message, long answers split, order
//! kept per channel, a NATS restart survived, floods bounded, channels independent.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::http::Method;
use bot::{BUSY_MESSAGE, UNAVAILABLE_MESSAGE};
use common::{
    payload::{ErrorBody, ErrorCode, RelayReply, RelayRequest},
    test_util::eventually,
};
use futures::StreamExt;
use relay_worker::Placeholder;
use serde_json::Value;

use crate::{
    content,
    fake_discord::{self, fixtures::MessageSpec, FakeDiscord, BOT_ID, GUILD_ID},
    helpers::{
        self, mentions_nothing, spawn_bot_with_nats, Scripted, OTHER_USER_ID, TOKEN, USER_ID,
    },
    reference_id, set_up, set_up_on, wait_for_posts, SetUp,
};

#[tokio::test]
async fn a_ticket_message_gets_the_worker_reply_as_a_reply_with_no_mentions() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = spawn_bot_with_nats(fake.clone(), nats).await;
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
    // Typing is sent by a task of its own, through the same REST limiter as the answer, so it
    // may reach Discord after a fast answer: wait for it rather than expect it first.
    let typing = format!("/channels/{ticket}/typing");
    fake.wait_for("typing shown", |calls| {
        calls
            .iter()
            .any(|c| c.method == Method::POST && c.path.ends_with(&typing))
            .then_some(())
    })
    .await;
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn other_channels_bots_webhooks_system_messages_and_the_bot_itself_get_nothing() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let general = fake.add_text_channel("general", None);
    let mut bot = spawn_bot_with_nats(fake.clone(), nats).await;
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
    // `-V` makes nats-server log every protocol line it receives: each relay attempt is one
    // `HPUB tickets.relay` line, counted where it reached NATS, and nothing answers it.
    let SetUp { category, nats, .. } = set_up_on(&fake, helpers::nats_with(&["-V"])).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
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
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = spawn_bot_with_nats(fake.clone(), nats).await;
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
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = spawn_bot_with_nats(fake.clone(), nats).await;
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
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = spawn_bot_with_nats(fake.clone(), nats).await;
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
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let bot = spawn_bot_with_nats(fake.clone(), nats).await;
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
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = spawn_bot_with_nats(fake.clone(), nats).await;
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

    assert_eq!(content(&busy[0]), BUSY_MESSAGE);
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
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let slow = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let quick = fake.add_text_channel(&format!("ticket-{OTHER_USER_ID}"), Some(category));
    let mut bot = spawn_bot_with_nats(fake.clone(), nats).await;
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
