//! `/setup` (administrators only): creates the "Tickets" category, hidden from @everyone, and
//! the "Support" role, each only when missing, and says what it did.

use serenity::all::{
    ChannelType, CommandInteraction, Context, CreateChannel, CreateCommand, EditRole, GuildId,
    Http, PermissionOverwrite, PermissionOverwriteType, Permissions, RoleId, UserId,
};

use super::{
    defer, follow_up, granted, guild_setup::GuildChannels, hidden_from_everyone, refusal::Refusal,
    respond_now, CommandState, SUPPORT_ROLE, TICKETS_CATEGORY,
};

/// The command's name.
pub const NAME: &str = "setup";

/// Told to a member without the Administrator permission.
pub const NOT_ADMIN: &str = "Only server administrators can run /setup.";

/// `/setup`, shown to administrators only by default.
pub fn definition() -> CreateCommand {
    CreateCommand::new(NAME)
        .description("Create the Tickets category and the Support role")
        .default_member_permissions(Permissions::ADMINISTRATOR)
        .dm_permission(false)
}

/// What `/setup` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The category was missing and is now there.
    pub category_created: bool,
    /// The role was missing and is now there.
    pub role_created: bool,
}

impl Outcome {
    fn describe(self) -> String {
        match (self.category_created, self.role_created) {
            (false, false) => "Tickets are already set up: the Tickets category and the Support role exist. Nothing changed.".to_owned(),
            (true, true) => "Done: created the Tickets category (hidden from @everyone) and the Support role. Give the Support role to your staff.".to_owned(),
            (true, false) => "Done: created the Tickets category (hidden from @everyone); the Support role already existed.".to_owned(),
            (false, true) => "Done: created the Support role; the Tickets category already existed. Give the Support role to your staff.".to_owned(),
        }
    }
}

/// Handles one `/setup` interaction.
#[tracing::instrument(name = "setup", skip_all, fields(guild_id = command.guild_id.map(|g| g.get()), user_id = %command.user.id))]
pub async fn run(ctx: &Context, state: &CommandState, command: &CommandInteraction) {
    let Some(guild_id) = command.guild_id else {
        respond_now(&ctx.http, command, "Run /setup in a server.").await;
        return;
    };
    // Server admins can override `default_member_permissions`: check the member too.
    let is_admin = command
        .member
        .as_ref()
        .and_then(|member| member.permissions)
        .is_some_and(Permissions::administrator);
    if !is_admin {
        tracing::warn!("/setup refused: the member is not an administrator");
        respond_now(&ctx.http, command, NOT_ADMIN).await;
        return;
    }
    if !defer(&ctx.http, command).await {
        return;
    }
    let bot_id = ctx.cache.current_user().id;
    let text = {
        let _guard = state.setup_locks.lock(guild_id).await;
        match ensure(&ctx.http, guild_id, bot_id).await {
            Ok(outcome) => {
                tracing::info!(?outcome, "/setup done");
                outcome.describe()
            }
            Err(err) => {
                let refusal = Refusal::of(&err);
                refusal.log(&err, "set up tickets");
                refusal.explain("set up tickets")
            }
        }
    };
    follow_up(&ctx.http, command, &text).await;
}

/// Creates what is missing; on failure removes what this call created, so a retry starts clean.
pub async fn ensure(http: &Http, guild_id: GuildId, bot_id: UserId) -> serenity::Result<Outcome> {
    let found = GuildChannels::fetch(http, guild_id)
        .await?
        .ticket_setup(http)
        .await?;
    let existing_role = found.support_role;

    let role_id = match existing_role {
        Some(id) => id,
        None => {
            let role = EditRole::new()
                .name(SUPPORT_ROLE)
                .permissions(Permissions::empty())
                .mentionable(false);
            guild_id.create_role(http, role).await?.id
        }
    };
    let role_created = existing_role.is_none();
    if found.category.is_some() {
        return Ok(Outcome {
            category_created: false,
            role_created,
        });
    }
    let builder = CreateChannel::new(TICKETS_CATEGORY)
        .kind(ChannelType::Category)
        .permissions(category_overwrites(guild_id, role_id, bot_id));
    if let Err(err) = guild_id.create_channel(http, builder).await {
        if role_created {
            if let Err(cleanup) = guild_id.delete_role(http, role_id).await {
                tracing::error!(error = %cleanup, role_id = %role_id, "cannot remove the Support role created by a failed /setup");
            }
        }
        return Err(err);
    }
    Ok(Outcome {
        category_created: true,
        role_created,
    })
}

/// The category is hidden from @everyone; Support and the bot see it.
pub fn category_overwrites(
    guild_id: GuildId,
    support: RoleId,
    bot_id: UserId,
) -> Vec<PermissionOverwrite> {
    vec![
        hidden_from_everyone(guild_id),
        granted(
            Permissions::VIEW_CHANNEL,
            PermissionOverwriteType::Role(support),
        ),
        granted(
            Permissions::VIEW_CHANNEL | Permissions::MANAGE_CHANNELS,
            PermissionOverwriteType::Member(bot_id),
        ),
    ]
}
