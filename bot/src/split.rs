//! Splitting a long answer into Discord messages: at most [`DISCORD_MESSAGE_LIMIT`] characters
//! each, cut at the last line break that fits, else the last space, else (one endless word) mid-word.

/// Most characters Discord accepts in one message from a bot.
pub const DISCORD_MESSAGE_LIMIT: usize = 2_000;

/// Cuts `text` into pieces of at most `limit` characters (Unicode scalar values).
///
/// The line break or space a cut happens at is dropped; pieces that would hold only whitespace
/// are dropped too (Discord refuses empty messages). Everything else arrives, in order.
pub fn split_message(text: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(1);
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        // Byte index just past the `limit`-th character, or None when all of `rest` fits.
        let Some((end, _)) = rest.char_indices().nth(limit) else {
            push_piece(&mut pieces, rest);
            break;
        };
        let window = &rest[..end];
        // The character just past the window may be the separator to cut at (a piece of exactly
        // `limit` characters); a separator at index 0 would make an empty piece.
        let with_next = rest
            .char_indices()
            .nth(limit + 1)
            .map_or(rest, |(i, _)| &rest[..i]);
        let cut = with_next
            .rfind('\n')
            .filter(|at| *at > 0)
            .or_else(|| window.rfind(char::is_whitespace).filter(|at| *at > 0));
        match cut {
            Some(at) => {
                push_piece(&mut pieces, &rest[..at]);
                let separator = rest[at..].chars().next().map_or(1, char::len_utf8);
                rest = &rest[at + separator..];
            }
            None => match window.chars().next() {
                Some(first) if first.is_whitespace() => rest = &rest[first.len_utf8()..],
                // One word longer than the limit: cut it where it must be.
                _ => {
                    push_piece(&mut pieces, window);
                    rest = &rest[end..];
                }
            },
        }
    }
    pieces
}

fn push_piece(pieces: &mut Vec<String>, piece: &str) {
    if !piece.trim().is_empty() {
        pieces.push(piece.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        text.split_whitespace().collect()
    }

    #[test]
    fn short_text_is_one_piece() {
        assert_eq!(split_message("hello", 2000), vec!["hello"]);
        assert!(split_message("", 2000).is_empty());
        assert!(split_message(" \n ", 2000).is_empty());
    }

    #[test]
    fn exactly_the_limit_is_one_piece() {
        let text = "a".repeat(2000);
        assert_eq!(split_message(&text, 2000), vec![text]);
    }

    #[test]
    fn cuts_at_the_last_line_break_that_fits() {
        let text = "first line\nsecond line\nthird";
        assert_eq!(
            split_message(text, 23),
            vec!["first line\nsecond line", "third"]
        );
    }

    #[test]
    fn cuts_at_a_space_when_no_line_break_fits() {
        assert_eq!(
            split_message("alpha beta gamma delta", 11),
            vec!["alpha beta", "gamma delta"]
        );
    }

    #[test]
    fn a_piece_may_fill_the_limit_exactly() {
        assert_eq!(split_message("abcd efgh", 4), vec!["abcd", "efgh"]);
    }

    #[test]
    fn cuts_a_word_longer_than_the_limit() {
        assert_eq!(split_message("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
    }

    #[test]
    fn leading_separator_makes_progress() {
        assert_eq!(split_message(" abcdef", 3), vec!["abc", "def"]);
        assert_eq!(split_message("\nabc", 3), vec!["abc"]);
    }

    #[test]
    fn multibyte_characters_count_as_one_and_are_never_cut() {
        let text = "é".repeat(5) + " " + &"日本".repeat(3);
        let pieces = split_message(&text, 5);
        assert_eq!(pieces, vec!["ééééé", "日本日本日", "本"]);
    }

    #[test]
    fn long_answer_keeps_every_word_in_order_within_the_limit() {
        let text: String = (0..1500)
            .map(|i| {
                if i % 17 == 0 {
                    format!("line{i}\n")
                } else {
                    format!("word{i} ")
                }
            })
            .collect();
        let pieces = split_message(&text, DISCORD_MESSAGE_LIMIT);
        assert!(pieces.len() > 1);
        for piece in &pieces {
            assert!(piece.chars().count() <= DISCORD_MESSAGE_LIMIT);
            assert!(!piece.trim().is_empty());
        }
        assert_eq!(words(&pieces.join(" ")), words(&text));
    }
}
