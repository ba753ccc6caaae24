//! The opinion poll: `GET /api/polls/{id}` answers the results, `POST` takes one vote
//! per browser.
//!
//! A vote is `polls/{id}/votes/{voter}` (`If-None-Match: *`: one per browser; it holds
//! the option), then its tally `polls/{id}/tally/{option}/{voter}` (the same), so that
//! listing the tallies counts the votes by option. The results a page reads are folded
//! into `polls/{id}/results.json`, by each vote (from its own listing) and by the
//! scheduled fold, which also writes the tally of a vote whose request stopped between
//! its two writes.

use std::collections::{BTreeMap, HashSet};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use catalog::{Poll, vn_time};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use store::Storage;
use time::OffsetDateTime;

use crate::stats::as_of;
use crate::{BUSY, WidgetsState, message, no_store, valid_id};

#[derive(Deserialize)]
pub struct Vote {
    pub voter: String,
    pub option: String,
}

/// One option with its votes.
#[derive(Debug, Serialize, Deserialize)]
pub struct OptionVotes {
    pub value: String,
    pub label: String,
    pub votes: u64,
}

/// A poll's results, with a message when the vote was not counted.
#[derive(Debug, Serialize, Deserialize)]
pub struct Results {
    pub id: String,
    pub question: String,
    pub total: u64,
    pub options: Vec<OptionVotes>,
    /// When they were folded (every vote whose tally was written before is in them).
    pub as_of: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What `polls/{id}/results.json` holds: votes by option value.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Tallied {
    as_of: Option<String>,
    counts: BTreeMap<String, u64>,
}

fn votes_prefix(id: &str) -> String {
    format!("polls/{id}/votes/")
}
fn tally_prefix(id: &str) -> String {
    format!("polls/{id}/tally/")
}
fn tally_key(id: &str, option: &str, voter: &str) -> String {
    format!("{}{option}/{voter}", tally_prefix(id))
}
fn results_key(id: &str) -> String {
    format!("polls/{id}/results.json")
}

/// Votes by option, from the keys of the tallies.
fn count(id: &str, tallies: &[String]) -> BTreeMap<String, u64> {
    let prefix = tally_prefix(id);
    let mut counts = BTreeMap::new();
    for key in tallies {
        if let Some((option, _)) = key
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once('/'))
        {
            *counts.entry(option.to_owned()).or_default() += 1;
        }
    }
    counts
}

fn results(poll: &Poll, tallied: &Tallied) -> Results {
    let options: Vec<_> = poll
        .options
        .iter()
        .map(|o| OptionVotes {
            value: o.value.clone(),
            label: o.label.clone(),
            votes: tallied.counts.get(&o.value).copied().unwrap_or(0),
        })
        .collect();
    Results {
        id: poll.id.clone(),
        question: poll.question.clone(),
        total: options.iter().map(|o| o.votes).sum(),
        options,
        as_of: tallied.as_of.clone(),
        message: None,
    }
}

fn err(e: store::StorageError) -> String {
    e.to_string()
}

/// The results as last folded: one request.
pub async fn read_results(storage: &Storage, poll: &Poll) -> Result<Results, String> {
    let stored = storage.get(&results_key(&poll.id)).await.map_err(err)?;
    let tallied = stored
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    Ok(results(poll, &tallied))
}

/// Writes the results folded from `counts` over the version read (`stored`), unless
/// that version holds as many votes or more (it is as new, or newer: votes only add).
/// When another write came between, reads again and retries (twice at most: the
/// results are derived, and the next fold writes them anyway).
async fn write_results(
    storage: &Storage,
    id: &str,
    counts: BTreeMap<String, u64>,
    mut stored: Option<(Bytes, String)>,
    now: OffsetDateTime,
) -> Result<(Tallied, bool), String> {
    let tallied = Tallied {
        as_of: Some(as_of(now)),
        counts,
    };
    let total = |t: &Tallied| t.counts.values().sum::<u64>();
    let body = Bytes::from(serde_json::to_vec(&tallied).expect("json"));
    for _ in 0..3 {
        let etag = match &stored {
            Some((b, etag)) => {
                let old = serde_json::from_slice::<Tallied>(b).unwrap_or_default();
                if total(&old) >= total(&tallied) {
                    return Ok((tallied, false));
                }
                Some(etag.as_str())
            }
            None => None,
        };
        let written = storage
            .put_if_unchanged(&results_key(id), body.clone(), "application/json", etag)
            .await
            .map_err(err)?
            .is_some();
        if written {
            return Ok((tallied, true));
        }
        stored = storage.get_tagged(&results_key(id)).await.map_err(err)?;
    }
    Ok((tallied, false))
}

/// A vote's stored option: `{"option": …}` (markers of before held more fields), or
/// the bare option.
fn stored_option(bytes: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Stored {
        option: Option<String>,
    }
    match serde_json::from_slice::<Stored>(bytes) {
        Ok(s) => s.option,
        Err(_) => std::str::from_utf8(bytes)
            .ok()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    }
}

/// Records `voter`'s vote for `option` and answers the results with it, and whether
/// this call recorded the vote (false: the voter had voted, and that vote stands).
///
/// Requests: the vote (`If-None-Match: *`); then at once its tally, the stored results
/// (for their ETag) and the list of tallies (a page per 1,000 votes; the vote's own
/// tally is added if the list was made before it landed); then the results, if newer:
/// 5 requests in 3 rounds. A voter who had voted: one more, to read the first vote's
/// option. Every step can fail and be retried: the vote is its first write, the rest
/// is redone from it.
pub async fn vote(
    storage: &Storage,
    poll: &Poll,
    voter: &str,
    option: &str,
    now: OffsetDateTime,
) -> Result<(bool, Results), String> {
    let id = &poll.id;
    let key = format!("{}{voter}", votes_prefix(id));
    let body =
        Bytes::from(serde_json::to_vec(&serde_json::json!({ "option": option })).expect("json"));
    let created = storage
        .put_if_absent(&key, body, "application/json")
        .await
        .map_err(err)?;
    // A voter who voted before: the first choice counts.
    let option = if created {
        option.to_owned()
    } else {
        let stored = storage.get(&key).await.map_err(err)?;
        stored
            .as_deref()
            .and_then(stored_option)
            .unwrap_or_else(|| option.to_owned())
    };
    let tally = tally_key(id, &option, voter);
    let prefix = tally_prefix(id);
    let (_, stored, listed) = tokio::try_join!(
        async {
            storage
                .put_if_absent(&tally, Bytes::new(), "text/plain")
                .await
                .map_err(err)
        },
        async { storage.get_tagged(&results_key(id)).await.map_err(err) },
        async { storage.list(&prefix).await.map_err(err) },
    )?;
    let mut counts = count(id, &listed);
    if !listed.contains(&tally) {
        *counts.entry(option).or_default() += 1;
    }
    // The results are derived data: if they cannot be written now, the next fold
    // writes them; this answer is exact either way.
    let tallied = match write_results(storage, id, counts.clone(), stored, now).await {
        Ok((t, _)) => t,
        Err(e) => {
            tracing::warn!("poll {id}: results not written: {e}");
            Tallied {
                as_of: Some(as_of(now)),
                counts,
            }
        }
    };
    Ok((created, results(poll, &tallied)))
}

/// What a fold of a poll did.
#[derive(Debug, Serialize)]
pub struct PollFold {
    pub id: String,
    pub total: u64,
    /// Votes whose tally was missing (their request stopped between the two writes).
    pub repaired: usize,
    pub written: bool,
}

/// One fold of `poll` at `now`: the tallies listed and counted into the results, with
/// the tallies of votes that lack one written first. Harmless when run at once with
/// another fold or with votes: a tally is written with `If-None-Match: *`, the results
/// only over the version read and only if they hold more votes.
pub async fn fold(storage: &Storage, poll: &Poll, now: OffsetDateTime) -> Result<PollFold, String> {
    let id = &poll.id;
    let (stored, votes, mut tallies) = tokio::try_join!(
        async { storage.get_tagged(&results_key(id)).await.map_err(err) },
        async { storage.list(&votes_prefix(id)).await.map_err(err) },
        async { storage.list(&tally_prefix(id)).await.map_err(err) },
    )?;
    let tallied: HashSet<&str> = tallies
        .iter()
        .filter_map(|k| k.rsplit('/').next())
        .collect();
    let missing: Vec<String> = votes
        .iter()
        .filter_map(|k| k.rsplit('/').next())
        .filter(|voter| !tallied.contains(voter))
        .map(str::to_owned)
        .collect();
    let repairs = missing.into_iter().map(|voter| {
        let storage = storage.clone();
        let id = id.clone();
        async move {
            let key = format!("{}{voter}", votes_prefix(&id));
            let Some(option) = storage
                .get(&key)
                .await
                .map_err(err)?
                .as_deref()
                .and_then(stored_option)
            else {
                return Ok(None);
            };
            let tally = tally_key(&id, &option, &voter);
            storage
                .put_if_absent(&tally, Bytes::new(), "text/plain")
                .await
                .map_err(err)?;
            Ok::<_, String>(Some(tally))
        }
    });
    let repaired: Vec<Option<String>> = futures_util::stream::iter(repairs)
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let repaired: Vec<String> = repaired.into_iter().flatten().collect();
    let n = repaired.len();
    tallies.extend(repaired);
    let counts = count(id, &tallies);
    let total = counts.values().sum();
    let (_, written) = write_results(storage, id, counts, stored, now).await?;
    Ok(PollFold {
        id: id.clone(),
        total,
        repaired: n,
        written,
    })
}

/// `GET /api/polls/{id}`: the results as last folded.
pub async fn poll_results(State(state): State<WidgetsState>, Path(id): Path<String>) -> Response {
    let Some(poll) = state.poll.as_deref().filter(|p| p.id == id) else {
        return message(StatusCode::NOT_FOUND, "Không có cuộc thăm dò này.");
    };
    match read_results(&state.storage, poll).await {
        Ok(body) => no_store(StatusCode::OK, body),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, BUSY),
    }
}

/// `POST /api/polls/{id} {"voter": "…", "option": "…"}`: one vote per voter id; 201 with
/// the results, or 409 with them if this voter has voted already.
pub async fn poll_vote(
    State(state): State<WidgetsState>,
    Path(id): Path<String>,
    Json(v): Json<Vote>,
) -> Response {
    let Some(poll) = state.poll.clone().filter(|p| p.id == id) else {
        return message(StatusCode::NOT_FOUND, "Không có cuộc thăm dò này.");
    };
    if !valid_id(&v.voter) {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Mã người bình chọn không hợp lệ.",
        );
    }
    if !poll.options.iter().any(|o| o.value == v.option) {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Hãy chọn một trong các phương án.",
        );
    }
    // The vote and its tally finish even if the connection drops halfway (should the
    // task itself stop between them, the next fold writes the tally).
    let storage = state.storage.clone();
    let result =
        tokio::spawn(
            async move { vote(&storage, &poll, &v.voter, &v.option, vn_time::now()).await },
        )
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    match result {
        Ok((true, body)) => no_store(StatusCode::CREATED, body),
        Ok((false, mut body)) => {
            body.message = Some("Bạn đã bình chọn rồi; mỗi trình duyệt chỉ được một lần.".into());
            no_store(StatusCode::CONFLICT, body)
        }
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, BUSY),
    }
}
