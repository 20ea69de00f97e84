//! Select menus and forms end to end, with serenity on the bot's side: the bot posts a string
//! select menu, a person chooses (serenity reads `StringSelect { values }`), the bot answers
//! with a form (serenity's `CreateModal`), the person submits it (serenity reads the
//! `ModalInteraction` and its text inputs) and the bot updates the message. Answers the
//! Discord client would not send, and forms Discord would refuse, are refused; the page's API
//! does the same as a test does.

use sandbox::{Sandbox, SandboxError, PERSONAS};
use serde_json::{json, Value};
use serenity::{
    all::{
        ActionRowComponent, ChannelId, ComponentInteractionDataKind, CreateActionRow,
        CreateInputText, CreateInteractionResponse, CreateInteractionResponseMessage,
        CreateMessage, CreateModal, CreateSelectMenu, CreateSelectMenuKind, CreateSelectMenuOption,
        InputTextStyle, Interaction,
    },
    http::HttpError,
};

use crate::helpers::{serenity_http, start_unlimited, Client, Gateway};

fn persona(key: &str) -> &'static sandbox::Persona {
    PERSONAS.iter().find(|p| p.key == key).unwrap()
}

fn topic_menu() -> CreateMessage {
    let options = vec![
        CreateSelectMenuOption::new("Bug", "bug").description("Something is broken"),
        CreateSelectMenuOption::new("Billing", "billing"),
    ];
    let menu = CreateSelectMenu::new("topic", CreateSelectMenuKind::String { options })
        .placeholder("What is it about?");
    CreateMessage::new()
        .content("Open a ticket")
        .components(vec![CreateActionRow::SelectMenu(menu)])
}

fn ticket_form(rows: usize) -> CreateModal {
    let subject = CreateInputText::new(InputTextStyle::Short, "Subject", "subject")
        .min_length(3)
        .max_length(40);
    let details =
        CreateInputText::new(InputTextStyle::Paragraph, "Details", "details").required(false);
    let mut components = vec![
        CreateActionRow::InputText(subject),
        CreateActionRow::InputText(details),
    ];
    for n in 2..rows {
        let extra = CreateInputText::new(InputTextStyle::Short, "More", format!("more-{n}"));
        components.push(CreateActionRow::InputText(extra));
    }
    CreateModal::new("ticket-form", "Open a ticket").components(components)
}

fn interaction(data: Value) -> Interaction {
    serde_json::from_value(data).expect("a serenity Interaction")
}

#[tokio::test]
async fn a_choice_opens_a_form_whose_answers_reach_serenity_and_update_the_message() {
    let sandbox = start_unlimited().await;
    let http = serenity_http(&sandbox);
    let general = sandbox.add_text_channel("general", None);
    let mut gateway = Gateway::connect(&sandbox).await;
    let alice = persona("member-a");
    let menu = ChannelId::new(general)
        .send_message(&http, topic_menu())
        .await
        .expect("the select menu is accepted");

    let chosen = sandbox
        .choose(alice, menu.id.get(), "topic", &["billing"])
        .expect("a choice among the options");
    let Interaction::Component(component) = interaction(gateway.next("INTERACTION_CREATE").await)
    else {
        panic!("a component interaction")
    };
    component
        .create_response(&http, CreateInteractionResponse::Modal(ticket_form(2)))
        .await
        .expect("the form is accepted");
    let form = sandbox.wait_for_modal(chosen).await;
    let too_short = sandbox.submit_modal(alice, chosen, &[("subject", "no")]);
    let submitted = sandbox
        .submit_modal(alice, "ticket-form", &[("subject", "invoice twice")])
        .expect("a valid answer");
    let Interaction::Modal(modal) = interaction(gateway.next("INTERACTION_CREATE").await) else {
        panic!("a modal submit interaction")
    };
    let update = CreateInteractionResponseMessage::new()
        .content("Thanks, a ticket about billing is open")
        .components(Vec::new());
    modal
        .create_response(&http, CreateInteractionResponse::UpdateMessage(update))
        .await
        .expect("the message is updated");

    assert!(matches!(
        &component.data.kind,
        ComponentInteractionDataKind::StringSelect { values } if values == &["billing"]
    ));
    assert_eq!(component.data.custom_id, "topic");
    assert_eq!(component.message.id, menu.id);
    assert_eq!(
        (form.custom_id.as_str(), form.title.as_str()),
        ("ticket-form", "Open a ticket")
    );
    assert_eq!(form.inputs().count(), 2);
    assert!(
        matches!(too_short, Err(SandboxError::InvalidForm(message)) if message.contains("Subject"))
    );
    assert_eq!(modal.id.get(), submitted);
    assert_eq!(modal.data.custom_id, "ticket-form");
    let answers: Vec<(String, Option<String>)> = modal
        .data
        .components
        .iter()
        .flat_map(|row| &row.components)
        .map(|c| match c {
            ActionRowComponent::InputText(input) => (input.custom_id.clone(), input.value.clone()),
            other => panic!("a text input, not {other:?}"),
        })
        .collect();
    assert_eq!(
        answers,
        [
            ("subject".to_owned(), Some("invoice twice".to_owned())),
            ("details".to_owned(), Some(String::new()))
        ]
    );
    assert_eq!(modal.user.id.get(), alice.id);
    assert_eq!(modal.message.as_ref().map(|m| m.id), Some(menu.id));
    let stored = &sandbox.messages(general)[0];
    assert_eq!(stored["content"], "Thanks, a ticket about billing is open");
    assert!(sandbox.open_modal(chosen).is_none(), "submitted once");
}

#[tokio::test]
async fn discord_refuses_a_form_of_six_rows_and_a_select_menu_without_options() {
    let sandbox = start_unlimited().await;
    let http = serenity_http(&sandbox);
    let client = Client::new(&sandbox);
    let general = sandbox.add_text_channel("general", None);
    let mut gateway = Gateway::connect(&sandbox).await;
    let menu = ChannelId::new(general)
        .send_message(&http, topic_menu())
        .await
        .unwrap();
    let chosen = sandbox
        .choose(persona("member-b"), menu.id.get(), "topic", &["bug"])
        .unwrap();
    let Interaction::Component(component) = interaction(gateway.next("INTERACTION_CREATE").await)
    else {
        panic!("a component interaction")
    };

    let six_rows = component
        .create_response(&http, CreateInteractionResponse::Modal(ticket_form(6)))
        .await;
    let empty_menu = client
        .api(
            "POST",
            &format!("/channels/{general}/messages"),
            Some(
                json!({ "content": "pick", "components": [{ "type": 1, "components": [
                { "type": 3, "custom_id": "topic", "options": [] }
            ] }] }),
            ),
        )
        .await;
    let not_an_option = sandbox.choose(persona("member-b"), menu.id.get(), "topic", &["cake"]);

    match six_rows {
        Err(serenity::Error::Http(HttpError::UnsuccessfulRequest(response))) => {
            assert_eq!(response.error.code, 50_035);
            assert_eq!(response.status_code.as_u16(), 400);
        }
        other => panic!("expected Discord's 50035, got {other:?}"),
    }
    assert!(
        !sandbox.acknowledged(chosen),
        "a refused answer answers nothing"
    );
    assert_eq!(empty_menu.status, 400);
    assert_eq!(empty_menu.body["code"], 50_035);
    assert!(matches!(not_an_option, Err(SandboxError::InvalidChoice(_))));
}

/// Answers interaction `data` with `form` as the bot would (its raw callback).
async fn open_form(client: &Client, data: &Value, form: Value) {
    let answer = client
        .api(
            "POST",
            &format!(
                "/interactions/{}/{}/callback",
                data["id"].as_str().unwrap(),
                data["token"].as_str().unwrap()
            ),
            Some(json!({ "type": 9, "data": form })),
        )
        .await;
    assert_eq!(answer.status, 204, "{:?}", answer.body);
}

#[tokio::test]
async fn the_page_chooses_fills_in_the_form_and_is_told_what_to_fix() {
    let sandbox = start_unlimited().await;
    let client = Client::new(&sandbox);
    let general = sandbox.add_text_channel("general", None);
    let mut gateway = Gateway::connect(&sandbox).await;
    let menu = ChannelId::new(general)
        .send_message(&serenity_http(&sandbox), topic_menu())
        .await
        .unwrap();
    let form = json!({ "custom_id": "ticket-form", "title": "Open a ticket", "components": [
        { "type": 1, "components": [{ "type": 4, "custom_id": "subject", "style": 1,
          "label": "Subject", "min_length": 3 }] }
    ] });

    let choose = |values: Value| {
        let body = json!({ "user": "member-a", "message_id": menu.id.to_string(),
                           "custom_id": "topic", "values": values });
        client.page("POST", "/sandbox/selects", Some(body))
    };

    let chose = choose(json!(["bug"])).await;
    let choice = gateway.next("INTERACTION_CREATE").await;
    open_form(&client, &choice, form.clone()).await;
    let state_of_a = client
        .page("GET", "/sandbox/state?user=member-a", None)
        .await;
    let state_of_b = client
        .page("GET", "/sandbox/state?user=member-b", None)
        .await;
    let modal_id = state_of_a.body["modals"][0]["interaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let modal_path = format!("/sandbox/modals/{modal_id}");
    let submit = |values: Value| {
        client.page(
            "POST",
            &modal_path,
            Some(json!({ "user": "member-a", "values": values })),
        )
    };
    let empty = submit(json!([])).await;
    let by_b = client
        .page(
            "POST",
            &modal_path,
            Some(json!({ "user": "member-b", "values": [["subject", "mine now"]] })),
        )
        .await;
    let good = submit(json!([["subject", "printer on fire"]])).await;
    let submitted = gateway.next("INTERACTION_CREATE").await;
    let after = client
        .page("GET", "/sandbox/state?user=member-a", None)
        .await;
    let again = choose(json!(["billing"])).await;
    let second = gateway.next("INTERACTION_CREATE").await;
    open_form(&client, &second, form).await;
    let second_id = second["id"].as_str().unwrap();
    let closed = client
        .page(
            "DELETE",
            &format!("/sandbox/modals/{second_id}?user=member-a"),
            None,
        )
        .await;
    let wrong_choice = choose(json!(["bug", "billing"])).await;

    assert_eq!(chose.status, 200);
    assert_eq!(choice["data"]["values"], json!(["bug"]));
    let shown = &state_of_a.body["modals"][0];
    assert_eq!(shown["title"], "Open a ticket");
    assert_eq!(shown["components"][0]["components"][0]["min_length"], 3);
    assert_eq!(state_of_b.body["modals"], json!([]), "the form is alice's");
    assert_eq!(empty.status, 400);
    assert!(empty.body["error"]
        .as_str()
        .unwrap()
        .contains("\"Subject\" is required"));
    assert_eq!(by_b.status, 404);
    assert_eq!(good.status, 200);
    assert_eq!(submitted["type"], 5);
    assert_eq!(
        submitted["data"]["components"][0]["components"][0]["value"],
        "printer on fire"
    );
    assert_eq!(after.body["modals"], json!([]));
    assert_eq!(again.status, 200);
    assert_eq!(closed.status, 200);
    assert!(sandbox.open_modal(second_id.parse().unwrap()).is_none());
    assert_eq!(wrong_choice.status, 400);
    assert!(wrong_choice.body["error"]
        .as_str()
        .unwrap()
        .contains("choose 1 to 1"));
}

/// The sandbox's handle keeps working without a page: a form nobody opened is unknown.
#[tokio::test]
async fn a_form_nobody_opened_cannot_be_submitted() {
    let sandbox: Sandbox = start_unlimited().await;
    assert!(matches!(
        sandbox.submit_modal(persona("admin"), 12_u64, &[]),
        Err(SandboxError::UnknownModal(_))
    ));
    assert!(!sandbox.dismiss_modal(persona("admin"), "ticket-form"));
}
