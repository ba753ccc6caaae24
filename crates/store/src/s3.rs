//! [`ObjectStore`] over aws-sdk-s3: the same code talks to AWS S3 in production, to
//! the embedded store in development and tests, and to moto.
//!
//! Production needs AWS S3 (or a store that honours conditional writes,
//! `If-None-Match: *` answered with 412): exactly-once submission rests on them.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;
use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::{CopyOutcome, ObjectInfo, ObjectStore, StorageError, StorageResult};

/// One bucket through an S3 client.
#[derive(Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
}

/// Builds an S3 client. With `static_keys` (embedded store, moto) no credential chain
/// is consulted; otherwise the usual AWS chain (the Lambda role) is.
pub async fn client(
    region: &str,
    endpoint: Option<&str>,
    static_keys: Option<(String, String)>,
) -> Client {
    let region = Region::new(region.to_owned());
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
    if let Some(endpoint) = endpoint {
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
    // Keys carry the citizens' file names, and errors may quote them: neither goes
    // into a log or a message as it is (dossier::privacy).
    let detail = dossier::privacy::text(&aws_sdk_s3::error::DisplayErrorContext(&e).to_string());
    let key = dossier::privacy::key(key);
    tracing::warn!(key, "{what} failed: {detail}");
    StorageError::Unavailable(format!("{what} {key}: {detail}"))
}

impl S3Store {
    pub fn new(client: Client, bucket: impl Into<String>) -> S3Store {
        S3Store {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

#[async_trait::async_trait]
impl ObjectStore for S3Store {
    async fn ensure_bucket(&self) -> StorageResult<()> {
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

    /// The compare-and-swap write: `body` replaces the version of `key` whose ETag was
    /// read (`If-Match`), or, for `None`, is written only if nothing is there yet
    /// (`If-None-Match: *`). Returns the new ETag, or `None` when the object changed
    /// meanwhile (412, or 409 for a concurrent write).
    async fn put_if_unchanged(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        etag: Option<&str>,
    ) -> StorageResult<Option<String>> {
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
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> StorageResult<()> {
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

    async fn put_public(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        cache_control: &str,
    ) -> StorageResult<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .cache_control(cache_control)
            .body(ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("put", key, e))
    }

    fn bucket(&self, bucket: &str) -> std::sync::Arc<dyn ObjectStore> {
        std::sync::Arc::new(S3Store::new(self.client.clone(), bucket))
    }

    /// A GET, whole or of a range, with the ETag. A missing object is `None`, and so is a
    /// range past the end of an empty one (416).
    async fn fetch(
        &self,
        key: &str,
        first_bytes: Option<u64>,
    ) -> StorageResult<Option<(Bytes, String)>> {
        let range = first_bytes.map(|n| format!("bytes=0-{}", n.saturating_sub(1)));
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

    async fn head(&self, key: &str) -> StorageResult<Option<ObjectInfo>> {
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

    /// A server-side copy on the condition that the source is still the version
    /// `etag` names, with SHA-256 asked for: S3 computes it over the copy's bytes, so
    /// the caller learns what was stored without reading it.
    async fn copy_if_match(
        &self,
        from: &str,
        to: &str,
        content_type: &str,
        etag: &str,
    ) -> StorageResult<CopyOutcome> {
        let source = format!("{}/{}", self.bucket, utf8_percent_encode(from, COPY_SOURCE));
        match self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(to)
            .copy_source(source)
            .copy_source_if_match(etag)
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
            .content_type(content_type)
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
            .send()
            .await
        {
            Ok(out) => Ok(CopyOutcome::Copied {
                sha256: out
                    .copy_object_result()
                    .and_then(|r| r.checksum_sha256())
                    .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
                    .map(hex::encode),
            }),
            Err(e) if matches!(status_of(&e), Some(412)) => Ok(CopyOutcome::SourceChanged),
            Err(e) if matches!(status_of(&e), Some(404)) => Ok(CopyOutcome::SourceMissing),
            Err(e) => Err(unavailable("copy", to, e)),
        }
    }

    async fn delete(&self, key: &str) -> StorageResult<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("delete", key, e))
    }

    async fn list_after(
        &self,
        prefix: &str,
        start_after: Option<&str>,
    ) -> StorageResult<Vec<String>> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
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

    async fn presign_put(
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

    async fn presign_get(&self, key: &str, ttl: Duration) -> StorageResult<String> {
        let presign = PresigningConfig::expires_in(ttl)
            .map_err(|e| StorageError::Unavailable(format!("presign: {e}")))?;
        self.client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presign)
            .await
            .map(|r| r.uri().to_owned())
            .map_err(|e| unavailable("presign", key, e))
    }
}

/// What `x-amz-copy-source` escapes in a key: all but unreserved marks and `/`.
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl crate::Storage {
    /// The bucket `bucket` through `client`.
    pub fn s3(client: Client, bucket: impl Into<String>) -> crate::Storage {
        crate::Storage::new(S3Store::new(client, bucket))
    }
}
