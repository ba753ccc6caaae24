//! Proof-of-work spam protection after the ALTCHA protocol: the function hands out a
//! signed challenge, the browser finds the secret number in the background, and the
//! submission carries the solution. Replay protection (one use per challenge) is a
//! conditional write of `captcha/used/{challenge}`, done by the caller.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Challenge {
    pub algorithm: String,
    pub challenge: String,
    pub maxnumber: u64,
    pub salt: String,
    pub signature: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Solution {
    pub algorithm: String,
    pub challenge: String,
    pub number: u64,
    pub salt: String,
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptchaError {
    #[error("thiếu mã xác minh")]
    Missing,
    #[error("mã xác minh không đọc được")]
    Malformed,
    #[error("mã xác minh đã hết hạn")]
    Expired,
    #[error("mã xác minh không đúng")]
    Invalid,
    #[error("mã xác minh đã được dùng")]
    Replayed,
}

impl CaptchaError {
    /// The message shown to the citizen.
    pub fn message(&self) -> &'static str {
        match self {
            CaptchaError::Missing | CaptchaError::Malformed | CaptchaError::Invalid => {
                "Không xác minh được bạn là người gửi thật (mã xác minh thiếu hoặc không đúng). Vui lòng tải lại trang, chờ ô xác minh hoàn tất rồi gửi lại."
            }
            CaptchaError::Expired => {
                "Mã xác minh đã hết hạn vì trang mở quá lâu. Vui lòng bấm gửi lại; trang sẽ tự lấy mã mới."
            }
            CaptchaError::Replayed => {
                "Mã xác minh này đã được dùng cho một lần gửi khác. Vui lòng tải lại trang rồi gửi lại."
            }
        }
    }
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn sign(key: &[u8], challenge: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(challenge.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A new challenge valid until `now + ttl` (unix seconds).
pub fn create(key: &[u8], max_number: u64, now: i64, ttl: u64) -> Challenge {
    let expires = now + ttl as i64;
    let salt = format!(
        "{}?expires={expires}",
        hex::encode(rand::random::<[u8; 12]>())
    );
    let number = rand::random_range(0..=max_number);
    let challenge = sha256_hex(format!("{salt}{number}").as_bytes());
    Challenge {
        algorithm: "SHA-256".into(),
        signature: sign(key, &challenge),
        challenge,
        maxnumber: max_number,
        salt,
    }
}

/// Checks a submitted `altcha` value (base64 of the solution JSON, or the JSON itself):
/// algorithm, expiry, the signature and the work. Returns the challenge, the key for
/// replay protection.
pub fn verify(key: &[u8], payload: &str, now: i64) -> Result<String, CaptchaError> {
    let payload = payload.trim();
    if payload.is_empty() {
        return Err(CaptchaError::Missing);
    }
    let json = if payload.starts_with('{') {
        payload.as_bytes().to_vec()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(payload)
            .map_err(|_| CaptchaError::Malformed)?
    };
    let s: Solution = serde_json::from_slice(&json).map_err(|_| CaptchaError::Malformed)?;
    if s.algorithm != "SHA-256"
        || s.challenge.len() != 64
        || !s.challenge.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(CaptchaError::Invalid);
    }
    let expires = s
        .salt
        .split_once('?')
        .and_then(|(_, q)| q.split('&').find_map(|p| p.strip_prefix("expires=")))
        .and_then(|e| e.parse::<i64>().ok())
        .ok_or(CaptchaError::Invalid)?;
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(s.challenge.as_bytes());
    let signature = hex::decode(&s.signature).map_err(|_| CaptchaError::Invalid)?;
    mac.verify_slice(&signature)
        .map_err(|_| CaptchaError::Invalid)?;
    if sha256_hex(format!("{}{}", s.salt, s.number).as_bytes()) != s.challenge {
        return Err(CaptchaError::Invalid);
    }
    if expires < now {
        return Err(CaptchaError::Expired);
    }
    Ok(s.challenge.to_ascii_lowercase())
}

/// Solves a challenge the way the browser widget does; for tests, benchmarks and
/// scripts. Returns the `altcha` value to submit.
pub fn solve(c: &Challenge) -> Option<String> {
    (0..=c.maxnumber).find_map(|n| {
        (sha256_hex(format!("{}{n}", c.salt).as_bytes()) == c.challenge).then(|| {
            let s = Solution {
                algorithm: c.algorithm.clone(),
                challenge: c.challenge.clone(),
                number: n,
                salt: c.salt.clone(),
                signature: c.signature.clone(),
            };
            base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&s).expect("json"))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn solved_challenge_verifies_and_tampering_fails() {
        let c = create(KEY, 500, 1_000, 60);
        let payload = solve(&c).unwrap();
        assert_eq!(verify(KEY, &payload, 1_000), Ok(c.challenge.clone()));
        assert_eq!(verify(KEY, &payload, 1_061), Err(CaptchaError::Expired));
        assert_eq!(
            verify(b"another key another key another!", &payload, 1_000),
            Err(CaptchaError::Invalid)
        );
        assert_eq!(verify(KEY, "", 1_000), Err(CaptchaError::Missing));
        assert_eq!(verify(KEY, "!!!", 1_000), Err(CaptchaError::Malformed));
        // A wrong number.
        let json = base64::engine::general_purpose::STANDARD
            .decode(&payload)
            .unwrap();
        let mut s: Solution = serde_json::from_slice(&json).unwrap();
        s.number = s.number.wrapping_add(1);
        assert_eq!(
            verify(KEY, &serde_json::to_string(&s).unwrap(), 1_000),
            Err(CaptchaError::Invalid)
        );
        // A pushed-back expiry breaks the challenge hash.
        let mut s: Solution = serde_json::from_slice(&json).unwrap();
        s.salt = s.salt.replace("expires=1060", "expires=9999");
        assert_eq!(
            verify(KEY, &serde_json::to_string(&s).unwrap(), 1_000),
            Err(CaptchaError::Invalid)
        );
    }
}
