//! Opening a ticket, for `/create-ticket` and the panel's button alike: a private
//! `ticket-{user_id}` channel in one of the guild's ticket categories with room (by the IDs
//! `/setup` and the overflow stored), visible to the user, the Support role and the bot,
//! registered as open, with a welcome message carrying the Close button; in thread mode a
//! private thread of the `#tickets` channel instead (`super::thread`). A user with an open
//! ticket is pointed at it.
//!
//! A ticket opened under a topic also lets the topic's Support role in, names the topic in the
//! channel's topic and the welcome, shows the member's form answers under the welcome (an
//! embed: one field per answer, room for Discord's 1,024 characters each), and keeps both in
//! its entry for the relay.

use serenity::all::{
    ButtonStyle, ChannelId, ChannelType, CreateActionRow, CreateAllowedMentions, CreateButton,
    CreateChannel, CreateEmbed, CreateMessage, GuildId, Timestamp, UserId,
};

use super::{
    claim::{channel_topic, CLAIM_BUTTON},
    close::CLOSE_BUTTON,
    Tickets,
};
use crate::{
    guild::{
        overwrites::{member_overwrite, support_overwrite, ticket_overwrites},
        refusal::is_unknown,
        ticket_channel_name,
    },
    registry::{Intake, TicketEntry},
};

/// The custom ID of the panel's "Open a ticket" button.
pub const OPEN_BUTTON: &str = "ticket:open";

/// The outcome of opening a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// The user already has this open ticket.
    Existing(ChannelId),
    /// A new ticket.
    Created(ChannelId),
    /// `/setup` has not run in this guild.
    NotSetUp,
    /// Staff blocked the user from opening tickets.
    Blocked,
}

/// The buttons a ticket's first message carries: Close, and Claim (for staff).
pub(super) fn close_buttons() -> Vec<CreateActionRow> {
    vec![CreateActionRow::Buttons(vec![
        CreateButton::new(CLOSE_BUTTON)
            .label("Close ticket")
            .style(ButtonStyle::Danger),
        CreateButton::new(CLAIM_BUTTON)
            .label("Claim")
            .style(ButtonStyle::Primary),
    ])]
}

/// What the welcome adds outside the support hours: when staff are back (`back`, Unix
/// seconds, shown in each reader's own time zone by Discord).
pub fn staff_away_notice(back: i64) -> String {
    format!(
        "Our support team is away right now; they are back <t:{back}:F> (<t:{back}:R>). \
         The assistant keeps answering in the meantime."
    )
}

impl Tickets {
    /// When staff are next there in `guild`, if its support hours say they are away now.
    pub fn staff_back_at(&self, guild: GuildId) -> Option<i64> {
        self.support_hours(guild)?.next_open(self.now())
    }

    /// Finds the user's open ticket or opens one, under a topic with the member's answers to
    /// its form (`intake`; `None`: no topic, as before topics existed). Two quick presses,
    /// commands or forms of one user are taken one at a time: the second finds the first's
    /// ticket. A member staff blocked gets [`Opened::Blocked`].
    pub async fn open_with(
        &self,
        guild_id: GuildId,
        user_id: UserId,
        intake: Option<Intake>,
    ) -> serenity::Result<Opened> {
        if self.is_blocked(guild_id, user_id) {
            return Ok(Opened::Blocked);
        }
        let _guard = self.inner.ticket_locks.lock((guild_id, user_id)).await;
        let registry = self.registry();
        if let Some(existing) = registry.open_ticket_of(guild_id, user_id) {
            // An admin may have deleted it while the bot was away: check it still exists.
            match existing.to_channel(self.http()).await {
                Ok(_) => return Ok(Opened::Existing(existing)),
                Err(err) if is_unknown(&err) => {
                    self.forget_channel(existing).await;
                }
                Err(err) => return Err(err),
            }
        }
        if registry.guild(guild_id).is_none() {
            return Ok(Opened::NotSetUp);
        }
        let entry = TicketEntry::opened_with(guild_id, user_id, Timestamp::now(), intake.as_ref());
        let channel = self.new_ticket_channel(entry, &[]).await?;
        let welcome = welcome(user_id, intake.as_ref(), self.staff_back_at(guild_id));
        if let Err(err) = channel.send_message(self.http(), welcome).await {
            // The channel works without its welcome; removing it would lose the user's ticket.
            tracing::warn!(error = %err, channel_id = %channel, "cannot post the welcome message");
        }
        self.inner.metrics.ticket_opened();
        Ok(Opened::Created(channel))
    }

    /// Makes the channel of the ticket `entry` (its owner's, plus `members`), in a category
    /// with room (in thread mode, a private thread in `#tickets`), and registers it; a channel
    /// that cannot be registered is removed.
    pub(super) async fn new_ticket_channel(
        &self,
        mut entry: TicketEntry,
        members: &[UserId],
    ) -> serenity::Result<ChannelId> {
        let (guild_id, user_id) = (entry.guild_id, entry.owner_id);
        let Some(setup) = self.registry().guild(guild_id) else {
            return Err(serenity::Error::Other("the guild is not set up"));
        };
        let own_role = entry
            .topic_id
            .and_then(|id| setup.topic(id))
            .and_then(|topic| setup.own_role(topic));
        let channel = if let Some(parent) = setup.thread_parent() {
            entry.thread = true;
            let mut team = match own_role {
                Some(role) => self.topic_team(guild_id, role).await,
                None => Vec::new(),
            };
            // Who is in it anyway is no part of what the role gave.
            team.retain(|m| *m != user_id && !members.contains(m));
            let thread = self
                .create_ticket_thread(parent, user_id, members, &team)
                .await?;
            entry.team = team;
            thread
        } else {
            let mut overwrites =
                ticket_overwrites(guild_id, user_id, setup.support_role_id, self.bot_id());
            overwrites.extend(own_role.map(support_overwrite));
            overwrites.extend(members.iter().copied().map(member_overwrite));
            let builder = CreateChannel::new(ticket_channel_name(user_id))
                .kind(ChannelType::Text)
                .topic(channel_topic(&entry))
                .permissions(overwrites);
            self.create_ticket_channel(guild_id, builder).await?.id
        };
        if let Err(err) = self.registry().put_ticket(channel, entry).await {
            // A channel the registry does not know would never be answered: remove it.
            tracing::error!(error = %err, channel_id = %channel, "cannot register the ticket; removing its channel");
            if let Err(cleanup) = channel.delete(self.http()).await {
                tracing::error!(error = %cleanup, channel_id = %channel, "cannot remove the unregistered ticket channel");
            }
            return Err(serenity::Error::Other("the ticket registry is unavailable"));
        }
        Ok(channel)
    }
}

/// The ticket's first message: who it is for and what to do, the topic when it has one, and
/// the member's form answers under it.
fn welcome(user_id: UserId, intake: Option<&Intake>, staff_back: Option<i64>) -> CreateMessage {
    let mut text = format!("Welcome <@{user_id}>! ");
    if let Some(intake) = intake {
        text.push_str(&format!("**Topic:** {}\n", intake.topic.name));
    }
    text.push_str(
        "Describe your problem here: the assistant answers right away and the support team can \
         read along. When you are done, close the ticket with the button below or \
         `/close-ticket`.",
    );
    if let Some(back) = staff_back {
        text.push_str("\n\n");
        text.push_str(&staff_away_notice(back));
    }
    let mut message = CreateMessage::new()
        .content(text)
        .components(close_buttons())
        .allowed_mentions(CreateAllowedMentions::new());
    if let Some(intake) = intake.filter(|i| !i.form.is_empty()) {
        let fields = intake
            .form
            .iter()
            .map(|entry| (entry.question.clone(), entry.answer.clone(), false));
        message = message.embed(
            CreateEmbed::new()
                .title(format!("{}: the member's answers", intake.topic.name))
                .fields(fields),
        );
    }
    message
}
