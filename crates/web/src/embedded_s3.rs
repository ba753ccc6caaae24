//! An S3-compatible store in-process on a loopback port (s3s + s3s-fs), so that
//! development and tests run the same aws-sdk-s3 code path as production. SigV4 keys
//! are always set: without them s3s answers signed requests with 501.
//!
//! s3s-fs checks `If-None-Match: *` and then writes, which is not atomic; the wrapper
//! below serialises conditional writes (and reads) per key so that two concurrent claims
//! of the same key cannot both succeed, and a compare-and-swap never loses an update, as
//! on AWS S3.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, oneshot};

use crate::object_files::{self, Condition, Lookup, ObjectFiles, ObjectMeta};

pub struct EmbeddedS3 {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl EmbeddedS3 {
    /// Stops accepting connections.
    pub fn shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }

    pub fn keys(&self) -> (String, String) {
        (self.access_key.clone(), self.secret_key.clone())
    }
}

impl Drop for EmbeddedS3 {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the store on 127.0.0.1 with a free port, keeping its data in `data_dir`
/// (one folder per bucket). Must be called inside a Tokio runtime.
pub async fn start(data_dir: &Path) -> anyhow::Result<EmbeddedS3> {
    start_on(data_dir, "127.0.0.1:0").await
}

pub async fn start_on(data_dir: &Path, bind: &str) -> anyhow::Result<EmbeddedS3> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("không tạo được thư mục dữ liệu {}", data_dir.display()))?;
    let fs = s3s_fs::FileSystem::new(data_dir).map_err(|e| {
        anyhow::anyhow!("không mở được kho S3 nhúng ở {}: {e:?}", data_dir.display())
    })?;
    let access_key = format!(
        "MOTCUA{}",
        hex::encode(rand::random::<[u8; 6]>()).to_uppercase()
    );
    let secret_key = hex::encode(rand::random::<[u8; 20]>());
    let service = {
        let mut b = s3s::service::S3ServiceBuilder::new(Locked::new(fs, data_dir));
        b.set_auth(s3s::auth::SimpleAuth::from_single(
            access_key.clone(),
            secret_key.clone(),
        ));
        // The browser uploads straight to the store from the site's origin (another
        // port), so the store must answer CORS like a bucket with a CORS rule would.
        let cors = tower_http::cors::CorsLayer::new()
            .allow_origin(tower_http::cors::Any)
            .allow_methods([http::Method::PUT, http::Method::GET, http::Method::HEAD])
            .allow_headers(tower_http::cors::Any)
            .expose_headers([http::header::ETAG]);
        hyper_util::service::TowerToHyperService::new(
            tower::ServiceBuilder::new().layer(cors).service(b.build()),
        )
    };
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("không mở được cổng {bind} cho kho S3 nhúng"))?;
    let addr = listener.local_addr()?;
    let (tx, mut rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        loop {
            let socket = tokio::select! {
                res = listener.accept() => match res {
                    Ok((socket, _)) => socket,
                    Err(_) => continue,
                },
                _ = &mut rx => break,
            };
            let _ = socket.set_nodelay(true);
            let conn = http
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    });
    Ok(EmbeddedS3 {
        endpoint: format!("http://{addr}"),
        access_key,
        secret_key,
        region: "us-east-1".into(),
        addr,
        shutdown: Some(tx),
        handle: Some(handle),
    })
}

const STRIPES: usize = 64;

/// s3s-fs with conditional writes made atomic per key, and objects kept one file each
/// where the file system allows (`object_files`).
struct Locked {
    inner: s3s_fs::FileSystem,
    files: Option<ObjectFiles>,
    /// The folder s3s-fs keeps buckets in (one sub-folder per bucket).
    root: std::path::PathBuf,
    locks: Arc<Vec<Mutex<()>>>,
}

impl Locked {
    fn new(inner: s3s_fs::FileSystem, root: &Path) -> Locked {
        let files = ObjectFiles::new(root);
        if files.is_some() {
            // Writes cut short by a stop leave temporary files; clear old ones in the
            // background, so a large store starts as fast as an empty one.
            let root = root.to_path_buf();
            tokio::task::spawn_blocking(move || {
                let n = object_files::sweep_parts(&root, std::time::Duration::from_secs(3600));
                if n > 0 {
                    tracing::info!("removed {n} unfinished writes from the embedded store");
                }
            });
        }
        if files.is_none() {
            tracing::warn!(
                "{}: no extended attributes on this file system; the embedded store keeps s3s-fs's slower layout",
                root.display()
            );
        }
        Locked {
            inner,
            files,
            root: root.to_path_buf(),
            locks: Arc::new((0..STRIPES).map(|_| Mutex::new(())).collect()),
        }
    }

    /// Keys under `prefix` with their size and time, sorted. s3s-fs walks the whole
    /// bucket for every listing, whatever the prefix; only the folder the prefix names
    /// can hold matching keys, so walk that one.
    /// Only keys after `after` are looked at closely (a file's size and time cost a call
    /// each; a listing that resumes after a watermark skips the rest unread).
    fn keys_under(
        &self,
        bucket: &str,
        prefix: &str,
        after: Option<&str>,
    ) -> std::io::Result<Vec<Object>> {
        let bucket_root = self.root.join(bucket);
        let folder = prefix.rfind('/').map_or("", |i| &prefix[..i]);
        let mut objects = Vec::new();
        let mut queue = vec![bucket_root.join(folder)];
        while let Some(dir) = queue.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let file_type = entry.file_type()?;
                if file_type.is_dir() {
                    queue.push(entry.path());
                    continue;
                }
                if entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.ends_with(object_files::PART_SUFFIX))
                {
                    continue;
                }
                let path = entry.path();
                let Ok(rel) = path.strip_prefix(&bucket_root) else {
                    continue;
                };
                let Some(key) = rel
                    .components()
                    .map(|c| c.as_os_str().to_str())
                    .collect::<Option<Vec<_>>>()
                    .map(|parts| parts.join("/"))
                else {
                    continue;
                };
                if !key.starts_with(prefix) || after.is_some_and(|a| key.as_str() <= a) {
                    continue;
                }
                let metadata = entry.metadata()?;
                objects.push(Object {
                    key: Some(key),
                    last_modified: metadata.modified().ok().map(Timestamp::from),
                    size: i64::try_from(metadata.len()).ok(),
                    ..Default::default()
                });
            }
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    /// The object's file when this request is one `object_files` handles.
    fn own_path(&self, bucket: &str, key: &str, plain: bool) -> Option<std::path::PathBuf> {
        if !plain {
            return None;
        }
        self.files.as_ref()?.path(bucket, key)
    }

    fn lock_for(&self, bucket: &str, key: &str) -> &Mutex<()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (bucket, key).hash(&mut h);
        &self.locks[(h.finish() as usize) % STRIPES]
    }
}

#[async_trait::async_trait]
impl S3 for Locked {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.inner.create_bucket(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.inner.head_bucket(req).await
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.inner.list_buckets(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.inner.get_bucket_location(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let plain = req.input.if_match.is_none()
            && req.input.if_none_match.is_none()
            && req.input.part_number.is_none();
        if let Some(path) = self.own_path(&req.input.bucket, &req.input.key, plain) {
            let files = self.files.as_ref().expect("own_path checked");
            match files.open(path).await? {
                Lookup::Missing => return Err(s3s::s3_error!(NoSuchKey)),
                Lookup::Found(opened) => {
                    let meta = opened.meta.clone();
                    let modified = opened.modified.clone();
                    let (body, length, content_range) = opened.body(req.input.range).await?;
                    return Ok(S3Response::new(GetObjectOutput {
                        body: Some(body),
                        content_length: i64::try_from(length).ok(),
                        content_range,
                        last_modified: modified,
                        e_tag: Some(ETag::Strong(meta.etag)),
                        content_type: meta.content_type,
                        cache_control: meta.cache_control,
                        content_encoding: meta.content_encoding,
                        content_disposition: meta.content_disposition,
                        metadata: meta.metadata,
                        accept_ranges: Some("bytes".into()),
                        ..Default::default()
                    }));
                }
                Lookup::Foreign => {}
            }
        }
        // s3s-fs opens the file, then reads the ETag from a side file written after the
        // data; under the key's lock a GET never pairs old data with a newer ETag, which
        // would let a compare-and-swap (If-Match) overwrite a newer value, as S3 never does.
        let _guard = self
            .lock_for(&req.input.bucket, &req.input.key)
            .lock()
            .await;
        self.inner.get_object(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let plain = req.input.if_match.is_none()
            && req.input.if_none_match.is_none()
            && req.input.part_number.is_none()
            && req.input.range.is_none();
        if let Some(path) = self.own_path(&req.input.bucket, &req.input.key, plain) {
            let files = self.files.as_ref().expect("own_path checked");
            match files.open(path).await? {
                Lookup::Missing => return Err(s3s::s3_error!(NoSuchKey)),
                Lookup::Found(opened) => {
                    let meta = opened.meta;
                    return Ok(S3Response::new(HeadObjectOutput {
                        content_length: i64::try_from(opened.size).ok(),
                        last_modified: opened.modified,
                        e_tag: Some(ETag::Strong(meta.etag)),
                        content_type: meta.content_type,
                        cache_control: meta.cache_control,
                        content_encoding: meta.content_encoding,
                        content_disposition: meta.content_disposition,
                        metadata: meta.metadata,
                        accept_ranges: Some("bytes".into()),
                        ..Default::default()
                    }));
                }
                Lookup::Foreign => {}
            }
        }
        self.inner.head_object(req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let input = &req.input;
        if store::policy::conditional_only(&input.key) {
            return Err(refused_by_policy(&input.key));
        }
        let plain = input.copy_source_if_match.is_none()
            && input.copy_source_if_none_match.is_none()
            && input.copy_source_if_modified_since.is_none()
            && input.copy_source_if_unmodified_since.is_none();
        let source = match &input.copy_source {
            CopySource::Bucket {
                bucket,
                key,
                version_id: None,
            } => self.own_path(bucket, key, plain),
            _ => None,
        };
        if let (Some(from), Some(to)) = (source, self.own_path(&input.bucket, &input.key, plain)) {
            let files = self.files.as_ref().expect("own_path checked");
            match files.open(from).await? {
                Lookup::Missing => return Err(s3s::s3_error!(NoSuchKey)),
                Lookup::Found(opened) => {
                    let replace = input
                        .metadata_directive
                        .as_ref()
                        .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
                    let meta = if replace {
                        ObjectMeta {
                            content_type: input.content_type.clone(),
                            cache_control: input.cache_control.clone(),
                            content_encoding: input.content_encoding.clone(),
                            content_disposition: input.content_disposition.clone(),
                            metadata: input.metadata.clone(),
                            ..Default::default()
                        }
                    } else {
                        opened.meta.clone()
                    };
                    let etag = files.copy(opened, to, meta).await?;
                    return Ok(S3Response::new(CopyObjectOutput {
                        copy_object_result: Some(CopyObjectResult {
                            e_tag: Some(ETag::Strong(etag)),
                            last_modified: Some(Timestamp::from(std::time::SystemTime::now())),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }));
                }
                Lookup::Foreign => {}
            }
        }
        self.inner.copy_object(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.inner.delete_object(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.inner.delete_objects(req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        self.inner.list_objects(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = &req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        // Listings with a delimiter, an odd prefix or an unknown bucket keep s3s-fs's
        // own answer (and errors).
        let plain = input.delimiter.is_none()
            && !prefix.starts_with('/')
            && !prefix.split('/').any(|p| p == ".." || p == ".")
            && self.root.join(&input.bucket).is_dir();
        if !plain {
            return self.inner.list_objects_v2(req).await;
        }
        let input = req.input;
        let resume = match (
            input.continuation_token.as_deref(),
            input.start_after.as_deref(),
        ) {
            (Some(c), Some(s)) => Some(c.max(s).to_owned()),
            (Some(c), None) => Some(c.to_owned()),
            (None, Some(s)) => Some(s.to_owned()),
            (None, None) => None,
        };
        let mut objects = self
            .keys_under(&input.bucket, &prefix, resume.as_deref())
            .map_err(|e| s3s::s3_error!(InternalError, "{e}"))?;
        let max_keys = input.max_keys.unwrap_or(1000);
        let limit = usize::try_from(max_keys).unwrap_or(1000);
        let is_truncated = objects.len() > limit;
        objects.truncate(limit);
        let next_continuation_token = if is_truncated {
            objects.last().and_then(|o| o.key.clone())
        } else {
            None
        };
        let output = ListObjectsV2Output {
            key_count: i32::try_from(objects.len()).ok(),
            max_keys: Some(max_keys),
            is_truncated: Some(is_truncated),
            contents: (!objects.is_empty()).then_some(objects),
            continuation_token: input.continuation_token,
            next_continuation_token,
            encoding_type: input.encoding_type,
            name: Some(input.bucket),
            prefix: input.prefix,
            start_after: input.start_after,
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.inner.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.inner.upload_part(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.inner.list_parts(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.inner.abort_multipart_upload(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let input = &req.input;
        let condition = match (&input.if_none_match, &input.if_match) {
            (None, None) => Some(Condition::None),
            (Some(ETagCondition::Any), None) => Some(Condition::Absent),
            (None, Some(ETagCondition::ETag(etag))) => {
                Some(Condition::Matches(etag.value().to_owned()))
            }
            _ => None,
        };
        let plain = condition.is_some() && input.content_md5.is_none();
        let conditional = input.if_none_match.is_some() || input.if_match.is_some();
        if !conditional && store::policy::conditional_only(&input.key) {
            return Err(refused_by_policy(&input.key));
        }
        let _guard = if conditional {
            Some(self.lock_for(&input.bucket, &input.key).lock().await)
        } else {
            None
        };
        if let Some(path) = self.own_path(&input.bucket, &input.key, plain) {
            let files = self.files.as_ref().expect("own_path checked");
            // An object in s3s-fs's layout has its ETag there: its swap stays there.
            if matches!(condition, Some(Condition::Matches(_)))
                && matches!(files.open(path.clone()).await?, Lookup::Foreign)
            {
                return self.inner.put_object(req).await;
            }
            let input = req.input;
            let length = input.content_length.and_then(|n| u64::try_from(n).ok());
            let meta = ObjectMeta {
                content_type: input.content_type,
                cache_control: input.cache_control,
                content_encoding: input.content_encoding,
                content_disposition: input.content_disposition,
                metadata: input.metadata,
                ..Default::default()
            };
            let etag = files
                .put(path, condition.expect("plain"), input.body, length, meta)
                .await?;
            return Ok(S3Response::new(PutObjectOutput {
                e_tag: Some(ETag::Strong(etag)),
                ..Default::default()
            }));
        }
        self.inner.put_object(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        if req.input.if_none_match.is_some() || req.input.if_match.is_some() {
            let _guard = self
                .lock_for(&req.input.bucket, &req.input.key)
                .lock()
                .await;
            self.inner.complete_multipart_upload(req).await
        } else {
            self.inner.complete_multipart_upload(req).await
        }
    }
}

/// What AWS answers when the bucket policy's `RequireConditionalWrites` denies a write.
fn refused_by_policy(key: &str) -> s3s::S3Error {
    s3s::s3_error!(
        AccessDenied,
        "the bucket policy allows only conditional writes (If-None-Match or If-Match) to {key}"
    )
}
