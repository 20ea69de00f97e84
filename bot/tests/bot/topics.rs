//! Ticket topics end to end against the sandbox and a real nats-server: the panel's buttons (a
//! select menu past five topics), a topic without questions opening its ticket at once and one
//! with questions through its form, the channel's overwrites (the topic's Support role too), the
//! welcome with the topic and the answers, the answers reaching the model (a fake
//! OpenAI-compatible server records the prompt), one ticket for two quick presses,
//! `/create-ticket topic:`, `/ticket-topic` (posted panels follow its changes), and a guild without
//! topics as before.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{extract::State, routing::post, Json, Router};
use bot::{
    create_ticket::{self, FORM_PREFIX, TOPIC_BUTTON_PREFIX, TOPIC_MENU},
    registry::{QuestionStyle, Topic, TopicQuestion},
    ticket_panel as panel, ticket_topic as topics,
};
use common::test_util::eventually;
use relay_worker::answer::INTAKE_HEADING;
use sandbox::{fixtures::CommandOption, ADMIN_ID, MEMBER_A_ID, MEMBER_B_ID, SUPPORT_ID};
use serde_json::{json, Value};

use crate::{
    answers::{button_ids, id_of, persona, stored, ticket_entry_when},
    channel_creates, content,
    fake_discord::{FakeDiscord, BOT_ID, GUILD_ID},
    helpers::{
        echo, overwrites, record_topics, spawn_bot_with_vars, start_llm_worker, TestBot, TOKEN,
    },
    set_up, wait_for_posts, SetUp, MANAGE_CHANNELS, MEMBER, ROLE, USER, VIEW,
};

fn topic(id: u32, name: &str, role: Option<u64>, questions: &[(&str, bool)]) -> Topic {
    Topic {
        id,
        name: name.to_owned(),
        description: Some(format!("Questions about {name}")),
        support_role_id: role.map(serenity::all::RoleId::new),
        emoji: None,
        questions: questions
            .iter()
            .map(|(label, paragraph)| TopicQuestion {
                label: (*label).to_owned(),
                style: if *paragraph {
                    QuestionStyle::Paragraph
                } else {
                    QuestionStyle::Short
                },
                required: !paragraph,
            })
            .collect(),
    }
}

/// A set-up guild with `topics`, a public `#support` channel, and the bot (commands in the
/// guild); returns the sandbox, the bot, the channel and the Support role.
async fn start(topics: Vec<Topic>) -> (FakeDiscord, TestBot, u64, u64) {
    let fake = FakeDiscord::start(TOKEN).await;
    let SetUp { support, nats, .. } = set_up(&fake).await;
    if !topics.is_empty() {
        record_topics(&nats, topics).await;
    }
    let support_channel = fake.add_text_channel("support", None);
    let guild = GUILD_ID.to_string();
    let bot = spawn_bot_with_vars(fake.clone(), nats, &[("DISCORD_GUILD_ID", &guild)]).await;
    (fake, bot, support_channel, support)
}

/// Posts the panel in `channel` as the administrator; returns the panel message.
async fn post_panel(fake: &FakeDiscord, channel: u64) -> Value {
    let interaction = fake
        .run_command_with(persona(ADMIN_ID), panel::NAME, channel, &[])
        .expect("/ticket-panel");
    let answer = fake.wait_for_answer(interaction).await;
    assert!(answer.starts_with("Panel posted"), "{answer}");
    fake.messages(channel).pop().expect("the panel")
}

/// The ID of the ticket channel of `user`, once made.
fn ticket_of(fake: &FakeDiscord, user: u64) -> u64 {
    fake.channels()
        .iter()
        .find(|c| c["name"] == format!("ticket-{user}"))
        .and_then(|c| c["id"].as_str()?.parse().ok())
        .expect("the ticket channel")
}

#[tokio::test]
async fn a_topic_without_questions_opens_at_once_with_its_role_its_name_and_its_record() {
    let fake = FakeDiscord::start(TOKEN).await;
    let billing_team_role = fake.add_role("Billing team");
    let SetUp { support, nats, .. } = set_up(&fake).await;
    record_topics(
        &nats,
        vec![
            topic(1, "Billing", Some(billing_team_role), &[]),
            topic(2, "Shipping", None, &[]),
        ],
    )
    .await;
    let channel = fake.add_text_channel("support", None);
    let guild = GUILD_ID.to_string();
    let bot = spawn_bot_with_vars(fake.clone(), nats, &[("DISCORD_GUILD_ID", &guild)]).await;

    let panel = post_panel(&fake, channel).await;
    assert_eq!(
        button_ids(&panel),
        [
            format!("{TOPIC_BUTTON_PREFIX}1"),
            format!("{TOPIC_BUTTON_PREFIX}2")
        ]
    );
    let labels: Vec<&str> = panel["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Billing", "Shipping"]);

    let press = fake
        .press_button(
            persona(MEMBER_A_ID),
            id_of(&panel),
            &format!("{TOPIC_BUTTON_PREFIX}1"),
        )
        .unwrap();
    let answer = fake.wait_for_answer(press).await;
    let ticket = ticket_of(&fake, MEMBER_A_ID);
    assert_eq!(answer, format!("Your ticket is ready: <#{ticket}>"));

    let creates = channel_creates(&fake);
    assert_eq!(creates.len(), 1);
    let body = &creates[0].body;
    let mut expected = vec![
        (GUILD_ID, ROLE, 0, VIEW),
        (MEMBER_A_ID, USER, MEMBER, 0),
        (support, ROLE, MEMBER, 0),
        (billing_team_role, ROLE, MEMBER, 0),
        (BOT_ID, USER, MEMBER | MANAGE_CHANNELS, 0),
    ];
    expected.sort_unstable();
    assert_eq!(overwrites(body), expected, "the topic's role sees it too");
    assert!(
        body["topic"].as_str().unwrap().ends_with("· Billing"),
        "{body}"
    );
    let welcome = wait_for_posts(&fake, ticket, 1).await;
    assert!(
        content(&welcome[0]).contains("**Topic:** Billing"),
        "{}",
        welcome[0].body
    );
    assert!(
        welcome[0].body["embeds"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "no form: no answers"
    );
    let entry = stored(&bot, "tickets", ticket).await.expect("the entry");
    assert_eq!(entry["topic"], "Billing");
    assert_eq!(entry["form"], json!([]));
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

/// A fake OpenAI-compatible server: records each chat request's messages and answers "ok".
async fn fake_model() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let app = Router::new()
        .route(
            "/v1/chat/completions",
            post(
                |State(seen): State<Arc<Mutex<Vec<Value>>>>, Json(body): Json<Value>| async move {
                    seen.lock().unwrap().push(body["messages"].clone());
                    Json(json!({"choices": [{"message": {"role": "assistant", "content": "ok"}}]}))
                },
            ),
        )
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn a_topic_with_questions_opens_its_form_and_the_answers_reach_the_welcome_and_the_model() {
    let (fake, mut bot, channel, _) = start(vec![topic(
        4,
        "Billing",
        None,
        &[("Order number", false), ("What happened?", true)],
    )])
    .await;
    let (model_url, prompts) = fake_model().await;
    start_llm_worker(&mut bot, &model_url, true).await;

    let panel = post_panel(&fake, channel).await;
    let press = fake
        .press_button(
            persona(MEMBER_A_ID),
            id_of(&panel),
            &format!("{TOPIC_BUTTON_PREFIX}4"),
        )
        .unwrap();
    let form = fake.wait_for_modal(press).await;
    assert_eq!(form.custom_id, format!("{FORM_PREFIX}4"));
    assert_eq!(form.title, "Billing");
    assert!(
        channel_creates(&fake).is_empty(),
        "no ticket before the form is sent"
    );

    let submitted = fake
        .submit_modal(
            persona(MEMBER_A_ID),
            press,
            &[("q0", "A-1042"), ("q1", "I was charged twice")],
        )
        .unwrap();
    let answer = fake.wait_for_answer(submitted).await;
    let ticket = ticket_of(&fake, MEMBER_A_ID);
    assert_eq!(answer, format!("Your ticket is ready: <#{ticket}>"));

    let welcome = &wait_for_posts(&fake, ticket, 1).await[0];
    assert!(content(welcome).contains("**Topic:** Billing"));
    let fields = &welcome.body["embeds"][0]["fields"];
    assert_eq!(fields[0]["name"], "Order number");
    assert_eq!(fields[0]["value"], "A-1042");
    assert_eq!(fields[1]["name"], "What happened?");
    assert_eq!(fields[1]["value"], "I was charged twice");
    let entry = stored(&bot, "tickets", ticket).await.expect("the entry");
    assert_eq!(entry["topic"], "Billing");
    assert_eq!(
        entry["form"],
        json!([
            {"question": "Order number", "answer": "A-1042"},
            {"question": "What happened?", "answer": "I was charged twice"},
        ])
    );

    fake.send_message(ticket, MEMBER_A_ID, "Where is my refund?");
    let prompt = eventually(
        "the model asked about the ticket",
        Duration::from_secs(10),
        || {
            let found = prompts
                .lock()
                .unwrap()
                .iter()
                .find(|m| m.to_string().contains("Where is my refund?"))
                .cloned();
            async move { found }
        },
    )
    .await;
    assert_eq!(prompt[1]["role"], "user");
    assert_eq!(
        prompt[1]["content"],
        format!(
            "{INTAKE_HEADING}\nTopic: Billing\nOrder number: A-1042\nWhat happened?: I was \
             charged twice"
        )
    );
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn two_quick_presses_of_a_topic_make_one_ticket() {
    let (fake, bot, channel, _) = start(vec![topic(1, "Shipping", None, &[])]).await;
    let panel = post_panel(&fake, channel).await;
    let button = format!("{TOPIC_BUTTON_PREFIX}1");

    let first = fake
        .press_button(persona(MEMBER_A_ID), id_of(&panel), &button)
        .unwrap();
    let second = fake
        .press_button(persona(MEMBER_A_ID), id_of(&panel), &button)
        .unwrap();
    let mut answers = vec![
        fake.wait_for_answer(first).await,
        fake.wait_for_answer(second).await,
    ];
    answers.sort();

    assert_eq!(channel_creates(&fake).len(), 1);
    let ticket = ticket_of(&fake, MEMBER_A_ID);
    assert_eq!(
        answers,
        [
            format!("You already have a ticket: <#{ticket}>"),
            format!("Your ticket is ready: <#{ticket}>"),
        ]
    );
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn past_five_topics_the_panel_is_a_select_menu_that_opens_the_chosen_topic() {
    let topics: Vec<Topic> = (1..=6)
        .map(|id| topic(id, &format!("Topic {id}"), None, &[]))
        .collect();
    let (fake, bot, channel, _) = start(topics).await;
    let panel = post_panel(&fake, channel).await;
    let menu = &panel["components"][0]["components"][0];
    assert_eq!(menu["custom_id"], TOPIC_MENU);
    assert_eq!(menu["type"], 3, "a string select menu");
    let values: Vec<&str> = menu["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["1", "2", "3", "4", "5", "6"]);

    let chose = fake
        .choose(persona(MEMBER_B_ID), id_of(&panel), TOPIC_MENU, &["6"])
        .unwrap();
    let answer = fake.wait_for_answer(chose).await;
    let ticket = ticket_of(&fake, MEMBER_B_ID);
    assert_eq!(answer, format!("Your ticket is ready: <#{ticket}>"));
    let entry = stored(&bot, "tickets", ticket).await.expect("the entry");
    assert_eq!(entry["topic"], "Topic 6");
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

/// Runs `/ticket-topic <sub> name:<name>` as the administrator; returns the answer.
async fn change_topic(fake: &FakeDiscord, channel: u64, sub: &str, name: &str) -> String {
    let interaction = fake
        .run_command_with(
            persona(ADMIN_ID),
            topics::NAME,
            channel,
            &[CommandOption::Subcommand(
                sub.into(),
                vec![CommandOption::String("name".into(), name.into())],
            )],
        )
        .expect("/ticket-topic");
    fake.wait_for_answer(interaction).await
}

#[tokio::test]
async fn posted_panels_follow_the_topics_as_they_are_added_and_removed() {
    let (fake, bot, channel, _) = start(vec![topic(1, "Billing", None, &[])]).await;
    let panel = post_panel(&fake, channel).await;
    // A second panel whose channel staff deleted since: skipped, and said nowhere.
    let elsewhere = fake.add_text_channel("help", None);
    post_panel(&fake, elsewhere).await;
    assert!(fake.delete_channel(elsewhere));
    let now = || {
        fake.messages(channel)
            .into_iter()
            .find(|m| id_of(m) == id_of(&panel))
            .expect("the panel is still there")
    };
    let button = |id: u32| format!("{TOPIC_BUTTON_PREFIX}{id}");
    assert_eq!(button_ids(&panel), [button(1)]);

    assert_eq!(
        change_topic(&fake, channel, "add", "Shipping").await,
        "Topic `Shipping` added. Give it intake questions with `/ticket-topic questions`. The \
         posted panel shows the change."
    );
    assert_eq!(button_ids(&now()), [button(1), button(2)]);
    assert_eq!(
        change_topic(&fake, channel, "remove", "billing").await,
        "Topic `Billing` removed; its open tickets stay as they are. The posted panel shows the \
         change."
    );
    assert_eq!(button_ids(&now()), [button(2)]);
    change_topic(&fake, channel, "remove", "Shipping").await;
    assert_eq!(button_ids(&now()), [panel::OPEN_BUTTON]);
    assert_eq!(
        now()["content"],
        panel["content"],
        "only the buttons change"
    );
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn without_topics_the_panel_and_the_relay_are_as_before() {
    let (fake, mut bot, channel, _) = start(Vec::new()).await;
    let responder = echo();
    let seen = Arc::clone(&responder.seen);
    bot.start_worker(responder).await;
    let panel = post_panel(&fake, channel).await;
    assert_eq!(button_ids(&panel), [panel::OPEN_BUTTON]);

    let press = fake
        .press_button(persona(MEMBER_A_ID), id_of(&panel), panel::OPEN_BUTTON)
        .unwrap();
    fake.wait_for_answer(press).await;
    let ticket = ticket_of(&fake, MEMBER_A_ID);
    let welcome = &wait_for_posts(&fake, ticket, 1).await[0];
    assert!(!content(welcome).contains("Topic"));
    let entry = stored(&bot, "tickets", ticket).await.expect("the entry");
    assert_eq!(entry["topic"], Value::Null);

    fake.send_message(ticket, MEMBER_A_ID, "hello?");
    let request = eventually("the relay request", Duration::from_secs(10), || {
        let first = seen.lock().unwrap().first().map(|s| s.request.clone());
        async move { first }
    })
    .await;
    assert_eq!(request.ticket, None);
    assert!(!String::from_utf8(request.to_json())
        .unwrap()
        .contains("ticket\""));
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn ticket_topic_adds_lists_and_sets_questions_and_create_ticket_opens_the_form() {
    let (fake, bot, channel, _) = start(Vec::new()).await;
    let admin = persona(ADMIN_ID);
    let add = fake
        .run_command_with(
            admin,
            topics::NAME,
            channel,
            &[CommandOption::Subcommand(
                "add".into(),
                vec![
                    CommandOption::String("name".into(), "Billing".into()),
                    CommandOption::Role("support-role".into(), SUPPORT_ID),
                ],
            )],
        )
        .unwrap();
    assert!(fake
        .wait_for_answer(add)
        .await
        .starts_with("Topic `Billing` added"));
    let again = fake
        .run_command_with(
            admin,
            topics::NAME,
            channel,
            &[CommandOption::Subcommand(
                "add".into(),
                vec![CommandOption::String("name".into(), "billing".into())],
            )],
        )
        .unwrap();
    assert_eq!(
        fake.wait_for_answer(again).await,
        "There is already a topic named `billing`."
    );
    let member_runs = fake.run_command_with(
        persona(MEMBER_A_ID),
        topics::NAME,
        channel,
        &[CommandOption::Subcommand("list".into(), vec![])],
    );
    assert!(
        member_runs.is_err(),
        "administrators only: members do not see it"
    );

    let questions = fake
        .run_command_with(
            admin,
            topics::NAME,
            channel,
            &[CommandOption::Subcommand(
                "questions".into(),
                vec![CommandOption::String("name".into(), "Billing".into())],
            )],
        )
        .unwrap();
    let form = fake.wait_for_modal(questions).await;
    assert_eq!(form.components.len(), 5);
    let set = fake
        .submit_modal(
            admin,
            questions,
            &[
                ("q0", "Order number | short | required"),
                ("q1", "Details | paragraph | optional"),
            ],
        )
        .unwrap();
    assert!(fake
        .wait_for_answer(set)
        .await
        .contains("now asks 2 question(s)"));
    let list = fake
        .run_command_with(
            admin,
            topics::NAME,
            channel,
            &[CommandOption::Subcommand("list".into(), vec![])],
        )
        .unwrap();
    assert_eq!(
        fake.wait_for_answer(list).await,
        format!("**Ticket topics**\n- Billing (handled by <@&{SUPPORT_ID}> too): 2 questions")
    );

    let create = fake
        .run_command_with(
            persona(MEMBER_A_ID),
            create_ticket::NAME,
            channel,
            &[CommandOption::String("topic".into(), "billing".into())],
        )
        .unwrap();
    let form = fake.wait_for_modal(create).await;
    assert_eq!(form.components.len(), 2);
    let sent = fake
        .submit_modal(persona(MEMBER_A_ID), create, &[("q0", "A-7")])
        .unwrap();
    let answer = fake.wait_for_answer(sent).await;
    let ticket = ticket_of(&fake, MEMBER_A_ID);
    assert_eq!(answer, format!("Your ticket is ready: <#{ticket}>"));
    let entry = ticket_entry_when(&bot, ticket, "the ticket's answers", |e| {
        e["form"].as_array().is_some_and(|f| f.len() == 1)
    })
    .await;
    assert_eq!(entry["form"][0]["answer"], "A-7");
    bot.assert_no_errors_or_warnings();
    bot.shutdown().await.expect("clean shutdown");
}

/// The time from a panel press to the ticket's welcome (as the sandbox receives its POST),
/// with Discord's rate limits on: a topic without questions (one interaction), and one with a
/// form (the press until the form is shown, then its submission until the welcome; the
/// member's typing in between is theirs). Median and worst of `ROUNDS`, each on a new ticket
/// (the previous one's channel deleted).
///
/// `cargo nextest run -p bot --run-ignored ignored-only --no-capture -E 'test(/topic_panel_figure/)'`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: run it explicitly"]
async fn topic_panel_figure() {
    use sandbox::{RateLimits, SandboxOptions};
    use std::time::Instant;

    const ROUNDS: usize = 15;
    let fake =
        FakeDiscord::start(SandboxOptions::new(TOKEN).rate_limits(RateLimits::default())).await;
    let SetUp { nats, .. } = set_up(&fake).await;
    record_topics(
        &nats,
        vec![
            topic(1, "Shipping", None, &[]),
            topic(
                2,
                "Billing",
                None,
                &[("Order number", false), ("Details", true)],
            ),
        ],
    )
    .await;
    let channel = fake.add_text_channel("support", None);
    let guild = GUILD_ID.to_string();
    let bot = spawn_bot_with_vars(fake.clone(), nats, &[("DISCORD_GUILD_ID", &guild)]).await;
    let panel = post_panel(&fake, channel).await;
    let member = persona(MEMBER_A_ID);

    let welcome_of = |fake: &FakeDiscord, ticket: u64| {
        fake.calls(
            axum::http::Method::POST,
            &format!("/channels/{ticket}/messages"),
        )
        .first()
        .map(|c| c.at)
    };
    let (mut direct, mut shown, mut submitted) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS * 2 {
        let with_form = round % 2 == 1;
        let button = format!("{TOPIC_BUTTON_PREFIX}{}", if with_form { 2 } else { 1 });
        let pressed = Instant::now();
        let press = fake.press_button(member, id_of(&panel), &button).unwrap();
        let answered = if with_form {
            fake.wait_for_modal(press).await;
            shown.push(pressed.elapsed());
            let sent = Instant::now();
            let submit = fake
                .submit_modal(member, press, &[("q0", "A-1042"), ("q1", "charged twice")])
                .unwrap();
            fake.wait_for_answer(submit).await;
            sent
        } else {
            fake.wait_for_answer(press).await;
            pressed
        };
        let ticket = ticket_of(&fake, MEMBER_A_ID);
        wait_for_posts(&fake, ticket, 1).await;
        let at = welcome_of(&fake, ticket).expect("the welcome");
        let took = at.duration_since(answered);
        if with_form {
            submitted.push(took);
        } else {
            direct.push(took);
        }
        assert!(fake.delete_channel(ticket));
        eventually("the ticket forgotten", Duration::from_secs(10), || {
            let bot = &bot;
            async move {
                stored(bot, "tickets", ticket)
                    .await
                    .filter(|e| e["status"] != "open")
            }
        })
        .await;
    }
    let report = |name: &str, mut times: Vec<Duration>| {
        times.sort();
        println!(
            "{name}: median {:?}, worst {:?} ({} rounds)",
            times[times.len() / 2],
            times[times.len() - 1],
            times.len()
        );
    };
    report("no form: press -> welcome", direct);
    report("form: press -> form shown", shown);
    report("form: submit -> welcome", submitted);
    bot.shutdown().await.expect("clean shutdown");
}
