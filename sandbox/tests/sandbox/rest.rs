//! The REST API over real HTTP: Discord's rate-limit headers on every answer, its 429 for a
//! route bucket and for the global limit (interaction callbacks exempt), the token check
//! (before the limits: a call without the token spends none), and Discord's plain 404 for a
//! route or method it does not have; a message edited or deleted only through its own, existing
//! channel.

use std::time::Duration;

use sandbox::{Limit, RateLimits, Sandbox, SandboxOptions, GUILD_ID};

use crate::helpers::{Client, TOKEN};

fn limits(global: Option<u32>, route: Option<u32>) -> RateLimits {
    // Windows far longer than a test, so that none resets while it runs.
    let per = Duration::from_secs(600);
    RateLimits {
        global: global.map(|requests| Limit { requests, per }),
        route: route.map(|requests| Limit { requests, per }),
    }
}

#[tokio::test]
async fn every_answer_carries_its_buckets_headers_and_the_call_over_the_limit_gets_discords_429() {
    let sandbox =
        Sandbox::start(SandboxOptions::new(TOKEN).rate_limits(limits(None, Some(2)))).await;
    let client = Client::new(&sandbox);
    let path = format!("/guilds/{GUILD_ID}/channels");

    let first = client.api("GET", &path, None).await;
    let second = client.api("GET", &path, None).await;
    let third = client.api("GET", &path, None).await;
    let other_route = client
        .api("GET", &format!("/guilds/{GUILD_ID}/roles"), None)
        .await;

    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(first.header("x-ratelimit-limit"), "2");
    assert_eq!(first.header("x-ratelimit-remaining"), "1");
    assert_eq!(second.header("x-ratelimit-remaining"), "0");
    for answer in [&first, &second, &third] {
        assert!(answer.header("x-ratelimit-reset").parse::<f64>().is_ok());
        assert!(
            answer
                .header("x-ratelimit-reset-after")
                .parse::<f64>()
                .unwrap()
                > 0.0
        );
        assert!(!answer.header("x-ratelimit-bucket").is_empty());
    }
    assert_eq!(third.status, 429);
    assert_eq!(third.body["message"], "You are being rate limited.");
    assert_eq!(third.body["global"], false);
    assert!(third.body["retry_after"].as_f64().unwrap() > 0.0);
    assert!(third.header("retry-after").parse::<u64>().unwrap() >= 1);
    assert_eq!(third.header("x-ratelimit-scope"), "user");
    assert!(third.header("content-type").starts_with("application/json"));
    assert_eq!(other_route.status, 200, "another route has its own bucket");
    assert_eq!(sandbox.rate_limited().len(), 1);
    assert_eq!(
        sandbox.requests().len(),
        3,
        "the refused call is kept apart"
    );
}

#[tokio::test]
async fn the_global_limit_counts_all_routes_but_not_interaction_callbacks() {
    let sandbox =
        Sandbox::start(SandboxOptions::new(TOKEN).rate_limits(limits(Some(2), None))).await;
    let client = Client::new(&sandbox);

    client
        .api("GET", &format!("/guilds/{GUILD_ID}/channels"), None)
        .await;
    client
        .api("GET", &format!("/guilds/{GUILD_ID}/roles"), None)
        .await;
    let over = client.api("GET", "/users/@me", None).await;
    let callback = client
        .api(
            "POST",
            "/interactions/1/token-1/callback",
            Some(serde_json::json!({ "type": 5 })),
        )
        .await;

    assert_eq!(over.status, 429);
    assert_eq!(over.body["global"], true);
    assert_eq!(over.header("x-ratelimit-global"), "true");
    assert_eq!(over.header("x-ratelimit-scope"), "global");
    assert_eq!(
        callback.status, 404,
        "not rate limited: answered (an unknown interaction)"
    );
    assert_eq!(callback.body["code"], 10_062);
}

#[tokio::test]
async fn a_wrong_token_is_refused_with_401_and_json() {
    let sandbox = Sandbox::start(TOKEN).await;
    let answer = Client::new(&sandbox)
        .page("GET", "/api/v10/users/@me", None)
        .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.body["message"], "401: Unauthorized");
}

#[tokio::test]
async fn calls_without_the_token_spend_no_rate_limit_quota_but_are_recorded() {
    let sandbox =
        Sandbox::start(SandboxOptions::new(TOKEN).rate_limits(limits(Some(1), Some(1)))).await;
    let client = Client::new(&sandbox);

    let mut refused = Vec::new();
    for _ in 0..3 {
        refused.push(client.page("GET", "/api/v10/users/@me", None).await.status);
    }
    let with_token = client.api("GET", "/users/@me", None).await;

    assert_eq!(refused, [401, 401, 401]);
    assert_eq!(with_token.status, 200, "the quota is still whole");
    assert_eq!(with_token.body["username"], "TicketBot");
    let statuses: Vec<u16> = sandbox.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 401, 401, 200]);
    assert!(sandbox.rate_limited().is_empty());
}

#[tokio::test]
async fn an_unknown_route_or_method_or_guild_is_discords_plain_404_and_recorded() {
    let sandbox = Sandbox::start(SandboxOptions::new(TOKEN).rate_limits(limits(None, None))).await;
    let client = Client::new(&sandbox);

    let answers = [
        client.api("GET", "/nothing/here", None).await,
        client.api("PUT", "/users/@me", None).await,
        client.api("GET", "/guilds/1/channels", None).await,
        client
            .api(
                "PUT",
                "/applications/1/commands",
                Some(serde_json::json!([])),
            )
            .await,
    ];

    for answer in &answers {
        assert_eq!(answer.status, 404);
        assert_eq!(
            answer.body,
            serde_json::json!({ "message": "404: Not Found", "code": 0 })
        );
    }
    let paths: Vec<String> = sandbox.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/api/v10/nothing/here",
            "/api/v10/users/@me",
            "/api/v10/guilds/1/channels",
            "/api/v10/applications/1/commands"
        ]
    );
}

#[tokio::test]
async fn a_message_is_edited_or_deleted_only_in_its_own_channel_and_not_once_it_is_deleted() {
    let sandbox = Sandbox::start(SandboxOptions::new(TOKEN).rate_limits(limits(None, None))).await;
    let client = Client::new(&sandbox);
    let here = sandbox.add_text_channel("here", None);
    let there = sandbox.add_text_channel("there", None);
    let posted = client
        .api(
            "POST",
            &format!("/channels/{here}/messages"),
            Some(serde_json::json!({ "content": "panel" })),
        )
        .await;
    assert_eq!(posted.status, 200, "{:?}", posted.body);
    let message = posted.body["id"].as_str().expect("an id").to_owned();
    let edit = serde_json::json!({ "content": "edited" });

    for method in ["PATCH", "DELETE"] {
        let elsewhere = client
            .api(
                method,
                &format!("/channels/{there}/messages/{message}"),
                Some(edit.clone()),
            )
            .await;
        assert_eq!(elsewhere.status, 404, "{method}");
        assert_eq!(elsewhere.body["code"], 10_008, "{method}: Unknown Message");
    }
    let edited = client
        .api(
            "PATCH",
            &format!("/channels/{here}/messages/{message}"),
            Some(edit.clone()),
        )
        .await;
    assert_eq!(edited.body["content"], "edited");

    assert!(sandbox.delete_channel(here));
    let gone = client
        .api(
            "PATCH",
            &format!("/channels/{here}/messages/{message}"),
            Some(edit),
        )
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body["code"], 10_003, "Unknown Channel");
}
