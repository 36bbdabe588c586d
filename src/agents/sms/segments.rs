//! SMS segment arithmetic. A message in the GSM-7 alphabet fits 160 septets in one segment and 153 per part
//! once split; any other character makes the whole message UCS-2: 70 UTF-16 units, 67 per part. The body
//! is kept within two segments by shortening the reminder's title, never the instructions around it.

/// The GSM 03.38 basic alphabet (one septet each).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
    ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table: an escape septet plus one, so two septets each.
const GSM7_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// At most this many segments per message: one text costs at most two.
pub const MAX_SEGMENTS: usize = 2;

/// Titles longer than this are cut before fitting, which bounds the work on absurd input.
const TITLE_CAP_CHARS: usize = 400;

/// Septets when every character is GSM-7, otherwise None.
fn gsm7_septets(text: &str) -> Option<usize> {
    text.chars().try_fold(0, |sum, c| {
        if GSM7_BASIC.contains(c) {
            Some(sum + 1)
        } else if GSM7_EXTENDED.contains(c) {
            Some(sum + 2)
        } else {
            None
        }
    })
}

/// How many segments `text` is sent as.
pub fn segments(text: &str) -> usize {
    let (units, single, per_part) = match gsm7_septets(text) {
        Some(septets) => (septets, 160, 153),
        None => (text.encode_utf16().count(), 70, 67),
    };
    if units <= single { 1 } else { units.div_ceil(per_part) }
}

/// `prefix + title + suffix`, the title shortened (ending in "...") until the whole fits in two segments.
/// Control characters in the title become spaces so a title cannot break the message's layout.
pub fn fit(prefix: &str, title: &str, suffix: &str) -> String {
    let title: String = title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let whole = format!("{prefix}{title}{suffix}");
    if segments(&whole) <= MAX_SEGMENTS {
        return whole;
    }
    let chars: Vec<char> = title.chars().take(TITLE_CAP_CHARS).collect();
    (0..chars.len())
        .rev()
        .map(|keep| {
            let kept: String = chars[..keep].iter().collect();
            format!("{prefix}{}...{suffix}", kept.trim_end())
        })
        .find(|candidate| segments(candidate) <= MAX_SEGMENTS)
        .unwrap_or_else(|| format!("{prefix}...{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_gsm7_and_ucs2_segments() {
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"a".repeat(306)), 2);
        assert_eq!(segments(&"a".repeat(307)), 3);
        assert_eq!(segments(&"{".repeat(80)), 1, "extension characters take two septets");
        assert_eq!(segments(&"{".repeat(81)), 2);
        assert_eq!(segments(&"ж".repeat(70)), 1);
        assert_eq!(segments(&"ж".repeat(71)), 2);
        assert_eq!(segments(&"😀".repeat(67)), 2, "an emoji is two UTF-16 units");
        assert_eq!(segments(&"😀".repeat(68)), 3);
    }

    #[test]
    fn long_titles_are_shortened_to_two_segments() {
        let prefix = "Reminder: ";
        let suffix = "\nReply ACK, DONE or SNOOZE 1h";
        assert_eq!(fit(prefix, "Pills", suffix), format!("{prefix}Pills{suffix}"));
        for title in ["x".repeat(1000), "ж".repeat(500), "Take the 😀 pills ".repeat(40), "a\nb\u{7}c ".repeat(200)]
        {
            let text = fit(prefix, &title, suffix);
            assert!(segments(&text) <= MAX_SEGMENTS, "{text}");
            assert!(text.starts_with(prefix) && text.ends_with(suffix), "{text}");
            assert!(text.contains("..."), "{text}");
            assert!(!text[prefix.len()..text.len() - suffix.len()].contains('\n'), "{text}");
        }
        // A one-segment-sized title in UCS-2 keeps as much as fits: 134 units in all.
        let text = fit(prefix, &"ж".repeat(200), suffix);
        assert!(text.encode_utf16().count() > 120, "{text}");
    }
}
