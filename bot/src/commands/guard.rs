//! Who may run a staff command, checked the one way for each: the asker is staff of the guild
//! the command came from, or of the open ticket it was run in ([`Tickets::is_staff`]).
//! Whoever may not is told so, ephemerally, and the command stops.

use serenity::all::{Context, GuildId};

use super::{
    answer::{respond_now, Asked},
    close_ticket::NOT_A_TICKET,
};
use crate::{registry::TicketEntry, tickets::Tickets};

/// The guild of `asked` when its asker is staff there; else they are told `not_staff` (or to
/// run it in a server) and `None` comes back.
pub async fn staff_guild(
    ctx: &Context,
    tickets: &Tickets,
    asked: Asked<'_>,
    not_staff: &str,
) -> Option<GuildId> {
    let Some(guild) = asked.guild_id() else {
        respond_now(&ctx.http, asked, "Run this command in a server.").await;
        return None;
    };
    if !tickets.is_staff(guild, asked.member()) {
        respond_now(&ctx.http, asked, not_staff).await;
        return None;
    }
    Some(guild)
}

/// The open ticket `asked` was run in when its asker is staff of it; else they are told it is
/// no ticket, or `not_staff`, and `None` comes back.
pub async fn staff_ticket(
    ctx: &Context,
    tickets: &Tickets,
    asked: Asked<'_>,
    not_staff: &str,
) -> Option<TicketEntry> {
    let Some(ticket) = tickets.registry().open_ticket(asked.channel_id()) else {
        respond_now(&ctx.http, asked, NOT_A_TICKET).await;
        return None;
    };
    if !tickets.is_staff_of(&ticket, asked.member()) {
        respond_now(&ctx.http, asked, not_staff).await;
        return None;
    }
    Some(ticket)
}
