//! `/ticket-stats [days]` (Support and administrators): how the guild's tickets opened in the
//! last `days` days (30 unless given, 1 to 365) went, from the stored entries
//! ([`crate::stats`]), so the figures survive restarts: the tickets' and the staff's (response
//! times within the support hours, when set). Ephemeral.

use serenity::all::{
    CommandDataOptionValue, CommandInteraction, CommandOptionType, Context, CreateCommand,
    CreateCommandOption, Timestamp,
};

use super::{
    answer::{defer, follow_up, respond_now},
    guard,
};
use crate::{stats::TicketStats, tickets::Tickets};

/// The command's name.
pub const NAME: &str = "ticket-stats";
/// Told to a member who is neither Support nor an administrator.
pub const NOT_STAFF: &str = "Only the Support team and administrators can see ticket statistics.";
/// The option naming the window.
const DAYS_OPTION: &str = "days";
/// The window when none is given: a month.
pub const DEFAULT_DAYS: u16 = 30;
/// The longest window: a year.
pub const MAX_DAYS: u16 = 365;
const SECONDS_PER_DAY: i64 = 86_400;

/// `/ticket-stats`: for everyone to see, checked by the bot (the Support role carries no
/// permission Discord could filter on).
pub fn definition() -> CreateCommand {
    CreateCommand::new(NAME)
        .description("How the assistant and the Support team did with this server's tickets")
        .dm_permission(false)
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::Integer,
                DAYS_OPTION,
                "Tickets opened in the last this many days (default 30)",
            )
            .required(false)
            .min_int_value(1)
            .max_int_value(u64::from(MAX_DAYS)),
        )
}

/// Handles one `/ticket-stats`.
#[tracing::instrument(name = "ticket_stats", skip_all, fields(user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    let Some(guild) = guard::staff_guild(ctx, tickets, command.into(), NOT_STAFF).await else {
        return;
    };
    let Some(days) = days(command) else {
        let text = format!("`days` must be a whole number from 1 to {MAX_DAYS}.");
        respond_now(&ctx.http, command, &text).await;
        return;
    };
    if !defer(&ctx.http, command).await {
        return;
    }
    let since = Timestamp::now().unix_timestamp() - i64::from(days) * SECONDS_PER_DAY;
    let since = Timestamp::from_unix_timestamp(since).unwrap_or_default();
    let started = std::time::Instant::now();
    let text = match tickets.registry().guild_tickets(guild, since).await {
        Ok(entries) => {
            tracing::info!(
                tickets = entries.len(),
                days,
                read_ms = started.elapsed().as_millis(),
                "ticket statistics computed"
            );
            let hours = tickets.support_hours(guild);
            TicketStats::with_staff(&entries, hours, Some(tickets.bot_id())).report(days)
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot read the tickets for the statistics");
            "I couldn't read the ticket registry; please try again in a moment.".to_owned()
        }
    };
    follow_up(&ctx.http, command, &text).await;
}

/// The window asked for: the option (an integer, as Discord sends it; a string holding one is
/// taken too), [`DEFAULT_DAYS`] without it, `None` outside 1 to [`MAX_DAYS`].
fn days(command: &CommandInteraction) -> Option<u16> {
    let Some(option) = command.data.options.iter().find(|o| o.name == DAYS_OPTION) else {
        return Some(DEFAULT_DAYS);
    };
    let days = match &option.value {
        CommandDataOptionValue::Integer(days) => *days,
        CommandDataOptionValue::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    u16::try_from(days)
        .ok()
        .filter(|days| (1..=MAX_DAYS).contains(days))
}
