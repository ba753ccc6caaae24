//! Exact counters on an object store: sharded compare-and-swap counters that remember
//! the last ids they counted, and the markers that make a visit or a vote count once.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::Storage;

/// Shards per counter: concurrent increments spread over this many objects.
pub const SHARDS: u32 = 4;
const MAX_ATTEMPTS: u32 = 40;
/// Ids a counter remembers: a retry comes within seconds, when far fewer have reached
/// one shard since.
const RECENT: usize = 64;

/// A counter shard: the number and short hashes of the last [`RECENT`] ids counted.
/// Counters from before hold a bare number.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Counter {
    n: u64,
    #[serde(default)]
    recent: Vec<String>,
}

impl Counter {
    fn parse(bytes: &[u8]) -> Counter {
        serde_json::from_slice(bytes).unwrap_or_else(|_| Counter {
            n: std::str::from_utf8(bytes)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0),
            recent: Vec::new(),
        })
    }
}

/// 40 bits of the id's SHA-256: enough to tell [`RECENT`] ids apart.
fn id_tag(id: &str) -> String {
    hex::encode(&Sha256::digest(id.as_bytes())[..5])
}

/// The number under `key`, without its recent ids.
async fn read_count(storage: &Storage, key: &str) -> Result<u64, String> {
    match storage.get(key).await {
        Ok(bytes) => Ok(bytes.map_or(0, |b| Counter::parse(&b).n)),
        Err(e) => Err(e.to_string()),
    }
}

/// Counts `id` once in the counter at `key`, by compare-and-swap: never loses an
/// increment, and an id the counter already holds is not counted again. True if this
/// call added it.
pub async fn increment(storage: &Storage, key: &str, id: &str) -> Result<bool, String> {
    let tag = id_tag(id);
    for attempt in 0..MAX_ATTEMPTS {
        let (mut counter, etag) = match storage.get_tagged(key).await {
            Ok(Some((bytes, etag))) => (Counter::parse(&bytes), Some(etag)),
            Ok(None) => (Counter::default(), None),
            Err(e) => return Err(e.to_string()),
        };
        if counter.recent.contains(&tag) {
            return Ok(false);
        }
        counter.n += 1;
        counter.recent.push(tag.clone());
        if counter.recent.len() > RECENT {
            counter.recent.remove(0);
        }
        let body = bytes::Bytes::from(serde_json::to_vec(&counter).expect("json"));
        match storage
            .put_if_unchanged(key, body, "application/json", etag.as_deref())
            .await
        {
            Ok(Some(_)) => return Ok(true),
            // Someone else wrote first (or is writing): read again and retry.
            Ok(None) => {
                let wait = 2 + rand::random::<u64>() % (5 * u64::from(attempt + 1)).min(100);
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!(
        "counter {key}: still contended after {MAX_ATTEMPTS} attempts"
    ))
}

/// The sum of a counter's shards.
pub(crate) async fn sum(storage: &Storage, prefix: &str) -> Result<u64, String> {
    let reads = (0..SHARDS).map(|s| {
        let key = format!("{prefix}/{s}");
        async move { read_count(storage, &key).await }
    });
    let values = futures_util::future::try_join_all(reads).await?;
    Ok(values.into_iter().sum())
}

/// What a visit's or a vote's marker holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Mark {
    /// The shard it counts in.
    pub shard: u32,
    /// A vote's option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    /// Every counter has it.
    pub counted: bool,
}

pub(crate) enum Claimed {
    /// This call made the marker, or found one a failed attempt left pending: count
    /// it. With the marker's ETag, to mark it counted.
    Count(Mark, String),
    /// Counted before.
    Done,
}

/// Claims the marker `key` for one count (`If-None-Match: *`). Markers from before
/// (empty, or a vote's bare option) are counted ones.
pub(crate) async fn claim(
    storage: &Storage,
    key: &str,
    option: Option<&str>,
) -> Result<Claimed, String> {
    let mark = Mark {
        shard: rand::random::<u32>() % SHARDS,
        option: option.map(str::to_owned),
        counted: false,
    };
    let body = bytes::Bytes::from(serde_json::to_vec(&mark).expect("json"));
    let written = storage
        .put_if_unchanged(key, body, "application/json", None)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(etag) = written {
        return Ok(Claimed::Count(mark, etag));
    }
    let found = storage.get_tagged(key).await.map_err(|e| e.to_string())?;
    Ok(
        match found.and_then(|(b, etag)| Some((serde_json::from_slice::<Mark>(&b).ok()?, etag))) {
            Some((m, etag)) if !m.counted => Claimed::Count(m, etag),
            _ => Claimed::Done,
        },
    )
}

/// Marks a claim as counted everywhere. Conditional, as the bucket policy wants for
/// these keys (infra/template.yaml): if a concurrent retry marked it first, so much
/// the better; if this write fails, a retry finds every counter holding the id already.
pub(crate) async fn counted(
    storage: &Storage,
    key: &str,
    mut mark: Mark,
    etag: &str,
) -> Result<(), String> {
    mark.counted = true;
    let body = bytes::Bytes::from(serde_json::to_vec(&mark).expect("json"));
    storage
        .put_if_unchanged(key, body, "application/json", Some(etag))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
