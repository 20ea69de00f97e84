//! `/ticket-stats` and the close summary against a scripted set of tickets: several opened,
//! answered, rated, escalated, one taken over by staff, some closed; every figure checked, the
//! same after a restart (they come from the stored entries), and refused to members.

use bot::{
    answer_buttons::{
        DOWN_BUTTON, HUMAN_BUTTON, HUMAN_ON_THE_WAY, THANKS, THANKS_CHANGED, UP_BUTTON,
    },
    close_ticket, setup, ticket_stats,
};
use sandbox::{fixtures::CommandOption, Persona};

use crate::{
    answers::{ask, persona, press, press_as, staff_write, stored, ticket_entry_when},
    fake_discord::{FakeDiscord, ADMIN_ID, GUILD_ID, MEMBER_A_ID, MEMBER_B_ID, SUPPORT_ID},
    helpers::{echo, nats, spawn_bot_with_vars, TestBot, TOKEN},
    tickets::{attachments, channel_named, open_ticket, transcripts},
};

/// A third member, for a third ticket with presses.
const CAROL: Persona = Persona {
    key: "member-c",
    id: 400_000_000_000_000_007,
    name: "carol",
    role: "member C",
    administrator: false,
};
/// A fourth member, whose ticket gets no message.
const DAVE_ID: u64 = 400_000_000_000_000_008;

async fn start_bot(fake: &FakeDiscord, nats: common::test_util::NatsServer) -> TestBot {
    let guild = GUILD_ID.to_string();
    let vars = [
        ("DISCORD_GUILD_ID", guild.as_str()),
        ("TICKET_CLOSE_DELAY_SECS", "1"),
    ];
    let mut bot = spawn_bot_with_vars(fake.clone(), nats, &vars).await;
    bot.start_worker(echo()).await;
    bot
}

/// Runs `/ticket-stats` as `user` (in a channel they see), with `days` if given.
async fn ticket_stats(fake: &FakeDiscord, user: u64, channel: u64, days: Option<&str>) -> String {
    let options: Vec<CommandOption> = days
        .map(|d| CommandOption::String("days".into(), d.into()))
        .into_iter()
        .collect();
    let id = fake
        .run_command_with(persona(user), ticket_stats::NAME, channel, &options)
        .unwrap_or_else(|err| panic!("/ticket-stats as {user}: {err}"));
    fake.wait_for_answer(id).await
}

async fn close(fake: &FakeDiscord, user: u64, channel: u64) {
    let id = fake
        .run_command_with(persona(user), close_ticket::NAME, channel, &[])
        .unwrap();
    let answer = fake.wait_for_answer(id).await;
    assert!(answer.starts_with("Ticket closed"), "{answer}");
}

fn assert_lines(report: &str, lines: &[&str]) {
    for line in lines {
        assert!(report.lines().any(|l| l == *line), "{line:?} in\n{report}");
    }
}

#[tokio::test]
async fn ticket_stats_count_a_scripted_set_of_tickets_and_survive_a_restart() {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = start_bot(&fake, nats()).await;
    let set_up = fake.run_command(setup::NAME, ADMIN_ID, true);
    fake.wait_for_answer(set_up).await;
    let log = channel_named(&fake, "ticket-logs").unwrap();
    let alice = open_ticket(&fake, MEMBER_A_ID).await;
    let bob = open_ticket(&fake, MEMBER_B_ID).await;
    let carol = open_ticket(&fake, CAROL.id).await;
    let _dave = open_ticket(&fake, DAVE_ID).await;

    // Alice: answered, 👍, closed by herself.
    let (_, answer) = ask(&fake, alice, MEMBER_A_ID, "my order is late").await;
    assert_eq!(press(&fake, MEMBER_A_ID, &answer, UP_BUTTON).await, THANKS);
    // Bob: answered, 👎 then 👍, staff write, Support closes.
    let (_, answer) = ask(&fake, bob, MEMBER_B_ID, "refund please").await;
    assert_eq!(
        press(&fake, MEMBER_B_ID, &answer, DOWN_BUTTON).await,
        THANKS
    );
    assert_eq!(
        press(&fake, MEMBER_B_ID, &answer, UP_BUTTON).await,
        THANKS_CHANGED
    );
    staff_write(&fake, bob, "I'll do the refund").await;
    // Carol: answered, 👎, asks for a human; stays open. Dave: no message, open.
    let (_, answer) = ask(&fake, carol, CAROL.id, "the app crashes").await;
    assert_eq!(press_as(&fake, &CAROL, &answer, DOWN_BUTTON).await, THANKS);
    assert_eq!(
        press_as(&fake, &CAROL, &answer, HUMAN_BUTTON).await,
        HUMAN_ON_THE_WAY
    );
    for (ticket, what) in [(alice, "alice"), (bob, "bob"), (carol, "carol")] {
        ticket_entry_when(&bot, ticket, &format!("{what}'s answer counted"), |e| {
            e["answers"] == 1
        })
        .await;
    }
    ticket_entry_when(&bot, bob, "the staff reply recorded", |e| {
        e["staff_replied_at"].is_string()
    })
    .await;
    // Members may not see the figures (Support and administrators may: below).
    assert_eq!(
        ticket_stats(&fake, MEMBER_A_ID, alice, None).await,
        ticket_stats::NOT_STAFF
    );
    close(&fake, MEMBER_A_ID, alice).await;
    close(&fake, SUPPORT_ID, bob).await;

    // The close summaries (log and DM) and the transcripts say what happened.
    let logged = transcripts(&fake, log);
    assert_eq!(logged.len(), 2);
    let summary = |n: usize| logged[n]["content"].as_str().unwrap().to_owned();
    assert_lines(
        &summary(0),
        &[
            "**Assistant answers:** 1 (rated 👍 1 / 👎 0)",
            "**Staff replied:** no",
            "**Human requested:** no",
        ],
    );
    let bobs = summary(1);
    assert_lines(&bobs, &["**Assistant answers:** 1 (rated 👍 1 / 👎 0)"]);
    assert!(bobs.contains("**Staff replied:** yes, <t:"), "{bobs}");
    let files = attachments(&logged[1]);
    let text = String::from_utf8(fake.attachment_bytes(&files[0].1).unwrap()).unwrap();
    assert!(
        text.contains("Assistant answers: 1 (rated 👍 1 / 👎 0)\n"),
        "{text}"
    );
    assert!(text.contains("Staff replied: yes, "), "{text}");
    assert!(text.contains("Human requested: no\n"), "{text}");
    let html = String::from_utf8(fake.attachment_bytes(&files[1].1).unwrap()).unwrap();
    assert!(html.contains("<dt>Staff replied</dt><dd>yes, "), "{html}");
    let dm = fake.dm_messages(MEMBER_A_ID);
    assert!(dm[0]["content"]
        .as_str()
        .unwrap()
        .contains("**Assistant answers:** 1 (rated 👍 1 / 👎 0)"));
    assert!(stored(&bot, "tickets", carol).await.unwrap()["human_requested_at"].is_string());

    let report = ticket_stats(&fake, ADMIN_ID, log, None).await;
    let expected = [
        "**Tickets opened in the last 30 days:** 4",
        "**Closed:** 2",
        "**Closed with no staff message** (resolved by the assistant): 1 of 2 (50%)",
        "**Human requested:** 1 of 4 (25%)",
        "**Answers rated:** 👍 2 / 👎 1 (67% helpful)",
    ];
    assert_lines(&report, &expected);
    let line = |start: &str| {
        report
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("{start} in\n{report}"))
            .to_owned()
    };
    let first_answer = line("**Median time to first answer:** ");
    assert!(first_answer.ends_with(" (3 answered)"), "{first_answer}");
    assert!(!first_answer.contains('–'), "{first_answer}");
    let to_close = line("**Median time to close:** ");
    assert!(
        to_close.ends_with(" (2 closed)") && !to_close.contains('–'),
        "{to_close}"
    );
    let weekly = ticket_stats(&fake, SUPPORT_ID, log, Some("7")).await;
    assert_eq!(
        weekly.replace("last 7 days", "last 30 days"),
        report,
        "all four were opened this week"
    );
    let refused = ticket_stats(&fake, SUPPORT_ID, log, Some("0")).await;
    assert!(refused.contains("from 1 to 365"), "{refused}");

    // The figures come from the stored entries: a restart changes nothing.
    let (stopped, nats, _) = bot.stop().await;
    stopped.unwrap();
    let bot = start_bot(&fake, nats).await;
    assert_eq!(ticket_stats(&fake, ADMIN_ID, log, None).await, report);
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}
