//! The delivery worker: sends what is due in `outbox/`, once.
//!
//! For each record not yet marked `outbox-sent/{id}` and due (`next_attempt_at`), a
//! worker first claims `outbox-lease/{id}/{attempts}-{5-minute slot}` with
//! `If-None-Match: *`, so two workers (two Lambda instances, the console's button and the
//! timer) never send the same attempt; a crashed worker's claim lapses with its slot.
//! Each channel that goes through is marked `outbox-sent/{id}.{sms|email}`; when all are,
//! `outbox-sent/{id}`. A failure raises `attempts` and sets `next_attempt_at` with
//! exponential backoff (30 s, 1 min, 2 min, … at most 1 h), and the record stays visible
//! in the console.
//!
//! A record is sent only once what it announces exists ([`standing`]): a step's notice
//! once its event exists with the record's `event_id`, the submission's first notice
//! once the dossier's manifest exists. Until then it is skipped; after [`GRACE`] (or at
//! once, when its event holds another id) it is counted as void. Nothing is written for
//! a void record: each pass looks again, so a step that did land late is still told.
//!
//! Records are sent only within [`MAX_AGE`] of their `created_at`. The bucket's
//! lifecycle rules (infra/template.yaml) delete `outbox/` and `outbox-sent/` objects
//! after 14 days: a sent marker, written after its record's `created_at`, therefore
//! outlives the window in which its record could be sent, and a record whose marker is
//! gone is never sent again.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use time::OffsetDateTime;

use crate::{Notifier, OutboxRecord};
use catalog::vn_time::{format_time, parse_time};
use dossier::{Status, dossier_prefix};
use store::{Storage, StorageResult};

/// How long after its `created_at` a record whose event (or manifest) is not there is
/// taken as void: far longer than a step or a submission takes (a Lambda call ends
/// after 29 s, a store request after 20 s).
pub const GRACE: Duration = Duration::from_secs(5 * 60);

/// A record older than this (by its `created_at`) is not sent any more: a week late, a
/// notice is stale, and its sent markers expire after 14 days (infra/template.yaml).
pub const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Is this record past [`MAX_AGE`] (or without a readable time)?
pub fn expired(record: &OutboxRecord, now: OffsetDateTime) -> bool {
    parse_time(&record.created_at).is_none_or(|t| now - t > MAX_AGE)
}

#[derive(Debug, Default, Serialize)]
pub struct DeliveryReport {
    pub sent: usize,
    pub failed: usize,
    /// Not due yet (backoff), or not confirmed yet (within [`GRACE`]).
    pub waiting: usize,
    /// Notices with a channel that is not configured; with none configured at all,
    /// every notice waiting (they are then not read).
    pub not_configured: usize,
    /// Records whose step never happened: not sent.
    pub void: usize,
    /// Records older than [`MAX_AGE`]: not sent any more.
    pub expired: usize,
    /// Channels of "received" notices not sent because their phone number or address
    /// had its day's allowance (`NotifyConfig::received_per_recipient_per_day`).
    pub withheld: usize,
}

/// Whether a record may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// What it announces exists: send.
    Confirmed,
    /// Not there yet, within [`GRACE`]: skip silently.
    Unconfirmed,
    /// The step did not happen (its event is missing after [`GRACE`], or holds another
    /// attempt's id; the dossier's manifest is missing after [`GRACE`]): never send.
    Void,
}

/// Checks that what a record announces exists (one GET or HEAD).
pub async fn standing(
    storage: &Storage,
    record: &OutboxRecord,
    now: OffsetDateTime,
) -> StorageResult<Standing> {
    let missing = || {
        let young = parse_time(&record.created_at).is_some_and(|t| now - t < GRACE);
        if young {
            Standing::Unconfirmed
        } else {
            Standing::Void
        }
    };
    if let (Some(key), Some(id)) = (&record.event_key, &record.event_id) {
        return Ok(match storage.get(key).await? {
            None => missing(),
            Some(bytes) => {
                let event: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
                if event.get("id").and_then(|v| v.as_str()) == Some(id.as_str()) {
                    Standing::Confirmed
                } else {
                    // Events are written once: another attempt's event stays.
                    Standing::Void
                }
            }
        });
    }
    if record.kind == Status::Received {
        let Some(prefix) = dossier_prefix(&record.code) else {
            return Ok(Standing::Void);
        };
        return Ok(
            match storage.head(&format!("{prefix}dossier.json")).await? {
                Some(_) => Standing::Confirmed,
                None => missing(),
            },
        );
    }
    // A step's notice from before `event_key`: written after its event.
    Ok(Standing::Confirmed)
}

/// One form of a phone number or an address, so that "0912 345 678", "+84912345678"
/// and "84-912-345-678" count as the same phone in the day's allowance.
fn same_recipient(to: &str) -> String {
    if to.contains('@') {
        return to.trim().to_lowercase();
    }
    let digits: String = to.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix("84") {
        Some(rest) if digits.len() >= 11 => format!("0{rest}"),
        _ => digits,
    }
}

pub fn backoff(attempts: u32) -> Duration {
    Duration::from_secs((30u64 << attempts.saturating_sub(1).min(7)).min(3600))
}

/// The outbox as stored: records still waiting (id, key), how many were delivered, and
/// the sent markers (`outbox-sent/{id}` and per channel `outbox-sent/{id}.sms|.email`).
pub struct Outbox {
    pub waiting: Vec<(String, String)>,
    pub delivered: usize,
    pub sent: HashSet<String>,
}

pub async fn list_outbox(storage: &Storage) -> StorageResult<Outbox> {
    let sent: HashSet<String> = storage.list("outbox-sent/").await?.into_iter().collect();
    let mut outbox = Outbox {
        waiting: Vec::new(),
        delivered: 0,
        sent: HashSet::new(),
    };
    for key in storage.list("outbox/").await? {
        let Some(id) = key
            .strip_prefix("outbox/")
            .and_then(|k| k.strip_suffix(".json"))
        else {
            continue;
        };
        if sent.contains(&format!("outbox-sent/{id}")) {
            outbox.delivered += 1;
        } else {
            outbox.waiting.push((id.to_owned(), key.clone()));
        }
    }
    outbox.sent = sent;
    Ok(outbox)
}

/// Sends every due record. `now` is a parameter so tests can step time.
pub async fn deliver_due(
    storage: &Storage,
    notifier: &Notifier,
    now: OffsetDateTime,
) -> StorageResult<DeliveryReport> {
    let c = &notifier.config;
    let mut report = DeliveryReport::default();
    let slot = now.unix_timestamp() / 300;
    let outbox = list_outbox(storage).await?;
    // With no way to send, reading each notice would only count it: the listing says
    // how many wait (two requests, however many notices there are).
    if notifier.sms().is_none() && notifier.mailer().is_none() {
        report.not_configured = outbox.waiting.len();
        return Ok(report);
    }
    let sent = &outbox.sent;
    for (id, key) in &outbox.waiting {
        let Some(bytes) = storage.get(key).await? else {
            continue;
        };
        let Ok(mut record) = serde_json::from_slice::<OutboxRecord>(&bytes) else {
            tracing::error!("outbox record {key} unreadable");
            continue;
        };
        if expired(&record, now) {
            report.expired += 1;
            continue;
        }
        if record
            .next_attempt_at
            .as_deref()
            .and_then(parse_time)
            .is_some_and(|t| t > now)
        {
            report.waiting += 1;
            continue;
        }
        match standing(storage, &record, now).await? {
            Standing::Confirmed => {}
            Standing::Unconfirmed => {
                report.waiting += 1;
                continue;
            }
            Standing::Void => {
                report.void += 1;
                continue;
            }
        }
        let want_sms = record.sms.is_some() && !sent.contains(&format!("outbox-sent/{id}.sms"));
        let want_email =
            record.email.is_some() && !sent.contains(&format!("outbox-sent/{id}.email"));
        let (sms_gateway, mailer) = (notifier.sms(), notifier.mailer());
        if (want_sms && sms_gateway.is_none()) || (want_email && mailer.is_none()) {
            report.not_configured += 1;
        }
        let can_sms = want_sms && sms_gateway.is_some();
        let can_email = want_email && mailer.is_some();
        if !can_sms && !can_email {
            continue;
        }
        let lease = format!("outbox-lease/{id}/{}-{slot}", record.attempts);
        if !storage
            .put_if_absent(&lease, Bytes::from(format_time(now)), "text/plain")
            .await?
        {
            continue;
        }
        let mut errors = Vec::new();
        let mut done_sms = !want_sms;
        let mut done_email = !want_email;
        let mut can_sms = can_sms;
        let mut can_email = can_email;
        if record.kind == Status::Received {
            // Counted once the lease is held, so two workers count a notice once (and
            // a notice retried after a failure is admitted again, not counted twice).
            let day = parse_time(&record.created_at)
                .map(|t| catalog::dossier_code::day(t.to_offset(catalog::vn_time::VN)))
                .unwrap_or_default();
            for (wanted, done, channel, to) in [
                (
                    &mut can_sms,
                    &mut done_sms,
                    "sms",
                    record.sms.as_ref().map(|s| s.to.as_str()),
                ),
                (
                    &mut can_email,
                    &mut done_email,
                    "email",
                    record.email.as_ref().map(|e| e.to.as_str()),
                ),
            ] {
                let Some(to) = to.filter(|_| *wanted) else {
                    continue;
                };
                let allowance = store::quota::allowance_key(
                    "notices",
                    &day,
                    &c.recipient_key,
                    &format!("{channel}:{}", same_recipient(to)),
                );
                if !store::quota::admit(storage, &allowance, id, c.received_per_recipient_per_day)
                    .await?
                {
                    // Marked as handled, so it is not tried again; the citizen has the
                    // receipt on screen and the tracking page.
                    storage
                        .put_if_absent(
                            &format!("outbox-sent/{id}.{channel}"),
                            Bytes::from(format!("withheld {}", format_time(now))),
                            "text/plain",
                        )
                        .await?;
                    tracing::warn!(
                        id,
                        channel,
                        "received notice withheld: its recipient had the day's allowance"
                    );
                    *wanted = false;
                    *done = true;
                    report.withheld += 1;
                }
            }
        }
        if can_sms && let (Some(sms), Some(gateway)) = (record.sms.as_ref(), sms_gateway) {
            let text = if c.sms_ascii {
                crate::strip_marks(&sms.text)
            } else {
                sms.text.clone()
            };
            match gateway.send(&sms.to, &text).await {
                Ok(()) => {
                    storage
                        .put_if_absent(
                            &format!("outbox-sent/{id}.sms"),
                            Bytes::from(format_time(now)),
                            "text/plain",
                        )
                        .await?;
                    done_sms = true;
                }
                Err(e) => errors.push(format!("SMS: {e}")),
            }
        }
        if can_email && let (Some(email), Some(mailer)) = (record.email.as_ref(), mailer) {
            match mailer.send(&email.to, &email.subject, &email.body).await {
                Ok(()) => {
                    storage
                        .put_if_absent(
                            &format!("outbox-sent/{id}.email"),
                            Bytes::from(format_time(now)),
                            "text/plain",
                        )
                        .await?;
                    done_email = true;
                }
                Err(e) => errors.push(format!("E-mail: {e}")),
            }
        }
        if done_sms && done_email {
            storage
                .put_if_absent(
                    &format!("outbox-sent/{id}"),
                    Bytes::from(format_time(now)),
                    "text/plain",
                )
                .await?;
            // A notice whose every channel was withheld was settled, not sent.
            if can_sms || can_email {
                report.sent += 1;
            }
        } else if !errors.is_empty() {
            record.attempts += 1;
            let next = now + backoff(record.attempts);
            record.next_attempt_at = Some(format_time(next));
            record.last_error = Some(errors.join("; "));
            // The gateway's or the mail server's words may quote the phone or the
            // address: masked in the log (the console shows the record to officers).
            tracing::warn!(
                id,
                attempts = record.attempts,
                "notice not delivered: {}",
                dossier::privacy::text(&errors.join("; "))
            );
            storage
                .put(
                    key,
                    Bytes::from(serde_json::to_vec_pretty(&record).expect("json")),
                    "application/json",
                )
                .await?;
            report.failed += 1;
        }
    }
    Ok(report)
}

/// Runs the worker every `interval_secs` (the local server; on Lambda the EventBridge
/// schedule of infra/template.yaml runs one pass a minute).
pub fn spawn_worker(storage: Storage, notifier: Notifier) -> Option<tokio::task::JoinHandle<()>> {
    let c = &notifier.config;
    if c.interval_secs == 0 || (notifier.mailer().is_none() && notifier.sms().is_none()) {
        return None;
    }
    let every = Duration::from_secs(c.interval_secs);
    Some(tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = deliver_due(&storage, &notifier, OffsetDateTime::now_utc()).await {
                tracing::warn!("outbox delivery: {e}");
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_phone_written_three_ways_is_one_recipient() {
        assert_eq!(same_recipient("0912 345 678"), "0912345678");
        assert_eq!(same_recipient("+84912345678"), "0912345678");
        assert_eq!(same_recipient("84-912-345-678"), "0912345678");
        assert_eq!(same_recipient(" Lan@Example.VN "), "lan@example.vn");
    }
}
