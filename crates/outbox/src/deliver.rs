//! The delivery worker: sends what is due in `outbox/`, once.
//!
//! A pass takes at most [`BATCH`] due notices (the rest wait for the next pass) and
//! handles them side by side, in a few rounds of requests however many wait (see
//! [`deliver_due`]). For each record not yet marked `outbox-sent/{id}` and due
//! (`next_attempt_at`), a worker first claims
//! `outbox-lease/{id}/{attempts}-{5-minute slot}` with `If-None-Match: *`, so two
//! workers (two Lambda instances, the console's button and the timer) never send the
//! same attempt; a crashed worker's claim lapses with its slot. Holding it, the worker
//! lists the notice's markers again, in case another worker sent it under an earlier
//! slot's claim after this pass listed them. Each channel that goes through is marked
//! `outbox-sent/{id}.{sms|email}`; when all are (now or before), `outbox-sent/{id}`,
//! written beside the channels' markers. A failure raises `attempts` and sets `next_attempt_at` with
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

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::join_all;
use futures_util::{StreamExt, stream};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{Notifier, OutboxRecord};
use catalog::vn_time::{format_time, parse_time};
use dossier::{Status, dossier_prefix};
use store::{Storage, StorageError, StorageResult};

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
    /// Notices left for a later pass: due ones over this pass's [`BATCH`], and those
    /// not read in this pass (more than [`READS_PER_PASS`] waiting).
    pub left: usize,
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
    Ok(match probe(record) {
        Err(settled) => settled,
        Ok(p) => judge(record, &p, look(storage, &p).await?, now),
    })
}

/// What [`standing`] looks at: an event and the id it must hold, or a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Probe {
    Event { key: String, id: String },
    Manifest { key: String },
}

/// What a [`Probe`] found.
enum Found {
    Missing,
    /// The event, with the id it holds (if readable).
    Event(Option<String>),
    Manifest,
}

/// What to look at for `record`, or its standing when there is nothing to look at.
fn probe(record: &OutboxRecord) -> Result<Probe, Standing> {
    if let (Some(key), Some(id)) = (&record.event_key, &record.event_id) {
        return Ok(Probe::Event {
            key: key.clone(),
            id: id.clone(),
        });
    }
    if record.kind == Status::Received {
        return match dossier_prefix(&record.code) {
            Some(prefix) => Ok(Probe::Manifest {
                key: format!("{prefix}dossier.json"),
            }),
            None => Err(Standing::Void),
        };
    }
    // A step's notice from before `event_key`: written after its event.
    Err(Standing::Confirmed)
}

/// The probe a record's id names, to look at before the record is read: a step's
/// notice is `{code}-{seq:06}-{status}-{id}` (its event `events/{seq:06}.json` with
/// `id`), the submission's `{code}-received` (the manifest). Only a guess: the record
/// read beside it says whether it was the right one.
fn probe_from_id(record_id: &str) -> Option<Probe> {
    if let Some(code) = record_id.strip_suffix("-received")
        && let Some(prefix) = dossier_prefix(code)
    {
        return Some(Probe::Manifest {
            key: format!("{prefix}dossier.json"),
        });
    }
    let (rest, id) = record_id.rsplit_once('-')?;
    rest.match_indices('-').find_map(|(at, _)| {
        let (code, tail) = (&rest[..at], &rest[at + 1..]);
        let seq = tail
            .get(..6)
            .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))?;
        let prefix = dossier_prefix(code)?;
        Some(Probe::Event {
            key: format!("{prefix}events/{seq}.json"),
            id: id.to_owned(),
        })
    })
}

/// One GET (an event) or HEAD (a manifest).
async fn look(storage: &Storage, probe: &Probe) -> StorageResult<Found> {
    Ok(match probe {
        Probe::Event { key, .. } => match storage.get(key).await? {
            None => Found::Missing,
            Some(bytes) => {
                let event: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
                Found::Event(event.get("id").and_then(|v| v.as_str()).map(str::to_owned))
            }
        },
        Probe::Manifest { key } => match storage.head(key).await? {
            Some(_) => Found::Manifest,
            None => Found::Missing,
        },
    })
}

fn judge(record: &OutboxRecord, probe: &Probe, found: Found, now: OffsetDateTime) -> Standing {
    match (probe, found) {
        (_, Found::Missing) => {
            let young = parse_time(&record.created_at).is_some_and(|t| now - t < GRACE);
            if young {
                Standing::Unconfirmed
            } else {
                Standing::Void
            }
        }
        (Probe::Event { id, .. }, Found::Event(held)) if held.as_deref() == Some(id.as_str()) => {
            Standing::Confirmed
        }
        // Events are written once: another attempt's event stays.
        (Probe::Event { .. }, _) => Standing::Void,
        (Probe::Manifest { .. }, _) => Standing::Confirmed,
    }
}

/// A waiting record and its [`standing`], the two read side by side: what it announces
/// is looked up from its id ([`probe_from_id`]) while it is read, and again after only
/// if the record names something else. `None` when it is gone or unreadable.
pub async fn read_with_standing(
    storage: &Storage,
    id: &str,
    key: &str,
    now: OffsetDateTime,
) -> StorageResult<Option<(OutboxRecord, Standing)>> {
    let guess = probe_from_id(id);
    let (bytes, guessed) = tokio::join!(storage.get(key), async {
        match &guess {
            Some(p) => Some(look(storage, p).await),
            None => None,
        }
    });
    let Some(bytes) = bytes? else {
        return Ok(None);
    };
    let Ok(record) = serde_json::from_slice::<OutboxRecord>(&bytes) else {
        tracing::error!("outbox record {key} unreadable");
        return Ok(None);
    };
    let standing = match (probe(&record), guess, guessed) {
        (Err(settled), _, _) => settled,
        (Ok(p), Some(g), Some(Ok(found))) if p == g => judge(&record, &p, found, now),
        (Ok(p), _, _) => judge(&record, &p, look(storage, &p).await?, now),
    };
    Ok(Some((record, standing)))
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

/// Notices one pass sends at most. A pass runs in the outbox worker's Lambda call
/// (120 s) or behind the console's button (API Gateway answers 504 after 29 s; the
/// function's call goes on to its end). At [`SENDS_AT_ONCE`] per transport that is two
/// waves of sends, each at most the transports' 15 s timeout. A commune sends tens of
/// notices a day: a pass a minute leaves nothing waiting for long, and what is over the
/// batch goes on the next pass.
pub const BATCH: usize = 16;

/// Sends in flight at once in a pass, per transport (SMTP, the SMS gateway): lettre
/// keeps at most 10 SMTP connections in its pool, and mail servers and SMS gateways
/// limit a client's connections.
pub const SENDS_AT_ONCE: usize = 8;

/// Records one pass reads at most, [`READS_AT_ONCE`] at a time (two rounds). With more
/// waiting, each pass reads the next ones in turn (by the minute), so a notice behind
/// many that cannot go yet (backoff, a channel not configured) is still read within a
/// few passes.
pub const READS_PER_PASS: usize = 64;

/// Records (with what they announce) read at once, by a pass and by the console.
pub const READS_AT_ONCE: usize = 32;

/// The outbox as stored: records still waiting (id, key), how many were delivered, and
/// the sent markers (`outbox-sent/{id}` and per channel `outbox-sent/{id}.sms|.email`).
pub struct Outbox {
    pub waiting: Vec<(String, String)>,
    pub delivered: usize,
    pub sent: HashSet<String>,
}

/// The two listings, side by side (one round).
pub async fn list_outbox(storage: &Storage) -> StorageResult<Outbox> {
    let (sent, records) = tokio::try_join!(storage.list("outbox-sent/"), storage.list("outbox/"))?;
    let sent: HashSet<String> = sent.into_iter().collect();
    let mut outbox = Outbox {
        waiting: Vec::new(),
        delivered: 0,
        sent: HashSet::new(),
    };
    for key in records {
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

/// What a waiting record comes to at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Past [`MAX_AGE`].
    Expired,
    /// Its `next_attempt_at` (backoff) is later.
    NotDue,
    /// Due, and what it announces is as [`standing`] says.
    Due(Standing),
}

/// A waiting record as read, with its verdict.
struct ReadRecord {
    id: String,
    key: String,
    record: OutboxRecord,
    verdict: Verdict,
}

/// Reads one waiting record and what it announces, side by side
/// ([`read_with_standing`]). `None` when it is gone or unreadable.
async fn read_record(
    storage: &Storage,
    id: &str,
    key: &str,
    now: OffsetDateTime,
) -> StorageResult<Option<ReadRecord>> {
    let Some((record, standing)) = read_with_standing(storage, id, key, now).await? else {
        return Ok(None);
    };
    let verdict = if expired(&record, now) {
        Verdict::Expired
    } else if record
        .next_attempt_at
        .as_deref()
        .and_then(parse_time)
        .is_some_and(|t| t > now)
    {
        Verdict::NotDue
    } else {
        Verdict::Due(standing)
    };
    Ok(Some(ReadRecord {
        id: id.to_owned(),
        key: key.to_owned(),
        record,
        verdict,
    }))
}

/// The records this pass reads: all of them when at most [`READS_PER_PASS`] wait,
/// otherwise that many, starting further on each minute (and wrapping round), so that
/// every record is read within `waiting / READS_PER_PASS` passes, rounded up.
fn in_turn(waiting: &[(String, String)], now: OffsetDateTime) -> Vec<&(String, String)> {
    if waiting.len() <= READS_PER_PASS {
        return waiting.iter().collect();
    }
    let turn = (now.unix_timestamp() / 60).unsigned_abs() as usize;
    let start = turn.wrapping_mul(READS_PER_PASS) % waiting.len();
    waiting
        .iter()
        .cycle()
        .skip(start)
        .take(READS_PER_PASS)
        .collect()
}

/// A notice this pass sends: the channels it wants and those it can use.
struct Due {
    id: String,
    key: String,
    /// `outbox-sent/{id}`
    final_key: String,
    record: OutboxRecord,
    want_sms: bool,
    want_email: bool,
    can_sms: bool,
    can_email: bool,
}

/// What became of one notice of the batch.
#[derive(Default)]
struct Outcome {
    sent: bool,
    failed: bool,
    withheld: usize,
}

/// Sends every due record, at most [`BATCH`] a pass. `now` is a parameter so tests can
/// step time.
///
/// A pass is a few rounds however many notices wait: the two listings side by side;
/// the records, each with what it announces, [`READS_AT_ONCE`] at a time; then every
/// notice of the batch at once: its lease; its markers listed again beside the day's
/// allowance; its SMS and e-mail side by side ([`SENDS_AT_ONCE`] sends per transport in
/// the pass); its markers (or its new attempt) written side by side. A store failure
/// in one notice's chain does not cut the others short: each runs to its end (a chain
/// cancelled between its send and its marker would send again), then the pass answers
/// the first error.
pub async fn deliver_due(
    storage: &Storage,
    notifier: &Notifier,
    now: OffsetDateTime,
) -> StorageResult<DeliveryReport> {
    let mut report = DeliveryReport::default();
    let outbox = list_outbox(storage).await?;
    // With no way to send, reading each notice would only count it: the listing says
    // how many wait (two requests side by side, however many notices there are).
    let (sms_gateway, mailer) = (notifier.sms(), notifier.mailer());
    if sms_gateway.is_none() && mailer.is_none() {
        report.not_configured = outbox.waiting.len();
        return Ok(report);
    }
    let window = in_turn(&outbox.waiting, now);
    report.left = outbox.waiting.len() - window.len();
    // Reads only: a failure here stops the pass before anything is written.
    let reads: Vec<_> = window
        .into_iter()
        .map(|(id, key)| read_record(storage, id, key, now))
        .collect();
    let read: Vec<StorageResult<Option<ReadRecord>>> =
        stream::iter(reads).buffered(READS_AT_ONCE).collect().await;
    let read = read.into_iter().collect::<StorageResult<Vec<_>>>()?;
    let sent = &outbox.sent;
    let mut batch = Vec::new();
    let mut settle = Vec::new();
    for r in read.into_iter().flatten() {
        match r.verdict {
            Verdict::Expired => report.expired += 1,
            Verdict::NotDue | Verdict::Due(Standing::Unconfirmed) => report.waiting += 1,
            Verdict::Due(Standing::Void) => report.void += 1,
            Verdict::Due(Standing::Confirmed) => {
                let id = &r.id;
                let want_sms =
                    r.record.sms.is_some() && !sent.contains(&format!("outbox-sent/{id}.sms"));
                let want_email =
                    r.record.email.is_some() && !sent.contains(&format!("outbox-sent/{id}.email"));
                if (want_sms && sms_gateway.is_none()) || (want_email && mailer.is_none()) {
                    report.not_configured += 1;
                }
                if !want_sms && !want_email {
                    // Each channel went through (or was withheld) but the final marker
                    // was not written (the store failed beside the channels' markers):
                    // it says only what they say.
                    settle.push(format!("outbox-sent/{id}"));
                    continue;
                }
                let can_sms = want_sms && sms_gateway.is_some();
                let can_email = want_email && mailer.is_some();
                if !can_sms && !can_email {
                    continue;
                }
                if batch.len() == BATCH {
                    report.left += 1;
                    continue;
                }
                batch.push(Due {
                    final_key: format!("outbox-sent/{}", r.id),
                    id: r.id,
                    key: r.key,
                    record: r.record,
                    want_sms,
                    want_email,
                    can_sms,
                    can_email,
                });
            }
        }
    }
    let mut first_error = None;
    // The batch side by side, in steps: first every notice's lease (and the final
    // markers of notices found settled).
    let slot = now.unix_timestamp() / 300;
    let leases: Vec<_> = batch
        .iter()
        .map(|due| {
            let lease = format!("outbox-lease/{}/{}-{slot}", due.id, due.record.attempts);
            async move {
                storage
                    .put_if_absent(&lease, marker(format_time(now)), "text/plain")
                    .await
            }
        })
        .collect();
    let settled: Vec<_> = settle
        .iter()
        .map(|key| storage.put_if_absent(key, marker(format_time(now)), "text/plain"))
        .collect();
    let (leases, settled) = tokio::join!(join_all(leases), join_all(settled));
    if let Some(Err(e)) = settled.into_iter().find(Result::is_err) {
        first_error.get_or_insert(e);
    }
    let mut leased = Vec::new();
    for (due, lease) in batch.into_iter().zip(leases) {
        match lease {
            Ok(true) => leased.push(due),
            // Another worker has this attempt.
            Ok(false) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    // Holding them: each notice's markers listed again, since the pass's listing may be
    // older than another worker's send under an earlier slot's lease; beside them the
    // day's allowances of the "received" notices' recipients (one compare-and-swap per
    // recipient for the whole batch, which counts a notice once however often asked).
    let relists: Vec<_> = leased
        .iter()
        .map(|due| storage.list_after(&due.final_key, None))
        .collect();
    let (marked, (allowed, allowance_error)) = tokio::join!(
        join_all(relists),
        allowances(storage, &notifier.config, &leased)
    );
    if let Some(e) = allowance_error {
        first_error.get_or_insert(e);
    }
    // Then each notice's sends and marks, side by side; the sends of the whole pass
    // [`SENDS_AT_ONCE`] at a time per transport.
    let sends = [
        tokio::sync::Semaphore::new(SENDS_AT_ONCE),
        tokio::sync::Semaphore::new(SENDS_AT_ONCE),
    ];
    let mut chains = Vec::new();
    for ((due, marked), allowed) in leased.into_iter().zip(marked).zip(allowed) {
        match (marked, allowed) {
            (Ok(marked), Some(allowed)) => {
                chains.push(finish(storage, notifier, due, marked, allowed, now, &sends));
            }
            (Err(e), _) => {
                first_error.get_or_insert(e);
            }
            // Its allowance failed: the error is kept above.
            (Ok(_), None) => {}
        }
    }
    for outcome in join_all(chains).await {
        match outcome {
            Ok(o) => {
                report.sent += usize::from(o.sent);
                report.failed += usize::from(o.failed);
                report.withheld += o.withheld;
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// A marker: the time it was written, or why it stands for a send.
fn marker(text: String) -> Bytes {
    Bytes::from(text)
}

/// Whether each notice of `batch` may use its SMS and its e-mail ([SMS, e-mail]): only
/// "received" notices count against their recipient's day's allowance, admitted with
/// one compare-and-swap per recipient for the whole batch, in the batch's order.
/// `None` for a notice whose allowance could not be read or written (the error is
/// returned beside).
async fn allowances(
    storage: &Storage,
    c: &crate::NotifyConfig,
    batch: &[Due],
) -> (Vec<Option<[bool; 2]>>, Option<StorageError>) {
    let mut groups: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    for (i, due) in batch.iter().enumerate() {
        let r = &due.record;
        if r.kind != Status::Received {
            continue;
        }
        let day = parse_time(&r.created_at)
            .map(|t| catalog::dossier_code::day(t.to_offset(catalog::vn_time::VN)))
            .unwrap_or_default();
        let channels = [
            ("sms", r.sms.as_ref().map(|s| &s.to).filter(|_| due.can_sms)),
            (
                "email",
                r.email.as_ref().map(|e| &e.to).filter(|_| due.can_email),
            ),
        ];
        for (ch, (channel, to)) in channels.into_iter().enumerate() {
            if let Some(to) = to {
                let key = store::quota::allowance_key(
                    "notices",
                    &day,
                    &c.recipient_key,
                    &format!("{channel}:{}", same_recipient(to)),
                );
                groups.entry(key).or_default().push((i, ch));
            }
        }
    }
    let calls: Vec<_> = groups
        .iter()
        .map(|(key, who)| {
            let members: Vec<String> = who.iter().map(|(i, _)| batch[*i].id.clone()).collect();
            async move {
                store::quota::admit_all(storage, key, &members, c.received_per_recipient_per_day)
                    .await
            }
        })
        .collect();
    let mut answers = vec![Some([true, true]); batch.len()];
    let mut error = None;
    for (who, admitted) in groups.values().zip(join_all(calls).await) {
        match admitted {
            Ok(admitted) => {
                for ((i, ch), ok) in who.iter().zip(admitted) {
                    if let Some(a) = &mut answers[*i] {
                        a[*ch] = ok;
                    }
                }
            }
            Err(e) => {
                for (i, _) in who {
                    answers[*i] = None;
                }
                error.get_or_insert(e);
            }
        }
    }
    (answers, error)
}

/// One leased notice of the batch, its markers listed again and its allowance asked:
/// sends what is still to send, then writes its markers (or its next attempt).
async fn finish(
    storage: &Storage,
    notifier: &Notifier,
    due: Due,
    marked: Vec<String>,
    allowed: [bool; 2],
    now: OffsetDateTime,
    sends: &[tokio::sync::Semaphore; 2],
) -> StorageResult<Outcome> {
    let c = &notifier.config;
    let Due {
        id,
        key,
        final_key,
        mut record,
        want_sms,
        want_email,
        mut can_sms,
        mut can_email,
    } = due;
    let id = id.as_str();
    let mut outcome = Outcome::default();
    let (sms_key, email_key) = (format!("{final_key}.sms"), format!("{final_key}.email"));
    if marked.contains(&final_key) {
        // Another worker finished it.
        return Ok(outcome);
    }
    let mut done_sms = !want_sms || marked.contains(&sms_key);
    let mut done_email = !want_email || marked.contains(&email_key);
    can_sms &= !done_sms;
    can_email &= !done_email;
    let mut writes: Vec<(String, Bytes)> = Vec::new();
    for (can, done, allowed, channel, marker_key) in [
        (&mut can_sms, &mut done_sms, allowed[0], "sms", &sms_key),
        (
            &mut can_email,
            &mut done_email,
            allowed[1],
            "email",
            &email_key,
        ),
    ] {
        if *can && !allowed {
            // Marked as handled, so it is not tried again; the citizen has the
            // receipt on screen and the tracking page.
            writes.push((
                marker_key.clone(),
                marker(format!("withheld {}", format_time(now))),
            ));
            tracing::warn!(
                id,
                channel,
                "received notice withheld: its recipient had the day's allowance"
            );
            *can = false;
            *done = true;
            outcome.withheld += 1;
        }
    }
    let send_sms = async {
        let (Some(sms), Some(gateway)) = (record.sms.as_ref().filter(|_| can_sms), notifier.sms())
        else {
            return None;
        };
        let text = if c.sms_ascii {
            crate::strip_marks(&sms.text)
        } else {
            sms.text.clone()
        };
        let _permit = sends[0].acquire().await.ok();
        Some(gateway.send(&sms.to, &text).await)
    };
    let send_email = async {
        let (Some(email), Some(mailer)) = (
            record.email.as_ref().filter(|_| can_email),
            notifier.mailer(),
        ) else {
            return None;
        };
        let _permit = sends[1].acquire().await.ok();
        Some(mailer.send(&email.to, &email.subject, &email.body).await)
    };
    let (sms_result, email_result) = tokio::join!(send_sms, send_email);
    let mut errors = Vec::new();
    for (result, done, marker_key, what) in [
        (sms_result, &mut done_sms, &sms_key, "SMS"),
        (email_result, &mut done_email, &email_key, "E-mail"),
    ] {
        match result {
            Some(Ok(())) => {
                writes.push((marker_key.clone(), marker(format_time(now))));
                *done = true;
            }
            Some(Err(e)) => errors.push(format!("{what}: {e}")),
            None => {}
        }
    }
    // Every write below says only what already happened, so they go side by side: the
    // final marker only once each channel was sent (now or before) or withheld, never
    // for a channel that was not.
    let mut update = None;
    if done_sms && done_email {
        writes.push((final_key, marker(format_time(now))));
        // A notice whose every channel was withheld was settled, not sent.
        outcome.sent = can_sms || can_email;
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
        update = Some(Bytes::from(
            serde_json::to_vec_pretty(&record).expect("json"),
        ));
        outcome.failed = true;
    }
    let marks: Vec<_> = writes
        .iter()
        .map(|(k, body)| storage.put_if_absent(k, body.clone(), "text/plain"))
        .collect();
    let rewrite = async {
        match update {
            Some(body) => storage.put(&key, body, "application/json").await,
            None => Ok(()),
        }
    };
    let (marks, rewritten) = tokio::join!(join_all(marks), rewrite);
    for m in marks {
        m?;
    }
    rewritten?;
    Ok(outcome)
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
            // Passes follow each other while one leaves due notices and sends some.
            loop {
                match deliver_due(&storage, &notifier, OffsetDateTime::now_utc()).await {
                    Ok(r) if r.left > 0 && r.sent + r.failed > 0 => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!("outbox delivery: {e}");
                        break;
                    }
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_more_waiting_than_a_pass_reads_each_is_read_within_a_few_passes() {
        let waiting: Vec<(String, String)> = (0..150)
            .map(|n| (format!("{n:03}"), format!("outbox/{n:03}.json")))
            .collect();
        // At most READS_PER_PASS wait: all of them, in order, every pass.
        let few = &waiting[..READS_PER_PASS];
        let t = OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap();
        assert_eq!(in_turn(few, t), few.iter().collect::<Vec<_>>());
        // 150: three passes a minute apart read every one.
        let passes = waiting.len().div_ceil(READS_PER_PASS);
        let mut read = HashSet::new();
        for minute in 0..passes {
            let window = in_turn(&waiting, t + Duration::from_secs(60 * minute as u64));
            assert_eq!(window.len(), READS_PER_PASS);
            read.extend(window.into_iter().map(|(id, _)| id.clone()));
        }
        assert_eq!(read.len(), waiting.len());
    }

    #[test]
    fn a_records_id_names_what_it_announces() {
        let code = "T00.01.01-261202-0007";
        assert_eq!(
            probe_from_id(&format!("{code}-received")),
            Some(Probe::Manifest {
                key: format!("dossiers/2026/12/{code}/dossier.json")
            })
        );
        assert_eq!(
            probe_from_id(&format!(
                "{code}-000003-supplement-requested-00112233aabbccdd"
            )),
            Some(Probe::Event {
                key: format!("dossiers/2026/12/{code}/events/000003.json"),
                id: "00112233aabbccdd".into()
            })
        );
        assert_eq!(probe_from_id("not-a-notice"), None);
    }

    #[test]
    fn one_phone_written_three_ways_is_one_recipient() {
        assert_eq!(same_recipient("0912 345 678"), "0912345678");
        assert_eq!(same_recipient("+84912345678"), "0912345678");
        assert_eq!(same_recipient("84-912-345-678"), "0912345678");
        assert_eq!(same_recipient(" Lan@Example.VN "), "lan@example.vn");
    }
}
