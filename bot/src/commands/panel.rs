//! `/ticket-panel` (administrators): posts a message with an "Open a ticket" button in the
//! current channel, and records it in the guild's registry entry. With ticket topics it offers
//! one button per topic instead (one row of up to five), or past five topics a select menu (up
//! to 25, Discord's limit of options) ([`layout`]). When topics are added or removed, the
//! panels already posted are edited to offer them ([`refresh`]).

use serenity::all::{
    ButtonStyle, CommandInteraction, Context, CreateActionRow, CreateAllowedMentions, CreateButton,
    CreateCommand, CreateMessage, CreateSelectMenu, CreateSelectMenuKind, CreateSelectMenuOption,
    EditMessage, Http, Permissions, ReactionType,
};

use super::{
    answer::{defer, follow_up},
    create_ticket::{TOPIC_BUTTON_PREFIX, TOPIC_MENU},
};
use crate::{
    guild::refusal::{self, Refusal},
    registry::{GuildEntry, PanelMessage, Topic},
    tickets::{Tickets, OPEN_BUTTON},
};

/// Most topics shown as buttons; more are offered in a select menu.
pub const MAX_TOPIC_BUTTONS: usize = 5;

/// How a panel offers its choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// No topics: the one "Open a ticket" button.
    OneButton,
    /// One button per topic, in one row.
    Buttons(Vec<Topic>),
    /// A select menu of the topics.
    Menu(Vec<Topic>),
}

/// The panel for a guild with `topics`.
pub fn layout(topics: &[Topic]) -> Layout {
    match topics.len() {
        0 => Layout::OneButton,
        n if n <= MAX_TOPIC_BUTTONS => Layout::Buttons(topics.to_vec()),
        _ => Layout::Menu(topics.iter().take(25).cloned().collect()),
    }
}

fn emoji(topic: &Topic) -> Option<ReactionType> {
    topic
        .emoji
        .as_deref()
        .and_then(|e| ReactionType::try_from(e).ok())
}

/// The rows of components of a panel laid out as `layout`.
fn components(layout: Layout) -> Vec<CreateActionRow> {
    match layout {
        Layout::OneButton => vec![CreateActionRow::Buttons(vec![CreateButton::new(
            OPEN_BUTTON,
        )
        .label("Open a ticket")
        .style(ButtonStyle::Primary)])],
        Layout::Buttons(topics) => vec![CreateActionRow::Buttons(
            topics
                .iter()
                .map(|topic| {
                    let button = CreateButton::new(format!("{TOPIC_BUTTON_PREFIX}{}", topic.id))
                        .label(&topic.name)
                        .style(ButtonStyle::Primary);
                    match emoji(topic) {
                        Some(emoji) => button.emoji(emoji),
                        None => button,
                    }
                })
                .collect(),
        )],
        Layout::Menu(topics) => {
            let options = topics
                .iter()
                .map(|topic| {
                    let mut option = CreateSelectMenuOption::new(&topic.name, topic.id.to_string());
                    if let Some(description) = &topic.description {
                        option = option.description(description);
                    }
                    match emoji(topic) {
                        Some(emoji) => option.emoji(emoji),
                        None => option,
                    }
                })
                .collect();
            vec![CreateActionRow::SelectMenu(
                CreateSelectMenu::new(TOPIC_MENU, CreateSelectMenuKind::String { options })
                    .placeholder("What is your ticket about?"),
            )]
        }
    }
}

/// Edits every panel recorded for `guild` to offer its topics as they are now; returns how
/// many were updated. A panel deleted since it was posted is skipped.
pub async fn refresh(http: &Http, guild: &GuildEntry) -> usize {
    let rows = components(layout(&guild.topics));
    let mut updated = 0;
    for panel in &guild.panel_messages {
        let edit = EditMessage::new().components(rows.clone());
        match panel
            .channel_id
            .edit_message(http, panel.message_id, edit)
            .await
        {
            Ok(_) => updated += 1,
            Err(err) if refusal::is_unknown(&err) => {
                tracing::info!(message_id = %panel.message_id, "a ticket panel was deleted; not updated");
            }
            Err(err) => Refusal::of(&err).log(&err, "update a ticket panel"),
        }
    }
    updated
}

/// How the panels fared after a change of topics, for the administrator's answer.
pub fn refreshed(updated: usize) -> String {
    match updated {
        0 => "No panel is posted yet: `/ticket-panel` posts one.".to_owned(),
        1 => "The posted panel shows the change.".to_owned(),
        n => format!("The {n} posted panels show the change."),
    }
}

/// The command's name.
pub const NAME: &str = "ticket-panel";
/// Told to a member without the Administrator permission.
pub const NOT_ADMIN: &str = "Only server administrators can post a ticket panel.";
/// The panel's text.
pub const PANEL_TEXT: &str = "**Need help?** Press the button to open a private ticket with the \
                              support team.";

/// `/ticket-panel`, shown to administrators only by default.
pub fn definition() -> CreateCommand {
    CreateCommand::new(NAME)
        .description("Post an \"Open a ticket\" button in this channel")
        .default_member_permissions(Permissions::ADMINISTRATOR)
        .dm_permission(false)
}

/// Handles one `/ticket-panel` interaction.
#[tracing::instrument(name = "ticket_panel", skip_all, fields(channel_id = %command.channel_id, user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    let Some((guild_id, setup)) = super::admin_guild(ctx, tickets, command, NOT_ADMIN).await else {
        return;
    };
    if !defer(&ctx.http, command).await {
        return;
    }
    let panel = CreateMessage::new()
        .content(PANEL_TEXT)
        .components(components(layout(&setup.topics)))
        .allowed_mentions(CreateAllowedMentions::new());
    let text = match command.channel_id.send_message(&ctx.http, panel).await {
        Ok(message) => {
            let panel = PanelMessage {
                channel_id: message.channel_id,
                message_id: message.id,
            };
            if let Err(err) = tickets.record_panel(guild_id, panel).await {
                tracing::warn!(error = %err, "cannot record the panel message");
            }
            tracing::info!(message_id = %message.id, "ticket panel posted");
            "Panel posted: members can now open a ticket with its button.".to_owned()
        }
        Err(err) => {
            let refusal = Refusal::of(&err);
            refusal.log(&err, "post the ticket panel");
            refusal.explain("post the ticket panel here")
        }
    };
    follow_up(&ctx.http, command, &text).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(count: u32) -> Vec<Topic> {
        (1..=count)
            .map(|id| Topic {
                id,
                name: format!("Topic {id}"),
                description: None,
                support_role_id: None,
                emoji: None,
                questions: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn buttons_up_to_five_topics_then_a_menu_of_at_most_25() {
        assert_eq!(layout(&[]), Layout::OneButton);
        assert!(matches!(layout(&topics(1)), Layout::Buttons(t) if t.len() == 1));
        assert!(matches!(layout(&topics(5)), Layout::Buttons(t) if t.len() == 5));
        assert!(matches!(layout(&topics(6)), Layout::Menu(t) if t.len() == 6));
        assert!(matches!(layout(&topics(30)), Layout::Menu(t) if t.len() == 25));
    }
}
