//! What may go into a log. The Personal Data Protection Law (91/2025/QH15, in force
//! since 1 January 2026) and Decree 13/2023 treat phone numbers, e-mail addresses and
//! ID numbers as personal data; a dossier's file names often carry them, and a tracking
//! link's token opens the dossier. Logs keep the shape of what failed, not those.

/// A bucket key with the file name of an attachment or an upload masked:
/// `dossiers/2026/11/H21.IAPET-261125-0001/files/1-cccd-064090012345.pdf` →
/// `dossiers/2026/11/H21.IAPET-261125-0001/files/…`.
pub fn key(key: &str) -> String {
    let masked_from = ["/files/", "uploads/"]
        .iter()
        .filter_map(|marker| key.find(marker).map(|i| i + marker.len()))
        .min();
    match masked_from {
        // `uploads/{id}/name`: keep the upload's id, mask the name.
        Some(i) if key.starts_with("uploads/") => match key[i..].find('/') {
            Some(j) => format!("{}…", &key[..i + j + 1]),
            None => key.to_owned(),
        },
        Some(i) if i < key.len() => format!("{}…", &key[..i]),
        _ => text(key),
    }
}

/// Free text (an error from a gateway, a mail server, the store) with phone numbers,
/// ID numbers and other runs of 9 or more digits, e-mail addresses and tracking tokens
/// masked.
pub fn text(s: &str) -> String {
    let words: String = s
        .split_inclusive(char::is_whitespace)
        .map(mask_word)
        .collect();
    mask_digit_runs(&words)
}

/// An e-mail address (its domain kept) or a `token=` value in one word.
fn mask_word(word: &str) -> String {
    let trimmed = word
        .trim_matches(|c: char| !(c.is_alphanumeric() || matches!(c, '@' | '.' | '_' | '-' | '+')));
    if let Some(at) = trimmed.find('@')
        && trimmed[at + 1..].contains('.')
        && at > 0
    {
        return word.replacen(&trimmed[..at], "…", 1);
    }
    match word.find("token=") {
        Some(i) => {
            let start = i + "token=".len();
            let end = word[start..]
                .find(|c: char| c == '&' || c.is_whitespace() || c == '"' || c == ')')
                .map_or(word.len(), |j| start + j);
            format!("{}…{}", &word[..start], &word[end..])
        }
        None => word.to_owned(),
    }
}

/// Runs of 9 or more digits, single spaces or dots between them allowed (0912 345 678,
/// 0912.345.678): phones and ID numbers, but not dates, sizes or a dossier code's parts.
fn mask_digit_runs(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let (mut end, mut digits, mut last_digit) = (i, 0, i);
        while end < chars.len() {
            if chars[end].is_ascii_digit() {
                digits += 1;
                last_digit = end;
                end += 1;
            } else if matches!(chars[end], ' ' | '.')
                && chars.get(end + 1).is_some_and(char::is_ascii_digit)
            {
                end += 1;
            } else {
                break;
            }
        }
        if digits >= 9 {
            out.push('…');
        } else {
            out.extend(&chars[i..=last_digit]);
        }
        i = last_digit + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_place_but_not_their_file_names() {
        assert_eq!(
            key("dossiers/2026/11/H21.IAPET-261125-0001/files/1-cccd-064090012345.pdf"),
            "dossiers/2026/11/H21.IAPET-261125-0001/files/…"
        );
        assert_eq!(
            key("uploads/0123456789abcdef0123456789abcdef/1-giay-khai-sinh-nguyen-van-a.jpg"),
            "uploads/0123456789abcdef0123456789abcdef/…"
        );
        assert_eq!(
            key("dossiers/2026/11/H21.IAPET-261125-0001/dossier.json"),
            "dossiers/2026/11/H21.IAPET-261125-0001/dossier.json"
        );
        assert_eq!(key("sequence/261125/0001"), "sequence/261125/0001");
    }

    #[test]
    fn phones_ids_emails_and_tokens_are_masked() {
        let t = text(
            "gateway 400: invalid number 0912 345 678 (+84912345678); to hoa.nguyen@example.com, \
             id 064090012345, link https://x.vn/api/track?code=H21.IAPET-261125-0001&token=AbC_123",
        );
        assert!(!t.contains("0912 345 678"), "{t}");
        assert!(!t.contains("345 678"), "{t}");
        assert!(!t.contains("84912345678"), "{t}");
        assert!(!t.contains("hoa.nguyen"), "{t}");
        assert!(!t.contains("064090012345"), "{t}");
        assert!(!t.contains("AbC_123"), "{t}");
        // What tells the officer what happened stays.
        assert!(t.contains("gateway 400: invalid number"), "{t}");
        assert!(t.contains("@example.com"), "{t}");
        assert!(t.contains("H21.IAPET-261125-0001"), "{t}");
        assert_eq!(
            text("sent 2026-11-25, 3 files, 4603904 bytes"),
            "sent 2026-11-25, 3 files, 4603904 bytes"
        );
    }
}
