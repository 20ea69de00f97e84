//! `/ticket-topic add|remove|list|questions` (administrators): the guild's ticket topics, kept
//! by ID in its registry entry. `questions` answers with a form of five lines, one question each
//! (`label | short or paragraph | required or optional`), filled with the topic's questions;
//! its submission replaces them. In thread mode, adding a topic with a Support role of its own
//! (or `/setup` turning thread mode on) says whether the bot can add that role's members to its
//! ticket threads.

use serenity::all::{
    CommandDataOption, CommandDataOptionValue, CommandInteraction, CommandOptionType, Context,
    CreateActionRow, CreateCommand, CreateCommandOption, CreateInputText, CreateModal, GuildId,
    InputTextStyle, ModalInteraction, Permissions, ReactionType, RoleId,
};

use super::{
    answer::{defer, follow_up, open_form, respond_now, Asked},
    create_ticket::{form_answers, NOT_SET_UP},
};
use crate::{
    registry::{
        topics::{self, MAX_QUESTIONS, MAX_TOPICS},
        GuildEntry, Topic, TopicQuestion,
    },
    tickets::{TeamError, Tickets, MAX_TEAM_IN_THREAD},
};
use common::payload::TopicName;

/// The command's name.
pub const NAME: &str = "ticket-topic";
/// Told to a member without the Administrator permission.
pub const NOT_ADMIN: &str = "Only server administrators can change the ticket topics.";
/// The custom ID prefix of the questions form (the topic's ID follows).
pub const QUESTIONS_FORM_PREFIX: &str = "ticket:topic-questions:";
/// Most characters of a topic's description: a select menu option's limit.
pub const MAX_DESCRIPTION_CHARS: usize = 100;

/// `/ticket-topic`, shown to administrators only by default.
pub fn definition() -> CreateCommand {
    let name = || {
        CreateCommandOption::new(CommandOptionType::String, "name", "The topic's name")
            .required(true)
            .max_length(TopicName::MAX_CHARS as u16)
    };
    CreateCommand::new(NAME)
        .description("Manage the ticket topics of the panel and /create-ticket")
        .default_member_permissions(Permissions::ADMINISTRATOR)
        .dm_permission(false)
        .add_option(
            CreateCommandOption::new(CommandOptionType::SubCommand, "add", "Add a topic")
                .add_sub_option(name())
                .add_sub_option(
                    CreateCommandOption::new(
                        CommandOptionType::String,
                        "description",
                        "What it is for",
                    )
                    .max_length(MAX_DESCRIPTION_CHARS as u16),
                )
                .add_sub_option(CreateCommandOption::new(
                    CommandOptionType::Role,
                    "support-role",
                    "A role that handles its tickets, besides Support",
                ))
                .add_sub_option(CreateCommandOption::new(
                    CommandOptionType::String,
                    "emoji",
                    "An emoji for its button",
                )),
        )
        .add_option(
            CreateCommandOption::new(CommandOptionType::SubCommand, "remove", "Remove a topic")
                .add_sub_option(name()),
        )
        .add_option(CreateCommandOption::new(
            CommandOptionType::SubCommand,
            "list",
            "List the topics",
        ))
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "questions",
                "Set a topic's intake questions in a form",
            )
            .add_sub_option(name()),
        )
}

/// The subcommand run and its options.
fn subcommand(command: &CommandInteraction) -> Option<(&str, &[CommandDataOption])> {
    let option = command.data.options.first()?;
    match &option.value {
        CommandDataOptionValue::SubCommand(options) => Some((option.name.as_str(), options)),
        _ => None,
    }
}

fn option<'a>(options: &'a [CommandDataOption], name: &str) -> Option<&'a CommandDataOptionValue> {
    options.iter().find(|o| o.name == name).map(|o| &o.value)
}

fn text<'a>(options: &'a [CommandDataOption], name: &str) -> Option<&'a str> {
    option(options, name)
        .and_then(CommandDataOptionValue::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Handles one `/ticket-topic` interaction.
#[tracing::instrument(name = "ticket_topic", skip_all, fields(user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    let Some((guild_id, setup)) = super::admin_guild(ctx, tickets, command, NOT_ADMIN).await else {
        return;
    };
    let Some((sub, options)) = subcommand(command) else {
        respond_now(&ctx.http, command, "Choose add, remove, list or questions.").await;
        return;
    };
    match sub {
        "list" => respond_now(&ctx.http, command, &list(&setup.topics)).await,
        "questions" => {
            let name = text(options, "name").unwrap_or_default();
            match topics::named(&setup.topics, name) {
                Some(topic) => {
                    open_form(&ctx.http, command, questions_form(topic)).await;
                }
                None => respond_now(&ctx.http, command, &unknown(name, &setup.topics)).await,
            }
        }
        "add" | "remove" => {
            if !defer(&ctx.http, command).await {
                return;
            }
            let (mut text, changed) = match sub {
                "add" => add(tickets, guild_id, options).await,
                _ => remove(tickets, guild_id, text(options, "name").unwrap_or_default()).await,
            };
            if let Some(guild) = changed {
                let updated = super::panel::refresh(&ctx.http, &guild).await;
                text = format!("{text} {}", super::panel::refreshed(updated));
            }
            follow_up(&ctx.http, command, &text).await;
        }
        other => tracing::warn!(subcommand = other, "unknown subcommand, ignored"),
    }
}

/// The topics, one line each, or how to add one.
pub fn list(topics: &[Topic]) -> String {
    if topics.is_empty() {
        return "No ticket topics: every ticket is of one kind. Add one with \
                `/ticket-topic add`."
            .to_owned();
    }
    let mut text = String::from("**Ticket topics**");
    for topic in topics {
        text.push_str(&format!("\n- {}", topic.name));
        if let Some(role) = topic.support_role_id {
            text.push_str(&format!(" (handled by <@&{role}> too)"));
        }
        match topic.questions.len() {
            0 => {}
            1 => text.push_str(": 1 question"),
            n => text.push_str(&format!(": {n} questions")),
        }
    }
    text
}

fn unknown(name: &str, topics: &[Topic]) -> String {
    let names: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
    if names.is_empty() {
        format!("There is no topic named `{name}`: this server has no ticket topics.")
    } else {
        format!(
            "There is no topic named `{name}`. The topics are: {}.",
            names.join(", ")
        )
    }
}

/// What `/ticket-topic add` did, in words, and the guild's entry when it changed.
async fn add(
    tickets: &Tickets,
    guild_id: GuildId,
    options: &[CommandDataOption],
) -> (String, Option<GuildEntry>) {
    let name = match TopicName::parse(text(options, "name").unwrap_or_default()) {
        Ok(name) => name,
        Err(problem) => return (format!("The topic's name {problem}."), None),
    };
    let description = text(options, "description").map(str::to_owned);
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        let text = format!("The description must be at most {MAX_DESCRIPTION_CHARS} characters.");
        return (text, None);
    }
    let emoji = text(options, "emoji").map(str::to_owned);
    if let Some(emoji) = &emoji {
        if ReactionType::try_from(emoji.as_str()).is_err() {
            return (format!("`{emoji}` is not an emoji."), None);
        }
    }
    let support_role_id =
        option(options, "support-role").and_then(CommandDataOptionValue::as_role_id);
    let mut refusal = None;
    let changed = tickets
        .registry()
        .update_guild(guild_id, |guild| {
            if topics::named(&guild.topics, name.as_str()).is_some() {
                refusal = Some(format!(
                    "There is already a topic named `{}`.",
                    name.as_str()
                ));
                return false;
            }
            if guild.topics.len() >= MAX_TOPICS {
                refusal = Some(format!("A server can have at most {MAX_TOPICS} topics."));
                return false;
            }
            refusal = None;
            guild.topics.push(Topic {
                id: topics::next_id(&guild.topics),
                name: name.as_str().to_owned(),
                description: description.clone(),
                support_role_id,
                emoji: emoji.clone(),
                questions: Vec::new(),
            });
            true
        })
        .await;
    match changed {
        Ok(Some((guild, true))) => {
            let mut text = format!(
                "Topic `{}` added. Give it intake questions with `/ticket-topic questions`.",
                name.as_str()
            );
            let added = topics::named(&guild.topics, name.as_str());
            let own_role = added.and_then(|topic| guild.own_role(topic));
            if let (Some(role), Some(_)) = (own_role, guild.thread_parent()) {
                text.push(' ');
                text.push_str(&thread_team(tickets, guild_id, &[role]).await);
            }
            (text, Some(guild))
        }
        Ok(Some((_, false))) => (refusal.unwrap_or_default(), None),
        Ok(None) => (NOT_SET_UP.to_owned(), None),
        Err(err) => {
            tracing::error!(error = %err, "cannot record the topic");
            let text = "The topic could not be saved (the registry is unavailable); try again.";
            (text.to_owned(), None)
        }
    }
}

/// In thread mode, how topics' own Support roles (`roles`) get to see their tickets, and
/// whether they can: the bot adds their members, if Discord lets it list them.
pub(super) async fn thread_team(tickets: &Tickets, guild_id: GuildId, roles: &[RoleId]) -> String {
    let roles = roles
        .iter()
        .map(|role| format!("<@&{role}>"))
        .collect::<Vec<_>>()
        .join(", ");
    match tickets.can_list_members(guild_id).await {
        Ok(()) => format!(
            "In thread mode I add the members of {roles} to each ticket of their topic (the \
             first {MAX_TEAM_IN_THREAD})."
        ),
        Err(TeamError::NoMembersIntent) => format!(
            "In thread mode I add the members of {roles} to each ticket of their topic, but \
             Discord does not let me list the server's members: turn on the **Server Members** \
             intent (Developer Portal, my application's Bot page, Privileged Gateway Intents). \
             Until then they see those tickets only with Support or Manage Threads."
        ),
        Err(TeamError::Discord(err)) => {
            tracing::warn!(error = %err, "cannot check whether the server's members can be listed");
            format!(
                "In thread mode I add the members of {roles} to each ticket of their topic; I \
                 could not check now that Discord lets me list them."
            )
        }
    }
}

/// The topics' own Support roles (each once, the Support role left out): who thread mode
/// adds to their topics' threads.
pub(super) fn own_roles(guild: &GuildEntry) -> Vec<RoleId> {
    let mut roles: Vec<RoleId> = Vec::new();
    for role in guild.topics.iter().filter_map(|t| guild.own_role(t)) {
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    roles
}

/// What `/ticket-topic remove` did, in words, and the guild's entry when it changed.
async fn remove(tickets: &Tickets, guild_id: GuildId, name: &str) -> (String, Option<GuildEntry>) {
    let mut removed = None;
    let changed = tickets
        .registry()
        .update_guild(guild_id, |guild| {
            let Some(at) = guild
                .topics
                .iter()
                .position(|t| t.name.eq_ignore_ascii_case(name.trim()))
            else {
                return false;
            };
            removed = Some(guild.topics.remove(at).name);
            true
        })
        .await;
    match changed {
        Ok(Some((guild, true))) => (
            format!(
                "Topic `{}` removed; its open tickets stay as they are.",
                removed.unwrap_or_default()
            ),
            Some(guild),
        ),
        Ok(Some((guild, false))) => (unknown(name, &guild.topics), None),
        Ok(None) => (NOT_SET_UP.to_owned(), None),
        Err(err) => {
            tracing::error!(error = %err, "cannot remove the topic");
            let text = "The topic could not be removed (the registry is unavailable); try again.";
            (text.to_owned(), None)
        }
    }
}

/// The form that sets `topic`'s questions: five optional lines, filled with its questions.
fn questions_form(topic: &Topic) -> CreateModal {
    let rows = (0..MAX_QUESTIONS)
        .map(|index| {
            let mut input = CreateInputText::new(
                InputTextStyle::Short,
                format!("Question {}", index + 1),
                format!("q{index}"),
            )
            .required(false)
            .max_length(100)
            .placeholder("Order number | short | required");
            if let Some(question) = topic.questions.get(index) {
                input = input.value(question.line());
            }
            CreateActionRow::InputText(input)
        })
        .collect();
    CreateModal::new(
        format!("{QUESTIONS_FORM_PREFIX}{}", topic.id),
        "Intake questions",
    )
    .components(rows)
}

/// Handles the submission of a topic's questions form.
#[tracing::instrument(name = "topic_questions", skip_all, fields(user_id = %modal.user.id))]
pub async fn questions_submitted(
    ctx: &Context,
    tickets: &Tickets,
    modal: &ModalInteraction,
    topic_id: u32,
) {
    let Some(guild_id) = modal.guild_id else {
        return;
    };
    if !Asked::from(modal).is_admin() {
        respond_now(&ctx.http, modal, NOT_ADMIN).await;
        return;
    }
    let mut questions = Vec::new();
    for (index, line) in form_answers(modal, MAX_QUESTIONS).into_iter().enumerate() {
        let Some(line) = line.filter(|l| !l.trim().is_empty()) else {
            continue;
        };
        match TopicQuestion::parse(&line) {
            Ok(question) => questions.push(question),
            Err(problem) => {
                let text = format!("Question {}: {problem}. Nothing was changed.", index + 1);
                respond_now(&ctx.http, modal, &text).await;
                return;
            }
        }
    }
    if !defer(&ctx.http, modal).await {
        return;
    }
    let count = questions.len();
    let changed = tickets
        .registry()
        .update_guild(guild_id, |guild| {
            let Some(topic) = guild.topics.iter_mut().find(|t| t.id == topic_id) else {
                return false;
            };
            topic.questions.clone_from(&questions);
            true
        })
        .await;
    let text = match changed {
        Ok(Some((guild, true))) => {
            let name = guild
                .topic(topic_id)
                .map(|t| t.name.clone())
                .unwrap_or_default();
            match count {
                0 => format!("Topic `{name}` asks no questions: its tickets open at once."),
                n => format!("Topic `{name}` now asks {n} question(s) before its ticket opens."),
            }
        }
        Ok(_) => "That topic was removed meanwhile.".to_owned(),
        Err(err) => {
            tracing::error!(error = %err, "cannot record the topic's questions");
            "The questions could not be saved (the registry is unavailable); try again.".to_owned()
        }
    };
    follow_up(&ctx.http, modal, &text).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_names_each_topic_its_role_and_questions() {
        assert!(list(&[]).starts_with("No ticket topics"));
        let topic = Topic {
            id: 1,
            name: "Billing".into(),
            description: None,
            support_role_id: Some(serenity::all::RoleId::new(5)),
            emoji: None,
            questions: vec![TopicQuestion::parse("Order").unwrap()],
        };
        assert_eq!(
            list(&[topic]),
            "**Ticket topics**\n- Billing (handled by <@&5> too): 1 question"
        );
        assert_eq!(
            unknown("x", &[]),
            "There is no topic named `x`: this server has no ticket topics."
        );
    }

    #[test]
    fn own_roles_are_the_topics_roles_once_each_without_support() {
        let mut guild: GuildEntry =
            serde_json::from_str(r#"{"category_id":"2","support_role_id":"3"}"#).unwrap();
        assert!(own_roles(&guild).is_empty());
        let topic = |id: u32, role: Option<u64>| Topic {
            id,
            name: format!("t{id}"),
            description: None,
            support_role_id: role.map(RoleId::new),
            emoji: None,
            questions: Vec::new(),
        };
        guild.topics = vec![
            topic(1, Some(5)),
            topic(2, None),
            topic(3, Some(3)),
            topic(4, Some(6)),
            topic(5, Some(5)),
        ];
        assert_eq!(own_roles(&guild), [RoleId::new(5), RoleId::new(6)]);
    }
}
