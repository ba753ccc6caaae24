//! The search index: one compact row per procedure with its words folded, so that the
//! small search script finds "Đăng ký khai sinh" from "dang ky khai sinh".

use catalog::Procedure;
use catalog::text::fold;

/// `[[title, slug, code, level, folded words], …]`
pub fn index(procedures: &[Procedure]) -> Vec<u8> {
    let rows: Vec<(&str, &str, &str, u8, &str)> = procedures
        .iter()
        .map(|p| {
            (
                p.title.as_str(),
                p.slug.as_str(),
                p.code.as_str(),
                p.level,
                p.search_text.as_str(),
            )
        })
        .collect();
    serde_json::to_vec(&rows).expect("json")
}

/// The same matching the script does, for tests: every query word is a prefix of a
/// word of the procedure.
pub fn matches(folded_words: &str, query: &str) -> bool {
    let words: Vec<&str> = folded_words.split(|c: char| !c.is_alphanumeric()).collect();
    let query = fold(query);
    let mut terms = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .peekable();
    terms.peek().is_some() && terms.all(|t| words.iter().any(|w| w.starts_with(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_without_diacritics() {
        let words = fold("Đăng ký khai sinh 1.001193 Hộ tịch");
        assert!(matches(&words, "dang ky khai sinh"));
        assert!(matches(&words, "Đăng ký"));
        assert!(matches(&words, "khai si"));
        assert!(matches(&words, "1.001193"));
        assert!(!matches(&words, "ket hon"));
        assert!(!matches(&words, "   "));
    }
}
