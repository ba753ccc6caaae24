//! The keys a bucket policy opens to conditional writes only, as IAM matches them.
//!
//! Production's dossier bucket denies `s3:PutObject` on some key patterns when the
//! request carries neither `If-None-Match` nor `If-Match` (the template's
//! `RequireConditionalWrites` statement). The store is given the same patterns and
//! refuses the same writes, so development fails where production would.

/// Does any of `patterns` (IAM resource wildcards, relative to the bucket) cover `key`?
pub fn conditional_only(patterns: &[&str], key: &str) -> bool {
    patterns.iter().any(|p| wildcard_match(p, key))
}

/// IAM's resource wildcard: `*` stands for any run of characters, `/` included.
/// (`?`, one character, is not used by the policy and not supported here.)
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The production list at the time of writing (submit-fn's `storage::CONDITIONAL_ONLY`).
    const PATTERNS: &[&str] = &[
        "captcha/used/*",
        "sequence/*",
        "idempotency/*",
        "dossiers/*/dossier.json",
        "dossiers/*/events/*",
        "stats/*",
        "polls/*",
    ];

    #[test]
    fn conditional_keys_match_like_iam_wildcards() {
        let only = |key| conditional_only(PATTERNS, key);
        assert!(only("sequence/261125/0001"));
        assert!(only("dossiers/2026/11/H21.55.01-261125-0001/dossier.json"));
        assert!(only(
            "dossiers/2026/11/H21.55.01-261125-0001/events/000001.json"
        ));
        assert!(!only(
            "dossiers/2026/11/H21.55.01-261125-0001/files/1-dossier.json.pdf"
        ));
        assert!(!only("dossiers/2026/11/x/files/1-scan.pdf"));
        assert!(!only("outbox/x.json"));
        assert!(!only("sequence"));
        assert!(!conditional_only(&[], "sequence/1"));
        assert!(wildcard_match("a*b*c", "a-b-b-c"));
        assert!(!wildcard_match("a*bc", "abc-"));
        assert!(wildcard_match("ab*", "ab"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("exact", "exact"));
        assert!(!wildcard_match("exact", "exact/more"));
        // The last part is matched at the end, not after the middle ones' first match.
        assert!(wildcard_match("a*b*b", "ab-b"));
        assert!(!wildcard_match("a*bb*bb", "abbb"));
    }
}
