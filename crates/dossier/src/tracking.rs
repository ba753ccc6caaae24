//! The tracking token and link a citizen gets on the receipt, in the SMS and the e-mail.

use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;

/// Everything but the URL-safe marks RFC 3986 leaves unreserved.
pub const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `s` percent-encoded for a query value or a path segment.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// The tracking token of a dossier: derived from the signing key, the code and the
/// idempotency key's hash, so a repeated submission gets the same receipt; only the
/// token's hash is stored.
pub fn token(signing_key: &[u8], code: &str, idempotency_hash: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_key).expect("any key length");
    mac.update(b"tracking\n");
    mac.update(code.as_bytes());
    mac.update(b"\n");
    mac.update(idempotency_hash.as_bytes());
    let bytes = mac.finalize().into_bytes();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..18])
}

/// `{public_url}/api/track?code=…&token=…`
pub fn url(public_url: &str, code: &str, token: &str) -> String {
    format!(
        "{public_url}/api/track?code={}&token={}",
        encode(code),
        encode(token)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_escape_what_a_query_cannot_hold() {
        assert_eq!(
            url("https://x.vn", "H21.IAPET-261201-0001", "a_b-c"),
            "https://x.vn/api/track?code=H21.IAPET-261201-0001&token=a_b-c"
        );
        assert_eq!(encode("a b&c=đ"), "a%20b%26c%3D%C4%91");
    }

    #[test]
    fn tokens_depend_on_key_code_and_submission() {
        let t = token(b"k", "A-250101-0001", "h");
        assert_eq!(t.len(), 24);
        assert_eq!(t, token(b"k", "A-250101-0001", "h"));
        assert_ne!(t, token(b"k2", "A-250101-0001", "h"));
        assert_ne!(t, token(b"k", "A-250101-0002", "h"));
        assert_ne!(t, token(b"k", "A-250101-0001", "h2"));
    }
}
