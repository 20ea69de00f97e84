//! What the bot says in a ticket that is not an answer: the notices. The history leaves them
//! out of the conversation sent to the assistant, and the ping of the Support team as well.

/// What the user reads when no answer could be had.
pub const UNAVAILABLE_MESSAGE: &str =
    "Sorry, the assistant is unavailable right now. A member of staff will follow up here soon.";

/// What the user reads when their channel's queue is full.
pub const BUSY_MESSAGE: &str =
    "I'm still answering your earlier messages; please send this one again in a moment.";

/// What the assistant says, once per quiet period, when staff write in a ticket.
pub const HANDOFF_MESSAGE: &str = "A member of staff has joined; I'll let them answer.";

/// What a user reads, once per minute, when their messages are beyond the limit.
pub const SLOW_DOWN_MESSAGE: &str =
    "You're sending messages faster than I can answer them; please wait a minute before sending more.";

/// Whether the bot's message `text` is a notice (or the ping of the Support team) rather than
/// an answer.
pub fn is_notice(text: &str) -> bool {
    [
        UNAVAILABLE_MESSAGE,
        BUSY_MESSAGE,
        HANDOFF_MESSAGE,
        SLOW_DOWN_MESSAGE,
    ]
    .contains(&text)
        || crate::answers::is_support_ping(text)
        // A reopened ticket's first message quotes the earlier conversation, which the
        // history takes from the archive instead.
        || text.starts_with(crate::reopen::HEADER)
}
