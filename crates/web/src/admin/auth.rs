//! Officer accounts and sessions.
//!
//! - Accounts live in the bucket, `config/officers/{login}.json`, with an argon2id hash
//!   (written by `submit-fn officer add`, with `If-None-Match: *`).
//! - A session is a signed token (HMAC-SHA256 under MOTCUA_SIGNING_KEY, domain-separated
//!   from the tracking tokens) in an `HttpOnly; Secure; SameSite=Strict` cookie scoped to
//!   `/api/admin`, valid [`SESSION_SECS`]; it carries the login, the role and a CSRF nonce
//!   that state-changing requests repeat in `X-CSRF-Token`.
//! - Every attempt at a login is counted *before* its password is checked, in
//!   `auth/attempts/{login}.json` by compare-and-swap (`If-Match`), so concurrent guesses
//!   are counted one by one: from [`SLOW_AFTER`] failures the answer is slowed, and at
//!   most [`LOCK_AFTER`] passwords are ever checked within [`LOCK_SECS`]; then the login
//!   is locked for the rest of that time. A success clears the count.
//! - A lock that strangers impose binds strangers only: a browser where the officer
//!   signed in before holds a signed device cookie ([`DEVICE_COOKIE`], [`DEVICE_SECS`]),
//!   and its attempts are counted apart (`auth/attempts/{login}.known.json`), so whoever
//!   guesses at a login from elsewhere locks themselves out, never the officer at their
//!   own desk. Per client address, the login route has its own rate limit
//!   ([`crate::limits`]).
//! - At most [`ARGON2_AT_ONCE`] password checks run at once in a process (argon2id takes
//!   19 MiB and tens of milliseconds each); a login beyond that waits, then is told the
//!   system is busy.
//! - A session ends at its expiry, at logout, when the officer is disabled, and when the
//!   officer's password is reset: the token carries the officer's `session_epoch`, which
//!   logout and a reset raise, and every request reads the officer's record.

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
/// The cookie that marks a browser where this officer signed in before.
pub const DEVICE_COOKIE: &str = "motcua_thiet_bi";
/// How long a browser stays known without signing in again.
pub const DEVICE_SECS: i64 = 180 * 24 * 3600;
pub const SLOW_AFTER: usize = 3;
pub const LOCK_SECS: i64 = 15 * 60;
pub use crate::state::PASSWORD_CHECKS_AT_ONCE as ARGON2_AT_ONCE;

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
    /// Sessions carry it; logout and a password reset raise it, ending every session
    /// issued before.
    #[serde(default)]
    pub session_epoch: u32,
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
    // A reset ends the sessions opened with the old password.
    let session_epoch = if replace {
        load_officer(storage, login)
            .await?
            .map_or(0, |o| o.session_epoch.wrapping_add(1))
    } else {
        0
    };
    let officer = Officer {
        login: login.to_owned(),
        name: name.trim().to_owned(),
        role,
        password_hash: hash_password(password),
        created_at: format_time(OffsetDateTime::now_utc()),
        disabled: false,
        session_epoch,
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
    /// The officer's `session_epoch` when it was opened.
    #[serde(rename = "v", default)]
    pub epoch: u32,
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
        epoch: officer.session_epoch,
    }
}

/// Is this session still the officer's? Not after a logout, a password reset, or the
/// officer being disabled or removed.
pub async fn session_stands(storage: &Storage, session: &Session) -> StorageResult<bool> {
    Ok(load_officer(storage, &session.login)
        .await?
        .is_some_and(|o| !o.disabled && o.session_epoch == session.epoch))
}

/// Ends every session of `login` (raises its `session_epoch`, compare-and-swap).
pub async fn end_sessions(storage: &Storage, login: &str) -> StorageResult<()> {
    if !valid_login(login) {
        return Ok(());
    }
    let key = officer_key(login);
    for _ in 0..10 {
        let Some((bytes, etag)) = storage.get_tagged(&key).await? else {
            return Ok(());
        };
        let Ok(mut officer) = serde_json::from_slice::<Officer>(&bytes) else {
            return Ok(());
        };
        officer.session_epoch = officer.session_epoch.wrapping_add(1);
        let body = Bytes::from(serde_json::to_vec_pretty(&officer).expect("json"));
        if storage
            .put_if_unchanged(&key, body, "application/json", Some(&etag))
            .await?
            .is_some()
        {
            return Ok(());
        }
    }
    Err(StorageError::Unavailable(format!(
        "{key}: still contended after 10 attempts"
    )))
}

/// The `Set-Cookie` value for a session (or, with `None`, one that clears it).
pub fn cookie(state: &AppState, token: Option<&str>) -> String {
    let secure = if is_local(&state.config().public_url) {
        ""
    } else {
        "; Secure"
    };
    match token {
        Some(t) => format!(
            "{COOKIE}={t}; Max-Age={SESSION_SECS}; Path=/api/admin; HttpOnly; SameSite=Strict{secure}"
        ),
        None => format!("{COOKIE}=; Max-Age=0; Path=/api/admin; HttpOnly; SameSite=Strict{secure}"),
    }
}

/// The session cookie's value in a request.
pub fn cookie_token(headers: &http::HeaderMap) -> Option<&str> {
    cookie_value(headers, COOKIE)
}

/// The device cookie's value in a request.
pub fn device_cookie(headers: &http::HeaderMap) -> Option<&str> {
    cookie_value(headers, DEVICE_COOKIE)
}

/// A cookie's value in a request.
pub fn cookie_value<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` value that marks this browser as one where `login` signed in.
pub fn device_cookie_header(state: &AppState, login: &str, now: i64) -> String {
    let token = device_token(&state.config().signing_key, login, now);
    let secure = if is_local(&state.config().public_url) {
        ""
    } else {
        "; Secure"
    };
    format!(
        "{DEVICE_COOKIE}={token}; Max-Age={DEVICE_SECS}; Path=/api/admin/login; HttpOnly; SameSite=Strict{secure}"
    )
}

fn is_local(url: &str) -> bool {
    url.starts_with("http://127.0.0.1")
        || url.starts_with("http://localhost")
        || url.starts_with("http://[::1]")
}

/// Why a login failed.
#[derive(Debug)]
pub enum LoginError {
    Wrong,
    Locked {
        minutes: i64,
    },
    /// Too many password checks at once in this process.
    Busy,
    Storage(StorageError),
}

impl LoginError {
    pub fn message(&self) -> String {
        match self {
            LoginError::Wrong => {
                "Tên đăng nhập hoặc mật khẩu không đúng. Sau 5 lần nhập sai liên tiếp, tài khoản sẽ bị tạm khóa 15 phút.".into()
            }
            LoginError::Locked { minutes } => format!(
                "Tài khoản tạm khóa do nhập sai mật khẩu nhiều lần. Vui lòng thử lại sau {minutes} phút, hoặc liên hệ quản trị viên. Trên máy bạn đã từng đăng nhập thành công, bạn vẫn đăng nhập được."
            ),
            LoginError::Busy => {
                "Hệ thống đang bận, chưa kiểm tra được mật khẩu. Vui lòng thử lại sau ít giây.".into()
            }
            LoginError::Storage(_) => {
                "Hệ thống tạm thời gián đoạn, chưa đăng nhập được. Vui lòng thử lại sau ít phút.".into()
            }
        }
    }
}

/// `auth/attempts/{login}.json`: the times of the attempts since the last success.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Attempts {
    /// Unix milliseconds, oldest first.
    failures: Vec<i64>,
}

/// Strangers' attempts and a known browser's are counted apart.
fn attempts_key(login: &str, known_device: bool) -> String {
    if known_device {
        format!("auth/attempts/{login}.known.json")
    } else {
        format!("auth/attempts/{login}.json")
    }
}

fn device_mac(key: &[u8], payload: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(b"motcua-admin-device\n");
    mac.update(payload.as_bytes());
    mac
}

/// A device token for `login`, valid [`DEVICE_SECS`] from `now` (Unix seconds).
pub fn device_token(key: &[u8], login: &str, now: i64) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = b64.encode(format!("{login}\n{}", now + DEVICE_SECS));
    let sig = b64.encode(device_mac(key, &payload).finalize().into_bytes());
    format!("{payload}.{sig}")
}

/// Does `token` mark a browser where `login` signed in, not long ago?
pub fn known_device(key: &[u8], token: Option<&str>, login: &str, now: i64) -> bool {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let Some((payload, sig)) = token.and_then(|t| t.split_once('.')) else {
        return false;
    };
    let Ok(sig) = b64.decode(sig) else {
        return false;
    };
    if device_mac(key, payload).verify_slice(&sig).is_err() {
        return false;
    }
    let Some(text) = b64
        .decode(payload)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
    else {
        return false;
    };
    text.split_once('\n').is_some_and(|(who, until)| {
        who == login && until.parse::<i64>().is_ok_and(|until| until > now)
    })
}

/// Counts one attempt at `login` before its password is checked (compare-and-swap, so
/// concurrent guesses are each counted): the attempts within the lock window, this one
/// included, or `Locked` when [`LOCK_AFTER`] were already made.
async fn count_attempt(storage: &Storage, key: &str, now_ms: i64) -> Result<usize, LoginError> {
    let since = now_ms - LOCK_SECS * 1000;
    for attempt in 0..40u64 {
        let (mut a, etag) = match storage.get_tagged(key).await.map_err(LoginError::Storage)? {
            Some((bytes, etag)) => (
                serde_json::from_slice::<Attempts>(&bytes).unwrap_or_default(),
                Some(etag),
            ),
            None => (Attempts::default(), None),
        };
        a.failures.retain(|t| *t > since);
        if a.failures.len() >= LOCK_AFTER {
            let until = a.failures[a.failures.len() - LOCK_AFTER] + LOCK_SECS * 1000;
            let minutes = ((until - now_ms) as f64 / 60_000.0).ceil().max(1.0) as i64;
            return Err(LoginError::Locked { minutes });
        }
        a.failures.push(now_ms);
        let body = Bytes::from(serde_json::to_vec(&a).expect("json"));
        if storage
            .put_if_unchanged(key, body, "application/json", etag.as_deref())
            .await
            .map_err(LoginError::Storage)?
            .is_some()
        {
            return Ok(a.failures.len());
        }
        // Another attempt was counted meanwhile: read again.
        tokio::time::sleep(std::time::Duration::from_millis(
            5 + rand::random::<u64>() % (10 * (attempt + 1)).min(200),
        ))
        .await;
    }
    Err(LoginError::Busy)
}

/// A success clears the count.
async fn clear_attempts(storage: &Storage, key: &str) -> StorageResult<()> {
    let body = Bytes::from(serde_json::to_vec(&Attempts::default()).expect("json"));
    storage.put(key, body, "application/json").await
}

/// Checks a login and password, counting the attempt first and enforcing the lock.
/// `device` is the browser's device cookie, if it sent one.
pub async fn login(
    state: &AppState,
    login: &str,
    password: &str,
    device: Option<&str>,
    now: OffsetDateTime,
) -> Result<Officer, LoginError> {
    let storage = state.storage();
    let login = login.trim().to_lowercase();
    let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    let known = valid_login(&login);
    let attempts = attempts_key(
        &login,
        known_device(
            &state.config().signing_key,
            device,
            &login,
            now.unix_timestamp(),
        ),
    );
    let count = if known {
        count_attempt(storage, &attempts, now_ms).await?
    } else {
        0
    };
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
    let permit = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        state.password_checks().clone().acquire_owned(),
    )
    .await
    .map_err(|_| LoginError::Busy)?
    .map_err(|_| LoginError::Busy)?;
    let ok = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        verify_password(&pw, &hash)
    })
    .await
    .unwrap_or(false);
    match officer {
        Some(o) if ok && !o.disabled => {
            // This attempt was counted too: a success clears them all.
            if count > 0 {
                clear_attempts(storage, &attempts)
                    .await
                    .map_err(LoginError::Storage)?;
            }
            Ok(o)
        }
        _ => {
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
            epoch: 0,
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
