//! Officer accounts and sessions.
//!
//! - Accounts live in the bucket, `config/officers/{login}.json`, with an argon2id hash
//!   (written by `submit-fn officer add`, with `If-None-Match: *`).
//! - A session is a signed token (HMAC-SHA256 under MOTCUA_SIGNING_KEY, domain-separated
//!   from the tracking tokens) in an `HttpOnly; Secure; SameSite=Strict` cookie scoped to
//!   `/api/admin`, valid [`SESSION_SECS`]; it carries the login, the role and a CSRF nonce
//!   that state-changing requests repeat in `X-CSRF-Token`.
//! - Failed logins are recorded per login under `auth/failures/{login}/` (one object per
//!   failure, conditional writes): from [`SLOW_AFTER`] failures the answer is slowed, at
//!   [`LOCK_AFTER`] failures within [`LOCK_SECS`] the login is locked for that long.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::state::AppState;
use catalog::vn_time::format_time;
use store::{Storage, StorageError, StorageResult};

pub const COOKIE: &str = "motcua_can_bo";
pub const SESSION_SECS: i64 = 30 * 60;
pub const LOCK_AFTER: usize = 5;
pub const SLOW_AFTER: usize = 3;
pub const LOCK_SECS: i64 = 15 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Officer,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "officer" | "can-bo" => Some(Role::Officer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// `config/officers/{login}.json`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Officer {
    pub login: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub created_at: String,
    #[serde(default)]
    pub disabled: bool,
}

/// Logins: 2–40 characters a-z, 0-9, `.`, `_`, `-`.
pub fn valid_login(login: &str) -> bool {
    (2..=40).contains(&login.len())
        && login.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
        && !login.starts_with('.')
}

pub fn officer_key(login: &str) -> String {
    format!("config/officers/{login}.json")
}

pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2 hashes")
        .to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A hash of a password nobody has, verified for unknown logins so that the answer
/// takes as long as for a known one.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("không-có-tài-khoản-này"))
}

#[derive(Debug, thiserror::Error)]
pub enum AddOfficerError {
    #[error(
        "tên đăng nhập \"{0}\" không hợp lệ: 2–40 ký tự chữ thường không dấu, số, dấu chấm, gạch dưới, gạch nối"
    )]
    BadLogin(String),
    #[error("mật khẩu quá ngắn: cần ít nhất 10 ký tự")]
    ShortPassword,
    #[error("đã có cán bộ với tên đăng nhập \"{0}\" (dùng --replace để đặt lại mật khẩu)")]
    Exists(String),
    #[error("{0}")]
    Storage(#[from] StorageError),
}

/// Stores an officer (conditional write unless `replace`).
pub async fn add_officer(
    storage: &Storage,
    login: &str,
    name: &str,
    role: Role,
    password: &str,
    replace: bool,
) -> Result<Officer, AddOfficerError> {
    if !valid_login(login) {
        return Err(AddOfficerError::BadLogin(login.to_owned()));
    }
    if password.chars().count() < 10 {
        return Err(AddOfficerError::ShortPassword);
    }
    let officer = Officer {
        login: login.to_owned(),
        name: name.trim().to_owned(),
        role,
        password_hash: hash_password(password),
        created_at: format_time(OffsetDateTime::now_utc()),
        disabled: false,
    };
    let body = Bytes::from(serde_json::to_vec_pretty(&officer).expect("json"));
    let key = officer_key(login);
    if replace {
        storage.put(&key, body, "application/json").await?;
    } else if !storage
        .put_if_absent(&key, body, "application/json")
        .await?
    {
        return Err(AddOfficerError::Exists(login.to_owned()));
    }
    Ok(officer)
}

pub async fn load_officer(storage: &Storage, login: &str) -> StorageResult<Option<Officer>> {
    if !valid_login(login) {
        return Ok(None);
    }
    Ok(storage
        .get(&officer_key(login))
        .await?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

/// What the session token carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    #[serde(rename = "l")]
    pub login: String,
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "r")]
    pub role: Role,
    /// CSRF nonce.
    #[serde(rename = "c")]
    pub csrf: String,
    /// Expiry, Unix seconds.
    #[serde(rename = "e")]
    pub expires: i64,
}

fn mac(key: &[u8], payload: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(b"motcua-admin-session\n");
    mac.update(payload.as_bytes());
    mac
}

pub fn sign(key: &[u8], session: &Session) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = b64.encode(serde_json::to_vec(session).expect("json"));
    let sig = b64.encode(mac(key, &payload).finalize().into_bytes());
    format!("{payload}.{sig}")
}

/// The session in a token, if its signature holds and it has not expired.
pub fn verify(key: &[u8], token: &str, now: i64) -> Option<Session> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (payload, sig) = token.split_once('.')?;
    if token.len() > 2048 {
        return None;
    }
    let sig = b64.decode(sig).ok()?;
    mac(key, payload).verify_slice(&sig).ok()?;
    let session: Session = serde_json::from_slice(&b64.decode(payload).ok()?).ok()?;
    (session.expires > now && session.csrf.len() >= 16).then_some(session)
}

pub fn new_session(officer: &Officer, now: i64) -> Session {
    Session {
        login: officer.login.clone(),
        name: officer.name.clone(),
        role: officer.role,
        csrf: hex::encode(rand::random::<[u8; 16]>()),
        expires: now + SESSION_SECS,
    }
}

/// The `Set-Cookie` value for a session (or, with `None`, one that clears it).
pub fn cookie(state: &AppState, token: Option<&str>) -> String {
    let url = &state.config().public_url;
    let local = url.starts_with("http://127.0.0.1")
        || url.starts_with("http://localhost")
        || url.starts_with("http://[::1]");
    let secure = if local { "" } else { "; Secure" };
    match token {
        Some(t) => format!(
            "{COOKIE}={t}; Max-Age={SESSION_SECS}; Path=/api/admin; HttpOnly; SameSite=Strict{secure}"
        ),
        None => format!("{COOKIE}=; Max-Age=0; Path=/api/admin; HttpOnly; SameSite=Strict{secure}"),
    }
}

/// The session cookie's value in a request.
pub fn cookie_token(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

/// Why a login failed.
#[derive(Debug)]
pub enum LoginError {
    Wrong,
    Locked { minutes: i64 },
    Storage(StorageError),
}

impl LoginError {
    pub fn message(&self) -> String {
        match self {
            LoginError::Wrong => {
                "Tên đăng nhập hoặc mật khẩu không đúng. Sau 5 lần nhập sai liên tiếp, tài khoản sẽ bị tạm khóa 15 phút.".into()
            }
            LoginError::Locked { minutes } => format!(
                "Tài khoản tạm khóa do nhập sai mật khẩu nhiều lần. Vui lòng thử lại sau {minutes} phút, hoặc liên hệ quản trị viên."
            ),
            LoginError::Storage(_) => {
                "Hệ thống tạm thời gián đoạn, chưa đăng nhập được. Vui lòng thử lại sau ít phút.".into()
            }
        }
    }
}

/// Failures of `login` within the lock window, oldest first (Unix milliseconds).
async fn recent_failures(storage: &Storage, login: &str, now_ms: i64) -> StorageResult<Vec<i64>> {
    let since = now_ms - LOCK_SECS * 1000;
    let prefix = format!("auth/failures/{login}/");
    let keys = storage
        .list_after(&prefix, Some(&format!("{prefix}{since:013}")))
        .await?;
    let mut times: Vec<i64> = keys
        .iter()
        .filter_map(|k| k.strip_prefix(&prefix)?.get(..13)?.parse().ok())
        .filter(|t| *t > since)
        .collect();
    // A success resets the count.
    if let Some(ok) = storage.get(&format!("auth/success/{login}")).await?
        && let Some(ok) = std::str::from_utf8(&ok)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
    {
        times.retain(|t| *t > ok);
    }
    times.sort_unstable();
    Ok(times)
}

/// Checks a login and password, counting failures and enforcing the lock.
pub async fn login(
    state: &AppState,
    login: &str,
    password: &str,
    now: OffsetDateTime,
) -> Result<Officer, LoginError> {
    let storage = state.storage();
    let login = login.trim().to_lowercase();
    let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    let known = valid_login(&login);
    let failures = if known {
        recent_failures(storage, &login, now_ms)
            .await
            .map_err(LoginError::Storage)?
    } else {
        Vec::new()
    };
    if failures.len() >= LOCK_AFTER {
        let until = failures[failures.len() - LOCK_AFTER] + LOCK_SECS * 1000;
        let minutes = ((until - now_ms) as f64 / 60_000.0).ceil().max(1.0) as i64;
        return Err(LoginError::Locked { minutes });
    }
    let officer = if known {
        load_officer(storage, &login)
            .await
            .map_err(LoginError::Storage)?
    } else {
        None
    };
    let hash = officer
        .as_ref()
        .filter(|o| !o.disabled)
        .map_or(dummy_hash(), |o| o.password_hash.as_str())
        .to_owned();
    let pw = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
        .await
        .unwrap_or(false);
    match officer {
        Some(o) if ok && !o.disabled => {
            if !failures.is_empty() {
                storage
                    .put(
                        &format!("auth/success/{login}"),
                        Bytes::from(now_ms.to_string()),
                        "text/plain",
                    )
                    .await
                    .map_err(LoginError::Storage)?;
            }
            Ok(o)
        }
        _ => {
            if known {
                let key = format!(
                    "auth/failures/{login}/{now_ms:013}-{}",
                    hex::encode(rand::random::<[u8; 4]>())
                );
                storage
                    .put_if_absent(&key, Bytes::from(format_time(now)), "text/plain")
                    .await
                    .map_err(LoginError::Storage)?;
            }
            let count = failures.len() + 1;
            if count >= LOCK_AFTER {
                return Err(LoginError::Locked {
                    minutes: LOCK_SECS / 60,
                });
            }
            if count >= SLOW_AFTER {
                // Slows guessing down; the lock stops it.
                tokio::time::sleep(std::time::Duration::from_millis(
                    500 * (count - SLOW_AFTER + 1) as u64,
                ))
                .await;
            }
            Err(LoginError::Wrong)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_signed_and_expire() {
        let key = b"k".repeat(40);
        let s = Session {
            login: "lan".into(),
            name: "Lan".into(),
            role: Role::Officer,
            csrf: "0123456789abcdef0123".into(),
            expires: 1000,
        };
        let t = sign(&key, &s);
        assert!(verify(&key, &t, 999).is_some());
        assert!(verify(&key, &t, 1000).is_none());
        assert!(verify(&b"x".repeat(40), &t, 10).is_none());
        let (p, sig) = t.split_once('.').unwrap();
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"l":"lan","n":"Lan","r":"admin","c":"0123456789abcdef0123","e":99999}"#);
        assert!(verify(&key, &format!("{forged}.{sig}"), 10).is_none());
        assert!(verify(&key, p, 10).is_none());
    }

    #[test]
    fn logins_are_strict() {
        assert!(valid_login("nguyen.lan"));
        assert!(!valid_login("../x"));
        assert!(!valid_login("Lan"));
        assert!(!valid_login("a"));
    }
}
