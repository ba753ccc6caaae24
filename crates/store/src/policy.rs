//! The dossier bucket's policy as the function relies on it.

/// Keys the dossier bucket's policy lets be written only with a condition
/// (`If-None-Match: *` or `If-Match`): `RequireConditionalWrites` in
/// infra/template.yaml, `*` matching any run of characters as in IAM. The embedded store
/// refuses a plain write to them too, so such a write fails in every test rather than
/// first in production.
pub const CONDITIONAL_ONLY: &[&str] = &[
    "captcha/used/*",
    "sequence/*",
    "idempotency/*",
    "dossiers/*/dossier.json",
    "dossiers/*/events/*",
    "stats/*",
    "polls/*",
];

/// Does the bucket policy require a conditional write for `key`?
pub fn conditional_only(key: &str) -> bool {
    CONDITIONAL_ONLY.iter().any(|p| wildcard_match(p, key))
}

fn wildcard_match(pattern: &str, text: &str) -> bool {
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

    #[test]
    fn conditional_keys_match_like_iam_wildcards() {
        assert!(conditional_only("sequence/261125/0001"));
        assert!(conditional_only(
            "dossiers/2026/11/H21.55.01-261125-0001/dossier.json"
        ));
        assert!(conditional_only(
            "dossiers/2026/11/H21.55.01-261125-0001/events/000001.json"
        ));
        assert!(!conditional_only(
            "dossiers/2026/11/H21.55.01-261125-0001/files/1-dossier.json.pdf"
        ));
        assert!(!conditional_only("dossiers/2026/11/x/files/1-scan.pdf"));
        assert!(!conditional_only("outbox/x.json"));
        assert!(!conditional_only("sequence"));
        assert!(wildcard_match("a*b*c", "a-b-b-c"));
        assert!(!wildcard_match("a*bc", "abc-"));
        assert!(wildcard_match("ab*", "ab"));
    }
}
