//! Two bot processes on one guild, as during a rolling deploy (the new one connects before the
//! old one stops, and Discord sends each of them every event): each ticket message is answered
//! once, by whichever process claims it (and counted once in the ticket's entry), and a ticket
//! opened through one process is known to the other through the registry's watch, without a
//! restart.

use axum::http::Method;
use common::test_util::eventually;
use relay_worker::test_util::spawn_worker;
use sandbox::WAIT;

use crate::{
    answers::stored_in,
    content,
    fake_discord::{FakeDiscord, GUILD_ID, MEMBER_A_ID},
    helpers::{echo, spawn_bot_with_nats, spawn_second_bot, TOKEN},
    reference_id, set_up,
    tickets::open_ticket,
    wait_for_posts, SetUp,
};

#[tokio::test]
async fn two_bot_processes_answer_each_message_once_and_see_each_other_s_tickets() {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { nats, .. } = set_up(&fake).await;
    let responder = echo();
    let seen = std::sync::Arc::clone(&responder.seen);
    let _worker = spawn_worker(&nats.settings(), responder).await;
    let first = spawn_bot_with_nats(fake.clone(), nats).await;

    // The second process has loaded the registry and waits on its next call while the first
    // opens a ticket: it can only learn of that ticket by watching the registry.
    let held = fake.hold_next(Method::GET, "/users/@me");
    let opening = async {
        tokio::time::timeout(WAIT, held.reached())
            .await
            .expect("the second process started");
        let ticket = open_ticket(&fake, MEMBER_A_ID).await;
        held.release();
        ticket
    };
    let guild = GUILD_ID.to_string();
    let vars = [("DISCORD_GUILD_ID", guild.as_str())];
    let (second, ticket) = tokio::join!(spawn_second_bot(&fake, &first, &vars, |_| {}), opening);
    assert_eq!(fake.sessions(), 2, "both connected");

    let texts = ["one", "two", "three", "four"];
    let ids: Vec<u64> = texts
        .iter()
        .map(|text| fake.send_message(ticket, MEMBER_A_ID, text))
        .collect();
    // Each process decides about each message once: one answers it, the other lets it go.
    crate::records::wait_logged(&first, "answer posted", texts.len()).await;
    crate::records::wait_logged(&first, "another bot process took this message", texts.len()).await;
    let posts = fake.posted_messages(ticket);
    for id in &ids {
        let replies = posts
            .iter()
            .filter(|p| reference_id(p) == Some(*id))
            .count();
        assert_eq!(replies, 1, "message {id}: {posts:#?}");
    }
    let mut asked = crate::helpers::asked(&seen);
    asked.sort();
    let mut expected = texts.map(str::to_owned).to_vec();
    expected.sort();
    assert_eq!(asked, expected, "the worker was asked once each");

    // The first process goes (its nats-server stays, for the second): the second answers in
    // the ticket the first opened.
    let (outcome, _nats, _) = first.stop().await;
    outcome.unwrap();
    let last = fake.send_message(ticket, MEMBER_A_ID, "five");
    let posts = wait_for_posts(&fake, ticket, 1 + texts.len() + 1).await;
    let answer = posts.last().unwrap();
    assert_eq!(reference_id(answer), Some(last));
    assert_eq!(content(answer), "answer to five");
    // Only the process that posted an answer counts it in the ticket's entry: once each.
    eventually("the five answers counted", WAIT, || async {
        let entry = stored_in(&second.bot_nats, "tickets", ticket).await?;
        (entry["answers"] == 5).then_some(())
    })
    .await;
    second.shutdown().await.unwrap();
}
