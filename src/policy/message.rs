//! Finding messages: one readable line each. The full detail (every missed event, every filter)
//! stays in the finding's structured fields; the message names the first few and counts the
//! rest, so a report's list of findings stays a list.

/// The longest message a finding carries, in characters.
pub const MAX_MESSAGE: usize = 280;

/// `items` joined with `; `, as many as fit in `budget` characters, then `and N more`.
pub fn list(items: &[String], budget: usize) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        let sep = if i == 0 { "" } else { "; " };
        let rest = items.len() - i;
        // Leave room for the "and N more" that would follow.
        let tail = if rest > 1 { 16 } else { 0 };
        if i > 0 && out.chars().count() + sep.len() + item.chars().count() + tail > budget {
            out.push_str(&format!(" and {rest} more"));
            return out;
        }
        out.push_str(sep);
        out.push_str(item);
    }
    out
}

/// `text` cut to [`MAX_MESSAGE`] characters, with `…` where it was cut.
pub fn bounded(text: String) -> String {
    if text.chars().count() <= MAX_MESSAGE {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_MESSAGE - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_fit_their_budget_and_count_the_rest() {
        let items: Vec<String> = (0..40)
            .map(|i| format!("Event{i} (s.amazonaws.com)"))
            .collect();
        let text = list(&items, 120);
        assert!(text.chars().count() <= 120, "{text}");
        assert!(
            text.starts_with("Event0 (s.amazonaws.com); Event1"),
            "{text}"
        );
        assert!(text.ends_with("more"), "{text}");
        assert_eq!(
            list(&items[..2], 120),
            "Event0 (s.amazonaws.com); Event1 (s.amazonaws.com)"
        );
        // The first item is always named, however long.
        assert_eq!(list(&items[..1], 3), "Event0 (s.amazonaws.com)");
    }

    #[test]
    fn messages_are_cut_at_the_limit() {
        let long = "é".repeat(MAX_MESSAGE * 2);
        let cut = bounded(long);
        assert_eq!(cut.chars().count(), MAX_MESSAGE);
        assert!(cut.ends_with('…'));
        assert_eq!(bounded("short".into()), "short");
    }
}
