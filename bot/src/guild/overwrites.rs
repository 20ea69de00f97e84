//! The permission overwrites the bot gives what it makes: every ticket channel, the Tickets
//! category and `ticket-logs` are hidden from @everyone and opened to exactly who needs them.
//! The `#tickets` channel of thread mode is the exception: everyone sees it (a private thread
//! is seen only by those who see its parent) but only writes in the threads they are in, and
//! Support manages its threads, which lets them see every private one.

use serenity::all::{
    GuildId, PermissionOverwrite, PermissionOverwriteType, Permissions, RoleId, UserId,
};

/// Denies @everyone (the role whose ID is the guild's) the sight of a channel.
pub fn hidden_from_everyone(guild_id: GuildId) -> PermissionOverwrite {
    PermissionOverwrite {
        allow: Permissions::empty(),
        deny: Permissions::VIEW_CHANNEL,
        kind: PermissionOverwriteType::Role(RoleId::new(guild_id.get())),
    }
}

/// Grants `allow` to a role or member, denying nothing.
pub fn granted(allow: Permissions, kind: PermissionOverwriteType) -> PermissionOverwrite {
    PermissionOverwrite {
        allow,
        deny: Permissions::empty(),
        kind,
    }
}

/// What a ticket's people get: view, send, read history, attach files, embed links.
pub fn member_permissions() -> Permissions {
    Permissions::VIEW_CHANNEL
        | Permissions::SEND_MESSAGES
        | Permissions::READ_MESSAGE_HISTORY
        | Permissions::ATTACH_FILES
        | Permissions::EMBED_LINKS
}

/// A member's access to a ticket (its owner's, or someone `/ticket-add` added).
pub fn member_overwrite(user: UserId) -> PermissionOverwrite {
    granted(member_permissions(), PermissionOverwriteType::Member(user))
}

/// The Support role's access to a ticket.
pub fn support_overwrite(role: RoleId) -> PermissionOverwrite {
    granted(member_permissions(), PermissionOverwriteType::Role(role))
}

/// The overwrites of a ticket channel: @everyone denied view; the user and Support get
/// [`member_permissions`]; the bot gets those plus Manage Channels.
pub fn ticket_overwrites(
    guild_id: GuildId,
    user_id: UserId,
    support: RoleId,
    bot_id: UserId,
) -> Vec<PermissionOverwrite> {
    vec![
        hidden_from_everyone(guild_id),
        member_overwrite(user_id),
        support_overwrite(support),
        granted(
            member_permissions() | Permissions::MANAGE_CHANNELS,
            PermissionOverwriteType::Member(bot_id),
        ),
    ]
}

/// The places `/setup` makes: the Tickets category, which Support and the bot see, and
/// `ticket-logs`, which Support reads and the bot posts in, both hidden from @everyone; in
/// thread mode the `#tickets` channel, whose private threads are the tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffPlace {
    /// The Tickets category.
    TicketsCategory,
    /// The `ticket-logs` channel.
    LogChannel,
    /// The `#tickets` channel of thread mode.
    ThreadsChannel,
}

impl StaffPlace {
    /// The place's overwrites, for the Support role `support` and the bot `bot_id`.
    pub fn overwrites(
        self,
        guild_id: GuildId,
        support: RoleId,
        bot_id: UserId,
    ) -> Vec<PermissionOverwrite> {
        let everyone = match self {
            Self::TicketsCategory | Self::LogChannel => hidden_from_everyone(guild_id),
            // Seen and read, so that the threads in it can be; written in only inside them.
            Self::ThreadsChannel => PermissionOverwrite {
                allow: Permissions::VIEW_CHANNEL
                    | Permissions::READ_MESSAGE_HISTORY
                    | Permissions::SEND_MESSAGES_IN_THREADS,
                deny: Permissions::SEND_MESSAGES
                    | Permissions::CREATE_PUBLIC_THREADS
                    | Permissions::CREATE_PRIVATE_THREADS,
                kind: PermissionOverwriteType::Role(RoleId::new(guild_id.get())),
            },
        };
        vec![
            everyone,
            self.support(support),
            granted(self.bot(), PermissionOverwriteType::Member(bot_id)),
        ]
    }

    /// What the Support role `role` gets there.
    pub fn support(self, role: RoleId) -> PermissionOverwrite {
        let allow = match self {
            Self::TicketsCategory => Permissions::VIEW_CHANNEL,
            Self::LogChannel => Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY,
            // Manage Threads shows them every private thread of the channel.
            Self::ThreadsChannel => {
                member_permissions()
                    | Permissions::SEND_MESSAGES_IN_THREADS
                    | Permissions::MANAGE_THREADS
            }
        };
        granted(allow, PermissionOverwriteType::Role(role))
    }

    /// What the bot gets there.
    fn bot(self) -> Permissions {
        match self {
            Self::TicketsCategory => Permissions::VIEW_CHANNEL | Permissions::MANAGE_CHANNELS,
            Self::LogChannel => {
                Permissions::VIEW_CHANNEL
                    | Permissions::SEND_MESSAGES
                    | Permissions::ATTACH_FILES
                    | Permissions::EMBED_LINKS
                    | Permissions::READ_MESSAGE_HISTORY
            }
            Self::ThreadsChannel => {
                member_permissions()
                    | Permissions::SEND_MESSAGES_IN_THREADS
                    | Permissions::CREATE_PRIVATE_THREADS
                    | Permissions::MANAGE_THREADS
            }
        }
    }
}
