//! Splits a normalised (trimmed, lower-cased) phrase into the few kinds of token the grammar reads.

/// One lexical unit of a phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    /// A run of ASCII digits. The value saturates at `u64::MAX`, so an absurd count stays "huge" (and is later
    /// refused as too far) instead of wrapping into a small, plausible number. `digits` keeps "9", "09" and
    /// "2026" apart: minutes must have two digits and a year four.
    Num { value: u64, digits: usize },
    /// A run of letters. Dots inside or after a word are dropped, so "a.m." reads as "am" and "dec." as "dec".
    Word(String),
    /// `:` between hours, minutes and seconds.
    Colon,
    /// `-` between the parts of an ISO date. A leading minus ("in -2 hours") is left to the grammar to refuse.
    Dash,
}

/// Tokenises `text`, or `None` when it holds a character no phrase uses (so it cannot be understood).
///
/// Letters are split from digits even without a space ("1h30m", "9am", "25th", "2026-12-25T14:00"), and commas
/// are read as spaces ("friday, 5pm").
pub(super) fn lex(text: &str) -> Option<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() || c == ',' {
            chars.next();
        } else if c.is_ascii_digit() {
            let mut value: u64 = 0;
            let mut digits = 0;
            while let Some(digit) = chars.peek().filter(|d| d.is_ascii_digit()).and_then(|d| d.to_digit(10)) {
                value = value.saturating_mul(10).saturating_add(u64::from(digit));
                digits += 1;
                chars.next();
            }
            tokens.push(Token::Num { value, digits });
        } else if c.is_alphabetic() {
            let mut word = String::new();
            while let Some(&d) = chars.peek() {
                if d.is_alphabetic() {
                    word.push(d);
                } else if d != '.' {
                    break;
                }
                chars.next();
            }
            tokens.push(Token::Word(word));
        } else if c == ':' {
            chars.next();
            tokens.push(Token::Colon);
        } else if c == '-' {
            chars.next();
            tokens.push(Token::Dash);
        } else {
            // Anything else (a stray dot as in "1.5", slashes, emoji, NUL, non-ASCII digits) is refused outright
            // rather than skipped, so it cannot silently change what the rest of the phrase means.
            return None;
        }
    }
    Some(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(value: u64, digits: usize) -> Token {
        Token::Num { value, digits }
    }

    fn word(w: &str) -> Token {
        Token::Word(w.to_owned())
    }

    #[test]
    fn splits_letters_from_digits() {
        assert_eq!(lex("1h30m"), Some(vec![num(1, 1), word("h"), num(30, 2), word("m")]));
        assert_eq!(lex("9:30am"), Some(vec![num(9, 1), Token::Colon, num(30, 2), word("am")]));
    }

    #[test]
    fn reads_iso_dates() {
        let tokens = lex("2026-12-25t14:00").unwrap_or_default();
        assert_eq!(
            tokens,
            vec![
                num(2026, 4),
                Token::Dash,
                num(12, 2),
                Token::Dash,
                num(25, 2),
                word("t"),
                num(14, 2),
                Token::Colon,
                num(0, 2)
            ]
        );
    }

    #[test]
    fn drops_dots_in_words_and_treats_commas_as_spaces() {
        assert_eq!(lex("9 a.m, dec. 25"), Some(vec![num(9, 1), word("am"), word("dec"), num(25, 2)]));
    }

    #[test]
    fn saturates_huge_numbers() {
        assert_eq!(lex("99999999999999999999999"), Some(vec![num(u64::MAX, 23)]));
    }

    #[test]
    fn refuses_foreign_characters() {
        assert_eq!(lex("1.5h"), None);
        assert_eq!(lex("in 2\0 hours"), None);
        assert_eq!(lex("９am"), None);
        assert_eq!(lex("12/25"), None);
    }
}
