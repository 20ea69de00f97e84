//! What the bot knows about a Discord guild, below everything that acts on one: the names of
//! what `/setup` makes and of ticket channels, the permission overwrites, who counts as staff,
//! and how Discord's refusals read. Nothing here talks to Discord; the tickets, the relay and
//! the commands all build on it.

pub mod overwrites;
pub mod refusal;
pub mod staff;

use serenity::all::UserId;

/// Name of the category holding the ticket channels (looked up by name only the first time).
pub const TICKETS_CATEGORY: &str = "Tickets";
/// Discord's limit of channels in one category: past it, tickets go to an overflow category.
pub const CATEGORY_CHANNELS: usize = 50;

/// The name of the `n`th ticket category: [`TICKETS_CATEGORY`] for the first, then
/// "Tickets 2", "Tickets 3", ...
pub fn ticket_category_name(n: usize) -> String {
    if n <= 1 {
        TICKETS_CATEGORY.to_owned()
    } else {
        format!("{TICKETS_CATEGORY} {n}")
    }
}

/// Name of the role that sees every ticket (looked up by name only the first time).
pub const SUPPORT_ROLE: &str = "Support";
/// Name of the staff-only channel transcripts go to (looked up by name only the first time).
pub const LOG_CHANNEL: &str = "ticket-logs";
/// Name of the channel whose private threads are the tickets in thread mode.
pub const THREADS_CHANNEL: &str = "tickets";

/// What every ticket channel's name starts with; the owner's ID follows.
const TICKET_PREFIX: &str = "ticket-";

/// The name of `user_id`'s ticket channel.
pub fn ticket_channel_name(user_id: UserId) -> String {
    format!("{TICKET_PREFIX}{user_id}")
}

/// The owner a channel's name says it belongs to (`ticket-<user ID>`), if it is one.
pub fn ticket_owner(channel_name: &str) -> Option<UserId> {
    channel_name
        .strip_prefix(TICKET_PREFIX)
        .and_then(|id| id.parse::<u64>().ok())
        .filter(|id| *id != 0)
        .map(UserId::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_channel_is_named_after_its_owner_and_read_back() {
        let owner = UserId::new(400_000_000_000_000_004);
        let name = ticket_channel_name(owner);
        assert_eq!(name, "ticket-400000000000000004");
        assert_eq!(ticket_owner(&name), Some(owner));
        assert_eq!(ticket_owner("ticket-0"), None);
        assert_eq!(ticket_owner("ticket-abc"), None);
        assert_eq!(ticket_owner("general"), None);
    }

    #[test]
    fn overflow_categories_are_numbered_after_the_first() {
        assert_eq!(ticket_category_name(1), "Tickets");
        assert_eq!(ticket_category_name(2), "Tickets 2");
        assert_eq!(ticket_category_name(12), "Tickets 12");
    }
}
