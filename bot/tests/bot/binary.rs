//! The `bot` binary itself: a missing `DISCORD_TOKEN` named at start, and a clean stop on
//! SIGTERM.

use std::time::Duration;

use crate::{fake_discord::FakeDiscord, helpers::TOKEN};

/// The `bot` binary, run from an empty directory so that no `.env` or `config.toml` applies.
fn bot_binary(vars: &[(&str, &str)]) -> tokio::process::Command {
    let dir = std::env::temp_dir().join(format!("bot-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_bot"));
    command
        .current_dir(dir)
        .env_clear()
        .envs(vars.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn the_binary_without_discord_token_exits_with_an_error_naming_it() {
    let output = tokio::time::timeout(Duration::from_secs(20), bot_binary(&[]).output())
        .await
        .expect("exits at once")
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DISCORD_TOKEN"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn the_binary_stops_cleanly_on_sigterm() {
    let fake = FakeDiscord::start(TOKEN).await;
    let nats = crate::helpers::nats();
    let proxy = fake.url();
    let nats_url = nats.url();
    let child = bot_binary(&[
        ("DISCORD_TOKEN", TOKEN),
        ("DISCORD_PROXY_URL", proxy.as_str()),
        ("NATS_URL", nats_url.as_str()),
        ("LOG_LEVEL", "info"),
    ])
    .spawn()
    .unwrap();
    fake.wait_until_ready().await;

    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the bot exits after SIGTERM")
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("[BOT] INFO - shutting down"), "{stdout}");
    assert!(stdout.contains("[BOT] INFO - bot stopped"), "{stdout}");
    assert!(!stdout.contains(TOKEN), "the token reached a log line");
}
