//! The ticket's conversation (the bot's side): each relay request carries the
//! ticket's earlier messages with their roles, fetched over REST once when the cache is cold;
//! staff messages hand the ticket over (the assistant stays quiet for a while and says so
//! once); a user over their rate limit is told once and the excess is not relayed.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::http::Method;
use bot::{HANDOFF_MESSAGE, SLOW_DOWN_MESSAGE};
use common::{
    payload::{HistoryEntry, RelayRequest},
    test_util::eventually,
};

use crate::{
    content,
    fake_discord::{self, fixtures::MessageSpec, FakeDiscord, BOT_ID, SUPPORT_ID},
    helpers::{
        spawn_bot_with_nats, spawn_bot_with_settings, Seen, TestBot, OTHER_USER_ID, TOKEN, USER_ID,
    },
    reference_id, set_up, wait_for_posts, SetUp,
};

type Requests = Arc<Mutex<Vec<Seen>>>;

/// Starts a worker answering "answer to <text>" at once, and returns what it receives.
async fn start_echo_worker(bot: &mut TestBot) -> Requests {
    let responder = crate::helpers::echo();
    let seen = Arc::clone(&responder.seen);
    bot.start_worker(responder).await;
    seen
}

fn requests(seen: &Requests) -> Vec<RelayRequest> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|s| s.request.clone())
        .collect()
}

/// `(role, author, content)` of each entry, for readable assertions.
fn described(history: &[HistoryEntry]) -> Vec<(&'static str, u64, String)> {
    history
        .iter()
        .map(|e| {
            (
                e.role.as_str(),
                e.author_id.to_u64().unwrap(),
                e.content.as_str().to_owned(),
            )
        })
        .collect()
}

fn entry(role: &'static str, author: u64, text: &str) -> (&'static str, u64, String) {
    (role, author, text.to_owned())
}

fn history_fetches(fake: &FakeDiscord, channel: u64) -> usize {
    fake.calls(Method::GET, &format!("/channels/{channel}/messages"))
        .len()
}

#[tokio::test]
async fn the_third_message_carries_the_first_two_and_the_answers_as_history() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = spawn_bot_with_nats(fake.clone(), nats).await;
    let seen = start_echo_worker(&mut bot).await;

    for (n, text) in ["my order is late", "it is order 42", "any news?"]
        .into_iter()
        .enumerate()
    {
        fake.send_message(ticket, USER_ID, text);
        wait_for_posts(&fake, ticket, n + 1).await;
    }

    let requests = requests(&seen);
    assert_eq!(requests.len(), 3);
    assert!(requests[0].history.is_empty(), "nothing before the first");
    assert_eq!(
        described(&requests[2].history),
        [
            entry("user", USER_ID, "my order is late"),
            entry("assistant", BOT_ID, "answer to my order is late"),
            entry("user", USER_ID, "it is order 42"),
            entry("assistant", BOT_ID, "answer to it is order 42"),
        ]
    );
    // The sandbox's channel IDs predate the bot's start, so the cache may be cold: the first
    // message fetches once (empty), the later ones use the cache.
    assert_eq!(history_fetches(&fake, ticket), 1);
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn after_staff_write_the_assistant_is_quiet_for_the_quiet_period_and_says_so_once() {
    // Long enough for the bot to handle one message inside it, short enough to wait out.
    const QUIET: Duration = Duration::from_secs(4);
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = spawn_bot_with_settings(fake.clone(), nats, &[], |s| {
        s.handoff_quiet = QUIET;
    })
    .await;
    let seen = start_echo_worker(&mut bot).await;
    fake.send_message(ticket, USER_ID, "hello?");
    wait_for_posts(&fake, ticket, 1).await;

    fake.send_message(ticket, SUPPORT_ID, "Sam from support here");
    let posts = wait_for_posts(&fake, ticket, 2).await;
    assert_eq!(content(&posts[1]), HANDOFF_MESSAGE);
    fake.send_message(ticket, SUPPORT_ID, "checking your order now");
    fake.send_message(ticket, USER_ID, "thanks, waiting");
    eventually(
        "the quiet message handled",
        Duration::from_secs(15),
        || async { bot.logs().contains("message not relayed").then_some(()) },
    )
    .await;
    // The bot handles a channel's messages in order, so staff last wrote before now.
    let quiet_ends = Instant::now() + QUIET;
    assert_eq!(
        requests(&seen).len(),
        1,
        "staff and quiet messages not relayed"
    );

    // Wait out the quiet period: then the assistant answers again.
    tokio::time::sleep_until(quiet_ends.into()).await;
    let question = fake.send_message(ticket, USER_ID, "so, where is it?");
    let posts = wait_for_posts(&fake, ticket, 3).await;

    assert_eq!(reference_id(&posts[2]), Some(question));
    assert_eq!(content(&posts[2]), "answer to so, where is it?");
    let notices = posts
        .iter()
        .filter(|p| content(p) == HANDOFF_MESSAGE)
        .count();
    assert_eq!(notices, 1, "{}", fake_discord::describe(&posts));
    let requests = requests(&seen);
    assert_eq!(requests.len(), 2);
    assert_eq!(
        described(&requests[1].history),
        [
            entry("user", USER_ID, "hello?"),
            entry("assistant", BOT_ID, "answer to hello?"),
            entry("staff", SUPPORT_ID, "Sam from support here"),
            entry("staff", SUPPORT_ID, "checking your order now"),
            entry("user", USER_ID, "thanks, waiting"),
        ],
        "staff messages as staff, the notice left out, the unanswered message kept"
    );
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn beyond_the_user_rate_limit_messages_are_dropped_with_one_notice() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    let mut bot = spawn_bot_with_settings(
        fake.clone(),
        nats,
        &[("USER_RATE_LIMIT_PER_MINUTE", "2")],
        |_| {},
    )
    .await;
    let seen = start_echo_worker(&mut bot).await;

    let sent: Vec<u64> = (1..=5)
        .map(|n| fake.send_message(ticket, USER_ID, &format!("question {n}")))
        .collect();
    // Another user's message, handled after those five (one channel keeps its order).
    let other = fake.send_message(ticket, OTHER_USER_ID, "me too");
    let posts = wait_for_posts(&fake, ticket, 4).await;

    let answered: Vec<String> = requests(&seen)
        .iter()
        .map(|r| r.content.as_str().to_owned())
        .collect();
    assert_eq!(answered, ["question 1", "question 2", "me too"]);
    let notices: Vec<_> = posts
        .iter()
        .filter(|p| content(p) == SLOW_DOWN_MESSAGE)
        .collect();
    assert_eq!(notices.len(), 1, "{}", fake_discord::describe(&posts));
    assert_eq!(
        reference_id(notices[0]),
        Some(sent[2]),
        "a reply to the first one dropped"
    );
    assert_eq!(reference_id(posts.last().unwrap()), Some(other));
    assert_eq!(posts.len(), 4, "{}", fake_discord::describe(&posts));
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn with_a_cold_cache_the_history_is_fetched_over_rest_once() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { category, nats, .. } = set_up(&fake).await;
    let ticket = fake.add_text_channel(&format!("ticket-{USER_ID}"), Some(category));
    // Written while the bot was away: stored by Discord, never seen on the gateway.
    for spec in [
        MessageSpec::human(ticket, USER_ID, "earlier question"),
        MessageSpec {
            bot: true,
            ..MessageSpec::human(ticket, BOT_ID, "earlier answer")
        },
        MessageSpec::human(ticket, SUPPORT_ID, "staff said this"),
    ] {
        assert!(fake.try_send(spec).is_err(), "the bot is not connected yet");
    }
    // Without the catch-up, which would read the channel at connect (and answer the earlier
    // question): this is about the history's own fetch.
    let guild = crate::fake_discord::GUILD_ID.to_string();
    let mut bot = crate::helpers::spawn_bot_with_vars(
        fake.clone(),
        nats,
        &[
            ("DISCORD_GUILD_ID", guild.as_str()),
            ("CATCHUP_MAX_AGE_MINUTES", "0"),
        ],
    )
    .await;
    let seen = start_echo_worker(&mut bot).await;

    fake.send_message(ticket, USER_ID, "back again");
    wait_for_posts(&fake, ticket, 1).await;
    fake.send_message(ticket, USER_ID, "still here");
    wait_for_posts(&fake, ticket, 2).await;

    let earlier = [
        entry("user", USER_ID, "earlier question"),
        entry("assistant", BOT_ID, "earlier answer"),
        entry("staff", SUPPORT_ID, "staff said this"),
    ];
    let requests = requests(&seen);
    assert_eq!(described(&requests[0].history), earlier);
    let mut later = earlier.to_vec();
    later.extend([
        entry("user", USER_ID, "back again"),
        entry("assistant", BOT_ID, "answer to back again"),
    ]);
    assert_eq!(described(&requests[1].history), later);
    assert_eq!(
        history_fetches(&fake, ticket),
        1,
        "fetched once, then cached"
    );
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}
