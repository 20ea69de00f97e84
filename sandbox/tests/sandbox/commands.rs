//! Slash command options as Discord sends them: a USER option (type 6) carries the user's ID
//! and, in `data.resolved`, the user and their member object, which serenity reads as
//! `CommandDataOptionValue::User`; from the test API and from the page, which names a persona.

use sandbox::{
    fixtures::CommandOption, Sandbox, APP_ID, GUILD_ID, MEMBER_B_ID, PERSONAS, SUPPORT_ID,
};
use serde_json::{json, Value};
use serenity::all::{CommandDataOptionValue, Interaction, ResolvedValue};

use crate::helpers::{start_unlimited, Client, Gateway};

/// Registers /ticket-add (a required USER option) and /ask (a STRING option) as the bot would,
/// and returns a channel to run them in.
async fn register(sandbox: &Sandbox) -> u64 {
    let channel = sandbox.add_text_channel("ticket-alice", None);
    let commands = json!([
        { "name": "ticket-add", "description": "Add a member to this ticket", "type": 1,
          "options": [{ "type": 6, "name": "member", "description": "who", "required": true }] },
        { "name": "ask", "description": "Ask", "type": 1,
          "options": [{ "type": 3, "name": "topic", "description": "what" }] },
    ]);
    let answer = Client::new(sandbox)
        .api(
            "PUT",
            &format!("/applications/{APP_ID}/guilds/{GUILD_ID}/commands"),
            Some(commands),
        )
        .await;
    assert_eq!(answer.status, 200);
    channel
}

/// The option values of the INTERACTION_CREATE `data` as serenity reads them.
fn options(data: Value) -> Vec<(String, CommandDataOptionValue)> {
    let interaction: Interaction = serde_json::from_value(data).expect("a serenity Interaction");
    let command = interaction.command().expect("a command");
    command
        .data
        .options
        .into_iter()
        .map(|o| (o.name, o.value))
        .collect()
}

#[tokio::test]
async fn a_user_option_reaches_serenity_as_a_user_with_its_resolved_user_and_member() {
    let sandbox = start_unlimited().await;
    let channel = register(&sandbox).await;
    let mut gateway = Gateway::connect(&sandbox).await;
    let support = sandbox.add_role("Support");
    let admin = PERSONAS.iter().find(|p| p.key == "admin").unwrap();

    sandbox
        .run_command_with(
            admin,
            "ticket-add",
            channel,
            &[CommandOption::User("member".to_owned(), SUPPORT_ID)],
        )
        .expect("the command runs");
    let with_user = gateway.next("INTERACTION_CREATE").await;
    sandbox
        .run_command_as(
            admin,
            "ask",
            channel,
            &[("topic".to_owned(), "printer".to_owned())],
        )
        .expect("the old API still runs");
    let with_string = gateway.next("INTERACTION_CREATE").await;

    let interaction: Interaction =
        serde_json::from_value(with_user.clone()).expect("a serenity Interaction");
    let command = interaction.command().expect("a command");
    let resolved = command.data.options();
    let ResolvedValue::User(user, Some(member)) = &resolved[0].value else {
        panic!("not a resolved user and member: {resolved:?}")
    };
    assert_eq!(user.id.get(), SUPPORT_ID);
    assert_eq!(user.name, "sam");
    let roles: Vec<u64> = member.roles.iter().map(|r| r.get()).collect();
    assert_eq!(roles, [support], "the member as they are now");
    assert!(matches!(
        options(with_user).as_slice(),
        [(name, CommandDataOptionValue::User(id))] if name == "member" && id.get() == SUPPORT_ID
    ));
    assert!(matches!(
        options(with_string).as_slice(),
        [(name, CommandDataOptionValue::String(topic))] if name == "topic" && topic == "printer"
    ));
}

#[tokio::test]
async fn the_page_runs_a_user_option_with_the_persona_it_names() {
    let sandbox = start_unlimited().await;
    let channel = register(&sandbox).await;
    let mut gateway = Gateway::connect(&sandbox).await;
    let client = Client::new(&sandbox);
    let run = |member: &str| {
        json!({ "user": "admin", "name": "ticket-add", "channel_id": channel.to_string(),
                "options": [["member", member]] })
    };

    let state = client.page("GET", "/sandbox/state?user=admin", None).await;
    let by_key = client
        .page("POST", "/sandbox/commands", Some(run("member-b")))
        .await;
    let from_key = gateway.next("INTERACTION_CREATE").await;
    let by_id = client
        .page(
            "POST",
            "/sandbox/commands",
            Some(run(&MEMBER_B_ID.to_string())),
        )
        .await;
    let from_id = gateway.next("INTERACTION_CREATE").await;
    let nobody = client
        .page("POST", "/sandbox/commands", Some(run("mallory")))
        .await;

    let declared = state.body["commands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ticket-add")
        .map(|c| c["options"][0]["type"].clone());
    assert_eq!(
        declared,
        Some(json!(6)),
        "the page learns the option's type"
    );
    assert_eq!((by_key.status, by_id.status), (200, 200));
    for data in [from_key, from_id] {
        assert!(matches!(
            options(data).as_slice(),
            [(_, CommandDataOptionValue::User(id))] if id.get() == MEMBER_B_ID
        ));
    }
    assert_eq!(nobody.status, 400);
    assert!(nobody.body["error"].as_str().unwrap().contains("mallory"));
}
