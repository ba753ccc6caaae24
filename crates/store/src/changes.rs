//! Change hints: every change to a dossier (a submission, before its manifest; a step,
//! after its event) drops an empty object `index/changes/{unix_ms:013}-{rand}-{code}`,
//! so that the desk's index re-reads only what changed.

use bytes::Bytes;
use time::OffsetDateTime;

use crate::{Storage, StorageResult};

/// Where the hints are.
pub const HINTS: &str = "index/changes/";

pub(crate) fn now_ms(now: OffsetDateTime) -> i64 {
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Records that `code` changed.
pub async fn hint(storage: &Storage, code: &str, now: OffsetDateTime) -> StorageResult<()> {
    let key = format!(
        "{HINTS}{:013}-{}-{code}",
        now_ms(now),
        hex::encode(rand::random::<[u8; 4]>())
    );
    storage
        .put_if_absent(&key, Bytes::new(), "application/octet-stream")
        .await
        .map(|_| ())
}
