//! `/ticket-list [status] [claimed-by] [topic]` (Support and administrators, ephemeral): the
//! guild's tickets with owner, topic, priority, claimer, age, last activity and response time
//! (within the support hours when set), 25 a page with Previous/Next buttons
//! ([`crate::listing`] makes the pages; the buttons carry the query), or with `status:blocked`
//! the members blocked from opening tickets. Open tickets come from the registry's copy in
//! memory; closed ones take a pass over the `tickets` bucket.

use serenity::all::{
    ButtonStyle, CommandInteraction, CommandOptionType, ComponentInteraction, Context,
    CreateActionRow, CreateAllowedMentions, CreateButton, CreateCommand, CreateCommandOption,
    CreateEmbed, CreateInteractionResponse, EditInteractionResponse, GuildId,
};

use common::payload::TopicName;

use super::{
    answer::{defer, follow_up, respond_now, Asked},
    guard, options,
};
use crate::{
    listing::{blocks_page, tickets_page, Page, Query, Status, Timing},
    registry::{topics, RegistryError},
    tickets::Tickets,
};

/// The command's name.
pub const NAME: &str = "ticket-list";
/// Told to a member who is neither Support nor an administrator.
pub const NOT_STAFF: &str = "Only the Support team and administrators can list tickets.";
const STATUS_OPTION: &str = "status";
const CLAIMED_BY_OPTION: &str = "claimed-by";
const TOPIC_OPTION: &str = "topic";
/// Told when a list's topic was removed since the list was shown.
const TOPIC_GONE: &str = "That topic no longer exists: run /ticket-list again.";

/// `/ticket-list`.
pub fn definition() -> CreateCommand {
    let mut status = CreateCommandOption::new(
        CommandOptionType::String,
        STATUS_OPTION,
        "Which tickets (default: open)",
    )
    .required(false);
    for choice in Status::ALL {
        status = status.add_string_choice(choice.name(), choice.name());
    }
    CreateCommand::new(NAME)
        .description("This server's tickets, most pressing first")
        .dm_permission(false)
        .add_option(status)
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::User,
                CLAIMED_BY_OPTION,
                "Only the tickets this staff member has",
            )
            .required(false),
        )
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::String,
                TOPIC_OPTION,
                "Only the tickets opened under this topic",
            )
            .required(false)
            .max_length(TopicName::MAX_CHARS as u16),
        )
}

/// Handles one `/ticket-list`.
#[tracing::instrument(name = "ticket_list", skip_all, fields(user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    let Some(guild) = guard::staff_guild(ctx, tickets, command.into(), NOT_STAFF).await else {
        return;
    };
    let status = match options::text(command, STATUS_OPTION) {
        None => Status::Open,
        Some(name) => match Status::parse(name) {
            Some(status) => status,
            None => {
                let text = "Choose open, claimed, unclaimed, closed or blocked.";
                respond_now(&ctx.http, command, text).await;
                return;
            }
        },
    };
    let topic = match options::text(command, TOPIC_OPTION) {
        None => None,
        Some(name) => {
            let defined = tickets
                .registry()
                .guild(guild)
                .map(|g| g.topics)
                .unwrap_or_default();
            match topics::named(&defined, name) {
                Some(topic) => Some(topic.id),
                None => {
                    let text = format!("There is no topic named `{}`.", name.trim());
                    respond_now(&ctx.http, command, &text).await;
                    return;
                }
            }
        }
    };
    let query = Query {
        status,
        claimed_by: options::user(command, CLAIMED_BY_OPTION),
        topic,
        page: 0,
    };
    if !defer(&ctx.http, command).await {
        return;
    }
    show(ctx, tickets, command.into(), guild, query).await;
}

/// Handles a press of a list's Previous or Next button: the same message shows that page.
#[tracing::instrument(name = "ticket_list_page", skip_all, fields(user_id = %component.user.id))]
pub async fn run_button(ctx: &Context, tickets: &Tickets, component: &ComponentInteraction) {
    let Some(query) = Query::from_button(&component.data.custom_id) else {
        tracing::warn!(
            custom_id = component.data.custom_id,
            "unreadable list button"
        );
        return;
    };
    let Some(guild) = guard::staff_guild(ctx, tickets, component.into(), NOT_STAFF).await else {
        return;
    };
    // The message stays as it is until the page is ready (a closed list reads the bucket).
    if let Err(err) = component
        .create_response(&ctx.http, CreateInteractionResponse::Acknowledge)
        .await
    {
        tracing::error!(error = %err, "cannot acknowledge the list button");
        return;
    }
    show(ctx, tickets, component.into(), guild, query).await;
}

/// Puts the page `query` asks for in the interaction's answer.
async fn show(ctx: &Context, tickets: &Tickets, asked: Asked<'_>, guild: GuildId, query: Query) {
    let started = std::time::Instant::now();
    let topic = match query.topic {
        None => None,
        Some(id) => match topic_name(tickets, guild, id) {
            Some(name) => Some(name),
            None => {
                follow_up(&ctx.http, asked, TOPIC_GONE).await;
                return;
            }
        },
    };
    let page = match page(tickets, guild, query, topic.as_deref()).await {
        Ok(page) => page,
        Err(err) => {
            tracing::error!(error = %err, "cannot read the tickets for the list");
            let text = "I couldn't read the ticket registry; please try again in a moment.";
            follow_up(&ctx.http, asked, text).await;
            return;
        }
    };
    tracing::info!(
        status = query.status.name(),
        total = page.total,
        page = page.page,
        read_ms = started.elapsed().as_millis(),
        "ticket list shown"
    );
    let edit = EditInteractionResponse::new()
        .content(heading(query, topic.as_deref(), &page))
        .embeds(if page.lines.is_empty() {
            Vec::new()
        } else {
            vec![CreateEmbed::new().description(page.lines.join("\n"))]
        })
        .components(buttons(query, &page))
        .allowed_mentions(CreateAllowedMentions::new());
    if let Err(err) = asked.edit(&ctx.http, edit).await {
        tracing::error!(error = %err, "cannot show the ticket list");
    }
}

/// The name of the topic `id` in `guild`'s entry.
fn topic_name(tickets: &Tickets, guild: GuildId, id: u32) -> Option<String> {
    let entry = tickets.registry().guild(guild)?;
    entry.topic(id).map(|t| t.name.clone())
}

/// The page of `query` in `guild`; `topic` is the name of the query's topic.
pub async fn page(
    tickets: &Tickets,
    guild: GuildId,
    query: Query,
    topic: Option<&str>,
) -> Result<Page, RegistryError> {
    let registry = tickets.registry();
    let timing = Timing {
        hours: tickets.support_hours(guild),
        now: tickets.now(),
    };
    Ok(match query.status {
        Status::Blocked => {
            let blocked = registry
                .guild(guild)
                .map(|g| g.staff.blocked)
                .unwrap_or_default();
            blocks_page(&blocked, query.page)
        }
        Status::Closed => {
            let closed = registry
                .find_tickets(|t| t.guild_id == guild && !t.is_open())
                .await?;
            tickets_page(closed, query, topic, timing)
        }
        Status::Open | Status::Claimed | Status::Unclaimed => {
            tickets_page(registry.open_tickets(Some(guild)), query, topic, timing)
        }
    })
}

/// "**Open tickets:** 63 · page 1 of 3", or "**Open tickets about Billing claimed by @x:** …".
fn heading(query: Query, topic: Option<&str>, page: &Page) -> String {
    let what = match query.status {
        Status::Open => "Open tickets",
        Status::Claimed => "Claimed tickets",
        Status::Unclaimed => "Unclaimed tickets",
        Status::Closed => "Closed tickets",
        Status::Blocked => "Blocked members",
    };
    let tickets = query.status != Status::Blocked;
    let about = topic
        .filter(|_| tickets)
        .map(|name| format!(" about {name}"))
        .unwrap_or_default();
    let whose = query
        .claimed_by
        .filter(|_| tickets)
        .map(|by| format!(" claimed by <@{by}>"))
        .unwrap_or_default();
    let whose = format!("{about}{whose}");
    if page.total == 0 {
        return format!("**{what}{whose}:** none");
    }
    format!(
        "**{what}{whose}:** {} · page {} of {}",
        page.total,
        page.page + 1,
        page.pages
    )
}

/// Previous and Next, each disabled where there is no such page; none for a single page.
fn buttons(query: Query, page: &Page) -> Vec<CreateActionRow> {
    if page.pages <= 1 {
        return Vec::new();
    }
    vec![CreateActionRow::Buttons(vec![
        CreateButton::new(query.button_id(page.page.saturating_sub(1)))
            .label("Previous")
            .style(ButtonStyle::Secondary)
            .disabled(page.page == 0),
        CreateButton::new(query.button_id(page.page + 1))
            .label("Next")
            .style(ButtonStyle::Secondary)
            .disabled(page.page + 1 >= page.pages),
    ])]
}
