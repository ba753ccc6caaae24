//! The object-store trait and [`Storage`], the handle every caller holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bytes::Bytes;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("kho lưu trữ không trả lời được: {0}")]
    Unavailable(String),
}

pub type StorageResult<T> = Result<T, StorageError>;

/// What a copy that names the source's ETag (`CopySourceIfMatch`) came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyOutcome {
    /// Copied. `sha256` (hex) is the copy's SHA-256 as the store computed it
    /// (`ChecksumSHA256`), when the store gives one: AWS S3 does when asked.
    Copied { sha256: Option<String> },
    /// The source is not the version named: it was written again since (412).
    SourceChanged,
    /// No source (never written, or expired).
    SourceMissing,
}

/// What a HEAD tells about an object.
#[derive(Debug, Clone)]
pub struct ObjectInfo {
    pub size: u64,
    pub content_type: Option<String>,
}

/// What the function asks of an object store. A missing object is `Ok(None)`; a lost
/// condition is `Ok(None)`/`Ok(false)`; only a store that cannot answer is an error.
#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync {
    /// Creates the bucket if it does not exist (development and tests only).
    async fn ensure_bucket(&self) -> StorageResult<()>;

    /// The compare-and-swap write: `body` replaces the version of `key` whose ETag was
    /// read (`If-Match`), or, for `None`, is written only if nothing is there yet
    /// (`If-None-Match: *`). Returns the new ETag, or `None` when the object changed
    /// meanwhile.
    async fn put_if_unchanged(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        etag: Option<&str>,
    ) -> StorageResult<Option<String>>;

    /// Writes `body` under `key`, replacing what is there.
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> StorageResult<()>;

    /// Like [`ObjectStore::put`], with the `Cache-Control` a CDN and browsers keep it by:
    /// a page of the public site.
    async fn put_public(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        cache_control: &str,
    ) -> StorageResult<()>;

    /// The same store's bucket `bucket`, through the same client (the site bucket).
    fn bucket(&self, bucket: &str) -> Arc<dyn ObjectStore>;

    /// A GET, whole or of the first `first_bytes`, with the ETag.
    async fn fetch(
        &self,
        key: &str,
        first_bytes: Option<u64>,
    ) -> StorageResult<Option<(Bytes, String)>>;

    async fn head(&self, key: &str) -> StorageResult<Option<ObjectInfo>>;

    /// Copies `from` to `to` with a new content type, only if `from` is still the
    /// version whose ETag is `etag` (`CopySourceIfMatch`), asking the store for the
    /// copy's SHA-256. Nothing is written when the source changed or is gone.
    async fn copy_if_match(
        &self,
        from: &str,
        to: &str,
        content_type: &str,
        etag: &str,
    ) -> StorageResult<CopyOutcome>;

    /// Removes `key` (no error if it is not there).
    async fn delete(&self, key: &str) -> StorageResult<()>;

    /// Keys under `prefix` that sort after `start_after`, in order, every page.
    async fn list_after(
        &self,
        prefix: &str,
        start_after: Option<&str>,
    ) -> StorageResult<Vec<String>>;

    /// A presigned PUT for exactly `size` bytes of `content_type`: the URL and the
    /// headers the browser must send with it.
    async fn presign_put(
        &self,
        key: &str,
        size: u64,
        content_type: &str,
        ttl: Duration,
    ) -> StorageResult<(String, Vec<(String, String)>)>;

    /// A presigned GET of `key`.
    async fn presign_get(&self, key: &str, ttl: Duration) -> StorageResult<String>;
}

/// The bucket as the function uses it: an [`ObjectStore`] shared by every request, with
/// a fault switch for tests.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Fault injection for tests: operations left before the store "goes down";
    /// negative means never.
    fail_after: Arc<AtomicI64>,
}

impl Storage {
    pub fn new(store: impl ObjectStore + 'static) -> Storage {
        Storage {
            store: Arc::new(store),
            fail_after: Arc::new(AtomicI64::new(-1)),
        }
    }

    /// Test hook: after `ops` more operations every operation fails as if the store
    /// were down; `None` brings it back.
    #[doc(hidden)]
    pub fn fail_after(&self, ops: Option<u32>) {
        self.fail_after
            .store(ops.map_or(-1, i64::from), Ordering::SeqCst);
    }

    fn tick(&self, what: &str, key: &str) -> StorageResult<()> {
        // One step, so that requests made side by side each count once.
        match self
            .fail_after
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                (left > 0).then(|| left - 1)
            }) {
            Ok(_) => Ok(()),
            Err(left) if left < 0 => Ok(()),
            Err(_) => Err(StorageError::Unavailable(format!(
                "{what} {key}: injected fault"
            ))),
        }
    }

    pub async fn ensure_bucket(&self) -> StorageResult<()> {
        self.store.ensure_bucket().await
    }

    /// Writes `body` under `key` only if nothing is there yet (`If-None-Match: *`).
    /// Returns false when the key already exists.
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

    /// See [`ObjectStore::put_if_unchanged`].
    pub async fn put_if_unchanged(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        etag: Option<&str>,
    ) -> StorageResult<Option<String>> {
        self.tick("put", key)?;
        self.store
            .put_if_unchanged(key, body, content_type, etag)
            .await
    }

    /// Writes `body` under `key`, replacing what is there (for content-addressed or
    /// not-yet-visible objects, where a rewrite is harmless).
    pub async fn put(&self, key: &str, body: Bytes, content_type: &str) -> StorageResult<()> {
        self.tick("put", key)?;
        self.store.put(key, body, content_type).await
    }

    /// See [`ObjectStore::put_public`].
    pub async fn put_public(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        cache_control: &str,
    ) -> StorageResult<()> {
        self.tick("put", key)?;
        self.store
            .put_public(key, body, content_type, cache_control)
            .await
    }

    /// Another bucket of the same store, through the same client.
    pub fn other_bucket(&self, bucket: &str) -> Storage {
        Storage {
            store: self.store.bucket(bucket),
            fail_after: self.fail_after.clone(),
        }
    }

    pub async fn get(&self, key: &str) -> StorageResult<Option<Bytes>> {
        Ok(self.get_tagged(key).await?.map(|(bytes, _)| bytes))
    }

    /// An object with its ETag, for [`Storage::put_if_unchanged`]; `None` if absent.
    pub async fn get_tagged(&self, key: &str) -> StorageResult<Option<(Bytes, String)>> {
        self.tick("get", key)?;
        self.store.fetch(key, None).await
    }

    pub async fn head(&self, key: &str) -> StorageResult<Option<ObjectInfo>> {
        self.tick("head", key)?;
        self.store.head(key).await
    }

    /// See [`ObjectStore::copy_if_match`].
    pub async fn copy_if_match(
        &self,
        from: &str,
        to: &str,
        content_type: &str,
        etag: &str,
    ) -> StorageResult<CopyOutcome> {
        self.tick("copy", to)?;
        self.store.copy_if_match(from, to, content_type, etag).await
    }

    pub async fn delete(&self, key: &str) -> StorageResult<()> {
        self.tick("delete", key)?;
        self.store.delete(key).await
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
        self.tick("list", prefix)?;
        self.store.list_after(prefix, start_after).await
    }

    /// See [`ObjectStore::presign_put`].
    pub async fn presign_put(
        &self,
        key: &str,
        size: u64,
        content_type: &str,
        ttl: Duration,
    ) -> StorageResult<(String, Vec<(String, String)>)> {
        self.store.presign_put(key, size, content_type, ttl).await
    }

    pub async fn presign_get(&self, key: &str, ttl: Duration) -> StorageResult<String> {
        self.store.presign_get(key, ttl).await
    }
}
