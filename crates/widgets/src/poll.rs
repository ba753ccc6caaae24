//! The opinion poll: `GET /api/polls/{id}` answers the results, `POST` takes one vote
//! per browser.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::counter::{Claimed, claim, counted, increment, sum};
use crate::{BUSY, WidgetsState, message, no_store, valid_id};

#[derive(Deserialize)]
pub struct Vote {
    pub voter: String,
    pub option: String,
}

/// One option with its votes.
#[derive(Debug, Serialize)]
pub struct OptionVotes {
    pub value: String,
    pub label: String,
    pub votes: u64,
}

/// A poll's results, with a message when the vote was not counted.
#[derive(Debug, Serialize)]
pub struct Results {
    pub id: String,
    pub question: String,
    pub total: u64,
    pub options: Vec<OptionVotes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
}

async fn results(state: &WidgetsState, id: &str) -> Result<Results, String> {
    let Some(poll) = state.poll.as_deref() else {
        return Err(format!("no poll {id}"));
    };
    let reads = poll.options.iter().map(|o| {
        let prefix = format!("polls/{id}/count/{}", o.value);
        async move { sum(&state.storage, &prefix).await }
    });
    let counts = futures_util::future::try_join_all(reads).await?;
    let total: u64 = counts.iter().sum();
    let options: Vec<_> = poll
        .options
        .iter()
        .zip(&counts)
        .map(|(o, n)| OptionVotes {
            value: o.value.clone(),
            label: o.label.clone(),
            votes: *n,
        })
        .collect();
    Ok(Results {
        id: id.to_owned(),
        question: poll.question.clone(),
        total,
        options,
        message: None,
    })
}

fn poll_exists(state: &WidgetsState, id: &str) -> bool {
    state.poll.as_ref().is_some_and(|p| p.id == id)
}

/// `GET /api/polls/{id}`: the results.
pub async fn poll_results(State(state): State<WidgetsState>, Path(id): Path<String>) -> Response {
    if !poll_exists(&state, &id) {
        return message(StatusCode::NOT_FOUND, "Không có cuộc thăm dò này.");
    }
    match results(&state, &id).await {
        Ok(body) => no_store(StatusCode::OK, body),
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, BUSY),
    }
}

/// `POST /api/polls/{id} {"voter": "…", "option": "…"}`: one vote per voter id; 201 with
/// the results, or 409 with them if this voter has voted already.
pub async fn poll_vote(
    State(state): State<WidgetsState>,
    Path(id): Path<String>,
    Json(vote): Json<Vote>,
) -> Response {
    let Some(poll) = state.poll.as_deref().filter(|_| poll_exists(&state, &id)) else {
        return message(StatusCode::NOT_FOUND, "Không có cuộc thăm dò này.");
    };
    if !valid_id(&vote.voter) {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Mã người bình chọn không hợp lệ.",
        );
    }
    if !poll.options.iter().any(|o| o.value == vote.option) {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Hãy chọn một trong các phương án.",
        );
    }
    // As for visits: the vote and its count finish even if the connection drops.
    let task_state = state.clone();
    let (poll_id, voter, option) = (id.clone(), vote.voter.clone(), vote.option.clone());
    let counted = tokio::spawn(async move {
        let storage = &task_state.storage;
        let key = format!("polls/{poll_id}/votes/{voter}");
        let Claimed::Count(mark, etag) = claim(storage, &key, Some(&option)).await? else {
            return Ok(false);
        };
        // A retry counts what the first attempt chose.
        let option = mark.option.clone().unwrap_or(option);
        let counter = format!("polls/{poll_id}/count/{option}/{}", mark.shard);
        // Two clicks at once both find the claim to count: one adds the vote, the
        // other is told it was counted.
        let first = increment(storage, &counter, &voter).await?;
        counted(storage, &key, mark, &etag).await?;
        Ok::<bool, String>(first)
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    let result = match counted {
        Ok(first) => results(&state, &id).await.map(|r| (first, r)),
        Err(e) => Err(e),
    };
    match result {
        Ok((true, body)) => no_store(StatusCode::CREATED, body),
        Ok((false, mut body)) => {
            body.message = Some("Bạn đã bình chọn rồi; mỗi trình duyệt chỉ được một lần.");
            no_store(StatusCode::CONFLICT, body)
        }
        Err(_) => message(StatusCode::SERVICE_UNAVAILABLE, BUSY),
    }
}
