//! A dossier's objects and the writes that keep it exactly-once: the day's code claimed
//! with `If-None-Match: *` on `sequence/{YYMMDD}/{NNNN}`, the submission's idempotency
//! record, each step an event on the next free sequence number, the manifest last.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use dossier::{Event, Manifest, dossier_prefix};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Storage, StorageError, StorageResult};

/// The folder of a dossier read from the store: its code was parsed to find it, so this
/// only fails for a manifest edited by hand; that request then fails, not the process.
pub fn stored_prefix(code: &str) -> StorageResult<String> {
    dossier_prefix(code).ok_or_else(|| {
        StorageError::Unavailable(format!("stored dossier code {code:?} is malformed"))
    })
}

/// Reads a dossier's manifest and events (`None` if it has no manifest): the manifest
/// and the listing of the events side by side, then the events, [`EVENTS_AT_ONCE`] at
/// a time, in order (two rounds for any dossier of up to that many events).
pub async fn read_dossier(
    storage: &Storage,
    code: &str,
) -> StorageResult<Option<(Manifest, Vec<Event>)>> {
    let Some(prefix) = dossier_prefix(code) else {
        return Ok(None);
    };
    let manifest_key = format!("{prefix}dossier.json");
    let events_prefix = format!("{prefix}events/");
    let (bytes, keys) = tokio::try_join!(storage.get(&manifest_key), storage.list(&events_prefix))?;
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| StorageError::Unavailable(format!("manifest {code}: {e}")))?;
    let events = read_events(storage, &keys).await?;
    Ok(Some((manifest, events)))
}

/// A dossier's events read at once at most (a dossier has a handful; a store's
/// connections are shared with the rest of the request's work).
pub const EVENTS_AT_ONCE: usize = 16;

/// The events under `keys` (as listed, so in order), [`EVENTS_AT_ONCE`] at a time; one
/// gone or unreadable is left out.
pub async fn read_events(storage: &Storage, keys: &[String]) -> StorageResult<Vec<Event>> {
    use futures_util::{StreamExt, TryStreamExt, stream};
    let reads: Vec<_> = keys.iter().map(|key| storage.get(key)).collect();
    let read: Vec<Option<Bytes>> = stream::iter(reads)
        .buffered(EVENTS_AT_ONCE)
        .try_collect()
        .await?;
    Ok(read
        .into_iter()
        .flatten()
        .filter_map(|bytes| serde_json::from_slice::<Event>(&bytes).ok())
        .collect())
}

/// An event as stored: with the random `id` its notice names.
#[derive(Serialize)]
struct StoredEvent<'a> {
    #[serde(flatten)]
    event: &'a Event,
    id: &'a str,
}

/// Writes event `seq` of `manifest`'s dossier with `id` (false if that number is
/// taken: another step came first), then the index hint. A failed hint is logged, not
/// undone: the step stands.
pub async fn write_event(
    storage: &Storage,
    manifest: &Manifest,
    event: &Event,
    seq: u32,
    id: &str,
    now: OffsetDateTime,
) -> StorageResult<bool> {
    let prefix = stored_prefix(&manifest.code)?;
    let stored = StoredEvent { event, id };
    if !storage
        .put_if_absent(
            &format!("{prefix}events/{seq:06}.json"),
            Bytes::from(serde_json::to_vec_pretty(&stored).expect("json")),
            "application/json",
        )
        .await?
    {
        return Ok(false);
    }
    if let Err(e) = crate::changes::hint(storage, &manifest.code, now).await {
        tracing::error!(code = %manifest.code, "index hint for event {seq} not written: {e}");
    }
    Ok(true)
}

/// The idempotency record: which code a submission got, and when it was received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub code: String,
    pub received_at: String,
    pub body_sha256: String,
}

/// `idempotency/{key_hash}.json`
pub fn idempotency_key(key_hash: &str) -> String {
    format!("idempotency/{key_hash}.json")
}

/// The day's next dossier numbers, claimed once each.
#[derive(Default)]
pub struct Sequence {
    /// The day (YYMMDD) and the next number to try for it.
    hint: Mutex<Option<(String, Arc<AtomicU32>)>>,
}

/// Why no code was claimed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("hết số hồ sơ trong ngày")]
    Exhausted,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Sequence {
    /// Claims the next free `sequence/{YYMMDD}/{NNNN}` of `now`'s day with a conditional
    /// write; returns the day (YYMMDD) and the number.
    pub async fn claim(
        &self,
        storage: &Storage,
        now: OffsetDateTime,
        key_hash: &str,
    ) -> Result<(String, u32), ClaimError> {
        let day = catalog::dossier_code::day(now);
        let counter = self.counter(storage, &day).await?;
        for _ in 0..10_000 {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            if n > 9999 {
                return Err(ClaimError::Exhausted);
            }
            let claim = format!("sequence/{day}/{n:04}");
            if storage
                .put_if_absent(&claim, Bytes::from(key_hash.to_owned()), "text/plain")
                .await?
            {
                return Ok((day, n));
            }
        }
        Err(ClaimError::Exhausted)
    }

    /// Makes sure the counter for `now`'s day is known, so that a later [`claim`]
    /// makes no listing: called beside a submission's first reads, it costs no round
    /// of its own (and no request at all in a warm process).
    ///
    /// [`claim`]: Sequence::claim
    pub async fn prepare(&self, storage: &Storage, now: OffsetDateTime) -> StorageResult<()> {
        self.counter(storage, &catalog::dossier_code::day(now))
            .await
            .map(|_| ())
    }

    /// The in-process counter for `day`, started after the highest claimed number (one
    /// listing of the day's claims, a single request for any day under 1,000 dossiers,
    /// where a search by HEADs took 13 in a row).
    async fn counter(&self, storage: &Storage, day: &str) -> StorageResult<Arc<AtomicU32>> {
        if let Some((d, counter)) = &*self.hint.lock().expect("lock")
            && d == day
        {
            return Ok(counter.clone());
        }
        let lo = storage
            .list(&format!("sequence/{day}/"))
            .await?
            .iter()
            .filter_map(|k| k.rsplit('/').next()?.parse::<u32>().ok())
            .max()
            .unwrap_or(0);
        let mut hint = self.hint.lock().expect("lock");
        match &*hint {
            Some((d, counter)) if d == day => Ok(counter.clone()),
            _ => {
                let counter = Arc::new(AtomicU32::new(lo + 1));
                *hint = Some((day.to_owned(), counter.clone()));
                Ok(counter)
            }
        }
    }
}
