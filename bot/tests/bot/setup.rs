//! `/setup`: what an administrator's run creates (exactly, with which overwrites), what a
//! non-admin is told, running it twice, and Discord's refusals explained and cleaned up.

use axum::http::Method;
use bot::setup;

use crate::{
    channel_creates,
    fake_discord::{FakeDiscord, ADMIN_ID, BOT_ID, GUILD_ID},
    helpers::{mentions_nothing, overwrites, spawn_bot, TOKEN, USER_ID},
    role_creates, ATTACH, EMBED, HISTORY, MANAGE_CHANNELS, ROLE, SEND, USER, VIEW,
};

#[tokio::test]
async fn setup_by_an_admin_creates_exactly_the_hidden_category_the_support_role_and_ticket_logs() {
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
    assert_eq!(channels.len(), 2, "the category and the log channel");
    assert_eq!(channels[1].body["name"], "ticket-logs");
    assert_eq!(channels[1].body["type"], 0, "a text channel");
    assert_eq!(
        overwrites(&channels[1].body),
        {
            let mut expected = vec![
                (GUILD_ID, ROLE, 0, VIEW),
                (support, ROLE, VIEW | HISTORY, 0),
                (BOT_ID, USER, VIEW | SEND | ATTACH | EMBED | HISTORY, 0),
            ];
            expected.sort_unstable();
            expected
        },
        "staff-only: hidden from @everyone, read by Support, written by the bot"
    );
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
    assert_eq!(channel_creates(&fake).len(), 2);
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
