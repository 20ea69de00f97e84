//! The owner's rating of a closed ticket, pure: the prompt's 1–5 buttons and the comment
//! form, their custom IDs (each carries the ticket's channel, so a press needs no memory and
//! works in a DM, where an interaction names no guild), and how a rating reads in
//! `#ticket-logs`.

use serenity::all::{
    ButtonStyle, ChannelId, CreateActionRow, CreateButton, CreateInputText, CreateModal,
    InputTextStyle, UserId,
};

/// What the star buttons' custom IDs start with: `ticket:rate:<channel>:<stars>`.
pub const STAR_PREFIX: &str = "ticket:rate:";
/// The "Add a comment" button: `ticket:rate-comment:<channel>`.
pub const COMMENT_PREFIX: &str = "ticket:rate-comment:";
/// The comment form: `ticket:rate-form:<channel>`.
pub const FORM_PREFIX: &str = "ticket:rate-form:";
/// The form's one field.
pub const COMMENT_FIELD: &str = "comment";
/// The longest comment.
pub const MAX_COMMENT_CHARS: u16 = 1_000;
/// The prompt's text.
pub const PROMPT: &str = "How did we do? Rate the help you got with this ticket, from 1 (poor) \
     to 5 (excellent); you can add a comment after.";

/// The prompt's buttons for the ticket in `channel`.
pub fn prompt_buttons(channel: ChannelId) -> Vec<CreateActionRow> {
    vec![CreateActionRow::Buttons(
        (1..=5u8)
            .map(|stars| {
                CreateButton::new(format!("{STAR_PREFIX}{channel}:{stars}"))
                    .label(format!("{stars} ★"))
                    .style(ButtonStyle::Secondary)
            })
            .collect(),
    )]
}

/// The "Add a comment" button under the thanks.
pub fn comment_button(channel: ChannelId) -> Vec<CreateActionRow> {
    vec![CreateActionRow::Buttons(vec![CreateButton::new(format!(
        "{COMMENT_PREFIX}{channel}"
    ))
    .label("Add a comment")
    .style(ButtonStyle::Primary)])]
}

/// The comment form.
pub fn comment_form(channel: ChannelId) -> CreateModal {
    CreateModal::new(format!("{FORM_PREFIX}{channel}"), "Your comment").components(vec![
        CreateActionRow::InputText(
            CreateInputText::new(
                InputTextStyle::Paragraph,
                "What went well, what didn't?",
                COMMENT_FIELD,
            )
            .required(false)
            .max_length(MAX_COMMENT_CHARS),
        ),
    ])
}

/// The ticket and the stars of a star button's custom ID.
pub fn parse_star(custom_id: &str) -> Option<(ChannelId, u8)> {
    let (channel, stars) = custom_id.strip_prefix(STAR_PREFIX)?.split_once(':')?;
    let stars: u8 = stars.parse().ok().filter(|s| (1..=5).contains(s))?;
    Some((parse_channel(channel)?, stars))
}

/// The ticket of a comment button's or form's custom ID.
pub fn parse_channel_after(prefix: &str, custom_id: &str) -> Option<ChannelId> {
    parse_channel(custom_id.strip_prefix(prefix)?)
}

fn parse_channel(id: &str) -> Option<ChannelId> {
    id.parse::<u64>()
        .ok()
        .filter(|id| *id != 0)
        .map(ChannelId::new)
}

/// "★★★★☆ 4/5", as `#ticket-logs` shows a rating.
pub fn stars(stars: u8) -> String {
    let full = usize::from(stars.min(5));
    format!("{}{} {stars}/5", "★".repeat(full), "☆".repeat(5 - full))
}

/// The rating's line under the summary in `#ticket-logs`, with the comment when there is one.
pub fn log_line(owner: UserId, rating: u8, comment: Option<&str>) -> String {
    let mut line = format!("**Rating** from <@{owner}>: {}", stars(rating));
    if let Some(comment) = comment.filter(|c| !c.trim().is_empty()) {
        line.push_str(&format!("\n> {}", comment.trim().replace('\n', "\n> ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buttons_carry_the_ticket_and_read_back() {
        let channel = ChannelId::new(900_000_000_000_000_123);
        assert_eq!(
            parse_star(&format!("{STAR_PREFIX}{channel}:4")),
            Some((channel, 4))
        );
        assert_eq!(parse_star(&format!("{STAR_PREFIX}{channel}:6")), None);
        assert_eq!(parse_star(&format!("{STAR_PREFIX}{channel}:0")), None);
        assert_eq!(parse_star("ticket:rate:abc:3"), None);
        assert_eq!(
            parse_channel_after(FORM_PREFIX, &format!("{FORM_PREFIX}{channel}")),
            Some(channel)
        );
        assert_eq!(parse_channel_after(FORM_PREFIX, "ticket:rate-form:0"), None);
        assert!(format!("{COMMENT_PREFIX}{channel}").len() <= 100);
    }

    #[test]
    fn a_rating_reads_as_stars_and_quotes_the_comment() {
        assert_eq!(stars(4), "★★★★☆ 4/5");
        assert_eq!(stars(1), "★☆☆☆☆ 1/5");
        assert_eq!(
            log_line(UserId::new(7), 5, Some(" fast\nthanks ")),
            "**Rating** from <@7>: ★★★★★ 5/5\n> fast\n> thanks"
        );
        assert_eq!(
            log_line(UserId::new(7), 2, Some("  ")),
            "**Rating** from <@7>: ★★☆☆☆ 2/5"
        );
    }
}
