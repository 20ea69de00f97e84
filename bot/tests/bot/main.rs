//! End-to-end tests of the bot: serenity's real client against a fake Discord, a real
//! nats-server per test, and a real relay worker. One module per topic; the tiny helpers they
//! share live here; the harness is the crate's `test_util` (feature `test-util`, which the
//! sandbox's tests use too), re-exported in [`helpers`]; the fake Discord is the `sandbox` crate.

mod answers;
mod binary;
mod broker;
mod catch_up;
mod conversation;
mod create_ticket;
mod figures;
mod helpers;
mod lifecycle;
mod metrics;
mod overflow;
mod processes;
mod rate_limit;
mod records;
mod relay;
mod reopen;
mod setup;
mod shards;
mod staff;
mod streaming;
mod threads;
mod ticket_stats;
mod tickets;
mod topics;
mod traces;

/// The Discord these tests run against: the `sandbox` crate, under the name the tests use.
mod fake_discord {
    pub use sandbox::{Sandbox as FakeDiscord, *};
}

use axum::http::Method;
use common::test_util::NatsServer;
use fake_discord::{FakeDiscord, Recorded, GUILD_ID};

const VIEW: u64 = 1 << 10;
const SEND: u64 = 1 << 11;
const EMBED: u64 = 1 << 14;
const ATTACH: u64 = 1 << 15;
const HISTORY: u64 = 1 << 16;
const MANAGE_CHANNELS: u64 = 1 << 4;
const MEMBER: u64 = VIEW | SEND | HISTORY | ATTACH | EMBED;
const ROLE: u64 = 0;
const USER: u64 = 1;

/// A guild where this bot ran /setup before: the category and the role in the sandbox, and
/// their record in the registry of `nats` (the bot starts on it).
struct SetUp {
    category: u64,
    support: u64,
    nats: NatsServer,
}

/// [`set_up_on`] a fresh nats-server.
async fn set_up(fake: &FakeDiscord) -> SetUp {
    set_up_on(fake, helpers::nats()).await
}

/// A guild where this bot ran /setup, recorded on `nats`.
async fn set_up_on(fake: &FakeDiscord, nats: NatsServer) -> SetUp {
    let category = fake.add_category("Tickets");
    let support = fake.add_role("Support");
    helpers::record_setup(&nats, fake).await;
    SetUp {
        category,
        support,
        nats,
    }
}

fn channel_creates(fake: &FakeDiscord) -> Vec<Recorded> {
    fake.calls(Method::POST, &format!("/guilds/{GUILD_ID}/channels"))
}

fn role_creates(fake: &FakeDiscord) -> Vec<Recorded> {
    fake.calls(Method::POST, &format!("/guilds/{GUILD_ID}/roles"))
}

fn reference_id(call: &Recorded) -> Option<u64> {
    call.body["message_reference"]["message_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .or_else(|| call.body["message_reference"]["message_id"].as_u64())
}

/// Waits until `count` messages were posted in `channel`.
async fn wait_for_posts(fake: &FakeDiscord, channel: u64, count: usize) -> Vec<Recorded> {
    let suffix = format!("/channels/{channel}/messages");
    fake.wait_for(&format!("{count} messages in channel {channel}"), |calls| {
        let posts: Vec<_> = calls
            .iter()
            .filter(|c| c.method == Method::POST && c.path.ends_with(&suffix))
            .cloned()
            .collect();
        (posts.len() >= count).then_some(posts)
    })
    .await
}

fn content(call: &Recorded) -> &str {
    call.body["content"].as_str().unwrap_or_default()
}
