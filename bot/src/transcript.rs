//! A closed ticket's transcript: every message of the channel in order, with author, time, and
//! attachments, as a plain-text file and a self-contained HTML file, under a summary that also
//! says what the assistant and staff did (answers and their ratings, whether staff replied,
//! whether a human was asked for). An attachment kept in the archive is named by its path
//! there (the HTML links it relatively, so the page works from a copy of the ticket's archive
//! folder); one left out is listed with Discord's link, which expires, and why it was left out.
//! The text is read back too ([`read_text`]): a reopened ticket starts from its last messages.

use std::{collections::HashMap, fmt::Write};

use maud::{html, PreEscaped, DOCTYPE};
use serenity::all::{Attachment, AttachmentId, Message, Timestamp, UserId};

use crate::registry::Priority;

/// What became of one attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// In the archive, at this path relative to the ticket's folder.
    Archived(String),
    /// Not archived, for this reason ("over the size budget", "the download failed").
    Left(&'static str),
}

/// What became of each attachment, by ID (an attachment not listed was not archived).
pub type Files = HashMap<AttachmentId, Kept>;

/// Why an attachment not in [`Files`] is not archived.
const NOT_ARCHIVED: &str = "not archived";

/// What the transcript's header says about the ticket.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The ticket channel's name.
    pub channel_name: String,
    /// Who opened it.
    pub owner_id: UserId,
    /// When.
    pub opened_at: Timestamp,
    /// When it was closed.
    pub closed_at: Timestamp,
    /// Who closed it.
    pub closed_by: UserId,
    /// Why, if given.
    pub reason: Option<String>,
    /// How many messages the channel held.
    pub message_count: usize,
    /// What the assistant and staff did in it.
    pub record: Record,
    /// Attachments archived with the transcript.
    pub attachments_archived: usize,
    /// Attachments left out of the archive.
    pub attachments_skipped: usize,
}

/// What the ticket's entry recorded of the assistant and staff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// Answers the assistant posted.
    pub answers: u32,
    /// When staff first wrote, if they did.
    pub staff_replied_at: Option<Timestamp>,
    /// When "Talk to a human" was first pressed, if it was.
    pub human_requested_at: Option<Timestamp>,
    /// Answers rated helpful.
    pub feedback_up: u32,
    /// Answers rated not helpful.
    pub feedback_down: u32,
    /// Its priority when it was closed.
    pub priority: Priority,
    /// Who had it when it was closed.
    pub claimed_by: Option<UserId>,
}

impl Record {
    fn answers(&self) -> String {
        format!(
            "{} (rated 👍 {} / 👎 {})",
            self.answers, self.feedback_up, self.feedback_down
        )
    }

    fn claimer(&self, show: impl Fn(UserId) -> String) -> String {
        self.claimed_by.map_or_else(|| "nobody".to_owned(), show)
    }

    fn when(at: Option<&Timestamp>, show: impl Fn(&Timestamp) -> String) -> String {
        at.map_or_else(|| "no".to_owned(), |at| format!("yes, {}", show(at)))
    }
}

impl Summary {
    /// The summary as Discord markdown, for the log channel and the DM (mentions render as
    /// names there and ping nobody: the bot sends with no allowed mentions).
    pub fn markdown(&self) -> String {
        let discord_time = |at: &Timestamp| format!("<t:{}:f>", at.unix_timestamp());
        let mut text = format!(
            "**Ticket closed:** `#{}`\n**Owner:** <@{}>\n**Opened:** <t:{}:f>\n**Closed:** <t:{}:f> by <@{}>\n**Reason:** {}\n**Messages:** {}\n**Assistant answers:** {}\n**Staff replied:** {}\n**Human requested:** {}",
            self.channel_name,
            self.owner_id,
            self.opened_at.unix_timestamp(),
            self.closed_at.unix_timestamp(),
            self.closed_by,
            self.reason.as_deref().unwrap_or("none given"),
            self.message_count,
            self.record.answers(),
            Record::when(self.record.staff_replied_at.as_ref(), discord_time),
            Record::when(self.record.human_requested_at.as_ref(), discord_time),
        );
        let _ = write!(
            text,
            "\n**Priority:** {}\n**Claimed by:** {}",
            self.record.priority.name(),
            self.record.claimer(|user| format!("<@{user}>"))
        );
        if let Some(files) = self.files_line() {
            let _ = write!(text, "\n**Attachments:** {files}");
        }
        text
    }

    /// "3 archived, 1 only linked", when the ticket had attachments.
    fn files_line(&self) -> Option<String> {
        match (self.attachments_archived, self.attachments_skipped) {
            (0, 0) => None,
            (kept, 0) => Some(format!("{kept} archived")),
            (kept, left) => Some(format!(
                "{kept} archived, {left} only linked (over the size budget or not downloadable)"
            )),
        }
    }

    fn lines(&self) -> Vec<(&'static str, String)> {
        let plain_time = |at: &Timestamp| at.to_string();
        let mut lines = vec![
            ("Ticket", format!("#{}", self.channel_name)),
            ("Owner", self.owner_id.to_string()),
            ("Opened", self.opened_at.to_string()),
            (
                "Closed",
                format!("{} by {}", self.closed_at, self.closed_by),
            ),
            (
                "Reason",
                self.reason.clone().unwrap_or_else(|| "none given".into()),
            ),
            ("Messages", self.message_count.to_string()),
            ("Assistant answers", self.record.answers()),
            (
                "Staff replied",
                Record::when(self.record.staff_replied_at.as_ref(), plain_time),
            ),
            (
                "Human requested",
                Record::when(self.record.human_requested_at.as_ref(), plain_time),
            ),
            ("Priority", self.record.priority.name().to_owned()),
            ("Claimed by", self.record.claimer(|user| user.to_string())),
        ];
        if let Some(files) = self.files_line() {
            lines.push(("Attachments", files));
        }
        lines
    }
}

/// The two renderings of one transcript.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// Plain text, one block per message.
    pub text: String,
    /// One HTML page, styles inline, nothing loaded from elsewhere.
    pub html: String,
}

/// Renders `messages` (oldest first) under `summary`, with what became of their attachments.
pub fn render(summary: &Summary, messages: &[Message], files: &Files) -> Transcript {
    Transcript {
        text: text(summary, messages, files),
        html: html(summary, messages, files),
    }
}

fn kept<'a>(files: &'a Files, file: &Attachment) -> Result<&'a str, &'static str> {
    match files.get(&file.id) {
        Some(Kept::Archived(path)) => Ok(path),
        Some(Kept::Left(why)) => Err(why),
        None => Err(NOT_ARCHIVED),
    }
}

fn author(message: &Message) -> String {
    let bot = if message.author.bot { " [bot]" } else { "" };
    format!("{} ({}){bot}", message.author.name, message.author.id)
}

fn text(summary: &Summary, messages: &[Message], files: &Files) -> String {
    // About 120 bytes per message besides its content.
    let size = messages
        .iter()
        .map(|m| m.content.len() + 120)
        .sum::<usize>()
        + 512;
    let mut out = String::with_capacity(size);
    for (label, value) in summary.lines() {
        let _ = writeln!(out, "{label}: {value}");
    }
    out.push('\n');
    for message in messages {
        let _ = writeln!(out, "[{}] {}", message.timestamp, author(message));
        for line in message.content.lines() {
            let _ = writeln!(out, "    {line}");
        }
        for file in &message.attachments {
            let _ = match kept(files, file) {
                Ok(path) => writeln!(
                    out,
                    "    [attachment] {} ({} bytes) archived as {path}",
                    file.filename, file.size
                ),
                Err(why) => writeln!(
                    out,
                    "    [attachment] {} ({} bytes) {} ({why})",
                    file.filename, file.size, file.url
                ),
            };
        }
        out.push('\n');
    }
    out
}

/// One message as a text transcript tells it (attachments left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Its author.
    pub author_id: UserId,
    /// Its author's name when it was archived.
    pub author: String,
    /// Whether its author is a bot.
    pub bot: bool,
    /// What it said (empty for a file alone).
    pub content: String,
}

/// The messages of a text transcript (as [`render`] writes it), oldest first: each header line
/// `[time] name (id)` (with ` [bot]`), then its indented lines (the attachments' left out).
pub fn read_text(text: &str) -> Vec<Written> {
    let mut messages = Vec::new();
    let mut current: Option<(Written, Vec<&str>)> = None;
    let mut finish = |current: Option<(Written, Vec<&str>)>| {
        if let Some((mut message, lines)) = current {
            message.content = lines.join("\n").trim_end().to_owned();
            messages.push(message);
        }
    };
    // The summary's lines come first, up to the first empty line.
    for line in text.lines().skip_while(|line| !line.is_empty()) {
        if let Some(body) = line.strip_prefix("    ") {
            if let Some((_, lines)) = current.as_mut() {
                if !body.starts_with("[attachment] ") {
                    lines.push(body);
                }
            }
        } else if let Some(header) = header(line) {
            finish(current.replace((header, Vec::new())));
        }
    }
    finish(current);
    messages
}

/// A message's header line: `[time] name (id)`, ` [bot]` after it for a bot.
fn header(line: &str) -> Option<Written> {
    let (_, rest) = line.strip_prefix('[')?.split_once("] ")?;
    let (rest, bot) = match rest.strip_suffix(" [bot]") {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    let (author, id) = rest.strip_suffix(')')?.rsplit_once(" (")?;
    let id = id.parse::<u64>().ok().filter(|id| *id != 0)?;
    Some(Written {
        author_id: UserId::new(id),
        author: author.to_owned(),
        bot,
        content: String::new(),
    })
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}\
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}\
.m{border-top:1px solid #ddd;padding:.5rem 0}.a{font-weight:600}.t{color:#777;font-size:.85em;margin-left:.5rem}\
.c{white-space:pre-wrap;margin:.3rem 0}.bot .a::after{content:' BOT';font-size:.7em;background:#5865f2;color:#fff;padding:0 .3em;border-radius:3px;margin-left:.3em}";

/// The HTML page: every value goes through maud, which escapes it; only the style sheet, a
/// constant, is written as it is.
fn html(summary: &Summary, messages: &[Message], files: &Files) -> String {
    let title = format!("Transcript of #{}", summary.channel_name);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (title) }
                dl {
                    @for (label, value) in summary.lines() {
                        dt { (label) }
                        dd { (value) }
                    }
                }
                @for message in messages {
                    @let timestamp = message.timestamp.to_string();
                    div class=(if message.author.bot { "m bot" } else { "m" }) id={ "m" (message.id.get()) } {
                        span class="a" { (author(message)) }
                        time class="t" datetime=(timestamp) { (timestamp) }
                        @if !message.content.is_empty() {
                            p class="c" { (message.content) }
                        }
                        @for file in &message.attachments {
                            p {
                                "Attachment: "
                                @match kept(files, file) {
                                    Ok(path) => {
                                        a href=(path) { (file.filename) }
                                        " (" (file.size) " bytes)"
                                    }
                                    Err(why) => {
                                        a href=(file.url) { (file.filename) }
                                        " (" (file.size) " bytes; " (why) ": Discord's link expires)"
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(id: u64, author: &str, bot: bool, content: &str, files: &[(&str, &str)]) -> Message {
        let attachments: Vec<_> = files
            .iter()
            .enumerate()
            .map(|(i, (name, url))| {
                json!({"id": (id * 10 + i as u64).to_string(), "filename": name, "size": 3,
                       "url": url, "proxy_url": url})
            })
            .collect();
        serde_json::from_value(json!({
            "id": id.to_string(), "channel_id": "9", "content": content,
            "author": {"id": (id + 100).to_string(), "username": author, "discriminator": "0",
                       "global_name": null, "avatar": null, "bot": bot},
            "timestamp": "2026-11-29T10:00:00Z", "edited_timestamp": null, "tts": false,
            "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": attachments, "embeds": [], "pinned": false, "type": 0,
        }))
        .unwrap()
    }

    fn summary() -> Summary {
        Summary {
            channel_name: "ticket-7".into(),
            owner_id: UserId::new(7),
            opened_at: Timestamp::from_unix_timestamp(1_790_000_000).unwrap(),
            closed_at: Timestamp::from_unix_timestamp(1_790_003_600).unwrap(),
            closed_by: UserId::new(8),
            reason: Some("solved <3".into()),
            message_count: 2,
            record: Record {
                answers: 3,
                staff_replied_at: Some(Timestamp::from_unix_timestamp(1_790_000_600).unwrap()),
                human_requested_at: None,
                feedback_up: 2,
                feedback_down: 1,
                priority: Priority::High,
                claimed_by: Some(UserId::new(8)),
            },
            attachments_archived: 0,
            attachments_skipped: 0,
        }
    }

    #[test]
    fn every_message_in_order_with_author_time_and_attachments() {
        let messages = [
            message(
                1,
                "ann",
                false,
                "my printer\nis on fire",
                &[("log.txt", "https://cdn/x/log.txt")],
            ),
            message(2, "helper", true, "Try <b>water</b> & wait", &[]),
        ];
        let t = render(&summary(), &messages, &Files::new());
        let first = t.text.find("ann (101)").unwrap();
        let second = t.text.find("helper (102) [bot]").unwrap();
        assert!(first < second);
        assert!(t.text.contains("    my printer\n    is on fire\n"));
        assert!(t
            .text
            .contains("[attachment] log.txt (3 bytes) https://cdn/x/log.txt (not archived)"));
        assert!(t.text.contains("Reason: solved <3"));
        assert!(t.text.contains("[2026-11-29T10:00:00Z]"));

        assert!(t.html.contains("Try &lt;b&gt;water&lt;/b&gt; &amp; wait"));
        assert!(t
            .html
            .contains("<a href=\"https://cdn/x/log.txt\">log.txt</a>"));
        assert!(t.html.contains("solved &lt;3"));
        assert!(t.html.find("id=\"m1\"").unwrap() < t.html.find("id=\"m2\"").unwrap());
        assert!(!t.html.contains("<b>"));
    }

    #[test]
    fn the_text_reads_back_as_its_messages_without_their_files() {
        let messages = [
            message(1, "ann (the first)", false, "my printer\n\nis on fire", &[]),
            message(2, "helper", true, "[not a header] try water", &[]),
            message(
                3,
                "ann (the first)",
                false,
                "",
                &[("log.txt", "https://cdn/x")],
            ),
        ];
        let mut summary = summary();
        summary.reason = Some("[2026] ann (101)".into());
        let text = render(&summary, &messages, &Files::new()).text;
        let read = read_text(&text);
        assert_eq!(read.len(), 3, "{text}");
        assert_eq!(read[0].author_id, UserId::new(101));
        assert_eq!(read[0].author, "ann (the first)");
        assert!(!read[0].bot);
        assert_eq!(read[0].content, "my printer\n\nis on fire");
        assert!(read[1].bot);
        assert_eq!(read[1].content, "[not a header] try water");
        assert_eq!(read[2].content, "", "a file alone");
        assert!(read_text("Ticket: #x\n").is_empty());
    }

    #[test]
    fn html_escapes_every_value_names_and_links_included() {
        let mut summary = summary();
        summary.channel_name = "<script>alert(1)</script>".into();
        let messages = [message(
            1,
            "<img src=x onerror=alert(1)>",
            false,
            "\"quoted\" & <i>",
            &[("a\"b<c>.txt", "https://cdn/x?a=1&b=\"2\"")],
        )];
        let html = render(&summary, &messages, &Files::new()).html;
        assert!(!html.contains("<script>") && !html.contains("<img") && !html.contains("<i>"));
        assert!(
            html.contains("<title>Transcript of #&lt;script&gt;alert(1)&lt;/script&gt;</title>")
        );
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("&quot;quoted&quot; &amp; &lt;i&gt;"));
        assert!(html.contains("href=\"https://cdn/x?a=1&amp;b=&quot;2&quot;\""));
        assert!(html.contains("a&quot;b&lt;c&gt;.txt"));
        assert!(html.starts_with("<!DOCTYPE html>"));
    }

    #[test]
    fn archived_attachments_are_linked_by_their_path_in_the_archive() {
        let messages = [message(
            1,
            "ann",
            false,
            "two files",
            &[
                ("kept.png", "https://cdn/x/kept.png"),
                ("big.zip", "https://cdn/x/big.zip"),
            ],
        )];
        let files = Files::from([
            (
                AttachmentId::new(10),
                Kept::Archived("attachments/10-kept.png".into()),
            ),
            (AttachmentId::new(11), Kept::Left("over the size budget")),
        ]);
        let mut summary = summary();
        summary.attachments_archived = 1;
        summary.attachments_skipped = 1;
        let t = render(&summary, &messages, &files);
        assert!(t
            .text
            .contains("[attachment] kept.png (3 bytes) archived as attachments/10-kept.png"));
        assert!(t.text.contains(
            "[attachment] big.zip (3 bytes) https://cdn/x/big.zip (over the size budget)"
        ));
        assert!(t
            .html
            .contains("<a href=\"attachments/10-kept.png\">kept.png</a>"));
        assert!(
            !t.html.contains("https://cdn/x/kept.png"),
            "no CDN link for it"
        );
        assert!(t.html.contains("over the size budget: Discord"));
        assert!(t.text.contains("Attachments: 1 archived, 1 only linked"));
        let markdown = summary.markdown();
        assert!(markdown.contains("**Attachments:** 1 archived, 1 only linked"));
        assert!(
            markdown.contains("**Assistant answers:** 3 (rated 👍 2 / 👎 1)\n"),
            "the record's lines stay above the attachments': {markdown}"
        );
        assert!(t
            .html
            .contains("<dt>Attachments</dt><dd>1 archived, 1 only linked"));
        assert!(t.html.contains("<dt>Human requested</dt><dd>no</dd>"));
    }

    #[test]
    fn summary_mentions_owner_closer_and_reason() {
        let text = summary().markdown();
        assert!(text.contains("<@7>") && text.contains("by <@8>"));
        assert!(text.contains("**Reason:** solved <3"));
        assert!(text.contains("**Messages:** 2"));
        assert!(text.contains("**Assistant answers:** 3 (rated 👍 2 / 👎 1)"));
        assert!(text.contains("**Staff replied:** yes, <t:1790000600:f>"));
        assert!(text.contains("**Human requested:** no"));
        assert!(text.contains("**Priority:** high\n**Claimed by:** <@8>"));
    }

    #[test]
    fn both_transcripts_say_what_the_assistant_and_staff_did() {
        let mut summary = summary();
        summary.record.human_requested_at =
            Some(Timestamp::from_unix_timestamp(1_790_000_300).unwrap());
        let t = render(&summary, &[], &Files::new());
        assert!(t
            .text
            .contains("Assistant answers: 3 (rated 👍 2 / 👎 1)\n"));
        assert!(
            t.text.contains("Staff replied: yes, 2026-09-21T14:"),
            "{}",
            t.text
        );
        assert!(t.text.contains("Human requested: yes, 2026-09-21T14:"));
        assert!(t
            .html
            .contains("<dt>Staff replied</dt><dd>yes, 2026-09-21T14:"));
        assert!(t
            .html
            .contains("<dt>Assistant answers</dt><dd>3 (rated 👍 2 / 👎 1)</dd>"));
    }
}
