//! Several guilds on several shards, as Discord runs a large bot: `GET /gateway/bot` recommends
//! the shards, each session identified with `shard: [id, count]` gets READY and GUILD_CREATE
//! for its own guilds and then only their events (a DM's go to shard 0), serenity's own shard
//! manager runs two shards against it, IDENTIFY is limited per `max_concurrency` bucket with
//! Discord's INVALID_SESSION, and the global rate limit is one for every process of the bot.

use std::{sync::Arc, time::Duration};

use sandbox::{
    guild_id, model::gateway::IDENTIFY_WINDOW, shard_of, Limit, RateLimits, Sandbox,
    SandboxOptions, Shard, MEMBER_A_ID, PERSONAS,
};
use serde_json::{json, Value};
use serenity::{
    all::{Cache, Context, EventHandler, GatewayIntents, Ready},
    async_trait,
    gateway::{PresenceData, ShardManager, ShardManagerOptions},
    prelude::{Mutex, RwLock, TypeMap},
};
use tokio::sync::mpsc;

use crate::helpers::{serenity_http, Client, Gateway, TOKEN};

/// Four guilds, one shard recommended per two, no rate limits.
async fn four_guilds(options: SandboxOptions) -> Sandbox {
    Sandbox::start(
        options
            .rate_limits(RateLimits::unlimited())
            .guilds(4)
            .guilds_per_shard(2),
    )
    .await
}

fn ids(ready: &Value) -> Vec<u64> {
    ready["guilds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn each_shard_gets_its_own_guilds_and_their_events_and_dms_go_to_shard_zero() {
    let sandbox = four_guilds(SandboxOptions::new(TOKEN)).await;
    let http = serenity_http(&sandbox);
    let gateway_bot = http.get_bot_gateway().await.expect("GET /gateway/bot");
    let (mut zero, ready_zero) = Gateway::connect_shard(&sandbox, 0, 2).await;
    let (mut one, ready_one) = Gateway::connect_shard(&sandbox, 1, 2).await;
    let on_one = ids(&ready_one)[0];
    let on_zero = ids(&ready_zero)[0];
    let channel_one = sandbox.add_text_channel_in(on_one, "general", None);
    let channel_zero = sandbox.add_text_channel_in(on_zero, "general", None);

    sandbox.send_message(channel_one, MEMBER_A_ID, "on shard one");
    sandbox.send_message(channel_zero, MEMBER_A_ID, "on shard zero");
    let first_on_zero = zero.next_frame().await;
    let first_on_one = one.next_frame().await;
    let client = Client::new(&sandbox);
    let dm = client.open_dm(MEMBER_A_ID).await;
    client
        .api(
            "POST",
            &format!("/channels/{dm}/messages"),
            Some(json!({ "content": "a DM" })),
        )
        .await;
    let interaction = sandbox.run_command_in(on_one, "setup", PERSONAS[0].id, true);
    let dm_on_zero = zero.next_frame().await;
    let command_on_one = one.next_frame().await;

    assert_eq!(gateway_bot.shards, 2);
    assert_eq!(gateway_bot.session_start_limit.max_concurrency, 1);
    assert_eq!(ready_zero["shard"], json!([0, 2]));
    assert_eq!(ready_one["shard"], json!([1, 2]));
    let (zero_ids, one_ids) = (ids(&ready_zero), ids(&ready_one));
    assert_eq!(zero_ids.len() + one_ids.len(), 4);
    assert!(zero_ids.iter().all(|g| shard_of(*g, 2) == 0));
    assert!(one_ids.iter().all(|g| shard_of(*g, 2) == 1));
    assert_eq!(
        first_on_zero["d"]["content"], "on shard zero",
        "shard zero never got shard one's message"
    );
    assert_eq!(first_on_one["d"]["content"], "on shard one");
    assert_eq!(dm_on_zero["d"]["content"], "a DM");
    assert!(dm_on_zero["d"].get("guild_id").is_none());
    assert_eq!(
        command_on_one["t"], "INTERACTION_CREATE",
        "not the DM: shard zero's"
    );
    assert_eq!(command_on_one["d"]["id"], interaction.to_string());
    assert_eq!(
        sandbox.session_shards(),
        [Shard { id: 0, count: 2 }, Shard { id: 1, count: 2 }]
    );
    assert!(sandbox
        .guild_ids()
        .iter()
        .all(|g| sandbox.guild_connected(*g)));
    assert_eq!(sandbox.guild_ids()[1], guild_id(1));
}

#[tokio::test]
async fn a_second_identify_of_a_bucket_within_five_seconds_gets_invalid_session() {
    let sandbox = four_guilds(SandboxOptions::new(TOKEN).identify_limit(1)).await;

    let (_zero, _ready) = Gateway::connect_shard(&sandbox, 0, 2).await;
    let mut one = Gateway::open(&sandbox).await;
    one.identify(Some([1, 2]), Some(0)).await;
    let refused = one.next_frame().await;
    let mut bad = Gateway::open(&sandbox).await;
    bad.identify(Some([2, 2]), None).await;
    let closed = bad.next_frame().await;

    assert_eq!(refused, json!({ "op": 9, "d": false }));
    assert_eq!(closed, json!({ "close": 4010 }), "Invalid shard");
    assert_eq!((sandbox.identifies(), sandbox.invalid_sessions()), (1, 1));
    let log: Vec<(Option<Shard>, bool)> = sandbox
        .identify_log()
        .iter()
        .map(|i| (i.shard, i.accepted))
        .collect();
    assert_eq!(
        log,
        [
            (Some(Shard { id: 0, count: 2 }), true),
            (Some(Shard { id: 1, count: 2 }), false),
            (Some(Shard { id: 2, count: 2 }), false),
        ]
    );
    assert_eq!(sandbox.sessions(), 1);
}

/// Tells the test which shard became ready with how many guilds.
struct Readiness(mpsc::UnboundedSender<(Option<u32>, usize)>);

#[async_trait]
impl EventHandler for Readiness {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let shard = ready.shard.map(|s| s.id.0);
        let _ = self.0.send((shard, ready.guilds.len()));
    }
}

#[tokio::test]
async fn serenitys_shard_manager_runs_the_recommended_shards_within_the_identify_limit() {
    let sandbox = four_guilds(SandboxOptions::new(TOKEN).identify_limit(1)).await;
    let http = Arc::new(serenity_http(&sandbox));
    let shards = http.get_bot_gateway().await.unwrap().shards;
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let (manager, _ended) = ShardManager::new(ShardManagerOptions {
        data: Arc::new(RwLock::new(TypeMap::new())),
        event_handlers: vec![Arc::new(Readiness(ready_tx))],
        raw_event_handlers: Vec::new(),
        shard_index: 0,
        shard_init: shards,
        shard_total: shards,
        ws_url: Arc::new(Mutex::new(format!(
            "{}/gateway",
            sandbox.url().replacen("http", "ws", 1)
        ))),
        cache: Arc::new(Cache::new()),
        http,
        intents: GatewayIntents::GUILDS,
        presence: Some(PresenceData::default()),
    });

    manager.initialize().expect("the shards start");
    // serenity waits 5 seconds between two shards' IDENTIFY: this only bounds a failure.
    let patience = Duration::from_secs(30);
    let mut readies = Vec::new();
    for _ in 0..shards {
        let ready = tokio::time::timeout(patience, ready_rx.recv())
            .await
            .expect("each shard becomes ready")
            .expect("the handler is alive");
        readies.push(ready);
    }
    manager.shutdown_all().await;
    readies.sort_unstable();

    assert_eq!(shards, 2);
    assert_eq!(readies, [(Some(0), 2), (Some(1), 2)]);
    // serenity's queue starts shards 5 s apart, but each shard sends its IDENTIFY from its own
    // task once HELLO is in, so on a busy machine two IDENTIFYs can come a little closer than
    // 5 s. The sandbox refuses exactly those (as Discord would), and the shard identifies again.
    let log = sandbox.identify_log();
    let mut last_accepted: Option<std::time::Instant> = None;
    for identify in &log {
        let too_soon =
            last_accepted.is_some_and(|last| identify.at.duration_since(last) < IDENTIFY_WINDOW);
        assert_eq!(identify.accepted, !too_soon, "{log:?}");
        if identify.accepted {
            last_accepted = Some(identify.at);
        }
    }
    let refused = log.iter().filter(|i| !i.accepted).count();
    assert_eq!(sandbox.invalid_sessions(), refused);
    assert_eq!(sandbox.identifies(), 2, "each shard's session started once");
    assert_eq!(log.len(), 2 + refused);
}

#[tokio::test]
async fn every_process_of_the_bot_shares_one_global_rate_limit() {
    let per = Duration::from_secs(600);
    let limits = RateLimits {
        global: Some(Limit { requests: 2, per }),
        route: None,
    };
    let sandbox = Sandbox::start(SandboxOptions::new(TOKEN).rate_limits(limits)).await;
    let (first, second) = (Client::new(&sandbox), Client::new(&sandbox));

    let a = first.api("GET", "/users/@me", None).await;
    let b = second.api("GET", "/users/@me", None).await;
    let c = second.api("GET", "/users/@me", None).await;
    let d = first.api("GET", "/users/@me", None).await;

    assert_eq!(
        [a.status, b.status, c.status, d.status],
        [200, 200, 429, 429]
    );
    assert_eq!(c.body["global"], true);
    assert_eq!(sandbox.global_rate_limited(), 2);
}
