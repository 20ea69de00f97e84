//! Answering an interaction, command or button alike: at once when there is nothing to do, or
//! deferred within Discord's 3-second deadline and followed up once the work is done. Every
//! answer is ephemeral and pings nobody.

use serenity::all::{
    ChannelId, CommandInteraction, ComponentInteraction, CreateAllowedMentions,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateModal,
    EditInteractionResponse, GuildId, Http, Member, ModalInteraction, UserId,
};

use crate::guild::{
    refusal::{code, ALREADY_ANSWERED},
    staff::Standing,
};

/// An interaction the bot answers: a slash command, a pressed button (or a choice in a select
/// menu), or a submitted form.
#[derive(Clone, Copy)]
pub enum Asked<'a> {
    /// A slash command.
    Command(&'a CommandInteraction),
    /// A button or select menu.
    Component(&'a ComponentInteraction),
    /// A form.
    Modal(&'a ModalInteraction),
}

impl<'a> Asked<'a> {
    /// The guild it came from.
    pub fn guild_id(self) -> Option<GuildId> {
        match self {
            Self::Command(c) => c.guild_id,
            Self::Component(c) => c.guild_id,
            Self::Modal(m) => m.guild_id,
        }
    }

    /// The channel it was asked in.
    pub fn channel_id(self) -> ChannelId {
        match self {
            Self::Command(c) => c.channel_id,
            Self::Component(c) => c.channel_id,
            Self::Modal(m) => m.channel_id,
        }
    }

    /// Who asked.
    pub fn user_id(self) -> UserId {
        match self {
            Self::Command(c) => c.user.id,
            Self::Component(c) => c.user.id,
            Self::Modal(m) => m.user.id,
        }
    }

    /// The member who asked (with their roles and permissions in the channel).
    pub fn member(self) -> Option<&'a Member> {
        match self {
            Self::Command(c) => c.member.as_deref(),
            Self::Component(c) => c.member.as_ref(),
            Self::Modal(m) => m.member.as_ref(),
        }
    }

    /// Whether the member who asked is an administrator ([`Standing::is_admin`]).
    pub fn is_admin(self) -> bool {
        self.member()
            .is_some_and(|member| Standing::of_member(member).is_admin())
    }

    async fn respond(
        self,
        http: &Http,
        response: CreateInteractionResponse,
    ) -> serenity::Result<()> {
        match self {
            Self::Command(c) => c.create_response(http, response).await,
            Self::Component(c) => c.create_response(http, response).await,
            Self::Modal(m) => m.create_response(http, response).await,
        }
    }

    /// Replaces the interaction's answer (the deferred one, or the message whose button was
    /// pressed) with `edit`.
    pub async fn edit(self, http: &Http, edit: EditInteractionResponse) -> serenity::Result<()> {
        match self {
            Self::Command(c) => c.edit_response(http, edit).await.map(drop),
            Self::Component(c) => c.edit_response(http, edit).await.map(drop),
            Self::Modal(m) => m.edit_response(http, edit).await.map(drop),
        }
    }
}

impl<'a> From<&'a CommandInteraction> for Asked<'a> {
    fn from(command: &'a CommandInteraction) -> Self {
        Self::Command(command)
    }
}

impl<'a> From<&'a ComponentInteraction> for Asked<'a> {
    fn from(component: &'a ComponentInteraction) -> Self {
        Self::Component(component)
    }
}

impl<'a> From<&'a ModalInteraction> for Asked<'a> {
    fn from(modal: &'a ModalInteraction) -> Self {
        Self::Modal(modal)
    }
}

/// Answers with a form to fill in (a command or a button may; a form may not). `false` when
/// Discord refused it (logged).
pub async fn open_form<'a>(http: &Http, asked: impl Into<Asked<'a>>, form: CreateModal) -> bool {
    match asked
        .into()
        .respond(http, CreateInteractionResponse::Modal(form))
        .await
    {
        Ok(()) => true,
        Err(err) => {
            if !answered_elsewhere(&err) {
                tracing::error!(error = %err, "cannot open the form");
            }
            false
        }
    }
}

/// Answers at once with an ephemeral message (for answers that need no work).
pub async fn respond_now<'a>(http: &Http, asked: impl Into<Asked<'a>>, text: &str) {
    let message = CreateInteractionResponseMessage::new()
        .content(text)
        .ephemeral(true)
        .allowed_mentions(CreateAllowedMentions::new());
    if let Err(err) = asked
        .into()
        .respond(http, CreateInteractionResponse::Message(message))
        .await
    {
        if !answered_elsewhere(&err) {
            tracing::error!(error = %err, "cannot answer the interaction");
        }
    }
}

/// Whether a refused first answer was refused because another process of the bot (on the same
/// shard, during a rolling deploy) answered first: no error, that one does the work.
fn answered_elsewhere(err: &serenity::Error) -> bool {
    let elsewhere = code(err) == Some(ALREADY_ANSWERED);
    if elsewhere {
        tracing::debug!("another bot process answered this interaction");
    }
    elsewhere
}

/// Acknowledges within Discord's 3-second deadline; the answer follows with [`follow_up`].
pub async fn defer<'a>(http: &Http, asked: impl Into<Asked<'a>>) -> bool {
    let ack =
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true));
    match asked.into().respond(http, ack).await {
        Ok(()) => true,
        Err(err) => {
            if !answered_elsewhere(&err) {
                tracing::error!(error = %err, "cannot acknowledge the interaction");
            }
            false
        }
    }
}

/// Replaces the deferred "thinking" message with the answer (ephemeral, like the deferral).
pub async fn follow_up<'a>(http: &Http, asked: impl Into<Asked<'a>>, text: &str) {
    let edit = EditInteractionResponse::new()
        .content(text)
        .allowed_mentions(CreateAllowedMentions::new());
    if let Err(err) = asked.into().edit(http, edit).await {
        tracing::error!(error = %err, "cannot answer the interaction");
    }
}
