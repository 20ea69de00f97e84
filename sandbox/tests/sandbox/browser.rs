//! The newcomer's flow in a real headless Chromium (Debian's `chromium` and `chromium-driver`,
//! driven over WebDriver by fantoccini) against the real bot, a real nats-server and a relay
//! worker: the administrator runs /setup; member A runs /create-ticket, writes "hello" in the
//! ticket and sees the answer; member B does not see the ticket. Screenshots of each step go to
//! `target/sandbox-screenshots/`.

use std::{path::PathBuf, process::Stdio, time::Duration};

use fantoccini::{elements::Element, wd::Capabilities, Client, ClientBuilder, Locator};
use relay_worker::Placeholder;
use sandbox::MEMBER_A_ID;
use serde_json::json;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use crate::helpers::spawn_stack;

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
    wait_for(client, &format!("#user-switch button[data-user='{user}']"))
        .await
        .click()
        .await
        .expect("switch user");
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
    wait_for(&client, "button.command[data-command='setup']")
        .await
        .click()
        .await
        .expect("click /setup");
    wait_for_bot_message(&client, "created the Tickets category").await;
    assert!(banner_hidden(&client).await, "no error shown");
    screenshot(&client, "1-admin-runs-setup.png").await;

    // Member A opens a ticket and writes in it.
    act_as(&client, "member-a", "alice").await;
    wait_for(&client, "button.command[data-command='create-ticket']")
        .await
        .click()
        .await
        .expect("click /create-ticket");
    wait_for_bot_message(&client, "Your ticket is ready").await;
    wait_for(&client, &format!(".channel[data-name='{ticket_name}']"))
        .await
        .click()
        .await
        .expect("open the ticket");
    wait_for(&client, "#channel-name")
        .await
        .text()
        .await
        .map(|name| assert_eq!(name, ticket_name))
        .expect("the ticket's name");
    wait_for_bot_message(&client, "Describe your problem here").await;
    let input = wait_for(&client, "#composer-input").await;
    input.send_keys("hello").await.expect("type");
    wait_for(&client, "#composer-send")
        .await
        .click()
        .await
        .expect("send");
    wait_for(&client, "li.message:not(.bot)").await;
    wait_for_bot_message(&client, Placeholder::REPLY).await;
    assert!(banner_hidden(&client).await, "no error shown");
    screenshot(&client, "2-member-a-gets-an-answer.png").await;

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

/// A fresh, empty browser profile folder.
fn tempdir() -> PathBuf {
    // nextest runs each test in a process of its own.
    let dir = std::env::temp_dir().join(format!("sandbox-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a profile folder");
    dir
}
