//! `/ticket-hours set timezone:<IANA name> days:<mon-fri> from:<09:00> to:<17:00>` and
//! `/ticket-hours off` (administrators): when staff are there ([`crate::hours`]). Stored in the
//! guild's entry; outside them a new ticket's welcome says when staff are back (the assistant
//! answers all the same), and response times count only these hours.

use serenity::all::{
    CommandInteraction, CommandOptionType, Context, CreateCommand, CreateCommandOption, Permissions,
};

use super::{
    answer::{defer, follow_up, respond_now, Asked},
    options,
};
use crate::{hours::SupportHours, tickets::Tickets};

/// The command's name.
pub const NAME: &str = "ticket-hours";
/// Told to a member who is not an administrator.
pub const NOT_ADMIN: &str = "Only administrators can set the support hours.";
/// Told when hours were switched off.
pub const OFF: &str = "Support hours are off: the welcome message no longer mentions them.";
const SET: &str = "set";
const OFF_SUBCOMMAND: &str = "off";

/// `/ticket-hours set ...` and `/ticket-hours off`.
pub fn definition() -> CreateCommand {
    let text = |name: &str, what: &str| {
        CreateCommandOption::new(CommandOptionType::String, name, what).required(true)
    };
    CreateCommand::new(NAME)
        .description("When the support team is there")
        .dm_permission(false)
        .default_member_permissions(Permissions::ADMINISTRATOR)
        .add_option(
            CreateCommandOption::new(CommandOptionType::SubCommand, SET, "Set the support hours")
                .add_sub_option(text("timezone", "IANA time zone, e.g. Europe/Paris"))
                .add_sub_option(text("days", "Open days, e.g. mon-fri or sat,sun"))
                .add_sub_option(text("from", "Opening time, e.g. 09:00"))
                .add_sub_option(text("to", "Closing time, e.g. 17:00")),
        )
        .add_option(CreateCommandOption::new(
            CommandOptionType::SubCommand,
            OFF_SUBCOMMAND,
            "No support hours: staff may answer any time",
        ))
}

/// Handles one `/ticket-hours`.
#[tracing::instrument(name = "ticket_hours", skip_all, fields(user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    let Some(guild) = command.guild_id else {
        respond_now(&ctx.http, command, "Run this command in a server.").await;
        return;
    };
    if !Asked::from(command).is_admin() {
        respond_now(&ctx.http, command, NOT_ADMIN).await;
        return;
    }
    let hours = match options::subcommand(command) {
        Some(SET) => {
            let field = |name: &str| options::text(command, name).unwrap_or_default();
            match SupportHours::parse(field("timezone"), field("days"), field("from"), field("to"))
            {
                Ok(hours) => Some(hours),
                Err(err) => {
                    respond_now(&ctx.http, command, &err.to_string()).await;
                    return;
                }
            }
        }
        Some(OFF_SUBCOMMAND) => None,
        _ => {
            let text = "Use `/ticket-hours set ...` or `/ticket-hours off`.";
            respond_now(&ctx.http, command, text).await;
            return;
        }
    };
    if !defer(&ctx.http, command).await {
        return;
    }
    let stored = tickets
        .registry()
        .update_guild(guild, |g| {
            let changed = g.staff.hours != hours;
            g.staff.hours.clone_from(&hours);
            changed
        })
        .await;
    let text = match (stored, &hours) {
        (Ok(Some(_)), Some(hours)) => {
            tracing::info!(hours = hours.describe(), "support hours set");
            format!("Support hours: {}.", hours.describe())
        }
        (Ok(Some(_)), None) => OFF.to_owned(),
        (Ok(None), _) => super::create_ticket::NOT_SET_UP.to_owned(),
        (Err(err), _) => {
            tracing::error!(error = %err, "cannot store the support hours");
            "I couldn't record that; please try again in a moment.".to_owned()
        }
    };
    follow_up(&ctx.http, command, &text).await;
}
