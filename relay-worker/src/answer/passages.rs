//! Splits the documents of the knowledge folder into passages: the pieces the search ranks and
//! an answer quotes, each knowing the document and the heading it comes from.
//!
//! Markdown splits at every ATX heading (`#` to `######`, outside fenced code blocks), and
//! within a section at blank lines; neighbouring paragraphs of one section are kept together
//! up to [`TARGET_CHARS`], so that a short lead-in ("To get a refund:") stays with its list.
//! Plain text splits at blank lines only.
//!
//! The passages of one heading form a [`Section`], the unit the search ranks and an answer
//! quotes once under its heading. Passages without a heading (plain text files, Markdown before
//! its first heading) are sections of their own: a text file of questions and answers is many
//! topics, not one.

use std::path::{Path, PathBuf};

/// Paragraphs of one section are joined while the passage stays within this many characters:
/// about a screen of Discord text, enough for one self-contained instruction.
pub const TARGET_CHARS: usize = 800;

/// Files larger than this are skipped (with a warning): a knowledge base is prose, not data.
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// One searchable piece of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    /// The file, relative to the knowledge folder, with `/` separators (`billing/refunds.md`).
    pub document: String,
    /// The nearest heading above the passage, if any.
    pub heading: Option<String>,
    /// The headings above the passage, outermost first (searched along with the text).
    pub heading_path: Vec<String>,
    /// The passage itself.
    pub text: String,
}

impl Passage {
    /// Where it comes from, for people: `billing.md › Refunds`.
    pub fn source(&self) -> String {
        source(&self.document, self.heading.as_deref())
    }
}

/// The passages under one heading of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The file, as in [`Passage::document`].
    pub document: String,
    /// The heading, if any.
    pub heading: Option<String>,
    /// The headings above and including it, outermost first.
    pub heading_path: Vec<String>,
    /// Its passages' texts, in document order.
    pub passages: Vec<String>,
}

/// Where a passage or section comes from, for people: `billing.md › Refunds`.
pub fn source(document: &str, heading: Option<&str>) -> String {
    match heading {
        Some(heading) => format!("{document} › {heading}"),
        None => document.to_owned(),
    }
}

/// Groups consecutive passages of one heading into sections; each passage without a heading is
/// a section of its own.
pub fn sections(passages: Vec<Passage>) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    for passage in passages {
        match sections.last_mut() {
            Some(last)
                if passage.heading.is_some()
                    && last.document == passage.document
                    && last.heading_path == passage.heading_path =>
            {
                last.passages.push(passage.text);
            }
            _ => sections.push(Section {
                document: passage.document,
                heading: passage.heading,
                heading_path: passage.heading_path,
                passages: vec![passage.text],
            }),
        }
    }
    sections
}

/// Whether the folder walk reads this file.
pub fn is_document(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("md" | "markdown" | "txt")
    )
}

/// The documents under `dir`, recursively, sorted; hidden files and folders (`.git`) and
/// symbolic links to folders are skipped.
pub fn document_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() {
                pending.push(path);
            } else if is_document(&path) && (kind.is_file() || path.is_file()) {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The name of `file` in answers: relative to `dir`, `/`-separated.
pub fn document_name(dir: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(dir).unwrap_or(file);
    relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Splits one document's text.
pub fn split(document: &str, text: &str, markdown: bool) -> Vec<Passage> {
    let mut splitter = Splitter {
        document,
        headings: Vec::new(),
        paragraph: String::new(),
        passage: String::new(),
        passages: Vec::new(),
    };
    let mut fence: Option<&str> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if markdown {
            if let Some(marker) = fence {
                splitter.push_line(line);
                if trimmed.starts_with(marker) {
                    fence = None;
                }
                continue;
            }
            if let Some(marker) = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m)) {
                fence = Some(marker);
                splitter.push_line(line);
                continue;
            }
            if let Some((level, heading)) = atx_heading(trimmed) {
                splitter.end_section();
                splitter.headings.truncate(level - 1);
                splitter.headings.resize(level - 1, String::new());
                splitter.headings.push(heading.to_owned());
                continue;
            }
        }
        if trimmed.is_empty() {
            splitter.end_paragraph();
        } else {
            splitter.push_line(line);
        }
    }
    splitter.end_section();
    splitter.passages
}

/// `## Refunds ##` → `(2, "Refunds")`.
fn atx_heading(line: &str) -> Option<(usize, &str)> {
    let level = line.bytes().take_while(|b| *b == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &line[level..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    let heading = rest.trim().trim_end_matches('#').trim();
    (!heading.is_empty()).then_some((level, heading))
}

struct Splitter<'a> {
    document: &'a str,
    headings: Vec<String>,
    paragraph: String,
    passage: String,
    passages: Vec<Passage>,
}

impl Splitter<'_> {
    fn push_line(&mut self, line: &str) {
        if !self.paragraph.is_empty() {
            self.paragraph.push('\n');
        }
        self.paragraph.push_str(line.trim_end());
    }

    fn end_paragraph(&mut self) {
        if self.paragraph.trim().is_empty() {
            self.paragraph.clear();
            return;
        }
        let paragraph = std::mem::take(&mut self.paragraph);
        let joined = self.passage.chars().count() + 2 + paragraph.chars().count();
        if !self.passage.is_empty() && joined > TARGET_CHARS {
            self.end_passage();
        }
        if !self.passage.is_empty() {
            self.passage.push_str("\n\n");
        }
        self.passage.push_str(&paragraph);
    }

    fn end_passage(&mut self) {
        let text = std::mem::take(&mut self.passage);
        if text.trim().is_empty() {
            return;
        }
        let heading_path: Vec<String> = self
            .headings
            .iter()
            .filter(|h| !h.is_empty())
            .cloned()
            .collect();
        self.passages.push(Passage {
            document: self.document.to_owned(),
            heading: heading_path.last().cloned(),
            heading_path,
            text,
        });
    }

    fn end_section(&mut self) {
        self.end_paragraph();
        self.end_passage();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_splits_at_headings_and_keeps_their_path() {
        let text = "# Billing\nIntro.\n\n## Refunds ##\nAsk within 14 days.\n\n### Card\nTo the card.\n\n## Invoices\nMonthly.";
        let passages = split("billing.md", text, true);
        let got: Vec<_> = passages
            .iter()
            .map(|p| {
                (
                    p.heading.as_deref(),
                    p.heading_path.join(" > "),
                    p.text.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (Some("Billing"), "Billing".to_owned(), "Intro."),
                (
                    Some("Refunds"),
                    "Billing > Refunds".to_owned(),
                    "Ask within 14 days."
                ),
                (
                    Some("Card"),
                    "Billing > Refunds > Card".to_owned(),
                    "To the card."
                ),
                (
                    Some("Invoices"),
                    "Billing > Invoices".to_owned(),
                    "Monthly."
                ),
            ]
        );
        assert_eq!(passages[1].source(), "billing.md › Refunds");
    }

    #[test]
    fn short_paragraphs_of_a_section_stay_together_long_ones_split() {
        let text = "## Steps\nTo reset:\n\n1. Open settings.\n2. Press reset.";
        let passages = split("a.md", text, true);
        assert_eq!(passages.len(), 1);
        assert_eq!(
            passages[0].text,
            "To reset:\n\n1. Open settings.\n2. Press reset."
        );
        let long = "word ".repeat(100);
        let text = format!("{long}\n\n{long}\n\n{long}");
        assert_eq!(split("b.txt", &text, false).len(), 3);
    }

    #[test]
    fn headings_inside_code_fences_and_hashtags_are_text() {
        let text = "# Setup\n```sh\n# not a heading\n\nrun it\n```\n#hashtag";
        let passages = split("s.md", text, true);
        assert_eq!(passages.len(), 1, "{passages:#?}");
        assert!(passages[0].text.contains("# not a heading\n\nrun it"));
        assert!(passages[0].text.ends_with("#hashtag"));
    }

    #[test]
    fn passages_of_one_heading_form_one_section_headingless_ones_stay_apart() {
        let long = "word ".repeat(100);
        let text = format!("Lead-in.\n\n# A\n{long}\n\n{long}\n\n## B\nb\n\n# A\nagain");
        let got: Vec<_> = sections(split("d.md", &text, true))
            .iter()
            .map(|s| (source(&s.document, s.heading.as_deref()), s.passages.len()))
            .collect();
        assert_eq!(
            got,
            [
                ("d.md".to_owned(), 1),
                ("d.md › A".to_owned(), 2),
                ("d.md › B".to_owned(), 1),
                ("d.md › A".to_owned(), 1),
            ]
        );
        let faq = sections(split("faq.txt", "one\n\ntwo", false));
        assert_eq!(faq.len(), 1, "short paragraphs join into one passage");
        let faq = sections(split("faq.txt", &format!("{long}\n\n{long}"), false));
        assert_eq!(faq.len(), 2, "each headingless passage is a section");
    }

    #[test]
    fn text_files_have_no_headings() {
        let passages = split("faq.txt", "# not markdown\n\nsecond", false);
        assert_eq!(passages.len(), 1);
        assert_eq!(passages[0].heading, None);
        assert_eq!(passages[0].source(), "faq.txt");
    }

    #[test]
    fn the_walk_finds_documents_recursively_and_skips_hidden_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("guides/deep")).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        for file in [
            "a.md",
            "guides/b.TXT",
            "guides/deep/c.markdown",
            "d.pdf",
            ".git/e.md",
            ".f.md",
        ] {
            std::fs::write(dir.path().join(file), "x").unwrap();
        }
        let names: Vec<_> = document_files(dir.path())
            .unwrap()
            .iter()
            .map(|f| document_name(dir.path(), f))
            .collect();
        assert_eq!(names, ["a.md", "guides/b.TXT", "guides/deep/c.markdown"]);
    }
}
