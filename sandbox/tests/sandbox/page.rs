//! The page's API: what each user sees follows the permission overwrites, each guild shows its
//! own channels, the page's files are served, and a failed action is a JSON error saying what
//! to fix.

use sandbox::{guild_id, Sandbox, SandboxOptions, BOT_ID, GUILD_ID, MEMBER_A_ID};
use serde_json::{json, Value};

use crate::helpers::{Client, Gateway, TOKEN};

const VIEW: u64 = 1 << 10;

fn names(state: &Value) -> Vec<String> {
    state["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_ticket_is_seen_by_its_member_support_and_the_admin_but_not_by_member_b() {
    let sandbox = Sandbox::start(SandboxOptions::new(TOKEN).with_general_channel()).await;
    let client = Client::new(&sandbox);
    // What /setup and /create-ticket do, as the bot.
    let support = client
        .api(
            "POST",
            &format!("/guilds/{GUILD_ID}/roles"),
            Some(json!({ "name": "Support" })),
        )
        .await;
    let support_id = support.body["id"].as_str().unwrap().to_owned();
    let created = client
        .api(
            "POST",
            &format!("/guilds/{GUILD_ID}/channels"),
            Some(json!({
                "name": "ticket-alice", "type": 0,
                "permission_overwrites": [
                    { "id": GUILD_ID.to_string(), "type": 0, "allow": "0", "deny": VIEW.to_string() },
                    { "id": MEMBER_A_ID.to_string(), "type": 1, "allow": VIEW.to_string(), "deny": "0" },
                    { "id": support_id, "type": 0, "allow": VIEW.to_string(), "deny": "0" },
                    { "id": BOT_ID.to_string(), "type": 1, "allow": VIEW.to_string(), "deny": "0" },
                ],
            })),
        )
        .await;
    assert_eq!(created.status, 201);
    let ticket = created.body["id"].as_str().unwrap().to_owned();

    let mut seen = Vec::new();
    for user in ["admin", "support", "member-a", "member-b"] {
        let state = client
            .page("GET", &format!("/sandbox/state?user={user}"), None)
            .await;
        assert_eq!(state.status, 200);
        seen.push((user, names(&state.body)));
    }
    let messages_of_b = client
        .page(
            "GET",
            &format!("/sandbox/channels/{ticket}/messages?user=member-b"),
            None,
        )
        .await;

    let both = vec!["general".to_owned(), "ticket-alice".to_owned()];
    assert_eq!(
        seen,
        vec![
            ("admin", both.clone()),
            ("support", both.clone()),
            ("member-a", both),
            ("member-b", vec!["general".to_owned()]),
        ]
    );
    assert_eq!(messages_of_b.status, 404, "not even by its ID");
    assert!(messages_of_b.body["error"]
        .as_str()
        .unwrap()
        .contains("cannot see"));
    assert!(sandbox.can_see(MEMBER_A_ID, ticket.parse().unwrap()));
}

#[tokio::test]
async fn the_page_and_its_script_and_style_are_served() {
    let sandbox = Sandbox::start(TOKEN).await;
    let client = Client::new(&sandbox);
    for (path, kind, marker) in [
        ("/", "text/html", "<script src=\"/app.js\">"),
        ("/app.js", "text/javascript", "EventSource"),
        ("/style.css", "text/css", "#banner"),
    ] {
        let answer = client.page("GET", path, None).await;
        assert_eq!(answer.status, 200, "{path}");
        assert!(answer.header("content-type").starts_with(kind), "{path}");
        assert!(answer.body.as_str().unwrap().contains(marker), "{path}");
    }
}

#[tokio::test]
async fn actions_fail_with_a_json_error_that_says_what_to_fix() {
    let sandbox = Sandbox::start(SandboxOptions::new(TOKEN).with_general_channel()).await;
    let client = Client::new(&sandbox);
    let general = names(
        &client
            .page("GET", "/sandbox/state?user=admin", None)
            .await
            .body,
    );
    assert_eq!(general, ["general"]);
    let state = client.page("GET", "/sandbox/state?user=admin", None).await;
    let channel = state.body["channels"][0]["id"].as_str().unwrap().to_owned();

    let no_bot = client
        .page(
            "POST",
            "/sandbox/commands",
            Some(json!({ "user": "admin", "name": "setup", "channel_id": channel })),
        )
        .await;
    let nobody = client
        .page("GET", "/sandbox/state?user=mallory", None)
        .await;
    let empty = client.send_as("member-a", &channel, "  ").await;

    assert_eq!(no_bot.status, 409);
    assert!(no_bot.body["error"]
        .as_str()
        .unwrap()
        .contains("DISCORD_PROXY_URL"));
    assert_eq!(nobody.status, 400);
    assert!(nobody.body["error"].as_str().unwrap().contains("member-a"));
    assert_eq!(empty.status, 400);
    assert_eq!(state.body["bot"]["connected"], false);
}

#[tokio::test]
async fn shutdown_ends_the_pages_live_updates_instead_of_waiting_for_the_browser() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sandbox = Sandbox::new(TOKEN, addr);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sandbox::run(listener, sandbox, async {
        stopped.await.ok();
    }));
    // An open page: its event stream stays open as long as the server lets it.
    let events = reqwest::get(format!("http://{addr}/sandbox/events"))
        .await
        .unwrap();
    assert_eq!(events.status(), 200);

    stop.send(()).unwrap();
    let served = tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("the server stops although a page is open");
    served.unwrap().expect("a clean stop");
    drop(events);
}

#[tokio::test]
async fn a_persona_sees_the_bots_dms_with_their_buttons_and_no_one_else_does() {
    let sandbox = Sandbox::start(TOKEN).await;
    let client = Client::new(&sandbox);
    let dm_id = client.open_dm(MEMBER_A_ID).await;
    let posted = client
        .api(
            "POST",
            &format!("/channels/{dm_id}/messages"),
            Some(json!({ "content": "Your ticket was closed", "components": [{ "type": 1, "components": [
                { "type": 2, "style": 1, "label": "Open a ticket", "custom_id": "open-ticket" }
            ]}]})),
        )
        .await;
    let message_id = posted.body["id"].as_str().unwrap().to_owned();
    let mut gateway = Gateway::connect(&sandbox).await;

    let of_a = client
        .page("GET", "/sandbox/state?user=member-a", None)
        .await;
    let of_b = client
        .page("GET", "/sandbox/state?user=member-b", None)
        .await;
    let read_by_a = client
        .page(
            "GET",
            &format!("/sandbox/channels/{dm_id}/messages?user=member-a"),
            None,
        )
        .await;
    let read_by_b = client
        .page(
            "GET",
            &format!("/sandbox/channels/{dm_id}/messages?user=member-b"),
            None,
        )
        .await;
    let pressed = client
        .page(
            "POST",
            "/sandbox/buttons",
            Some(
                json!({ "user": "member-a", "message_id": message_id, "custom_id": "open-ticket" }),
            ),
        )
        .await;
    let interaction = gateway.next("INTERACTION_CREATE").await;
    let script = client.page("GET", "/app.js", None).await;

    let dms = |state: &Value| -> Vec<Value> {
        state["channels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["type"] == 1)
            .map(|c| c["id"].clone())
            .collect()
    };
    assert_eq!(dms(&of_a.body), [json!(dm_id)]);
    assert!(dms(&of_b.body).is_empty());
    let shown = &read_by_a.body["messages"][0];
    assert_eq!(shown["content"], "Your ticket was closed");
    assert_eq!(
        shown["components"][0]["components"][0]["custom_id"],
        "open-ticket"
    );
    assert_eq!(read_by_b.status, 404);
    assert_eq!(pressed.status, 200);
    assert_eq!(interaction["data"]["custom_id"], "open-ticket");
    assert_eq!(interaction["member"]["user"]["id"], MEMBER_A_ID.to_string());
    let script = script.body.as_str().unwrap();
    assert!(script.contains("Direct messages") && script.contains("USER_OPTION"));
}

#[tokio::test]
async fn each_guild_shows_its_own_channels_roles_and_bot_status_and_an_unknown_one_is_named() {
    let options = SandboxOptions::new(TOKEN).with_general_channel().guilds(3);
    let sandbox = Sandbox::start(options).await;
    let client = Client::new(&sandbox);
    let third = guild_id(2);
    sandbox.add_text_channel_in(third, "ticket-log", None);
    let support = sandbox.add_role_in(third, "Support");
    let state = |query: String| {
        let client = &client;
        async move {
            client
                .page("GET", &format!("/sandbox/state?user=support{query}"), None)
                .await
        }
    };

    let first = state(String::new()).await;
    let in_third = state(format!("&guild={third}")).await;
    let nowhere = state("&guild=12".to_owned()).await;
    let _gateway = Gateway::connect(&sandbox).await;
    let connected = state(format!("&guild={third}")).await;

    assert_eq!(first.body["guild"]["id"], GUILD_ID.to_string());
    assert_eq!(first.body["guild"]["name"], "Sandbox 1");
    let guilds: Vec<&str> = first.body["guilds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(guilds, ["Sandbox 1", "Sandbox 2", "Sandbox 3"]);
    assert_eq!(names(&first.body), ["general"]);
    assert!(first.body["me"]["roles"].as_array().unwrap().is_empty());
    assert_eq!(names(&in_third.body), ["general", "ticket-log"]);
    assert_eq!(in_third.body["me"]["roles"], json!(["Support"]));
    // Every role of the guild by ID, so that the page shows a role mention by its name.
    let roles = in_third.body["roles"].as_array().unwrap();
    assert!(
        roles.contains(&json!({ "id": support.to_string(), "name": "Support" })),
        "{roles:?}"
    );
    assert!(!first.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|role| role["name"] == "Support"));
    assert_eq!(in_third.body["bot"]["connected"], false);
    assert_eq!(nowhere.status, 404);
    assert!(nowhere.body["error"].as_str().unwrap().contains("guild 12"));
    assert_eq!(connected.body["bot"]["connected"], true);
    assert_eq!(sandbox.channels_in(third).len(), 2);
    assert_eq!(sandbox.channels().len(), 1, "the first guild's");
}
