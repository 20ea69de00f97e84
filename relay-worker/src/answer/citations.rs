//! A model's answer that cites numbered passages (`[1]`, `[2, 3]`) turned into the reply: the
//! numbers it may use are kept and renumbered in order of first use, the others dropped, and a
//! last line names the sources (`Sources: billing.md › Refunds; account.md › Password reset`,
//! the n-th name being `[n]`).

use super::SOURCES_LINE;

/// What the model is told to answer, alone, when the passages do not answer the question.
pub const NOT_COVERED: &str = "NOT_COVERED";

/// The reply made of a model's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cited {
    /// It cites at least one passage: the text (with the [`SOURCES_LINE`]) and the sources.
    Grounded {
        /// The answer, renumbered, with the sources line.
        text: String,
        /// The sources cited, in the order of their new numbers.
        sources: Vec<String>,
    },
    /// It cites none: the text without citation marks.
    Uncited(String),
    /// The model said the passages do not cover the question.
    NotCovered,
}

/// Reads `answer`, which may cite `passages` (the sources of `[1]`, `[2]`... in order).
pub fn cite(answer: &str, passages: &[String]) -> Cited {
    if answer.contains(NOT_COVERED) {
        return Cited::NotCovered;
    }
    let answer = without_sources_line(answer);
    // Old passage number (1-based) → new number, in order of first citation.
    let mut order: Vec<usize> = Vec::new();
    let mut text = String::with_capacity(answer.len());
    let mut rest = answer;
    while let Some(open) = rest.find('[') {
        let (before, from) = rest.split_at(open);
        let Some(close) = from.find(']') else {
            break;
        };
        let inside = &from[1..close];
        match numbers(inside) {
            Some(cited) => {
                let kept: Vec<usize> = cited
                    .into_iter()
                    .filter(|n| (1..=passages.len()).contains(n))
                    .map(|n| match order.iter().position(|&o| o == n) {
                        Some(i) => i + 1,
                        None => {
                            order.push(n);
                            order.len()
                        }
                    })
                    .collect();
                if kept.is_empty() {
                    // "true [9]." → "true." rather than "true ."
                    text.push_str(before.trim_end_matches(' '));
                } else {
                    text.push_str(before);
                    let mut unique = kept;
                    unique.dedup();
                    let list: Vec<String> = unique.iter().map(usize::to_string).collect();
                    text.push_str(&format!("[{}]", list.join(", ")));
                }
            }
            None => {
                // Not a citation ("[the page]"): keep the bracket and look inside it too.
                text.push_str(before);
                text.push('[');
                rest = &from[1..];
                continue;
            }
        }
        rest = &from[close + 1..];
    }
    text.push_str(rest);
    let text = text.trim().to_owned();
    if order.is_empty() {
        return Cited::Uncited(text);
    }
    let sources: Vec<String> = order.iter().map(|&n| passages[n - 1].clone()).collect();
    Cited::Grounded {
        text: format!("{text}\n\n{SOURCES_LINE}{}", sources.join("; ")),
        sources,
    }
}

/// The numbers of a citation mark's inside (`1`, `1, 2`, `1,2`), or `None` when it is not one
/// (`[link]`, `[]`, `[1a]`).
fn numbers(inside: &str) -> Option<Vec<usize>> {
    let parts: Vec<&str> = inside.split(',').map(str::trim).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 3)
    {
        return None;
    }
    parts.iter().map(|p| p.parse().ok()).collect()
}

/// `answer` without a last line of its own that starts `Sources:` (the worker writes that one).
fn without_sources_line(answer: &str) -> &str {
    let trimmed = answer.trim_end();
    match trimmed.rfind('\n') {
        Some(at)
            if trimmed[at + 1..]
                .trim_start()
                .to_lowercase()
                .starts_with("sources:") =>
        {
            trimmed[..at].trim_end()
        }
        _ => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passages() -> Vec<String> {
        [
            "billing.md › Refunds",
            "account.md › Password reset",
            "faq.txt",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    #[test]
    fn cited_passages_become_the_sources_line_in_order_of_use() {
        let answer = "Reset it from the login page [2]. Refunds take 5 to 10 days [1][2].";
        assert_eq!(
            cite(answer, &passages()),
            Cited::Grounded {
                text: "Reset it from the login page [1]. Refunds take 5 to 10 days [2][1].\n\n\
                       Sources: account.md › Password reset; billing.md › Refunds"
                    .to_owned(),
                sources: vec![
                    "account.md › Password reset".to_owned(),
                    "billing.md › Refunds".to_owned()
                ],
            }
        );
    }

    #[test]
    fn unknown_numbers_are_dropped_and_other_brackets_kept() {
        let answer = "Yes [1, 7]. See [the page] and [0] or [12]. [3]";
        let Cited::Grounded { text, sources } = cite(answer, &passages()) else {
            panic!("grounded");
        };
        assert_eq!(
            text,
            "Yes [1]. See [the page] and or. [2]\n\nSources: billing.md › Refunds; faq.txt"
        );
        assert_eq!(sources.len(), 2);
    }

    #[test]
    fn an_answer_citing_nothing_or_saying_not_covered_is_not_grounded() {
        assert_eq!(
            cite("I think so [9].", &passages()),
            Cited::Uncited("I think so.".to_owned())
        );
        assert_eq!(
            cite("Probably yes.", &[]),
            Cited::Uncited("Probably yes.".to_owned())
        );
        assert_eq!(cite("NOT_COVERED", &passages()), Cited::NotCovered);
        assert_eq!(cite(" NOT_COVERED.\n", &passages()), Cited::NotCovered);
    }

    #[test]
    fn the_models_own_sources_line_is_replaced() {
        let answer = "Within 14 days [1].\nSources: [1] billing.md";
        let Cited::Grounded { text, .. } = cite(answer, &passages()) else {
            panic!("grounded");
        };
        assert_eq!(text, "Within 14 days [1].\n\nSources: billing.md › Refunds");
    }
}
