//! `/create-ticket [topic]` and the panel's buttons and select menu: open the user's ticket (see
//! [`crate::tickets`]) or point them at the one they have, answered ephemerally. A topic with
//! questions first answers with its intake form; the form's submission opens the ticket.

use serenity::all::{
    ActionRowComponent, CommandDataOptionValue, CommandInteraction, CommandOptionType,
    ComponentInteraction, ComponentInteractionDataKind, Context, CreateActionRow, CreateCommand,
    CreateCommandOption, CreateInputText, CreateModal, InputTextStyle, ModalInteraction,
};

use super::answer::{defer, follow_up, open_form, respond_now, Asked};
use crate::{
    guild::refusal::Refusal,
    registry::{topics, Intake, QuestionStyle, Topic},
    tickets::{Opened, Tickets},
};
use common::payload::{FormAnswerText, TopicName};

/// The command's name.
pub const NAME: &str = "create-ticket";
/// The custom ID prefix of a panel's topic button (the topic's ID follows).
pub const TOPIC_BUTTON_PREFIX: &str = "ticket:topic:";
/// The custom ID of a panel's topic select menu (its values are the topics' IDs).
pub const TOPIC_MENU: &str = "ticket:topics";
/// The custom ID prefix of a topic's intake form (the topic's ID follows).
pub const FORM_PREFIX: &str = "ticket:form:";

/// Told when `/setup` has not run.
pub const NOT_SET_UP: &str =
    "Tickets aren't set up on this server yet: ask an administrator to run /setup first.";
/// Told when a panel names a topic that was removed since.
pub const TOPIC_GONE: &str =
    "That topic no longer exists: ask an administrator to post the panel again.";

/// Told to a member staff blocked from opening tickets.
pub const BLOCKED: &str = "Sorry, you can't open a ticket on this server right now. If you \
     think this is a mistake, please reach out to a moderator.";

/// `/create-ticket [topic]`, for everyone.
pub fn definition() -> CreateCommand {
    CreateCommand::new(NAME)
        .description("Open a private ticket channel with the support team")
        .dm_permission(false)
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::String,
                "topic",
                "What the ticket is about (see the panel's topics)",
            )
            .max_length(TopicName::MAX_CHARS as u16),
        )
}

/// Handles one `/create-ticket` interaction.
#[tracing::instrument(name = "create_ticket", skip_all, fields(guild_id = command.guild_id.map(|g| g.get()), user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    let topic = command
        .data
        .options
        .iter()
        .find(|o| o.name == "topic")
        .and_then(|o| match &o.value {
            CommandDataOptionValue::String(name) => Some(name.trim()),
            _ => None,
        })
        .filter(|name| !name.is_empty());
    let Some(name) = topic else {
        open(ctx, tickets, command.into(), None).await;
        return;
    };
    let defined = command
        .guild_id
        .and_then(|g| tickets.registry().guild(g))
        .map(|g| g.topics)
        .unwrap_or_default();
    match topics::named(&defined, name) {
        Some(topic) => chosen(ctx, tickets, command.into(), topic.clone()).await,
        None => {
            let names: Vec<&str> = defined.iter().map(|t| t.name.as_str()).collect();
            let text = if names.is_empty() {
                format!("There is no topic named `{name}`: run /create-ticket without a topic.")
            } else {
                format!(
                    "There is no topic named `{name}`. The topics are: {}.",
                    names.join(", ")
                )
            };
            respond_now(&ctx.http, command, &text).await;
        }
    }
}

/// Handles a press of a panel's "Open a ticket" button.
#[tracing::instrument(name = "open_button", skip_all, fields(guild_id = component.guild_id.map(|g| g.get()), user_id = %component.user.id))]
pub async fn run_button(ctx: &Context, tickets: &Tickets, component: &ComponentInteraction) {
    open(ctx, tickets, component.into(), None).await;
}

/// Handles a press of a panel's topic button, or a choice in its topic menu.
#[tracing::instrument(name = "topic_button", skip_all, fields(guild_id = component.guild_id.map(|g| g.get()), user_id = %component.user.id))]
pub async fn run_topic(ctx: &Context, tickets: &Tickets, component: &ComponentInteraction) {
    let id = match &component.data.kind {
        ComponentInteractionDataKind::StringSelect { values } => values.first().cloned(),
        _ => component
            .data
            .custom_id
            .strip_prefix(TOPIC_BUTTON_PREFIX)
            .map(str::to_owned),
    };
    let topic = id
        .and_then(|id| id.parse::<u32>().ok())
        .zip(component.guild_id.and_then(|g| tickets.registry().guild(g)))
        .and_then(|(id, guild)| guild.topic(id).cloned());
    match topic {
        Some(topic) => chosen(ctx, tickets, component.into(), topic).await,
        None => respond_now(&ctx.http, component, TOPIC_GONE).await,
    }
}

/// A topic was chosen: its form when it has questions (unless the member has a ticket
/// already), the ticket at once otherwise.
async fn chosen(ctx: &Context, tickets: &Tickets, asked: Asked<'_>, topic: Topic) {
    if topic.questions.is_empty() {
        open(ctx, tickets, asked, Some(Intake::answered(topic, &[]))).await;
        return;
    }
    let existing = asked
        .guild_id()
        .and_then(|g| tickets.registry().open_ticket_of(g, asked.user_id()));
    if let Some(existing) = existing {
        // No form to fill in for nothing; a stale record is found by the opening itself.
        if existing.to_channel(ctx.http.as_ref()).await.is_ok() {
            let text = format!("You already have a ticket: <#{existing}>");
            respond_now(&ctx.http, asked, &text).await;
            return;
        }
    }
    open_form(&ctx.http, asked, intake_form(&topic)).await;
}

/// The intake form of `topic`: one input per question.
pub fn intake_form(topic: &Topic) -> CreateModal {
    let rows = topic
        .questions
        .iter()
        .enumerate()
        .map(|(index, question)| {
            let style = match question.style {
                QuestionStyle::Short => InputTextStyle::Short,
                QuestionStyle::Paragraph => InputTextStyle::Paragraph,
            };
            CreateActionRow::InputText(
                CreateInputText::new(style, &question.label, format!("q{index}"))
                    .required(question.required)
                    .max_length(FormAnswerText::MAX_CHARS as u16),
            )
        })
        .collect();
    // A form's title has at most 45 characters.
    let title: String = topic.name.chars().take(45).collect();
    CreateModal::new(format!("{FORM_PREFIX}{}", topic.id), title).components(rows)
}

/// The values of a submitted form's inputs `q0` to `q{count - 1}`, by position (`None`: not
/// in the submission).
pub fn form_answers(modal: &ModalInteraction, count: usize) -> Vec<Option<String>> {
    let inputs: Vec<(&str, Option<&str>)> = modal
        .data
        .components
        .iter()
        .flat_map(|row| &row.components)
        .filter_map(|component| match component {
            ActionRowComponent::InputText(input) => {
                Some((input.custom_id.as_str(), input.value.as_deref()))
            }
            _ => None,
        })
        .collect();
    (0..count)
        .map(|index| {
            let id = format!("q{index}");
            inputs
                .iter()
                .find(|(custom_id, _)| *custom_id == id)
                .and_then(|(_, value)| value.map(str::to_owned))
        })
        .collect()
}

/// Handles the submission of a topic's intake form: opens the ticket with the answers.
#[tracing::instrument(name = "intake_form", skip_all, fields(guild_id = modal.guild_id.map(|g| g.get()), user_id = %modal.user.id))]
pub async fn form_submitted(
    ctx: &Context,
    tickets: &Tickets,
    modal: &ModalInteraction,
    topic_id: u32,
) {
    let topic = modal
        .guild_id
        .and_then(|g| tickets.registry().guild(g))
        .and_then(|guild| guild.topic(topic_id).cloned());
    let Some(topic) = topic else {
        respond_now(&ctx.http, modal, TOPIC_GONE).await;
        return;
    };
    let answers = form_answers(modal, topic.questions.len());
    open(
        ctx,
        tickets,
        modal.into(),
        Some(Intake::answered(topic, &answers)),
    )
    .await;
}

async fn open(ctx: &Context, tickets: &Tickets, asked: Asked<'_>, intake: Option<Intake>) {
    let Some(guild_id) = asked.guild_id() else {
        respond_now(&ctx.http, asked, "Open tickets in a server.").await;
        return;
    };
    if !defer(&ctx.http, asked).await {
        return;
    }
    let text = match tickets.open_with(guild_id, asked.user_id(), intake).await {
        Ok(Opened::Existing(id)) => format!("You already have a ticket: <#{id}>"),
        Ok(Opened::Created(id)) => {
            tracing::info!(channel_id = %id, "ticket channel created");
            format!("Your ticket is ready: <#{id}>")
        }
        Ok(Opened::NotSetUp) => NOT_SET_UP.to_owned(),
        Ok(Opened::Blocked) => {
            tracing::info!("a blocked member was refused a ticket");
            BLOCKED.to_owned()
        }
        Err(err) => {
            let refusal = Refusal::of(&err);
            refusal.log(&err, "create a ticket channel");
            refusal.explain("create your ticket channel")
        }
    };
    follow_up(&ctx.http, asked, &text).await;
}
