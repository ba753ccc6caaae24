//! The plain form's question, for browsers without JavaScript (the script proves its work
//! with ALTCHA instead, `captcha`): a small sum or difference in words, different each
//! time, signed, valid [`TTL_SECS`], used once (the submission writes
//! `captcha/used/gate-{nonce}` like an ALTCHA challenge). Text in the page, so a screen
//! reader reads it; the answer in digits or in words.
//!
//! The token holds the nonce, the expiry and a keyed hash of the answer, never the
//! answer: it travels in a cookie (`/api/gate`, shown in a frame of the static form
//! page) or in a hidden field (the form the function shows again with its errors).

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How long a question stays valid: long enough to fill a long form slowly.
pub const TTL_SECS: i64 = 2 * 3600;

/// The cookie `/api/gate` sets, sent back with the plain form's post.
pub const COOKIE: &str = "motcua_cau_hoi";

/// The numbers the questions use, as words.
const WORDS: [&str; 21] = [
    "không",
    "một",
    "hai",
    "ba",
    "bốn",
    "năm",
    "sáu",
    "bảy",
    "tám",
    "chín",
    "mười",
    "mười một",
    "mười hai",
    "mười ba",
    "mười bốn",
    "mười lăm",
    "mười sáu",
    "mười bảy",
    "mười tám",
    "mười chín",
    "hai mươi",
];

/// A question and the token that goes with it.
#[derive(Debug, Clone)]
pub struct Gate {
    pub question: String,
    pub token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    #[error("chưa trả lời câu hỏi kiểm tra")]
    Missing,
    #[error("câu hỏi kiểm tra đã hết hạn")]
    Expired,
    #[error("câu trả lời chưa đúng")]
    Wrong,
    /// The question was answered for another submission already.
    #[error("câu hỏi kiểm tra đã được dùng")]
    Used,
}

impl GateError {
    /// What the citizen reads beside the question.
    pub fn message(&self) -> &'static str {
        match self {
            GateError::Missing => {
                "Vui lòng trả lời câu hỏi kiểm tra ở cuối biểu mẫu (viết bằng số)."
            }
            GateError::Expired => {
                "Câu hỏi kiểm tra đã hết hạn vì trang mở đã lâu. Bên dưới là câu hỏi mới: vui lòng trả lời rồi gửi lại."
            }
            GateError::Wrong => {
                "Câu trả lời câu hỏi kiểm tra chưa đúng. Bên dưới là câu hỏi mới: vui lòng đọc kỹ và trả lời bằng số."
            }
            GateError::Used => {
                "Câu hỏi kiểm tra này đã được dùng cho một lần gửi khác. Bên dưới là câu hỏi mới: vui lòng trả lời rồi gửi lại."
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Claims {
    /// Nonce.
    n: String,
    /// Expiry, Unix seconds.
    e: i64,
    /// Keyed hash of the answer.
    a: String,
}

fn answer_hash(key: &[u8], nonce: &str, answer: u32) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
    mac.update(format!("motcua-gate-answer\n{nonce}\n{answer}").as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

fn token_mac(key: &[u8], payload: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
    mac.update(b"motcua-gate-token\n");
    mac.update(payload.as_bytes());
    mac
}

/// A new question, valid until `now + TTL_SECS`.
pub fn create(key: &[u8], now: i64) -> Gate {
    let a = rand::random_range(2..=10u32);
    let b = rand::random_range(1..=9u32);
    let (question, answer) = if rand::random::<bool>() || b > a {
        (
            format!("{} cộng {} bằng mấy?", WORDS[a as usize], WORDS[b as usize]),
            a + b,
        )
    } else {
        (
            format!("{} trừ {} bằng mấy?", WORDS[a as usize], WORDS[b as usize]),
            a - b,
        )
    };
    let mut question = question;
    if let Some(first) = question.get(..1) {
        question = first.to_uppercase() + &question[1..];
    }
    let nonce = hex::encode(rand::random::<[u8; 12]>());
    let claims = Claims {
        a: answer_hash(key, &nonce, answer),
        n: nonce,
        e: now + TTL_SECS,
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = b64.encode(serde_json::to_vec(&claims).expect("json"));
    let sig = b64.encode(token_mac(key, &payload).finalize().into_bytes());
    Gate {
        question,
        token: format!("{payload}.{sig}"),
    }
}

/// Checks an answer against a token; returns the nonce, the key for one use only.
pub fn verify(key: &[u8], token: &str, answer: &str, now: i64) -> Result<String, GateError> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = token
        .split_once('.')
        .filter(|_| token.len() < 512)
        .and_then(|(payload, sig)| {
            let sig = b64.decode(sig).ok()?;
            token_mac(key, payload).verify_slice(&sig).ok()?;
            serde_json::from_slice::<Claims>(&b64.decode(payload).ok()?).ok()
        })
        .ok_or(GateError::Missing)?;
    if claims.e < now {
        return Err(GateError::Expired);
    }
    let answer = read_number(answer).ok_or(if answer.trim().is_empty() {
        GateError::Missing
    } else {
        GateError::Wrong
    })?;
    let expected = answer_hash(key, &claims.n, answer);
    // The hash is keyed: comparing it in the open tells nothing about the answer.
    if expected != claims.a {
        return Err(GateError::Wrong);
    }
    Ok(claims.n)
}

/// "7", " 12 ", "bảy", "Muoi hai", "mười lăm" → the number.
pub fn read_number(answer: &str) -> Option<u32> {
    let answer = answer.trim().trim_end_matches('.');
    if let Ok(n) = answer.parse::<u32>() {
        return Some(n);
    }
    let folded = catalog::text::fold(answer);
    let words: Vec<&str> = folded.split_whitespace().collect();
    let spelled = words.join(" ");
    WORDS
        .iter()
        .position(|w| catalog::text::fold(w) == spelled)
        .or(match spelled.as_str() {
            // Also said so: "mười năm" for fifteen, "mười tư" for fourteen.
            "muoi nam" => Some(15),
            "muoi tu" => Some(14),
            _ => None,
        })
        .map(|n| n as u32)
}

/// Answers a question as a person would; for tests, benchmarks and scripts.
pub fn solve(question: &str) -> Option<u32> {
    let folded = catalog::text::fold(question);
    let body = folded.trim_end_matches(|c: char| !c.is_alphanumeric());
    let body = body.strip_suffix("bang may")?.trim();
    let (left, op, right) = if let Some((l, r)) = body.split_once(" cong ") {
        (l, '+', r)
    } else {
        let (l, r) = body.split_once(" tru ")?;
        (l, '-', r)
    };
    let (l, r) = (read_number(left)?, read_number(right)?);
    match op {
        '+' => Some(l + r),
        _ => l.checked_sub(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_right_answer_passes_once_signed_and_in_time() {
        for _ in 0..50 {
            let gate = create(KEY, 1_000);
            let answer = solve(&gate.question).expect(&gate.question);
            assert!(answer <= 19, "{}", gate.question);
            let nonce = verify(KEY, &gate.token, &answer.to_string(), 1_000).unwrap();
            assert_eq!(nonce.len(), 24);
            assert_eq!(
                verify(KEY, &gate.token, &(answer + 1).to_string(), 1_000),
                Err(GateError::Wrong)
            );
            assert_eq!(
                verify(KEY, &gate.token, &answer.to_string(), 1_000 + TTL_SECS + 1),
                Err(GateError::Expired)
            );
            assert_eq!(
                verify(b"another key another key another!", &gate.token, "1", 1_000),
                Err(GateError::Missing)
            );
        }
    }

    #[test]
    fn questions_vary_and_are_words() {
        let questions: std::collections::HashSet<String> =
            (0..40).map(|_| create(KEY, 0).question).collect();
        assert!(questions.len() > 10, "{questions:?}");
        assert!(
            questions
                .iter()
                .all(|q| !q.chars().any(|c| c.is_ascii_digit()))
        );
    }

    #[test]
    fn answers_in_digits_or_words() {
        assert_eq!(read_number(" 12 "), Some(12));
        assert_eq!(read_number("bảy"), Some(7));
        assert_eq!(read_number("Muoi hai"), Some(12));
        assert_eq!(read_number("mười lăm"), Some(15));
        assert_eq!(read_number("mười năm"), Some(15));
        assert_eq!(read_number("nhiều"), None);
        assert_eq!(solve("Bảy cộng hai bằng mấy?"), Some(9));
        assert_eq!(solve("Mười trừ ba bằng mấy?"), Some(7));
    }

    #[test]
    fn a_tampered_token_is_refused() {
        let gate = create(KEY, 0);
        let answer = solve(&gate.question).unwrap().to_string();
        let (payload, sig) = gate.token.split_once('.').unwrap();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: serde_json::Value =
            serde_json::from_slice(&b64.decode(payload).unwrap()).unwrap();
        claims["e"] = serde_json::json!(i64::MAX);
        let forged = format!("{}.{sig}", b64.encode(claims.to_string()));
        assert_eq!(verify(KEY, &forged, &answer, 0), Err(GateError::Missing));
        assert_eq!(verify(KEY, "", &answer, 0), Err(GateError::Missing));
    }
}
