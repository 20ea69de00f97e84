//! `/setup [mode:channels|threads] [assistant-while-claimed]` (administrators only): sets the
//! guild up for tickets ([`Tickets::set_up`]: the Tickets category, the Support role,
//! `ticket-logs`, in thread mode the `#tickets` channel, and the repair of open tickets when one
//! was deleted), records whether the assistant keeps answering in claimed tickets when asked
//! (kept as it is otherwise), and says what it did.

use serenity::all::{
    CommandDataOptionValue, CommandInteraction, CommandOptionType, Context, CreateCommand,
    CreateCommandOption, GuildId, Permissions,
};

use super::answer::{defer, follow_up, respond_now, Asked};
use crate::{
    guild::refusal::Refusal,
    registry::TicketMode,
    tickets::{Found, Outcome, SetupError, Tickets},
};

/// The command's name.
pub const NAME: &str = "setup";

/// Told to a member without the Administrator permission.
pub const NOT_ADMIN: &str = "Only server administrators can run /setup.";
/// The option choosing how tickets are made (`channels` or `threads`).
pub const MODE_OPTION: &str = "mode";
/// The option choosing whether the assistant answers in a claimed ticket (default: quiet).
pub const ASSISTANT_WHILE_CLAIMED_OPTION: &str = "assistant-while-claimed";

/// `/setup`, shown to administrators only by default.
pub fn definition() -> CreateCommand {
    let mode = CreateCommandOption::new(
        CommandOptionType::String,
        MODE_OPTION,
        "Tickets as private channels (default) or as private threads in #tickets",
    )
    .add_string_choice("channels", TicketMode::Channels.name())
    .add_string_choice("threads", TicketMode::Threads.name());
    CreateCommand::new(NAME)
        .description("Create or repair the Tickets category, the Support role and ticket-logs")
        .default_member_permissions(Permissions::ADMINISTRATOR)
        .dm_permission(false)
        .add_option(mode)
        .add_option(CreateCommandOption::new(
            CommandOptionType::Boolean,
            ASSISTANT_WHILE_CLAIMED_OPTION,
            "Whether the assistant keeps answering in a claimed ticket (default: it stays quiet)",
        ))
}

/// Whether `command` asks the assistant to answer in claimed tickets (`None`: keep the
/// guild's choice).
fn asked_assistant_while_claimed(command: &CommandInteraction) -> Option<bool> {
    command.data.options.iter().find_map(|o| match o.value {
        CommandDataOptionValue::Boolean(on) if o.name == ASSISTANT_WHILE_CLAIMED_OPTION => Some(on),
        _ => None,
    })
}

/// The mode `command` asks for (`None`: keep the guild's).
fn asked_mode(command: &CommandInteraction) -> Option<TicketMode> {
    command.data.options.iter().find_map(|o| match &o.value {
        CommandDataOptionValue::String(name) if o.name == MODE_OPTION => TicketMode::parse(name),
        _ => None,
    })
}

/// Handles one `/setup` interaction.
#[tracing::instrument(name = "setup", skip_all, fields(guild_id = command.guild_id.map(|g| g.get()), user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    let Some(guild_id) = command.guild_id else {
        respond_now(&ctx.http, command, "Run /setup in a server.").await;
        return;
    };
    if !Asked::from(command).is_admin() {
        tracing::warn!("/setup refused: the member is not an administrator");
        respond_now(&ctx.http, command, NOT_ADMIN).await;
        return;
    }
    if !defer(&ctx.http, command).await {
        return;
    }
    let text = match tickets.set_up(guild_id, asked_mode(command)).await {
        Ok(outcome) => {
            tracing::info!(?outcome, "/setup done");
            let to_threads = outcome.mode_changed && outcome.mode == TicketMode::Threads;
            let mut text = describe(outcome);
            let guild = tickets.registry().guild(guild_id);
            let roles = guild.as_ref().map(super::topics::own_roles);
            if let Some(roles) = roles.filter(|r| to_threads && !r.is_empty()) {
                text.push(' ');
                text.push_str(&super::topics::thread_team(tickets, guild_id, &roles).await);
            }
            if let Some(on) = asked_assistant_while_claimed(command) {
                text.push_str(&assistant_while_claimed(tickets, guild_id, on).await);
            }
            text
        }
        Err(SetupError::Discord(err)) => {
            let refusal = Refusal::of(&err);
            refusal.log(&err, "set up tickets");
            refusal.explain("set up tickets")
        }
        Err(SetupError::Registry(err)) => {
            tracing::error!(error = %err, "cannot record the setup");
            "I couldn't save the setup: the ticket registry (NATS JetStream) is unavailable. \
             Please try again in a moment."
                .to_owned()
        }
    };
    follow_up(&ctx.http, command, &text).await;
}

/// Records whether the assistant answers in the guild's claimed tickets; returns what to add to
/// the answer (nothing when it was so already).
async fn assistant_while_claimed(tickets: &Tickets, guild: GuildId, on: bool) -> String {
    let changed = tickets
        .registry()
        .update_guild(guild, |entry| {
            let changed = entry.staff.assistant_while_claimed != on;
            entry.staff.assistant_while_claimed = on;
            changed
        })
        .await;
    match changed {
        Ok(Some((_, true))) => {
            tracing::info!(on, "assistant in claimed tickets changed");
            if on {
                " From now on the assistant keeps answering in claimed tickets.".to_owned()
            } else {
                " From now on the assistant stays quiet in claimed tickets.".to_owned()
            }
        }
        Ok(_) => String::new(),
        Err(err) => {
            tracing::error!(error = %err, "cannot record the assistant in claimed tickets");
            " I couldn't save whether the assistant answers in claimed tickets: the ticket \
             registry (NATS JetStream) is unavailable. Please run /setup again in a moment."
                .to_owned()
        }
    }
}

/// What the administrator reads about a set-up.
fn describe(outcome: Outcome) -> String {
    let mut done = Vec::new();
    let mut reused = Vec::new();
    // What it is, and what it is like when the bot made it.
    let mut note = |found: Found, what: &str, made: &str| match found {
        Found::Created => done.push(format!("created {what}{made}")),
        Found::Recreated => done.push(format!("made {what}{made} again (it had been deleted)")),
        Found::ByName => reused.push(what.to_owned()),
        Found::Kept => {}
    };
    note(
        outcome.category,
        "the Tickets category",
        " (hidden from @everyone)",
    );
    note(outcome.role, "the Support role", "");
    note(outcome.log_channel, "#ticket-logs", " (staff only)");
    if let Some(found) = outcome.threads_channel {
        note(
            found,
            "#tickets",
            " (each ticket is a private thread in it)",
        );
    }
    let unchanged =
        outcome.repaired_tickets == 0 && outcome.overflow_repaired == 0 && !outcome.mode_changed;
    let mut text = match (done.is_empty(), reused.is_empty()) {
        (true, true) if unchanged => {
            "Tickets are already set up: the Tickets category, the Support role and \
             #ticket-logs exist. Nothing changed."
                .to_owned()
        }
        (false, _) => format!("Done: {}.", done.join(", ")),
        (true, _) => "Done.".to_owned(),
    };
    if !reused.is_empty() {
        text.push_str(&format!(
            " I found {} already here (made earlier, perhaps by another bot) and use it from now on.",
            reused.join(", ")
        ));
    }
    if outcome.adopted_tickets > 0 {
        text.push_str(&format!(
            " I registered {} ticket channel(s) found in the Tickets category (named ticket-<member ID>) as open tickets.",
            outcome.adopted_tickets
        ));
    }
    if outcome.repaired_tickets > 0 {
        text.push_str(&format!(
            " Repaired {} open ticket(s) to match.",
            outcome.repaired_tickets
        ));
    }
    if outcome.overflow_repaired > 0 {
        text.push_str(&format!(
            " Repaired {} overflow ticket categor{} (Tickets 2, ...) to match the Tickets category.",
            outcome.overflow_repaired,
            if outcome.overflow_repaired == 1 { "y" } else { "ies" }
        ));
    }
    text.push_str(match outcome.mode {
        TicketMode::Channels => " New tickets are private channels.",
        TicketMode::Threads => {
            " New tickets are private threads in #tickets, which the Support role manages."
        }
    });
    if outcome.role.made() {
        text.push_str(" Give the Support role to your staff.");
    }
    if !outcome.role_is_ours {
        text.push_str(
            " Note: a role named Support already existed and I did not create it; I use it, \
             so everyone who has it sees every ticket. Check who holds it.",
        );
    }
    text
}
