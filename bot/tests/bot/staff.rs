//! The staff's side of a ticket, end to end against the sandbox and a real nats-server: claim
//! (the welcome's button and the commands; the assistant quiet while claimed; unclaim and
//! transfer refused to others), priority (stored, in the topic and the summary; urgent pings
//! the Support role once), the blocklist (refused by command and panel), `/ticket-list`
//! (pages, order, filters), support hours (the welcome outside them, with a shifted clock),
//! the owner's rating after a close (by DM or in the ticket, once, with a comment), and the
//! staff's figures in `/ticket-stats` from that history.

use std::time::Duration;

use axum::http::Method;
use bot::registry::Topic;
use bot::{
    close_ticket, create_ticket, ticket_block, ticket_claim, ticket_hours, ticket_list,
    ticket_panel, ticket_priority, ticket_rating,
};
use common::test_util::eventually;
use sandbox::fixtures::CommandOption;
use serde_json::Value;

use crate::{
    answers::{answer_to, button_ids, id_of, persona, press, stored},
    content,
    fake_discord::{FakeDiscord, ADMIN_ID, MEMBER_A_ID, MEMBER_B_ID, SUPPORT_ID},
    helpers::{echo, TestBot, TOKEN},
    tickets::{bot_with, channel_named, open_ticket, run, set_up, transcripts},
};

/// A set-up guild with member A's ticket, the bot answering with an echo worker.
async fn start() -> (FakeDiscord, TestBot, u64) {
    let fake = FakeDiscord::start(TOKEN).await;
    let mut bot = bot_with(&fake, &[("HANDOFF_QUIET_MINUTES", "0")]).await;
    bot.start_worker(echo()).await;
    set_up(&fake).await;
    let ticket = open_ticket(&fake, MEMBER_A_ID).await;
    (fake, bot, ticket)
}

/// The ticket's entry once `check` holds.
async fn entry_when(
    bot: &TestBot,
    ticket: u64,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    eventually(what, Duration::from_secs(10), || async {
        stored(bot, "tickets", ticket).await.filter(&check)
    })
    .await
}

/// The topics the bot gave `channel`, in order.
async fn topics_when(fake: &FakeDiscord, channel: u64, last: &str) -> Vec<String> {
    let path = format!("/channels/{channel}");
    fake.wait_for(&format!("the topic {last:?}"), |calls| {
        let topics: Vec<String> = calls
            .iter()
            .filter(|c| c.method == Method::PATCH && c.path.ends_with(&path))
            .filter_map(|c| c.body["topic"].as_str().map(str::to_owned))
            .collect();
        topics.iter().any(|t| t == last).then_some(topics)
    })
    .await
}

/// The bot's messages in `channel` that contain `part`.
fn said(fake: &FakeDiscord, channel: u64, part: &str) -> Vec<Value> {
    fake.messages(channel)
        .into_iter()
        .filter(|m| m["content"].as_str().is_some_and(|c| c.contains(part)))
        .collect()
}

#[tokio::test]
async fn a_claimed_ticket_quiets_the_assistant_and_only_its_claimer_or_an_admin_gives_it_away() {
    let (fake, bot, ticket) = start().await;
    let welcome = fake.messages(ticket)[0].clone();
    assert_eq!(
        button_ids(&welcome),
        [close_ticket::CLOSE_BUTTON, ticket_claim::CLAIM_BUTTON]
    );
    // Members may not claim; an administrator may, with the button.
    assert_eq!(
        press(&fake, MEMBER_A_ID, &welcome, ticket_claim::CLAIM_BUTTON).await,
        ticket_claim::NOT_STAFF
    );
    assert_eq!(
        press(&fake, ADMIN_ID, &welcome, ticket_claim::CLAIM_BUTTON).await,
        "You have this ticket now."
    );
    let entry = entry_when(&bot, ticket, "the claim stored", |e| {
        e["claimed_by"].is_string()
    })
    .await;
    assert_eq!(entry["claimed_by"], ADMIN_ID.to_string());
    assert_eq!(
        said(&fake, ticket, "claimed this ticket").len(),
        1,
        "said in the ticket"
    );
    topics_when(
        &fake,
        ticket,
        &format!("Support ticket of <@{MEMBER_A_ID}> · claimed by <@{ADMIN_ID}>"),
    )
    .await;

    // The assistant stays quiet while the ticket is claimed.
    let quiet = fake.send_message(ticket, MEMBER_A_ID, "anyone there?");
    eventually(
        "the message left to the claimer",
        Duration::from_secs(10),
        || {
            let logs = bot.logs();
            async move { logs.contains("message left to its claimer").then_some(()) }
        },
    )
    .await;

    // Another staff member may neither take, unclaim nor transfer it; nobody gets it who is
    // not staff.
    let claim = |user| run(&fake, user, ticket_claim::CLAIM_NAME, ticket, &[]);
    let held = format!("<@{ADMIN_ID}> has this ticket");
    assert!(claim(SUPPORT_ID).await.contains(&held));
    let unclaimed = run(&fake, SUPPORT_ID, ticket_claim::UNCLAIM_NAME, ticket, &[]).await;
    assert!(unclaimed.starts_with(&held), "{unclaimed}");
    let to = |user: u64| [CommandOption::User("member".into(), user)];
    let transfer = |by, target| {
        let fake = fake.clone();
        async move { run(&fake, by, ticket_claim::TRANSFER_NAME, ticket, &to(target)).await }
    };
    assert!(transfer(SUPPORT_ID, SUPPORT_ID).await.starts_with(&held));
    assert_eq!(
        transfer(ADMIN_ID, MEMBER_A_ID).await,
        ticket_claim::TARGET_NOT_STAFF
    );
    assert_eq!(
        run(&fake, MEMBER_A_ID, ticket_claim::UNCLAIM_NAME, ticket, &[]).await,
        ticket_claim::NOT_STAFF
    );
    // The claimer (an administrator) hands it over; the new claimer gives it back.
    assert_eq!(
        transfer(ADMIN_ID, SUPPORT_ID).await,
        format!("<@{SUPPORT_ID}> has this ticket now.")
    );
    entry_when(&bot, ticket, "the transfer stored", |e| {
        e["claimed_by"] == SUPPORT_ID.to_string().as_str()
    })
    .await;
    assert_eq!(
        run(&fake, SUPPORT_ID, ticket_claim::UNCLAIM_NAME, ticket, &[]).await,
        "The ticket is unclaimed now."
    );
    topics_when(
        &fake,
        ticket,
        &format!("Support ticket of <@{MEMBER_A_ID}>"),
    )
    .await;
    let entry = entry_when(&bot, ticket, "the unclaim stored", |e| {
        e.get("claimed_by").is_none()
    })
    .await;
    assert!(entry.get("claimed_at").is_none(), "{entry}");

    // Unclaimed, the assistant answers again; the message written while claimed never was.
    let question = fake.send_message(ticket, MEMBER_A_ID, "hello again");
    answer_to(&fake, ticket, question).await;
    assert!(
        !fake
            .messages(ticket)
            .iter()
            .any(|m| { m["message_reference"]["message_id"] == quiet.to_string().as_str() }),
        "no answer to the message written while claimed"
    );
    assert!(said(&fake, ticket, "transferred this ticket from").len() == 1);
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn with_assistant_while_claimed_set_by_setup_the_assistant_answers_in_a_claimed_ticket() {
    let (fake, bot, ticket) = start().await;
    let general = fake.add_text_channel("general", None);
    let on = [CommandOption::Boolean(
        bot::setup::ASSISTANT_WHILE_CLAIMED_OPTION.into(),
        true,
    )];
    let answer = run(&fake, ADMIN_ID, bot::setup::NAME, general, &on).await;
    assert!(
        answer.ends_with("From now on the assistant keeps answering in claimed tickets."),
        "{answer}"
    );
    assert_eq!(
        run(&fake, SUPPORT_ID, ticket_claim::CLAIM_NAME, ticket, &[]).await,
        "You have this ticket now."
    );
    entry_when(&bot, ticket, "the claim stored", |e| {
        e["claimed_by"].is_string()
    })
    .await;
    let question = fake.send_message(ticket, MEMBER_A_ID, "still there?");
    answer_to(&fake, ticket, question).await;

    // /setup without the option keeps the choice and says nothing of it; set again, likewise.
    for options in [&[][..], &on[..]] {
        let again = run(&fake, ADMIN_ID, bot::setup::NAME, general, options).await;
        assert!(!again.contains("claimed tickets"), "{again}");
    }
    let guild = stored(
        &bot,
        bot::registry::GUILDS_BUCKET,
        crate::fake_discord::GUILD_ID,
    )
    .await
    .expect("the guild entry");
    assert_eq!(guild["assistant_while_claimed"], true, "{guild}");
    let off = [CommandOption::Boolean(
        bot::setup::ASSISTANT_WHILE_CLAIMED_OPTION.into(),
        false,
    )];
    let answer = run(&fake, ADMIN_ID, bot::setup::NAME, general, &off).await;
    assert!(
        answer.ends_with("From now on the assistant stays quiet in claimed tickets."),
        "{answer}"
    );
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn priority_is_stored_shown_and_summarised_and_urgent_pings_the_support_role_once() {
    let (fake, bot, ticket) = start().await;
    let support = fake
        .roles()
        .into_iter()
        .find(|r| r["name"] == "Support")
        .and_then(|r| r["id"].as_str()?.parse::<u64>().ok())
        .expect("the Support role");
    let set = |user, level: &str| {
        let options = [CommandOption::String("level".into(), level.into())];
        let fake = fake.clone();
        async move { run(&fake, user, ticket_priority::NAME, ticket, &options).await }
    };
    assert_eq!(set(MEMBER_A_ID, "urgent").await, ticket_priority::NOT_STAFF);
    assert_eq!(set(SUPPORT_ID, "high").await, "Priority set to **high**.");
    assert_eq!(
        set(SUPPORT_ID, "high").await,
        "The ticket's priority is **high** already."
    );
    assert_eq!(
        set(SUPPORT_ID, "urgent").await,
        "Priority set to **urgent**."
    );
    assert_eq!(set(ADMIN_ID, "normal").await, "Priority set to **normal**.");
    assert_eq!(set(ADMIN_ID, "urgent").await, "Priority set to **urgent**.");
    let entry = entry_when(&bot, ticket, "urgent stored", |e| e["priority"] == "urgent").await;
    assert!(entry["urgent_pinged_at"].is_string(), "{entry}");

    // One ping of the Support role, allowed for that role alone; the other notices ping nobody.
    let notices: Vec<_> = fake
        .posted_messages(ticket)
        .into_iter()
        .filter(|c| content(c).contains("priority") || content(c).contains("urgent"))
        .collect();
    assert_eq!(notices.len(), 4, "{notices:?}");
    let pings: Vec<_> = notices
        .iter()
        .filter(|c| content(c).starts_with(&format!("<@&{support}>")))
        .collect();
    assert_eq!(pings.len(), 1, "{notices:?}");
    assert_eq!(
        pings[0].body["allowed_mentions"]["roles"],
        serde_json::json!([support.to_string()])
    );
    for notice in notices.iter().filter(|c| !content(c).starts_with("<@&")) {
        assert!(crate::helpers::mentions_nothing(&notice.body), "{notice:?}");
    }
    topics_when(
        &fake,
        ticket,
        &format!("Support ticket of <@{MEMBER_A_ID}> · priority: urgent"),
    )
    .await;

    // The close summary says it.
    let close = run(&fake, SUPPORT_ID, close_ticket::NAME, ticket, &[]).await;
    assert!(close.starts_with("Ticket closed"), "{close}");
    let log = channel_named(&fake, "ticket-logs").unwrap();
    let summary = eventually("the summary", Duration::from_secs(15), || {
        let logged = transcripts(&fake, log);
        async move { logged.first().cloned() }
    })
    .await;
    let text = summary["content"].as_str().unwrap();
    assert!(
        text.contains("**Priority:** urgent\n**Claimed by:** nobody"),
        "{text}"
    );
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn blocked_members_are_refused_by_command_and_panel_until_unblocked() {
    let fake = FakeDiscord::start(TOKEN).await;
    let general = fake.add_text_channel("general", None);
    let bot = bot_with(&fake, &[]).await;
    set_up(&fake).await;
    let posted = run(&fake, ADMIN_ID, ticket_panel::NAME, general, &[]).await;
    assert!(posted.starts_with("Panel posted"), "{posted}");
    let panel = fake.messages(general).into_iter().last().unwrap();

    let member = |user: u64| [CommandOption::User("member".into(), user)];
    let block = |by, user: u64, reason: Option<&str>| {
        let mut options = member(user).to_vec();
        if let Some(reason) = reason {
            options.push(CommandOption::String("reason".into(), reason.into()));
        }
        let fake = fake.clone();
        async move { run(&fake, by, ticket_block::BLOCK_NAME, general, &options).await }
    };
    assert_eq!(
        block(MEMBER_A_ID, MEMBER_B_ID, None).await,
        ticket_block::NOT_STAFF
    );
    assert_eq!(
        block(SUPPORT_ID, ADMIN_ID, None).await,
        ticket_block::STAFF_NOT_BLOCKED
    );
    assert_eq!(
        block(SUPPORT_ID, MEMBER_B_ID, Some("  spam  ")).await,
        format!("<@{MEMBER_B_ID}> can no longer open tickets.")
    );
    let again = block(ADMIN_ID, MEMBER_B_ID, None).await;
    assert!(
        again.starts_with(&format!(
            "<@{MEMBER_B_ID}> is already blocked (by <@{SUPPORT_ID}>"
        )),
        "{again}"
    );
    let guild = stored(&bot, "ticket_guilds", crate::fake_discord::GUILD_ID)
        .await
        .unwrap();
    assert_eq!(guild["blocked"][0]["user_id"], MEMBER_B_ID.to_string());
    assert_eq!(guild["blocked"][0]["reason"], "spam");

    // Refused by command and by the panel, politely; others still open tickets.
    let id = fake.run_command(create_ticket::NAME, MEMBER_B_ID, false);
    assert_eq!(fake.wait_for_answer(id).await, create_ticket::BLOCKED);
    assert_eq!(
        press(&fake, MEMBER_B_ID, &panel, ticket_panel::OPEN_BUTTON).await,
        create_ticket::BLOCKED
    );
    assert!(
        channel_named(&fake, &format!("ticket-{MEMBER_B_ID}")).is_none(),
        "no channel made"
    );
    open_ticket(&fake, MEMBER_A_ID).await;

    // Unblocked, they may again.
    let unblock = run(
        &fake,
        SUPPORT_ID,
        ticket_block::UNBLOCK_NAME,
        general,
        &member(MEMBER_B_ID),
    )
    .await;
    assert_eq!(unblock, format!("<@{MEMBER_B_ID}> can open tickets again."));
    let unblock = run(
        &fake,
        SUPPORT_ID,
        ticket_block::UNBLOCK_NAME,
        general,
        &member(MEMBER_B_ID),
    )
    .await;
    assert_eq!(unblock, format!("<@{MEMBER_B_ID}> is not blocked."));
    open_ticket(&fake, MEMBER_B_ID).await;
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}

/// The list message `id` in `channel` once its heading contains `part`.
async fn list_when(fake: &FakeDiscord, channel: u64, id: u64, part: &str) -> Value {
    eventually(
        &format!("the list showing {part:?}"),
        Duration::from_secs(10),
        || {
            let found = fake.messages(channel).into_iter().find(|m| {
                id_of(m) == id && m["content"].as_str().is_some_and(|c| c.contains(part))
            });
            async move { found }
        },
    )
    .await
}

/// Presses a list's page button as Support; returns the new heading.
async fn turn_page(fake: &FakeDiscord, list: &Value, button: &str) -> String {
    let pressed = fake
        .press_button(persona(SUPPORT_ID), id_of(list), button)
        .expect("the press");
    fake.wait_for_answer(pressed).await
}

fn list_lines(message: &Value) -> Vec<String> {
    message["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn ticket_list_pages_25_at_a_time_most_pressing_first_filters_by_claimer_and_shows_response_times(
) {
    let fake = FakeDiscord::start(TOKEN).await;
    let crate::SetUp { category, nats, .. } = crate::set_up(&fake).await;
    let general = fake.add_text_channel("general", None);
    let cases: Vec<(u64, u64)> = (0..30)
        .map(|n| {
            let channel = fake.add_text_channel(&format!("case-{n}"), Some(category));
            (channel, 500_000_000_000_000_000 + n)
        })
        .collect();
    crate::helpers::register_tickets(&nats, cases.iter().copied()).await;
    let guild = crate::fake_discord::GUILD_ID.to_string();
    let bot = crate::helpers::spawn_bot_with_vars(
        fake.clone(),
        nats,
        &[("DISCORD_GUILD_ID", guild.as_str())],
    )
    .await;
    let (urgent, _) = cases[20];
    let level = [CommandOption::String("level".into(), "urgent".into())];
    run(&fake, SUPPORT_ID, ticket_priority::NAME, urgent, &level).await;
    let (claimed, _) = cases[7];
    run(&fake, SUPPORT_ID, ticket_claim::CLAIM_NAME, claimed, &[]).await;

    assert_eq!(
        run(&fake, MEMBER_A_ID, ticket_list::NAME, general, &[]).await,
        ticket_list::NOT_STAFF
    );
    let heading = run(&fake, SUPPORT_ID, ticket_list::NAME, general, &[]).await;
    assert_eq!(heading, "**Open tickets:** 30 · page 1 of 2");
    let list = fake
        .messages(general)
        .into_iter()
        .rfind(|m| m["content"] == heading.as_str())
        .expect("the list");
    assert_eq!(list["flags"].as_u64().unwrap() & 64, 64, "ephemeral");
    let lines = list_lines(&list);
    assert_eq!(lines.len(), ticket_list::PAGE_SIZE);
    assert!(
        lines[0].starts_with(&format!("<#{urgent}> · <@")),
        "{lines:?}"
    );
    assert!(
        lines[0].contains("urgent · unclaimed · opened <t:"),
        "{lines:?}"
    );
    // Staff have written in none of them: each line tells how long its owner has waited, in
    // wall time (the guild has no support hours).
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" · waiting ") && !l.contains("support hours")),
        "{lines:?}"
    );
    let buttons = button_ids(&list);
    assert_eq!(buttons.len(), 2);
    assert_eq!(
        list["components"][0]["components"][0]["disabled"], true,
        "no page before"
    );

    // Next, then Previous, on the same message.
    let id = id_of(&list);
    assert_eq!(
        turn_page(&fake, &list, &buttons[1]).await,
        "**Open tickets:** 30 · page 2 of 2"
    );
    let second = list_when(&fake, general, id, "page 2 of 2").await;
    assert_eq!(list_lines(&second).len(), 5);
    assert_eq!(
        second["components"][0]["components"][1]["disabled"], true,
        "no page after"
    );
    let previous = button_ids(&second)[0].clone();
    assert_eq!(
        turn_page(&fake, &second, &previous).await,
        "**Open tickets:** 30 · page 1 of 2"
    );
    list_when(&fake, general, id, "page 1 of 2").await;

    // Filtered by claimer and status; the blocks have their own list.
    let by = [CommandOption::User("claimed-by".into(), SUPPORT_ID)];
    fake.send_message(claimed, SUPPORT_ID, "on it");
    entry_when(&bot, claimed, "the first staff response", |e| {
        e["staff_replied_at"].is_string()
    })
    .await;
    let mine = run(&fake, SUPPORT_ID, ticket_list::NAME, general, &by).await;
    assert_eq!(
        mine,
        format!("**Open tickets claimed by <@{SUPPORT_ID}>:** 1 · page 1 of 1")
    );
    let line = list_lines(&latest(&fake, general, &mine)).concat();
    assert!(line.starts_with(&format!("<#{claimed}> ")), "{line}");
    assert!(line.contains(" · first response "), "{line}");
    assert!(!line.contains("waiting"), "{line}");
    for (status, heading) in [
        ("unclaimed", "**Unclaimed tickets:** 29 · page 1 of 2"),
        ("closed", "**Closed tickets:** none"),
        ("blocked", "**Blocked members:** none"),
    ] {
        let option = [CommandOption::String("status".into(), status.into())];
        let listed = run(&fake, ADMIN_ID, ticket_list::NAME, general, &option).await;
        assert_eq!(listed, heading);
    }

    // With support hours, the response times count only those hours, and say so.
    let field = |n: &str, v: &str| CommandOption::String(n.into(), v.into());
    let every_day = [CommandOption::Subcommand(
        "set".into(),
        vec![
            field("timezone", "UTC"),
            field("days", "all"),
            field("from", "00:00"),
            field("to", "23:59"),
        ],
    )];
    let set = run(&fake, ADMIN_ID, ticket_hours::NAME, general, &every_day).await;
    assert!(set.starts_with("Support hours: "), "{set}");
    let heading = run(&fake, SUPPORT_ID, ticket_list::NAME, general, &[]).await;
    let lines = list_lines(&latest(&fake, general, &heading));
    assert_eq!(lines.len(), ticket_list::PAGE_SIZE);
    assert!(
        lines.iter().all(|l| l.ends_with(" (within support hours)")),
        "{lines:?}"
    );
    let claimed_line = lines
        .iter()
        .find(|l| l.starts_with(&format!("<#{claimed}> ")))
        .expect("the claimed ticket on the first page");
    assert!(
        claimed_line.contains(" · first response "),
        "{claimed_line}"
    );
    assert!(
        lines.iter().filter(|l| l.contains(" · waiting ")).count() == lines.len() - 1,
        "{lines:?}"
    );
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}

/// The latest message in `channel` whose content is `content` (a list's heading).
fn latest(fake: &FakeDiscord, channel: u64, content: &str) -> Value {
    fake.messages(channel)
        .into_iter()
        .rfind(|m| m["content"] == content)
        .expect("the list")
}

#[tokio::test]
async fn ticket_list_filters_by_topic_in_any_case_shows_it_and_keeps_the_filter_across_pages() {
    let fake = FakeDiscord::start(TOKEN).await;
    let crate::SetUp { category, nats, .. } = crate::set_up(&fake).await;
    let topic = |id: u32, name: &str| Topic {
        id,
        name: name.to_owned(),
        description: None,
        support_role_id: None,
        emoji: None,
        questions: Vec::new(),
    };
    let (billing, shipping) = (topic(1, "Billing"), topic(2, "Shipping"));
    crate::helpers::record_topics(&nats, vec![billing.clone(), shipping.clone()]).await;
    let general = fake.add_text_channel("general", None);
    let cases: Vec<(u64, u64)> = (0..30)
        .map(|n| {
            let channel = fake.add_text_channel(&format!("case-{n}"), Some(category));
            (channel, 500_000_000_000_000_000 + n)
        })
        .collect();
    let (billed, shipped) = cases.split_at(27);
    crate::helpers::register_topic_tickets(&nats, Some(&billing), billed.iter().copied()).await;
    crate::helpers::register_topic_tickets(&nats, Some(&shipping), shipped.iter().copied()).await;
    let guild = crate::fake_discord::GUILD_ID.to_string();
    let bot = crate::helpers::spawn_bot_with_vars(
        fake.clone(),
        nats,
        &[("DISCORD_GUILD_ID", guild.as_str())],
    )
    .await;
    let about = |name: &str| [CommandOption::String("topic".into(), name.into())];

    let heading = run(
        &fake,
        SUPPORT_ID,
        ticket_list::NAME,
        general,
        &about("billing"),
    )
    .await;
    assert_eq!(heading, "**Open tickets about Billing:** 27 · page 1 of 2");
    let list = fake
        .messages(general)
        .into_iter()
        .rfind(|m| m["content"] == heading.as_str())
        .expect("the list");
    let lines = list_lines(&list);
    assert_eq!(lines.len(), ticket_list::PAGE_SIZE);
    assert!(
        lines.iter().all(|l| l.contains("> · Billing · normal · ")),
        "{lines:?}"
    );
    // The filter survives Next: the second page holds the other two Billing tickets only.
    let next = button_ids(&list)[1].clone();
    assert_eq!(
        turn_page(&fake, &list, &next).await,
        "**Open tickets about Billing:** 27 · page 2 of 2"
    );
    let second = list_when(&fake, general, id_of(&list), "page 2 of 2").await;
    let lines = list_lines(&second);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines.iter().all(|l| l.contains(" · Billing · ")),
        "{lines:?}"
    );

    let shipping_list = run(
        &fake,
        ADMIN_ID,
        ticket_list::NAME,
        general,
        &about("SHIPPING"),
    )
    .await;
    assert_eq!(
        shipping_list,
        "**Open tickets about Shipping:** 3 · page 1 of 1"
    );
    assert_eq!(
        run(
            &fake,
            SUPPORT_ID,
            ticket_list::NAME,
            general,
            &about("refunds")
        )
        .await,
        "There is no topic named `refunds`."
    );
    assert_eq!(
        run(&fake, SUPPORT_ID, ticket_list::NAME, general, &[]).await,
        "**Open tickets:** 30 · page 1 of 2"
    );
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}

/// Sunday 2026-12-13 23:30 UTC: Monday 08:30 in Tokyo, half an hour before opening there.
const SUNDAY_NIGHT_UTC: i64 = 1_797_204_600;
/// Monday 2026-12-14 00:00 UTC: 09:00 in Tokyo.
const MONDAY_TOKYO_OPENING: i64 = 1_797_206_400;

#[tokio::test]
async fn outside_the_support_hours_the_welcome_says_when_staff_are_back_across_the_utc_day() {
    let fake = FakeDiscord::start(TOKEN).await;
    let guild = crate::fake_discord::GUILD_ID.to_string();
    let vars = [("DISCORD_GUILD_ID", guild.as_str())];
    let mut bot = crate::helpers::spawn_bot_with_settings(
        fake.clone(),
        crate::helpers::nats(),
        &vars,
        |settings| settings.lifecycle.clock = bot::Clock::starting_at(SUNDAY_NIGHT_UTC),
    )
    .await;
    bot.start_worker(echo()).await;
    set_up(&fake).await;
    let general = fake.add_text_channel("general", None);
    let hours = |options: Vec<CommandOption>| {
        let fake = fake.clone();
        async move { run(&fake, ADMIN_ID, ticket_hours::NAME, general, &options).await }
    };
    let set = |tz: &str| {
        let field = |n: &str, v: &str| CommandOption::String(n.into(), v.into());
        vec![CommandOption::Subcommand(
            "set".into(),
            vec![
                field("timezone", tz),
                field("days", "mon-fri"),
                field("from", "09:00"),
                field("to", "17:00"),
            ],
        )]
    };
    let refused = hours(set("Tokyo")).await;
    assert!(refused.contains("is not a time zone name"), "{refused}");
    assert_eq!(
        hours(set("Asia/Tokyo")).await,
        "Support hours: mon, tue, wed, thu, fri 09:00–17:00 (Asia/Tokyo)."
    );
    assert!(
        fake.run_command_with(persona(SUPPORT_ID), ticket_hours::NAME, general, &[])
            .is_err(),
        "administrators only: hidden from others"
    );

    // Sunday night in UTC is Monday morning in Tokyo, before the hours: back at 00:00 UTC.
    let ticket = open_ticket(&fake, MEMBER_A_ID).await;
    let welcome = fake.messages(ticket)[0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        welcome.ends_with(&ticket_hours::staff_away_notice(MONDAY_TOKYO_OPENING)),
        "{welcome}"
    );
    // The assistant keeps answering.
    let question = fake.send_message(ticket, MEMBER_A_ID, "hello?");
    answer_to(&fake, ticket, question).await;

    // Without hours, no notice.
    assert_eq!(
        hours(vec![CommandOption::Subcommand("off".into(), vec![])]).await,
        ticket_hours::OFF
    );
    let other = open_ticket(&fake, MEMBER_B_ID).await;
    let welcome = fake.messages(other)[0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!welcome.contains("support team is away"), "{welcome}");
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.unwrap();
}

/// The message among `messages` carrying the rating prompt.
fn prompt_in(messages: Vec<Value>) -> Option<Value> {
    messages.into_iter().find(|m| {
        m["content"]
            .as_str()
            .is_some_and(|c| c.ends_with(ticket_rating::PROMPT))
    })
}

fn star(message: &Value, stars: u8) -> String {
    button_ids(message)
        .into_iter()
        .find(|id| id.ends_with(&format!(":{stars}")))
        .expect("a star button")
}

#[tokio::test]
async fn the_owner_rates_once_by_dm_with_a_comment_and_in_the_ticket_when_dms_are_closed_and_stats_tell_it(
) {
    let fake = FakeDiscord::start(TOKEN).await;
    let bot = bot_with(&fake, &[("TICKET_CLOSE_DELAY_SECS", "60")]).await;
    set_up(&fake).await;
    let log = channel_named(&fake, "ticket-logs").unwrap();
    let ticket = open_ticket(&fake, MEMBER_A_ID).await;
    let closed = run(&fake, MEMBER_A_ID, close_ticket::NAME, ticket, &[]).await;
    assert!(closed.starts_with("Ticket closed"), "{closed}");

    // By DM, beside the transcript; the first press counts, a late one is thanked.
    let prompt = eventually("the rating prompt by DM", Duration::from_secs(15), || {
        let found = prompt_in(fake.dm_messages(MEMBER_A_ID));
        async move { found }
    })
    .await;
    assert_eq!(
        button_ids(&prompt)
            .iter()
            .filter(|id| id.starts_with(ticket_rating::STAR_PREFIX))
            .count(),
        5,
        "on the transcript's DM"
    );
    let pressed = fake
        .press_button(persona(MEMBER_A_ID), id_of(&prompt), &star(&prompt, 4))
        .unwrap();
    assert_eq!(fake.wait_for_answer(pressed).await, ticket_rating::THANKS);
    assert_eq!(
        press(&fake, MEMBER_A_ID, &prompt, &star(&prompt, 1)).await,
        ticket_rating::ALREADY_RATED
    );
    let entry = entry_when(&bot, ticket, "the rating stored", |e| {
        e["rating"]["log_message_id"].is_string()
    })
    .await;
    assert_eq!(entry["rating"]["stars"], 4);
    let summary = transcripts(&fake, log)[0].clone();
    let line = fake
        .messages(log)
        .into_iter()
        .find(|m| {
            m["content"]
                .as_str()
                .is_some_and(|c| c.starts_with("**Rating**"))
        })
        .expect("the rating in ticket-logs");
    assert_eq!(
        line["content"],
        format!("**Rating** from <@{MEMBER_A_ID}>: ★★★★☆ 4/5")
    );
    assert_eq!(
        line["message_reference"]["message_id"], summary["id"],
        "under the summary"
    );

    // The comment, in a form, once.
    let thanks = fake
        .messages(
            fake.dm_messages(MEMBER_A_ID)[0]["channel_id"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        )
        .into_iter()
        .find(|m| m["content"] == ticket_rating::THANKS)
        .expect("the thanks");
    let comment_button = button_ids(&thanks)[0].clone();
    let opened = fake
        .press_button(persona(MEMBER_A_ID), id_of(&thanks), &comment_button)
        .unwrap();
    fake.wait_for_modal(opened).await;
    let submitted = fake
        .submit_modal(
            persona(MEMBER_A_ID),
            opened,
            &[(ticket_rating::COMMENT_FIELD, "quick and kind")],
        )
        .unwrap();
    assert_eq!(
        fake.wait_for_answer(submitted).await,
        ticket_rating::THANKS_COMMENT
    );
    eventually(
        "the comment under the rating",
        Duration::from_secs(10),
        || {
            let edited = fake.messages(log).into_iter().any(|m| {
                m["id"] == line["id"]
                    && m["content"]
                        .as_str()
                        .is_some_and(|c| c.ends_with("\n> quick and kind"))
            });
            async move { edited.then_some(()) }
        },
    )
    .await;
    assert_eq!(
        press(&fake, MEMBER_A_ID, &thanks, &comment_button).await,
        ticket_rating::ALREADY_RATED
    );

    // DMs closed: the prompt is in the ticket during the close delay; only the owner rates.
    fake.close_dms(MEMBER_B_ID);
    let other = open_ticket(&fake, MEMBER_B_ID).await;
    run(&fake, SUPPORT_ID, ticket_claim::CLAIM_NAME, other, &[]).await;
    fake.send_message(other, SUPPORT_ID, "let me check");
    entry_when(&bot, other, "the staff reply", |e| {
        e["staff_replied_by"] == SUPPORT_ID.to_string().as_str()
    })
    .await;
    run(&fake, SUPPORT_ID, close_ticket::NAME, other, &[]).await;
    let prompt = eventually(
        "the rating prompt in the ticket",
        Duration::from_secs(15),
        || {
            let found = prompt_in(fake.messages(other));
            async move { found }
        },
    )
    .await;
    assert_eq!(
        press(&fake, SUPPORT_ID, &prompt, &star(&prompt, 5)).await,
        ticket_rating::NOT_OWNER
    );
    let pressed = fake
        .press_button(persona(MEMBER_B_ID), id_of(&prompt), &star(&prompt, 2))
        .unwrap();
    assert_eq!(fake.wait_for_answer(pressed).await, ticket_rating::THANKS);
    let entry = entry_when(&bot, other, "the second rating", |e| {
        e["rating"]["stars"] == 2
    })
    .await;
    assert!(entry["rating"]["comment"].is_null(), "{entry}");

    // `/ticket-stats` tells the staff's side of this history, from the stored entries.
    let report = run(&fake, ADMIN_ID, bot::ticket_stats::NAME, log, &[]).await;
    let line = |start: &str| {
        report
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("{start} in\n{report}"))
            .to_owned()
    };
    assert_eq!(
        line("**Average rating:**"),
        "**Average rating:** 3.0 (2 ratings)"
    );
    let response = line("**Median first staff response:**");
    assert!(!response.contains('–'), "{response}");
    let sam = line(&format!("<@{SUPPORT_ID}>:"));
    assert!(
        sam.starts_with(&format!(
            "<@{SUPPORT_ID}>: claimed 1 · closed 1 · median first response "
        )),
        "{sam}"
    );
    assert!(sam.ends_with(" · rating 2.0 (1 rating)"), "{sam}");
    assert!(
        !report.contains(&format!("<@{MEMBER_A_ID}>:")),
        "an owner's own close is no staff figure"
    );
    bot.shutdown().await.unwrap();
}
