//! Daily allowances kept in the bucket, so they hold across every function instance:
//! the dossiers one client address may file in a day, the "received" notices one phone
//! number or e-mail address gets. An allowance is an object listing what it admitted
//! (a submission, a notice), changed only by compare-and-swap; the same thing asked
//! again (a retry) is admitted again without counting twice. The keys carry a keyed
//! hash, never the address or the number (`limits/` expires after two days:
//! infra/template.yaml).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::{Storage, StorageError, StorageResult};

/// Compare-and-swap attempts before giving up under contention.
const ATTEMPTS: usize = 8;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Admitted {
    members: Vec<String>,
}

/// An allowance as read: what it admitted, and the ETag to change it from.
#[derive(Debug, Default)]
pub struct Allowance {
    admitted: Admitted,
    etag: Option<String>,
}

impl Allowance {
    /// Whether `member` was admitted already (a retry).
    pub fn holds(&self, member: &str) -> bool {
        self.admitted.members.iter().any(|m| m == member)
    }

    /// Whether `member` would be refused: not admitted, and `cap` reached.
    pub fn refuses(&self, member: &str, cap: u32) -> bool {
        !self.holds(member) && self.admitted.members.len() >= cap as usize
    }
}

/// Reads the allowance at `key` (one GET), so a caller can decide early and admit
/// later with [`admit_from`], in the same round as other writes.
pub async fn read(storage: &Storage, key: &str) -> StorageResult<Allowance> {
    Ok(match storage.get_tagged(key).await? {
        None => Allowance::default(),
        Some((bytes, etag)) => Allowance {
            admitted: serde_json::from_slice::<Admitted>(&bytes).unwrap_or_default(),
            etag: Some(etag),
        },
    })
}

/// Admits `member` under the allowance at `key`, which holds at most `cap` members.
/// True if admitted (now or before), false if the allowance is spent.
pub async fn admit(storage: &Storage, key: &str, member: &str, cap: u32) -> StorageResult<bool> {
    let read = read(storage, key).await?;
    admit_from(storage, key, member, cap, read).await
}

/// [`admit`] from an allowance read before: no request when it holds `member` or
/// refuses it, one compare-and-swap otherwise (read again and retried only if the
/// allowance changed since).
pub async fn admit_from(
    storage: &Storage,
    key: &str,
    member: &str,
    cap: u32,
    mut allowance: Allowance,
) -> StorageResult<bool> {
    for _ in 0..ATTEMPTS {
        if allowance.holds(member) {
            return Ok(true);
        }
        if allowance.refuses(member, cap) {
            return Ok(false);
        }
        allowance.admitted.members.push(member.to_owned());
        let body = Bytes::from(serde_json::to_vec(&allowance.admitted).expect("json"));
        if storage
            .put_if_unchanged(key, body, "application/json", allowance.etag.as_deref())
            .await?
            .is_some()
        {
            return Ok(true);
        }
        allowance = read(storage, key).await?;
    }
    Err(StorageError::Unavailable(format!(
        "allowance {key} changed {ATTEMPTS} times in a row"
    )))
}

/// Admits each of `members`, in order, under the allowance at `key`, with one
/// compare-and-swap for all of them (a delivery pass admits its batch's notices to one
/// recipient at once: one by one, side by side, they would only race each other). One
/// answer per member, as [`admit`] would give them one after another.
pub async fn admit_all(
    storage: &Storage,
    key: &str,
    members: &[String],
    cap: u32,
) -> StorageResult<Vec<bool>> {
    for _ in 0..ATTEMPTS {
        let mut allowance = read(storage, key).await?;
        let mut answers = Vec::with_capacity(members.len());
        let mut added = false;
        for member in members {
            if allowance.holds(member) {
                answers.push(true);
            } else if !allowance.refuses(member, cap) {
                allowance.admitted.members.push(member.clone());
                added = true;
                answers.push(true);
            } else {
                answers.push(false);
            }
        }
        if !added {
            return Ok(answers);
        }
        let body = Bytes::from(serde_json::to_vec(&allowance.admitted).expect("json"));
        if storage
            .put_if_unchanged(key, body, "application/json", allowance.etag.as_deref())
            .await?
            .is_some()
        {
            return Ok(answers);
        }
    }
    Err(StorageError::Unavailable(format!(
        "allowance {key} changed {ATTEMPTS} times in a row"
    )))
}

/// `limits/{what}/{YYMMDD}/{hash}.json`: `who` hashed with `key`, so the bucket holds
/// no address or number in clear (a phone number is too short to survive a plain hash).
pub fn allowance_key(what: &str, day: &str, key: &[u8], who: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(what.as_bytes());
    mac.update(b"\n");
    mac.update(who.as_bytes());
    let hash = hex::encode(&mac.finalize().into_bytes()[..16]);
    format!("limits/{what}/{day}/{hash}.json")
}
