//! Why an action of a person (on the page, or a test acting as one) failed; the page shows the
//! message, which says what to fix.

/// Why a page action failed; the page shows the message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SandboxError {
    /// The bot has no gateway session: start it with `DISCORD_PROXY_URL` pointing here.
    #[error("the bot is not connected to the sandbox: start it with DISCORD_PROXY_URL set to this sandbox's address")]
    BotNotConnected,
    /// No such channel, or not one this user can see.
    #[error("channel {0} does not exist or this user cannot see it")]
    UnknownChannel(u64),
    /// No such message in that channel.
    #[error("message {0} does not exist")]
    UnknownMessage(u64),
    /// No such user to act as.
    #[error("no such user {0:?}: use admin, support, member-a or member-b")]
    UnknownUser(String),
    /// The bot registered no command of that name (or this user may not use it).
    #[error("the bot has no command /{0} for this user")]
    UnknownCommand(String),
    /// An empty message.
    #[error("write something first: Discord does not send empty messages")]
    EmptyMessage,
    /// A message longer than Discord allows.
    #[error("a message holds at most 2000 characters")]
    MessageTooLong,
    /// No such guild.
    #[error("guild {0} does not exist")]
    UnknownGuild(u64),
    /// No open form of that ID for this user.
    #[error(
        "no open form {0} for this user: the bot did not open it, or it was submitted or closed"
    )]
    UnknownModal(String),
    /// Answers the Discord client would not submit.
    #[error("the form cannot be submitted: {0}")]
    InvalidForm(String),
    /// No such component on that message.
    #[error("message {message} has no select menu {custom_id:?}")]
    UnknownComponent {
        /// The message.
        message: u64,
        /// The component asked for.
        custom_id: String,
    },
    /// A choice the Discord client would not send.
    #[error("that choice cannot be sent: {0}")]
    InvalidChoice(String),
    /// A locked, archived thread: only members who may manage threads may write in it.
    #[error(
        "thread {0} is archived and locked: only members who may manage threads can write in it"
    )]
    ThreadArchived(u64),
    /// A locked thread: only members who may manage threads may write in it.
    #[error("thread {0} is locked: only members who may manage threads can write in it")]
    ThreadLocked(u64),
}
