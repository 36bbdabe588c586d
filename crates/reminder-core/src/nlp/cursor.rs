//! A position in a token list with the few look-ahead helpers the grammar needs.

use super::lexer::Token;

/// A read position in a phrase's tokens. Cheap to copy, so a rule that fails can simply drop its copy.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cursor<'a> {
    tokens: &'a [Token],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `tokens`.
    pub(super) fn new(tokens: &'a [Token]) -> Self {
        Self { tokens, pos: 0 }
    }

    /// Whether every token has been read.
    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    /// How many tokens are left.
    pub(super) fn remaining(&self) -> usize {
        self.tokens.len().saturating_sub(self.pos)
    }

    /// The token `ahead` places after the current one, if any.
    pub(super) fn peek_at(&self, ahead: usize) -> Option<&'a Token> {
        self.tokens.get(self.pos.saturating_add(ahead))
    }

    /// The current token, if any.
    pub(super) fn peek(&self) -> Option<&'a Token> {
        self.peek_at(0)
    }

    /// The current token if it is a word.
    pub(super) fn peek_word(&self) -> Option<&'a str> {
        match self.peek() {
            Some(Token::Word(word)) => Some(word),
            _ => None,
        }
    }

    /// Moves past `n` tokens.
    pub(super) fn advance(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n);
    }

    /// Reads the current token if it is a word, whatever it says.
    pub(super) fn next_word(&mut self) -> Option<&'a str> {
        let word = self.peek_word()?;
        self.advance(1);
        Some(word)
    }

    /// Reads the current token if it is a number: its value and digit count.
    pub(super) fn next_num(&mut self) -> Option<(u64, usize)> {
        match self.peek() {
            Some(Token::Num { value, digits }) => {
                self.advance(1);
                Some((*value, *digits))
            }
            _ => None,
        }
    }

    /// Reads the current token if it is exactly `word`.
    pub(super) fn eat_word(&mut self, word: &str) -> bool {
        let found = self.peek_word() == Some(word);
        if found {
            self.advance(1);
        }
        found
    }

    /// Reads the next tokens if they are exactly `words`, in order; reads nothing otherwise.
    pub(super) fn eat_words(&mut self, words: &[&str]) -> bool {
        let matches = words
            .iter()
            .enumerate()
            .all(|(i, want)| matches!(self.peek_at(i), Some(Token::Word(word)) if word == want));
        if matches {
            self.advance(words.len());
        }
        matches
    }

    /// Reads the current token if it is one of `words`.
    pub(super) fn eat_any(&mut self, words: &[&str]) -> bool {
        let found = self.peek_word().is_some_and(|word| words.contains(&word));
        if found {
            self.advance(1);
        }
        found
    }

    /// Reads the current token if it is the given punctuation.
    pub(super) fn eat(&mut self, token: &Token) -> bool {
        let found = self.peek() == Some(token);
        if found {
            self.advance(1);
        }
        found
    }
}
