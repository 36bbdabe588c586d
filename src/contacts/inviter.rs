//! The owner's name as an invitation shows it to someone who never signed up. A display name is free
//! text anyone can choose, so unchecked it turns every invitation into an advert ("WIN $500 at
//! scam.example"): only letters, spaces and the marks names use survive, words that look like addresses
//! are dropped, it is short, and messages quote it as a name.

/// Longest name an invitation shows.
const MAX_CHARS: usize = 40;
/// What an invitation says when nothing of the name survives.
const FALLBACK: &str = "An Escalating Reminders user";

/// `display_name` cleaned for an invitation.
pub fn name(display_name: &str) -> String {
    let words: Vec<String> = display_name
        .split_whitespace()
        .filter(|word| !looks_like_address(word))
        .map(|word| word.chars().filter(|c| c.is_alphabetic() || matches!(c, '\'' | '-' | '.')).collect::<String>())
        .filter(|word| word.chars().any(char::is_alphabetic))
        .collect();
    let mut shown = String::new();
    for word in words {
        let extra = usize::from(!shown.is_empty()) + word.chars().count();
        if shown.chars().count() + extra > MAX_CHARS {
            break;
        }
        if !shown.is_empty() {
            shown.push(' ');
        }
        shown.push_str(&word);
    }
    if shown.is_empty() { FALLBACK.to_owned() } else { shown }
}

/// A URL, an email address, a domain ("scam.example", "www.x"), or a phone number or sum of money.
fn looks_like_address(word: &str) -> bool {
    let inner_dot = word.trim_end_matches('.').contains('.');
    word.contains("://")
        || word.contains('@')
        || word.contains('/')
        || inner_dot
        || word.chars().any(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::name;

    #[test]
    fn names_stay_and_adverts_go() {
        assert_eq!(name("Alice"), "Alice");
        assert_eq!(name("  Jean-Luc  O'Neil "), "Jean-Luc O'Neil");
        assert_eq!(name("J. R. R. Tolkien"), "J. R. R. Tolkien");
        assert_eq!(name("Zoë Ångström"), "Zoë Ångström");
        assert_eq!(name("WIN $500 now at https://scam.example/x"), "WIN now at");
        assert_eq!(name("Call +1 900 555 0100 www.scam.example"), "Call");
        assert_eq!(name("mail me: prizes@scam.example"), "mail me");
        assert_eq!(name("scam.example"), "An Escalating Reminders user");
        assert_eq!(name("<script>alert(1)</script>"), "An Escalating Reminders user");
        assert!(name(&"Bartholomew ".repeat(10)).chars().count() <= 40);
    }
}
