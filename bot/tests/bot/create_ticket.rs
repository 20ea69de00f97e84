//! `/create-ticket`: the private channel and its exact overwrites, the existing ticket linked
//! instead of a second one (also when two runs race), before `/setup`, and Discord's refusal
//! for a missing permission explained (full categories and a full server: `overflow.rs`).

use axum::http::Method;
use bot::create_ticket;

use crate::{
    channel_creates, content,
    fake_discord::{self, FakeDiscord, BOT_ID, GUILD_ID},
    helpers::{
        mentions_nothing, overwrites, spawn_bot, spawn_bot_with_nats, OTHER_USER_ID, TOKEN, USER_ID,
    },
    set_up, wait_for_posts, SetUp, MANAGE_CHANNELS, MEMBER, ROLE, USER, VIEW,
};

#[tokio::test]
async fn create_ticket_makes_a_private_channel_with_exactly_the_specified_overwrites() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp {
        category,
        support,
        nats,
    } = set_up(&fake).await;
    let bot = spawn_bot_with_nats(fake.clone(), nats).await;

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
    let SetUp { nats, .. } = set_up(&fake).await;
    let bot = spawn_bot_with_nats(fake.clone(), nats).await;

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
    let SetUp { nats, .. } = set_up(&fake).await;
    let bot = spawn_bot_with_nats(fake.clone(), nats).await;

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
    let SetUp { nats, .. } = set_up(&fake).await;
    fake.revoke_manage_channels();
    let before = fake.channels().len();
    let bot = spawn_bot_with_nats(fake.clone(), nats).await;

    let interaction = fake.run_command(create_ticket::NAME, USER_ID, false);
    let answer = fake.wait_for_answer(interaction).await;

    assert!(answer.contains("**Manage Channels**"), "{answer}");
    assert_eq!(channel_creates(&fake)[0].status, 403);
    assert_eq!(fake.channels().len(), before, "nothing half-made");
    assert!(bot.logs().contains("[BOT] ERROR - Discord refused"));
    bot.shutdown().await.expect("clean shutdown");
}
