//! `/ticket-transcript <channel ID or @member>` (Support and administrators, answered only to
//! them): a closed ticket's transcript fetched again from the archive, as files: the ticket
//! whose channel had that ID, or the member's latest ticket in this server.

use serenity::all::{
    CommandInteraction, CommandOptionType, Context, CreateAllowedMentions, CreateAttachment,
    CreateCommand, CreateCommandOption, EditInteractionResponse, GuildId, UserId,
};

use super::answer::{defer, follow_up, respond_now};
use crate::tickets::{ArchivedTranscript, Tickets, Wanted};

/// The command's name.
pub const NAME: &str = "ticket-transcript";
/// The option naming the ticket.
pub const OPTION: &str = "ticket";
/// Told to a member who is neither Support nor an administrator.
pub const NOT_STAFF: &str =
    "Only the Support team and administrators can read archived transcripts.";
/// Told when no ticket matches.
pub const NO_TICKET: &str = "I know no ticket by that channel ID or member in this server.";

/// `/ticket-transcript`, for everyone to see, checked by the bot (the Support role carries no
/// permission Discord could filter on).
pub fn definition() -> CreateCommand {
    CreateCommand::new(NAME)
        .description("Fetch a closed ticket's archived transcript again")
        .dm_permission(false)
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::String,
                OPTION,
                "The ticket's channel ID, or @member for their latest ticket",
            )
            .required(true),
        )
}

/// What the option names: `<#id>`, `<@id>`, `<@!id>` or a bare ID.
fn wanted(text: &str) -> Option<Wanted> {
    let text = text.trim();
    let id = |inner: &str| inner.parse::<u64>().ok().filter(|id| *id != 0);
    if let Some(inner) = text.strip_prefix("<#").and_then(|t| t.strip_suffix('>')) {
        return id(inner).map(|id| Wanted::Channel(id.into()));
    }
    if let Some(inner) = text.strip_prefix("<@").and_then(|t| t.strip_suffix('>')) {
        let inner = inner.strip_prefix('!').unwrap_or(inner);
        return id(inner).map(|id| Wanted::Member(UserId::new(id)));
    }
    id(text).map(Wanted::Either)
}

/// For a staff command naming a ticket in its [`OPTION`] (`/ticket-transcript`,
/// `/ticket-reopen`): the guild and the ticket, once the interaction is deferred; `None` when
/// it was answered already (not in a server, not staff (told `not_staff`), no ticket named).
pub(super) async fn staff_ticket(
    ctx: &Context,
    tickets: &Tickets,
    command: &CommandInteraction,
    not_staff: &str,
) -> Option<(GuildId, Wanted)> {
    let Some(guild) = command.guild_id else {
        let text = format!("Run /{} in a server.", command.data.name);
        respond_now(&ctx.http, command, &text).await;
        return None;
    };
    if !tickets.is_staff(guild, command.member.as_deref()) {
        respond_now(&ctx.http, command, not_staff).await;
        return None;
    }
    let asked = command
        .data
        .options
        .iter()
        .find(|o| o.name == OPTION)
        .and_then(|o| o.value.as_str())
        .and_then(wanted);
    let Some(wanted) = asked else {
        respond_now(
            &ctx.http,
            command,
            "Name the ticket: its channel's ID, or `@member` for their latest ticket.",
        )
        .await;
        return None;
    };
    defer(&ctx.http, command).await.then_some((guild, wanted))
}

/// Handles one `/ticket-transcript` interaction.
#[tracing::instrument(name = "ticket_transcript", skip_all, fields(user_id = %command.user.id))]
pub async fn run(ctx: &Context, tickets: &Tickets, command: &CommandInteraction) {
    let Some((guild, wanted)) = staff_ticket(ctx, tickets, command, NOT_STAFF).await else {
        return;
    };
    match tickets.archived_transcript(guild, wanted).await {
        Ok(Some(found)) if !found.files.is_empty() => send(ctx, command, guild, found).await,
        Ok(Some(found)) => {
            let text = format!(
                "The ticket <#{}> of <@{}> has no archived transcript ({}).",
                found.channel,
                found.ticket.owner_id,
                found
                    .ticket
                    .close_record()
                    .without_transcript
                    .unwrap_or_else(|| "it is not closed, or its close is not done".to_owned())
            );
            follow_up(&ctx.http, command, &text).await;
        }
        Ok(None) => follow_up(&ctx.http, command, NO_TICKET).await,
        Err(err) => {
            tracing::error!(error = %err, "cannot read the archive");
            follow_up(
                &ctx.http,
                command,
                "I couldn't read the archive (NATS JetStream); please try again in a moment.",
            )
            .await;
        }
    }
}

async fn send(
    ctx: &Context,
    command: &CommandInteraction,
    guild: GuildId,
    found: ArchivedTranscript,
) {
    let mut text = format!(
        "The archived transcript of <#{}> (the ticket of <@{}>).",
        found.channel, found.ticket.owner_id
    );
    if !found.left_out.is_empty() {
        text.push_str(&format!(
            " {} more attachment(s) did not fit in this answer; they are in the archive: {}",
            found.left_out.len(),
            found
                .left_out
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        // Discord's limit on a message; the names are also in the transcript.
        if text.chars().count() > 1900 {
            text = text.chars().take(1900).collect::<String>() + "…";
        }
    }
    let mut edit = EditInteractionResponse::new()
        .content(text)
        .allowed_mentions(CreateAllowedMentions::new());
    for (name, bytes) in found.files {
        edit = edit.new_attachment(CreateAttachment::bytes(bytes, name));
    }
    if let Err(err) = command.edit_response(&ctx.http, edit).await {
        tracing::error!(error = %err, guild_id = %guild, "cannot send the archived transcript");
        follow_up(
            &ctx.http,
            command,
            "I found the transcript but Discord refused the files (too large?); it is in the \
             archive (`nats object get ticket_transcripts <channel id>/transcript.html`).",
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use serenity::all::ChannelId;

    use super::*;

    #[test]
    fn a_ticket_is_named_by_channel_member_or_bare_id() {
        assert_eq!(wanted("<#12>"), Some(Wanted::Channel(ChannelId::new(12))));
        assert_eq!(wanted(" <@34> "), Some(Wanted::Member(UserId::new(34))));
        assert_eq!(wanted("<@!34>"), Some(Wanted::Member(UserId::new(34))));
        assert_eq!(wanted("56"), Some(Wanted::Either(56)));
        assert_eq!(wanted("0"), None);
        assert_eq!(wanted("ticket-56"), None);
        assert_eq!(wanted("<@abc>"), None);
    }
}
