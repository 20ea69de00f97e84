//! The page in a real headless Chromium (Debian's `chromium` and `chromium-driver`, driven over
//! WebDriver by fantoccini). The newcomer's flow against the real bot, a real nats-server and a
//! relay worker: the administrator runs /setup; member A runs /create-ticket, writes "hello" in
//! the ticket and sees the answer; member B does not see the ticket. And select menus and forms
//! against a small scripted bot (the test reads the gateway and answers over REST itself): in
//! the second of two guilds, member A sees her thread under its channel, chooses in the bot's
//! select menu, fills in the form the bot opens and sees its answer. Screenshots of each step
//! go to `target/sandbox-screenshots/`. And ticket topics against the real bot: the
//! administrator posts a topic panel, member A presses a topic, fills in its form on the page
//! and her ticket opens with the topic and her answer.

use std::{path::PathBuf, process::Stdio, time::Duration};

use fantoccini::{elements::Element, wd::Capabilities, Client, ClientBuilder, Locator};
use relay_worker::Placeholder;
use sandbox::{guild_id, RateLimits, Sandbox, SandboxOptions, BOT_ID, MEMBER_A_ID};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use crate::helpers::{spawn_stack, Client as Api, Gateway, TOKEN};

/// How long the page may take to show what the test waits for (the bot answers in well under
/// a second; this only bounds a failure).
const PATIENCE: Duration = Duration::from_secs(30);
/// What chromedriver prints once it listens.
const DRIVER_READY: &str = "ChromeDriver was started successfully";

/// chromedriver on a free port, killed on drop.
struct Driver {
    url: String,
    _child: Child,
}

async fn start_driver() -> Driver {
    let driver = which("chromedriver")
        .expect("chromedriver is missing: apt-get install chromium chromium-driver (.ci/run does)");
    let mut child = Command::new(driver)
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    // "ChromeDriver was started successfully on port 40123."
    let port = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await.expect("chromedriver's output") {
            if let Some(rest) = line.split(DRIVER_READY).nth(1) {
                let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
                return digits.parse::<u16>().expect("a port");
            }
        }
        panic!("chromedriver exited before it listened");
    })
    .await
    .expect("chromedriver listens");
    // Keep reading so that chromedriver never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Driver {
        url: format!("http://127.0.0.1:{port}"),
        _child: child,
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .chain(["/usr/bin", "/usr/lib/chromium"])
        .map(|dir| PathBuf::from(dir).join(program))
        .find(|path| path.is_file())
}

/// Headless Chromium with the flags this network needs (no connection attempts outside), in
/// a fresh profile.
async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let chromium = which("chromium").expect("chromium is missing: apt-get install chromium");
    let mut capabilities = Capabilities::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,800",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let dir = target.join("sandbox-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot folder");
    dir
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(screenshots_dir().join(name), png).expect("the screenshot saved");
}

async fn wait_for(client: &Client, css: &str) -> Element {
    client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|err| panic!("the page never showed {css}: {err}"))
}

/// Waits for `css`, then clicks it (`what` names it if it fails), again if the page re-rendered
/// it between the two (every change the page hears of redraws what it shows).
async fn click(client: &Client, css: &str, what: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match wait_for(client, css).await.click().await {
            Ok(()) => return,
            Err(err)
                if err.is_stale_element_reference() && tokio::time::Instant::now() < deadline => {}
            Err(err) => panic!("cannot {what}: {err}"),
        }
    }
}

/// Runs the command `name` from the page with none of its optional options: the page asks for
/// them in a form first, and Run sends it as it is.
async fn run_command(client: &Client, name: &str) {
    click(
        client,
        &format!("button.command[data-command='{name}']"),
        &format!("click /{name}"),
    )
    .await;
    click(
        client,
        "#command-form button[value='run']",
        &format!("run /{name} from its form"),
    )
    .await;
}

/// Waits for a bot message containing `text`.
async fn wait_for_bot_message(client: &Client, text: &str) -> Element {
    let xpath = format!("//li[contains(@class, 'bot')][contains(., '{text}')]");
    client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|err| panic!("no bot message with {text:?}: {err}"))
}

async fn act_as(client: &Client, user: &str, name: &str) {
    let button = format!("#user-switch button[data-user='{user}']");
    click(client, &button, "switch user").await;
    let xpath = format!("//p[@id='my-roles'][contains(., 'You are {name}')]");
    client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::XPath(&xpath))
        .await
        .expect("the page shows the new user");
}

async fn banner_hidden(client: &Client) -> bool {
    let hidden = client
        .execute("return document.getElementById('banner').hidden;", vec![])
        .await
        .expect("a script runs");
    hidden == json!(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_sets_up_opens_a_ticket_and_gets_an_answer_that_member_b_cannot_see() {
    let stack = spawn_stack().await;
    let driver = start_driver().await;
    let profile = tempdir();
    let client = browser(&driver, &profile).await;
    let ticket_name = format!("ticket-{MEMBER_A_ID}");

    // The administrator runs /setup.
    client
        .goto(&format!("{}/?user=admin", stack.sandbox.url()))
        .await
        .expect("the page loads");
    wait_for(&client, "#bot-status.ok").await;
    run_command(&client, "setup").await;
    wait_for_bot_message(&client, "created the Tickets category").await;
    assert!(banner_hidden(&client).await, "no error shown");
    screenshot(&client, "1-admin-runs-setup.png").await;

    // Member A opens a ticket and writes in it.
    act_as(&client, "member-a", "alice").await;
    run_command(&client, "create-ticket").await;
    wait_for_bot_message(&client, "Your ticket is ready").await;
    let ticket = format!(".channel[data-name='{ticket_name}']");
    click(&client, &ticket, "open the ticket").await;
    wait_for(&client, "#channel-name")
        .await
        .text()
        .await
        .map(|name| assert_eq!(name, ticket_name))
        .expect("the ticket's name");
    wait_for_bot_message(&client, "Describe your problem here").await;
    let input = wait_for(&client, "#composer-input").await;
    input.send_keys("hello").await.expect("type");
    click(&client, "#composer-send", "send").await;
    wait_for(&client, "li.message:not(.bot)").await;
    wait_for_bot_message(&client, Placeholder::REPLY).await;
    assert!(banner_hidden(&client).await, "no error shown");
    screenshot(&client, "2-member-a-gets-an-answer.png").await;

    // She asks for a person: the bot calls the Support role, which the page names.
    click(
        &client,
        "button[data-custom-id='answer:human']",
        "press Talk to a human",
    )
    .await;
    wait_for_bot_message(&client, "@Support @alice asked to talk to a human").await;
    // Her own answer says what she pressed, by its label, as Discord does.
    let pressed =
        "//li[contains(@class, 'bot')]/div[@class='reply'][. = 'alice pressed “Talk to a human”']";
    client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::XPath(pressed))
        .await
        .expect("the answer names the button pressed");

    // Member B sees #general only; the Support member sees the ticket.
    act_as(&client, "member-b", "bob").await;
    wait_for(&client, ".channel[data-name='general']").await;
    let tickets = client
        .find_all(Locator::Css(&format!(
            ".channel[data-name='{ticket_name}']"
        )))
        .await
        .expect("a query");
    assert!(
        tickets.is_empty(),
        "member B must not see member A's ticket"
    );
    screenshot(&client, "3-member-b-sees-no-ticket.png").await;
    act_as(&client, "support", "sam").await;
    wait_for(&client, &format!(".channel[data-name='{ticket_name}']")).await;

    client.close().await.expect("the browser closes");
    stack.stop().await;
    let _ = std::fs::remove_dir_all(&profile);
}

/// Picks `value` in the dropdown `css`, again if the page re-rendered it meanwhile (every
/// change the page hears of redraws the messages).
async fn choose_in(client: &Client, css: &str, value: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let picked = match wait_for(client, css).await.select_by_value(value).await {
            Ok(()) => return,
            Err(err) => err,
        };
        assert!(
            tokio::time::Instant::now() < deadline,
            "cannot choose {value} in {css}: {picked}"
        );
    }
}

/// Answers interaction `data` (from INTERACTION_CREATE) as the bot would, with `callback`.
async fn answer(api: &Api, data: &Value, callback: Value) {
    let path = format!(
        "/interactions/{}/{}/callback",
        data["id"].as_str().unwrap(),
        data["token"].as_str().unwrap()
    );
    let answered = api.api("POST", &path, Some(callback)).await;
    assert_eq!(answered.status, 204, "{:?}", answered.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_chooses_in_a_select_menu_and_fills_in_the_form_the_bot_opens() {
    let options = SandboxOptions::new(TOKEN)
        .with_general_channel()
        .guilds(2)
        .rate_limits(RateLimits::unlimited());
    let sandbox = Sandbox::start(options).await;
    let second = guild_id(1);
    let general = sandbox.channels_in(second)[0]["id"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    let api = Api::new(&sandbox);
    let mut bot = Gateway::connect(&sandbox).await;
    let menu = json!({ "content": "What is your ticket about?", "components": [{ "type": 1, "components": [
        { "type": 3, "custom_id": "topic", "placeholder": "Choose a topic", "options": [
            { "label": "Bug", "value": "bug", "description": "Something is broken" },
            { "label": "Billing", "value": "billing" } ] } ] }] });
    let posted = api
        .api("POST", &format!("/channels/{general}/messages"), Some(menu))
        .await;
    assert_eq!(posted.status, 200);
    sandbox.add_thread(general, "ticket-alice", &[BOT_ID, MEMBER_A_ID]);
    let driver = start_driver().await;
    let profile = tempdir();
    let client = browser(&driver, &profile).await;

    // Member A goes to the second guild: her thread is listed under #general.
    client
        .goto(&format!("{}/?user=member-a", sandbox.url()))
        .await
        .expect("the page loads");
    wait_for(&client, "#bot-status.ok").await;
    choose_in(&client, "#guild-switch", &second.to_string()).await;
    wait_for(&client, "#guild-name").await;
    wait_for(&client, ".channel.thread[data-name='ticket-alice']").await;
    let address = client.current_url().await.expect("the address");
    assert!(
        address.as_str().contains(&format!("guild={second}")),
        "the address keeps the guild: {address}"
    );

    // She chooses a topic; the bot opens its form.
    choose_in(
        &client,
        "select.select-menu[data-custom-id='topic']",
        "billing",
    )
    .await;
    let choice = bot.next("INTERACTION_CREATE").await;
    assert_eq!(choice["data"]["values"], json!(["billing"]));
    assert_eq!(choice["guild_id"], second.to_string());
    let form = json!({ "custom_id": "ticket-form", "title": "Open a ticket", "components": [
        { "type": 1, "components": [{ "type": 4, "custom_id": "subject", "style": 1,
          "label": "Subject", "min_length": 3, "max_length": 40, "placeholder": "In a few words" }] },
        { "type": 1, "components": [{ "type": 4, "custom_id": "details", "style": 2,
          "label": "Details", "required": false }] } ] });
    answer(&api, &choice, json!({ "type": 9, "data": form })).await;
    wait_for(&client, "dialog#modal-form[open] input[name='subject']")
        .await
        .send_keys("invoice sent twice")
        .await
        .expect("type the subject");
    wait_for(&client, "dialog#modal-form textarea[name='details']")
        .await
        .send_keys("Once in May, once in June.")
        .await
        .expect("type the details");
    screenshot(&client, "4-member-a-fills-in-the-bots-form.png").await;
    click(
        &client,
        "dialog#modal-form button[type='submit']",
        "submit the form",
    )
    .await;

    // The bot gets the answers and replies.
    let submitted = bot.next("INTERACTION_CREATE").await;
    assert_eq!(submitted["type"], 5);
    assert_eq!(submitted["data"]["custom_id"], "ticket-form");
    let values: Vec<&Value> = submitted["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row["components"][0]["value"])
        .collect();
    assert_eq!(
        values,
        [
            &json!("invoice sent twice"),
            &json!("Once in May, once in June.")
        ]
    );
    let reply = json!({ "type": 4, "data": { "content": "Ticket opened: invoice sent twice" } });
    answer(&api, &submitted, reply).await;
    wait_for_bot_message(&client, "Ticket opened: invoice sent twice").await;
    let dialogs = client
        .find_all(Locator::Css("dialog#modal-form"))
        .await
        .expect("a query");
    assert!(dialogs.is_empty(), "the form closed");
    assert!(banner_hidden(&client).await, "no error shown");
    screenshot(&client, "5-member-a-sees-the-bots-answer.png").await;

    client.close().await.expect("the browser closes");
    let _ = std::fs::remove_dir_all(&profile);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_presses_a_topic_of_the_panel_fills_in_its_form_and_her_ticket_opens() {
    use bot::registry::{QuestionStyle, Topic, TopicQuestion};

    let stack = spawn_stack().await;
    let driver = start_driver().await;
    let profile = tempdir();
    let client = browser(&driver, &profile).await;

    client
        .goto(&format!("{}/?user=admin", stack.sandbox.url()))
        .await
        .expect("the page loads");
    wait_for(&client, "#bot-status.ok").await;
    run_command(&client, "setup").await;
    wait_for_bot_message(&client, "created the Tickets category").await;
    // What `/ticket-topic add` and `questions` would have stored.
    let question = |label: &str, style| TopicQuestion {
        label: label.to_owned(),
        style,
        required: style == QuestionStyle::Short,
    };
    let billing = Topic {
        id: 1,
        name: "Billing".to_owned(),
        description: None,
        support_role_id: None,
        emoji: None,
        questions: vec![
            question("Order number", QuestionStyle::Short),
            question("What happened?", QuestionStyle::Paragraph),
        ],
    };
    bot::test_util::record_topics(stack.nats(), vec![billing]).await;
    click(
        &client,
        "button.command[data-command='ticket-panel']",
        "click /ticket-panel",
    )
    .await;
    wait_for_bot_message(&client, "Panel posted").await;

    // Member A presses Billing and fills in its form on the page.
    act_as(&client, "member-a", "alice").await;
    click(
        &client,
        "button[data-custom-id='ticket:topic:1']",
        "press the Billing topic",
    )
    .await;
    wait_for(&client, "dialog#modal-form[open] input[name='q0']")
        .await
        .send_keys("A-1042")
        .await
        .expect("type the order number");
    wait_for(&client, "dialog#modal-form textarea[name='q1']")
        .await
        .send_keys("I was charged twice.")
        .await
        .expect("type what happened");
    screenshot(&client, "6-member-a-fills-in-the-topic-form.png").await;
    click(
        &client,
        "dialog#modal-form button[type='submit']",
        "submit the form",
    )
    .await;
    wait_for_bot_message(&client, "Your ticket is ready").await;

    // Her ticket opens with the topic and her answer.
    let ticket_name = format!("ticket-{MEMBER_A_ID}");
    click(
        &client,
        &format!(".channel[data-name='{ticket_name}']"),
        "open the ticket",
    )
    .await;
    wait_for_bot_message(&client, "Billing").await;
    wait_for_bot_message(&client, "A-1042").await;
    assert!(banner_hidden(&client).await, "no error shown");
    screenshot(&client, "7-member-a-sees-her-topic-ticket.png").await;

    client.close().await.expect("the browser closes");
    stack.stop().await;
    let _ = std::fs::remove_dir_all(&profile);
}

/// A fresh, empty browser profile folder.
fn tempdir() -> PathBuf {
    // nextest runs each test in a process of its own.
    let dir = std::env::temp_dir().join(format!("sandbox-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a profile folder");
    dir
}
