//! The dossier bucket, through aws-sdk-s3 only: the same code talks to AWS S3 in
//! production, to the embedded store in development and tests, and to moto.
//!
//! Production needs AWS S3 (or a store that honours conditional writes,
//! `If-None-Match: *` answered with 412): exactly-once submission rests on them.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("kho lưu trữ không trả lời được: {0}")]
    Unavailable(String),
}

pub type StorageResult<T> = Result<T, StorageError>;

/// What a HEAD tells about an object.
#[derive(Debug, Clone)]
pub struct ObjectInfo {
    pub size: u64,
    pub content_type: Option<String>,
}

#[derive(Clone)]
pub struct Storage {
    client: Client,
    bucket: String,
    /// Fault injection for tests: operations left before the store "goes down";
    /// negative means never.
    fail_after: Arc<AtomicI64>,
}

/// Keys the dossier bucket's policy lets be written only with a condition
/// (`If-None-Match: *` or `If-Match`): `RequireConditionalWrites` in
/// infra/template.yaml, `*` matching any run of characters as in IAM. The embedded store
/// refuses a plain write to them too, so such a write fails in every test rather than
/// first in production.
pub const CONDITIONAL_ONLY: &[&str] = &[
    "captcha/used/*",
    "sequence/*",
    "idempotency/*",
    "dossiers/*/dossier.json",
    "dossiers/*/events/*",
    "stats/*",
    "polls/*",
];

/// Does the bucket policy require a conditional write for `key`?
pub fn conditional_only(key: &str) -> bool {
    CONDITIONAL_ONLY.iter().any(|p| wildcard_match(p, key))
}

fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Builds an S3 client. With `static_keys` (embedded store, moto) no credential chain
/// is consulted; otherwise the usual AWS chain (the Lambda role) is.
pub async fn s3_client(config: &Config, static_keys: Option<(String, String)>) -> Client {
    let region = Region::new(config.region.clone());
    let mut builder = match static_keys {
        Some((ak, sk)) => aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region)
            .credentials_provider(Credentials::new(ak, sk, None, None, "motcua-static")),
        None => {
            let shared = aws_config::defaults(BehaviorVersion::latest())
                .region(region)
                .load()
                .await;
            aws_sdk_s3::config::Builder::from(&shared)
        }
    };
    builder = builder
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .timeout_config(
            aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(20))
                .connect_timeout(Duration::from_secs(3))
                .build(),
        );
    if let Some(endpoint) = &config.s3_endpoint {
        builder = builder.endpoint_url(endpoint).force_path_style(true);
    }
    Client::from_conf(builder.build())
}

fn status_of<E>(err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

fn unavailable<E: std::error::Error + Send + Sync + 'static>(
    what: &str,
    key: &str,
    e: E,
) -> StorageError {
    let detail = aws_sdk_s3::error::DisplayErrorContext(&e).to_string();
    tracing::warn!(key, "{what} failed: {detail}");
    StorageError::Unavailable(format!("{what} {key}: {detail}"))
}

impl Storage {
    pub fn new(client: Client, bucket: impl Into<String>) -> Storage {
        Storage {
            client,
            bucket: bucket.into(),
            fail_after: Arc::new(AtomicI64::new(-1)),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Test hook: after `ops` more operations every operation fails as if the store
    /// were down; `None` brings it back.
    #[doc(hidden)]
    pub fn fail_after(&self, ops: Option<u32>) {
        self.fail_after
            .store(ops.map_or(-1, i64::from), Ordering::SeqCst);
    }

    fn tick(&self, what: &str, key: &str) -> StorageResult<()> {
        let left = self.fail_after.load(Ordering::SeqCst);
        if left < 0 {
            return Ok(());
        }
        if left == 0 {
            return Err(StorageError::Unavailable(format!(
                "{what} {key}: injected fault"
            )));
        }
        self.fail_after.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }

    /// Creates the bucket if it does not exist (development and tests only).
    pub async fn ensure_bucket(&self) -> StorageResult<()> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if matches!(status_of(&e), Some(409)) => Ok(()),
            Err(e) => Err(unavailable("create bucket", &self.bucket, e)),
        }
    }

    /// Writes `body` under `key` only if nothing is there yet (`If-None-Match: *`).
    /// Returns false when the key already exists (412, or 409 for a concurrent write).
    pub async fn put_if_absent(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> StorageResult<bool> {
        Ok(self
            .put_if_unchanged(key, body, content_type, None)
            .await?
            .is_some())
    }

    /// The compare-and-swap write: `body` replaces the version of `key` whose ETag was
    /// read (`If-Match`), or, for `None`, is written only if nothing is there yet
    /// (`If-None-Match: *`). Returns the new ETag, or `None` when the object changed
    /// meanwhile (412, or 409 for a concurrent write).
    pub async fn put_if_unchanged(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        etag: Option<&str>,
    ) -> StorageResult<Option<String>> {
        self.tick("put", key)?;
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body));
        let put = match etag {
            Some(etag) => put.if_match(etag),
            None => put.if_none_match("*"),
        };
        match put.send().await {
            Ok(out) => Ok(Some(out.e_tag().unwrap_or_default().to_owned())),
            Err(e) if matches!(status_of(&e), Some(412 | 409)) => Ok(None),
            Err(e) => Err(unavailable("put", key, e)),
        }
    }

    /// Writes `body` under `key`, replacing what is there (for content-addressed or
    /// not-yet-visible objects, where a rewrite is harmless).
    pub async fn put(&self, key: &str, body: Bytes, content_type: &str) -> StorageResult<()> {
        self.tick("put", key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("put", key, e))
    }

    pub async fn get(&self, key: &str) -> StorageResult<Option<Bytes>> {
        Ok(self.fetch(key, None).await?.map(|(bytes, _)| bytes))
    }

    /// An object with its ETag, for [`Storage::put_if_unchanged`]; `None` if absent.
    pub async fn get_tagged(&self, key: &str) -> StorageResult<Option<(Bytes, String)>> {
        self.fetch(key, None).await
    }

    /// The first `n` bytes of an object (a ranged GET).
    pub async fn get_prefix(&self, key: &str, n: u64) -> StorageResult<Option<Bytes>> {
        let range = format!("bytes=0-{}", n.saturating_sub(1));
        Ok(self.fetch(key, Some(range)).await?.map(|(mut bytes, _)| {
            bytes.truncate(n as usize);
            bytes
        }))
    }

    /// A GET, whole or of a range, with the ETag. A missing object is `None`, and so is a
    /// range past the end of an empty one (416).
    async fn fetch(
        &self,
        key: &str,
        range: Option<String>,
    ) -> StorageResult<Option<(Bytes, String)>> {
        self.tick("get", key)?;
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_range(range)
            .send()
            .await
        {
            Ok(out) => {
                let etag = out.e_tag().unwrap_or_default().to_owned();
                out.body
                    .collect()
                    .await
                    .map(|b| Some((b.into_bytes(), etag)))
                    .map_err(|e| unavailable("get", key, e))
            }
            Err(e) if matches!(status_of(&e), Some(404 | 416)) => Ok(None),
            Err(e) => Err(unavailable("get", key, e)),
        }
    }

    pub async fn head(&self, key: &str) -> StorageResult<Option<ObjectInfo>> {
        self.tick("head", key)?;
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectInfo {
                size: out.content_length.unwrap_or(0).max(0) as u64,
                content_type: out.content_type,
            })),
            Err(e) if matches!(status_of(&e), Some(404)) => Ok(None),
            Err(e) => Err(unavailable("head", key, e)),
        }
    }

    pub async fn copy(&self, from: &str, to: &str, content_type: &str) -> StorageResult<()> {
        self.tick("copy", to)?;
        let source = format!("{}/{}", self.bucket, urlencode_key(from));
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .key(to)
            .copy_source(source)
            .content_type(content_type)
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("copy", to, e))
    }

    /// Keys under `prefix`, in order.
    pub async fn list(&self, prefix: &str) -> StorageResult<Vec<String>> {
        self.list_after(prefix, None).await
    }

    /// Keys under `prefix` that sort after `start_after`, in order.
    pub async fn list_after(
        &self,
        prefix: &str,
        start_after: Option<&str>,
    ) -> StorageResult<Vec<String>> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            self.tick("list", prefix)?;
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_start_after(start_after.map(str::to_owned))
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| unavailable("list", prefix, e))?;
            keys.extend(
                out.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            match out.next_continuation_token {
                Some(t) if out.is_truncated == Some(true) => token = Some(t),
                _ => break,
            }
        }
        keys.sort();
        Ok(keys)
    }

    /// A presigned PUT for exactly `size` bytes of `content_type`.
    pub async fn presign_put(
        &self,
        key: &str,
        size: u64,
        content_type: &str,
        ttl: Duration,
    ) -> StorageResult<(String, Vec<(String, String)>)> {
        let presign = PresigningConfig::expires_in(ttl)
            .map_err(|e| StorageError::Unavailable(format!("presign: {e}")))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(size as i64)
            .content_type(content_type)
            .presigned(presign)
            .await
            .map_err(|e| unavailable("presign", key, e))?;
        let headers = request
            .headers()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        Ok((request.uri().to_owned(), headers))
    }
}

/// Percent-encodes a key for `x-amz-copy-source` (keeps `/`).
fn urlencode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_keys_match_like_iam_wildcards() {
        assert!(conditional_only("sequence/261125/0001"));
        assert!(conditional_only(
            "dossiers/2026/11/H21.55.01-261125-0001/dossier.json"
        ));
        assert!(conditional_only(
            "dossiers/2026/11/H21.55.01-261125-0001/events/000001.json"
        ));
        assert!(!conditional_only(
            "dossiers/2026/11/H21.55.01-261125-0001/files/1-dossier.json.pdf"
        ));
        assert!(!conditional_only("dossiers/2026/11/x/files/1-scan.pdf"));
        assert!(!conditional_only("outbox/x.json"));
        assert!(!conditional_only("sequence"));
        assert!(wildcard_match("a*b*c", "a-b-b-c"));
        assert!(!wildcard_match("a*bc", "abc-"));
        assert!(wildcard_match("ab*", "ab"));
    }
}
