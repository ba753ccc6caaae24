//! The dossier code's daily sequence: each number is claimed once, with a conditional
//! write, so two submissions at the same moment never share a code.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use time::OffsetDateTime;

use super::SubmitError;
use crate::state::AppState;

impl AppState {
    /// Claims the next free `sequence/{YYMMDD}/{NNNN}` with a conditional write.
    pub(super) async fn claim_code(
        &self,
        now: OffsetDateTime,
        key_hash: &str,
    ) -> Result<String, SubmitError> {
        let day = format!(
            "{:02}{:02}{:02}",
            now.year() % 100,
            u8::from(now.month()),
            now.day()
        );
        let counter = self.sequence_counter(&day).await?;
        let storage = self.storage();
        for _ in 0..10_000 {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            if n > 9999 {
                return Err(SubmitError::SequenceExhausted);
            }
            let claim = format!("sequence/{day}/{n:04}");
            if storage
                .put_if_absent(&claim, Bytes::from(key_hash.to_owned()), "text/plain")
                .await?
            {
                return Ok(catalog::dossier_code::format(
                    &self.inner.unit_code,
                    &day,
                    n,
                ));
            }
        }
        Err(SubmitError::SequenceExhausted)
    }

    /// The in-process counter for `day`, started after the highest claimed number
    /// (found by a binary search of HEADs: claims are dense from 0001).
    async fn sequence_counter(&self, day: &str) -> Result<Arc<AtomicU32>, SubmitError> {
        if let Some((d, counter)) = &*self.inner.sequence_hint.lock().expect("lock")
            && d == day
        {
            return Ok(counter.clone());
        }
        let (mut lo, mut hi) = (0u32, 10_000u32);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if self
                .storage()
                .head(&format!("sequence/{day}/{mid:04}"))
                .await?
                .is_some()
            {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let mut hint = self.inner.sequence_hint.lock().expect("lock");
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
