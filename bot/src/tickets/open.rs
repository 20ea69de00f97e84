//! Opening a ticket, for `/create-ticket` and the panel's button alike: a private
//! `ticket-{user_id}` channel in the guild's Tickets category (by the ID `/setup` stored),
//! visible to the user, the Support role and the bot, registered as open, with a welcome
//! message carrying the Close button. A user with an open ticket is pointed at it.

use serenity::all::{
    ButtonStyle, ChannelId, ChannelType, CreateActionRow, CreateAllowedMentions, CreateButton,
    CreateChannel, CreateMessage, GuildId, PermissionOverwrite, PermissionOverwriteType,
    Permissions, RoleId, Timestamp, UserId,
};

use super::{close::CLOSE_BUTTON, Tickets};
use crate::{
    commands::{granted, hidden_from_everyone},
    registry::TicketEntry,
};

/// The custom ID of the panel's "Open a ticket" button.
pub const OPEN_BUTTON: &str = "ticket:open";

/// The name of a user's ticket channel.
pub fn channel_name(user_id: UserId) -> String {
    format!("ticket-{user_id}")
}

/// What the user gets: view, send, read history, attach files, embed links.
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

/// The outcome of opening a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// The user already has this open ticket.
    Existing(ChannelId),
    /// A new ticket.
    Created(ChannelId),
    /// `/setup` has not run in this guild.
    NotSetUp,
}

impl Tickets {
    /// Finds the user's open ticket or opens one. Call with the user's lock held.
    pub async fn open(&self, guild_id: GuildId, user_id: UserId) -> serenity::Result<Opened> {
        let registry = self.registry();
        if let Some(existing) = registry.open_ticket_of(guild_id, user_id) {
            // An admin may have deleted it while the bot was away: check it still exists.
            match existing.to_channel(self.http()).await {
                Ok(_) => return Ok(Opened::Existing(existing)),
                Err(err) if crate::commands::refusal::is_unknown(&err) => {
                    self.forget_channel(existing).await;
                }
                Err(err) => return Err(err),
            }
        }
        let Some(setup) = registry.guild(guild_id) else {
            return Ok(Opened::NotSetUp);
        };
        let builder = CreateChannel::new(channel_name(user_id))
            .kind(ChannelType::Text)
            .category(setup.category_id)
            .topic(format!("Support ticket of <@{user_id}>"))
            .permissions(ticket_overwrites(
                guild_id,
                user_id,
                setup.support_role_id,
                self.bot_id(),
            ));
        let channel = guild_id.create_channel(self.http(), builder).await?;
        let entry = TicketEntry::opened(guild_id, user_id, Timestamp::now());
        if let Err(err) = registry.put_ticket(channel.id, entry).await {
            // A channel the registry does not know would never be answered: remove it.
            tracing::error!(error = %err, channel_id = %channel.id, "cannot register the ticket; removing its channel");
            if let Err(cleanup) = channel.id.delete(self.http()).await {
                tracing::error!(error = %cleanup, channel_id = %channel.id, "cannot remove the unregistered ticket channel");
            }
            return Err(serenity::Error::Other("the ticket registry is unavailable"));
        }
        let welcome = CreateMessage::new()
            .content(format!(
                "Welcome <@{user_id}>! Describe your problem here: the assistant answers right \
                 away and the support team can read along. When you are done, close the ticket \
                 with the button below or `/close-ticket`."
            ))
            .components(vec![CreateActionRow::Buttons(vec![CreateButton::new(
                CLOSE_BUTTON,
            )
            .label("Close ticket")
            .style(ButtonStyle::Danger)])])
            .allowed_mentions(CreateAllowedMentions::new());
        if let Err(err) = channel.id.send_message(self.http(), welcome).await {
            // The channel works without its welcome; removing it would lose the user's ticket.
            tracing::warn!(error = %err, channel_id = %channel.id, "cannot post the welcome message");
        }
        Ok(Opened::Created(channel.id))
    }
}
