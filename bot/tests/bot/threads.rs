//! Thread mode (`/setup mode:threads`) against the sandbox and a real nats-server with
//! JetStream: a ticket is a private thread of `#tickets` that its owner and Support see and
//! another member does not, the relay answers there, members are added as thread members, a
//! close archives the transcript and locks and archives the thread (kept, not deleted), and a
//! reopening unarchives it with the conversation in place; a topic's own Support role is added
//! to its tickets' threads (and the administrator told when Discord does not let the bot list
//! the members), and they follow the role as it is given and taken away; a restart keeps an
//! open thread
//! that Discord archived while idle and catches up in it; going back to channel mode makes
//! new tickets channels while the open threads stay tickets. Channel mode is what every other
//! test module runs.

use std::time::Duration;

use bot::{close_ticket, create_ticket, setup, ticket_members, ticket_reopen, ticket_topic};
use common::{payload::HistoryRole, test_util::eventually};
use relay_worker::test_util::spawn_worker;
use sandbox::fixtures::CommandOption;
use serde_json::Value;

use crate::{
    content,
    fake_discord::{FakeDiscord, ADMIN_ID, BOT_ID, MEMBER_A_ID, MEMBER_B_ID, SUPPORT_ID},
    helpers::{echo, spawn_bot_with_vars, TOKEN},
    reopen::{history_of, id, press, reopen_button, summary_in_dm},
    tickets::{
        archived, bot_with, channel_named, mentioned_channel, open_ticket, run, set_up, stored,
        stored_when, transcripts,
    },
    wait_for_posts,
};

/// Runs `/setup mode:threads` as the administrator; the answer.
async fn set_up_threads(fake: &FakeDiscord) -> String {
    let general =
        channel_named(fake, "general").unwrap_or_else(|| fake.add_text_channel("general", None));
    let mode = CommandOption::String(setup::MODE_OPTION.into(), "threads".into());
    run(fake, ADMIN_ID, setup::NAME, general, &[mode]).await
}

/// Runs `/ticket-topic add` for a topic named `name` handled by `role` too; the answer.
async fn add_topic(fake: &FakeDiscord, channel: u64, name: &str, role: u64) -> String {
    let add = CommandOption::Subcommand(
        "add".into(),
        vec![
            CommandOption::String("name".into(), name.into()),
            CommandOption::Role("support-role".into(), role),
        ],
    );
    run(fake, ADMIN_ID, ticket_topic::NAME, channel, &[add]).await
}

/// Opens `user`'s ticket under the topic `name` (one without questions); its thread.
async fn open_under(fake: &FakeDiscord, user: u64, channel: u64, name: &str) -> u64 {
    let topic = CommandOption::String("topic".into(), name.into());
    let answer = run(fake, user, create_ticket::NAME, channel, &[topic]).await;
    assert!(answer.starts_with("Your ticket is ready"), "{answer}");
    mentioned_channel(&answer)
}

/// Runs `command` (`/ticket-add` or `/ticket-remove`) on member B in `ticket` as Support.
async fn member_b(fake: &FakeDiscord, command: &str, ticket: u64) -> String {
    let member = CommandOption::User("member".into(), MEMBER_B_ID);
    run(fake, SUPPORT_ID, command, ticket, &[member]).await
}

/// The sandbox's thread `id`, archived ones too.
fn thread(fake: &FakeDiscord, id: u64) -> Option<Value> {
    fake.threads()
        .into_iter()
        .find(|t| t["id"].as_str() == Some(&*id.to_string()))
}

/// Waits until thread `id` is (`true`) or is not archived and locked.
async fn wait_archived(fake: &FakeDiscord, id: u64, archived: bool) -> Value {
    eventually(
        "the thread's archived and locked flags",
        Duration::from_secs(15),
        || {
            let found = thread(fake, id).filter(|t| {
                t["thread_metadata"]["archived"] == archived
                    && t["thread_metadata"]["locked"] == archived
            });
            async move { found }
        },
    )
    .await
}

#[tokio::test]
async fn in_thread_mode_a_ticket_is_a_private_thread_the_relay_answers_in_and_a_close_locks_and_archives(
) {
    let fake = FakeDiscord::start(TOKEN).await;
    let mut bot = bot_with(&fake, &[]).await;
    bot.start_worker(echo()).await;
    let answer = set_up_threads(&fake).await;
    assert!(answer.contains("private threads in #tickets"), "{answer}");
    let parent = channel_named(&fake, "tickets").expect("the #tickets channel");
    let log = channel_named(&fake, "ticket-logs").expect("#ticket-logs");
    // Everyone sees #tickets (a private thread needs its parent) but writes only in threads.
    assert!(fake.can_see(MEMBER_B_ID, parent));
    // Run again without a mode: the guild keeps threads, and nothing is made twice.
    let again = set_up(&fake).await;
    assert!(again.contains("Nothing changed"), "{again}");
    assert!(again.contains("private threads in #tickets"), "{again}");

    let ticket = open_ticket(&fake, MEMBER_A_ID).await;
    let made = thread(&fake, ticket).expect("the ticket is a thread");
    assert_eq!(made["type"], 12, "a private thread");
    assert_eq!(made["parent_id"], parent.to_string());
    assert_eq!(made["thread_metadata"]["invitable"], false);
    assert!(fake.thread_members(ticket).contains(&MEMBER_A_ID));
    assert!(fake.can_see(MEMBER_A_ID, ticket), "the owner");
    assert!(
        fake.can_see(SUPPORT_ID, ticket),
        "Support, by Manage Threads"
    );
    assert!(!fake.can_see(MEMBER_B_ID, ticket), "another member");
    let entry = stored(&bot, ticket).await.expect("the ticket's entry");
    assert_eq!(
        (entry["status"].as_str(), &entry["thread"]),
        (Some("open"), &Value::Bool(true))
    );
    // A second /create-ticket points at the same thread.
    let again = fake.run_command(create_ticket::NAME, MEMBER_A_ID, false);
    let again = fake.wait_for_answer(again).await;
    assert_eq!(mentioned_channel(&again), ticket, "{again}");

    fake.send_message(ticket, MEMBER_A_ID, "my printer is on fire");
    // The welcome, the answer.
    let posts = wait_for_posts(&fake, ticket, 2).await;
    assert_eq!(content(&posts[1]), "answer to my printer is on fire");

    let added = member_b(&fake, ticket_members::ADD_NAME, ticket).await;
    assert!(added.contains("can now see"), "{added}");
    assert!(fake.thread_members(ticket).contains(&MEMBER_B_ID));
    assert!(
        fake.can_see(MEMBER_B_ID, ticket),
        "added as a thread member"
    );
    let removed = member_b(&fake, ticket_members::REMOVE_NAME, ticket).await;
    assert!(removed.contains("no longer has access"), "{removed}");
    assert!(!fake.can_see(MEMBER_B_ID, ticket));

    let closed = run(&fake, MEMBER_A_ID, close_ticket::NAME, ticket, &[]).await;
    assert!(closed.starts_with("Ticket closed"), "{closed}");
    assert!(closed.contains("locked and archived"), "{closed}");
    wait_archived(&fake, ticket, true).await;
    assert!(
        fake.can_see(MEMBER_A_ID, ticket),
        "kept: the owner still reads it"
    );
    let text = archived(&bot, &format!("{ticket}/transcript.txt"))
        .await
        .expect("the transcript archived");
    assert!(String::from_utf8_lossy(&text).contains("my printer is on fire"));
    assert_eq!(transcripts(&fake, log).len(), 1, "posted in #ticket-logs");
    let done = stored_when(&bot, ticket, |e| e["status"] == "deleted").await;
    assert_eq!(done["close"]["delete_failure"], Value::Null);
    // Locked: the member can no longer write in it.
    assert!(fake
        .try_send(sandbox::fixtures::MessageSpec::human(
            ticket,
            MEMBER_A_ID,
            "hello?"
        ))
        .is_err());
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn in_thread_mode_reopen_unarchives_the_thread_and_the_assistant_has_the_conversation() {
    let fake = FakeDiscord::start(TOKEN).await;
    let mut bot = bot_with(&fake, &[]).await;
    let responder = echo();
    let seen = responder.seen.clone();
    bot.start_worker(responder).await;
    set_up_threads(&fake).await;
    let ticket = open_ticket(&fake, MEMBER_A_ID).await;
    fake.send_message(ticket, MEMBER_A_ID, "my printer is on fire");
    wait_for_posts(&fake, ticket, 2).await;
    let closed = run(&fake, MEMBER_A_ID, close_ticket::NAME, ticket, &[]).await;
    assert!(closed.starts_with("Ticket closed"), "{closed}");
    wait_archived(&fake, ticket, true).await;
    stored_when(&bot, ticket, |e| e["status"] == "deleted").await;

    let dm = summary_in_dm(&fake, MEMBER_A_ID, ticket);
    let button = reopen_button(&dm).expect("the Reopen button");
    let answer = press(&fake, MEMBER_A_ID, id(&dm), &button).await;
    assert!(answer.starts_with(ticket_reopen::REOPENED), "{answer}");
    assert!(
        answer.contains(&format!("<#{ticket}>")),
        "the same thread: {answer}"
    );
    wait_archived(&fake, ticket, false).await;
    let entry = stored(&bot, ticket).await.unwrap();
    assert_eq!(entry["status"], "open");
    assert_eq!(entry["thread"], true);
    assert_eq!(entry["reopen_count"], 1);
    assert_eq!(entry["ticket_id"], ticket.to_string());
    assert_eq!(entry["reopened_from"], Value::Null, "nothing to carry over");
    let opening = fake
        .messages(ticket)
        .into_iter()
        .rev()
        .find(|m| {
            m["content"]
                .as_str()
                .is_some_and(|c| c.starts_with(ticket_reopen::THREAD_REOPENED))
        })
        .expect("the reopening's message");
    assert_eq!(
        opening["components"][0]["components"][0]["custom_id"],
        close_ticket::CLOSE_BUTTON
    );

    // The relay answers again, with the earlier conversation from the thread itself.
    let before = fake.messages(ticket).len();
    fake.send_message(ticket, MEMBER_A_ID, "it is still burning");
    eventually("the answer", Duration::from_secs(15), || {
        let answered = fake
            .messages(ticket)
            .iter()
            .skip(before)
            .any(|m| m["content"] == "answer to it is still burning");
        async move { answered.then_some(()) }
    })
    .await;
    let history = history_of(&seen, "it is still burning");
    assert!(
        history.contains(&(HistoryRole::User, "my printer is on fire".to_owned())),
        "{history:?}"
    );
    assert_eq!(
        history
            .iter()
            .filter(|h| h.1 == "my printer is on fire")
            .count(),
        1,
        "once, not carried over as well: {history:?}"
    );

    // Pressed again: the ticket is open, nothing new.
    let again = press(&fake, MEMBER_A_ID, id(&dm), &button).await;
    assert!(again.contains("not closed"), "{again}");
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn in_thread_mode_a_restart_keeps_an_open_thread_discord_archived_and_catches_up_in_it() {
    let fake = FakeDiscord::start(TOKEN).await;
    let mut bot = bot_with(&fake, &[]).await;
    bot.start_worker(echo()).await;
    set_up_threads(&fake).await;
    let ticket = open_ticket(&fake, MEMBER_A_ID).await;
    fake.send_message(ticket, MEMBER_A_ID, "my printer is on fire");
    wait_for_posts(&fake, ticket, 2).await;
    let (outcome, nats, _) = bot.stop().await;
    outcome.expect("clean shutdown");

    // While the bot is away: a message, then Discord archives the idle thread, so the next
    // GUILD_CREATE does not list it among the active threads.
    fake.post_offline(ticket, MEMBER_A_ID, "still there?");
    assert!(fake.archive_thread(ticket, false));
    let guild = crate::fake_discord::GUILD_ID.to_string();
    let vars = [("DISCORD_GUILD_ID", guild.as_str())];
    // The worker first, so that the catch-up finds it.
    let _worker = spawn_worker(&nats.settings(), echo()).await;
    let bot = spawn_bot_with_vars(fake.clone(), nats, &vars).await;
    eventually("the catch-up's answer", Duration::from_secs(30), || {
        let answered = fake
            .messages(ticket)
            .iter()
            .any(|m| m["content"] == "answer to still there?");
        async move { answered.then_some(()) }
    })
    .await;
    let entry = stored(&bot, ticket).await.unwrap();
    assert_eq!(
        entry["status"], "open",
        "an archived thread is no deleted one"
    );
    assert_eq!(
        thread(&fake, ticket).unwrap()["thread_metadata"]["archived"],
        false,
        "the answer unarchived it"
    );
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn back_in_channel_mode_new_tickets_are_channels_and_the_open_threads_stay_tickets() {
    let fake = FakeDiscord::start(TOKEN).await;
    let mut bot = bot_with(&fake, &[]).await;
    bot.start_worker(echo()).await;
    set_up_threads(&fake).await;
    let in_thread = open_ticket(&fake, MEMBER_A_ID).await;

    let general = channel_named(&fake, "general").unwrap();
    let mode = CommandOption::String(setup::MODE_OPTION.into(), "channels".into());
    let answer = run(&fake, ADMIN_ID, setup::NAME, general, &[mode]).await;
    assert!(
        answer.contains("New tickets are private channels"),
        "{answer}"
    );
    assert!(!answer.contains("Nothing changed"), "{answer}");
    let in_channel = open_ticket(&fake, MEMBER_B_ID).await;
    assert!(thread(&fake, in_channel).is_none(), "a channel");
    assert_eq!(stored(&bot, in_channel).await.unwrap()["thread"], false);

    fake.send_message(in_thread, MEMBER_A_ID, "still a ticket?");
    let posts = wait_for_posts(&fake, in_thread, 2).await;
    assert_eq!(content(&posts[1]), "answer to still a ticket?");
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn in_thread_mode_a_topics_own_support_role_is_added_to_its_tickets_and_told_when_discord_refuses(
) {
    let fake = FakeDiscord::start(TOKEN).await;
    let billing_team = fake.add_role("Billing team");
    fake.give_role(MEMBER_B_ID, billing_team);
    let bot = bot_with(&fake, &[]).await;
    let general = fake.add_text_channel("general", None);
    set_up(&fake).await;
    let added = add_topic(&fake, general, "Billing", billing_team).await;
    assert!(added.starts_with("Topic `Billing` added"), "{added}");
    assert!(!added.contains("thread mode"), "channels: {added}");
    // Turning thread mode on says how the topic's role will see its tickets.
    let team_note = format!(
        "In thread mode I add the members of <@&{billing_team}> to each ticket of their topic"
    );
    let threads = set_up_threads(&fake).await;
    assert!(threads.contains(&team_note), "{threads}");
    let added = add_topic(&fake, general, "Invoices", billing_team).await;
    assert!(added.contains(&team_note), "{added}");

    let ticket = open_under(&fake, MEMBER_A_ID, general, "Billing").await;
    let members = fake.thread_members(ticket);
    assert!(members.contains(&MEMBER_B_ID), "the team: {members:?}");
    assert!(fake.can_see(MEMBER_B_ID, ticket), "the team sees it");
    assert!(
        !members.contains(&SUPPORT_ID),
        "Support sees it by Manage Threads, not as a member: {members:?}"
    );
    assert!(fake.can_see(SUPPORT_ID, ticket));
    bot.assert_no_errors_or_warnings();

    // Without the Server Members intent Discord refuses the member list: the administrator
    // learns what to turn on, and the ticket still opens, for its owner and Support.
    fake.revoke_members_intent();
    let added = add_topic(&fake, general, "Refunds", billing_team).await;
    assert!(added.contains("**Server Members** intent"), "{added}");
    let ticket = open_under(&fake, SUPPORT_ID, general, "Refunds").await;
    assert_eq!(
        fake.thread_members(ticket),
        [BOT_ID, SUPPORT_ID],
        "the bot that made it and its owner only"
    );
    assert!(!fake.can_see(MEMBER_B_ID, ticket));
    let logs = bot.logs();
    let warned = logs
        .lines()
        .find(|l| l.contains("cannot add the topic's Support role to its ticket thread"))
        .unwrap_or_else(|| panic!("a warning:\n{logs}"));
    assert!(warned.starts_with("[BOT] WARN"), "{warned}");
    assert!(warned.contains("Server Members intent"), "{warned}");
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn in_thread_mode_a_topics_role_given_later_joins_its_open_threads_and_taken_away_leaves_them(
) {
    let fake = FakeDiscord::start(TOKEN).await;
    let billing_team = fake.add_role("Billing team");
    let bot = bot_with(&fake, &[]).await;
    let general = fake.add_text_channel("general", None);
    set_up(&fake).await;
    add_topic(&fake, general, "Billing", billing_team).await;
    set_up_threads(&fake).await;
    let ticket = open_under(&fake, MEMBER_A_ID, general, "Billing").await;
    let kept = open_under(&fake, SUPPORT_ID, general, "Billing").await;
    assert!(!fake.can_see(MEMBER_B_ID, ticket), "not in the team yet");
    let b_in = |thread| {
        let members = fake.thread_members(thread);
        async move { members.contains(&MEMBER_B_ID).then_some(()) }
    };
    let b_out = |thread| {
        let members = fake.thread_members(thread);
        async move { (!members.contains(&MEMBER_B_ID)).then_some(members) }
    };
    let wait = Duration::from_secs(15);

    // Given the topic's role, member B joins both of its open threads.
    fake.give_role(MEMBER_B_ID, billing_team);
    eventually("member b in the ticket", wait, || b_in(ticket)).await;
    eventually("member b in the other ticket", wait, || b_in(kept)).await;
    assert!(fake.can_see(MEMBER_B_ID, ticket) && fake.can_see(MEMBER_B_ID, kept));
    let added = member_b(&fake, ticket_members::ADD_NAME, kept).await;
    assert!(added.contains("can now see"), "{added}");

    // Without the role, they leave the thread the role gave them, and stay where
    // `/ticket-add` put them.
    fake.take_role(MEMBER_B_ID, billing_team);
    let members = eventually("member b out of the ticket", wait, || b_out(ticket)).await;
    assert_eq!(members, [BOT_ID, MEMBER_A_ID], "the owner stays");
    assert!(!fake.can_see(MEMBER_B_ID, ticket));
    assert!(fake.can_see(MEMBER_B_ID, kept), "/ticket-add gave it");
    let entry = stored(&bot, kept).await.unwrap();
    assert_eq!(entry["added"], serde_json::json!([MEMBER_B_ID.to_string()]));

    // Discord archives the idle thread, whose members then cannot change: giving the role
    // again unarchives it for B and archives it again.
    assert!(fake.archive_thread(ticket, false));
    fake.give_role(MEMBER_B_ID, billing_team);
    eventually("member b back in the ticket", wait, || b_in(ticket)).await;
    let archived = || {
        let found = thread(&fake, ticket).filter(|t| t["thread_metadata"]["archived"] == true);
        async move { found }
    };
    eventually("the thread archived again", wait, archived).await;
    let entry = stored(&bot, ticket).await.unwrap();
    assert_eq!(entry["team"], serde_json::json!([MEMBER_B_ID.to_string()]));
    let logs = bot.logs();
    let followed: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("ticket threads follow a change of a topic's Support role"))
        .collect();
    assert_eq!(followed.len(), 3, "{logs}");
    for (line, counts) in
        followed
            .iter()
            .zip(["joined=2 left=0", "joined=0 left=1", "joined=1 left=0"])
    {
        assert!(
            line.starts_with("[BOT] INFO") && line.contains(counts),
            "{line}"
        );
    }
    bot.assert_no_errors_or_warnings();

    // Taken away while the bot is not connected: the next start reads the roles of the team
    // its tickets record, and takes B out of the (still archived) thread.
    let (outcome, nats, _) = bot.stop().await;
    outcome.expect("clean shutdown");
    fake.take_role(MEMBER_B_ID, billing_team);
    let bot = spawn_bot_with_vars(fake.clone(), nats, &[]).await;
    let members = eventually("member b out after the restart", wait, || b_out(ticket)).await;
    assert_eq!(members, [BOT_ID, MEMBER_A_ID]);
    assert!(fake.thread_members(kept).contains(&MEMBER_B_ID));
    eventually("the thread archived again", wait, archived).await;
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}
