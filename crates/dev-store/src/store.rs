//! s3s-fs, with what conditional writes need on top.
//!
//! s3s-fs 0.14.1 writes an object in three steps: the data (a temporary file renamed over
//! `{root}/{bucket}/{key}`), then its attributes (Content-Type, user metadata) and then
//! its ETag, each a side file in the root replaced the same way. It checks `If-None-Match`
//! and `If-Match` before the first step. On its own, then:
//!
//! - two `If-None-Match: *` writes of one key can both pass the check and both succeed;
//! - two compare-and-swaps with the same ETag can both pass, and one update is lost;
//! - a GET can pair one write's data with another write's ETag (it opens the file, then
//!   reads the side file): with the old data and the new ETag, a compare-and-swap
//!   computed from the old data passes and overwrites the newer value.
//!
//! AWS S3 does none of this. So every request that reads or writes an object runs under
//! that object's lock ([`KeyLocks`]): a check and the write it allows are one step, and a
//! reader sees an object's data, attributes and ETag from the same write. Plain writes
//! take the lock too, since a plain write that interleaves with a conditional one would
//! leave an ETag that does not describe the data. Locks are per object, so requests on
//! different keys never wait on each other.
//!
//! Everything else is s3s-fs's own behaviour, but for these departures: plain writes to
//! the keys the bucket policy opens to conditional writes only are refused as AWS
//! refuses them; `If-None-Match` with an ETag (which s3s-fs ignores) is refused as S3
//! does; a GET or HEAD of a key that names a folder answers 404, not 500; a listing
//! without a delimiter walks only the folder its prefix names (s3s-fs walks the whole
//! bucket for every listing); a PUT to a bucket that does not exist answers 404 (s3s-fs
//! would make the folder); and every PUT, copy and multipart completion is on the disk
//! (fsync) before it is answered, a PUT staged and moved into place by this store
//! (`durable.rs`).

use std::path::{Path, PathBuf};

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

use std::sync::atomic::AtomicU64;

use crate::durable::{self, Commit};
use crate::locks::KeyLocks;

pub(crate) struct Store {
    fs: s3s_fs::FileSystem,
    /// The folder s3s-fs keeps buckets in (canonical, as s3s-fs resolves it).
    root: PathBuf,
    locks: KeyLocks,
    conditional_only: &'static [&'static str],
    /// Names the next staged PUT (see `durable.rs`); one process per data folder.
    staged: AtomicU64,
}

impl Store {
    pub(crate) fn new(
        fs: s3s_fs::FileSystem,
        root: PathBuf,
        conditional_only: &'static [&'static str],
    ) -> Store {
        Store {
            fs,
            root,
            locks: KeyLocks::default(),
            conditional_only,
            staged: AtomicU64::new(0),
        }
    }

    /// The file of `key` in `bucket`, for keys made of plain parts (no `.`, `..` or
    /// leading `/`: the function writes no other kind). Others are left to s3s-fs as it
    /// writes them, without the syncs of `durable.rs`.
    fn plain_path(&self, bucket: &str, key: &str) -> Option<PathBuf> {
        let plain = !key.is_empty()
            && !key.starts_with('/')
            && !key.ends_with('/')
            && key.split('/').all(|p| p != "." && p != "..");
        plain.then(|| self.root.join(bucket).join(key))
    }

    /// A PUT, under its key's lock: checked, staged by s3s-fs, then synced and moved into
    /// place as `durable.rs` explains, before it is answered.
    async fn put_durably(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let Some(data) = self.plain_path(&bucket, &key) else {
            return self.fs.put_object(req).await;
        };
        if !self.root.join(&bucket).is_dir() {
            return Err(s3_error!(NoSuchBucket));
        }
        self.check_write_condition(&req).await?;
        let stage = self
            .staged
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .to_string();
        let commit = Commit {
            root: self.root.clone(),
            staged_data: self.root.join(durable::STAGING).join(&stage),
            staged_metadata: durable::side_file(&self.root, durable::STAGING, &stage, "metadata"),
            staged_internal: durable::side_file(&self.root, durable::STAGING, &stage, "internal"),
            data,
            metadata: durable::side_file(&self.root, &bucket, &key, "metadata"),
            internal: durable::side_file(&self.root, &bucket, &key, "internal"),
        };
        let staged = req.map_input(|mut input| {
            input.bucket = durable::STAGING.to_owned();
            input.key.clone_from(&stage);
            input.if_match = None;
            input.if_none_match = None;
            input
        });
        let discard = [
            commit.staged_data.clone(),
            commit.staged_metadata.clone(),
            commit.staged_internal.clone(),
        ];
        let out = match self.fs.put_object(staged).await {
            Ok(out) => out,
            Err(e) => {
                // A refused body (a bad digest, a cut connection) leaves nothing staged.
                for f in &discard {
                    let _ = std::fs::remove_file(f);
                }
                return Err(e);
            }
        };
        let committed = tokio::task::spawn_blocking(move || commit.run())
            .await
            .map_err(|e| s3_error!(InternalError, "{e}"))?;
        if let Err(e) = committed {
            for f in &discard {
                let _ = std::fs::remove_file(f);
            }
            return Err(s3_error!(
                InternalError,
                "could not store the object durably: {e}"
            ));
        }
        Ok(out)
    }

    /// What s3s-fs checks before a PUT writes (`If-None-Match: *`: no object there;
    /// `If-Match`: the object there has that ETag), read through s3s-fs's own HEAD so
    /// the ETag is the one it answers.
    async fn check_write_condition(&self, req: &S3Request<PutObjectInput>) -> S3Result<()> {
        let input = &req.input;
        if input.if_none_match.is_none() && input.if_match.is_none() {
            return Ok(());
        }
        let current = if self.names_folder(&input.bucket, &input.key) {
            // s3s-fs counts a folder as there for `If-None-Match`; nothing can match it.
            Some(None)
        } else {
            let head = S3Request {
                input: HeadObjectInput::builder()
                    .bucket(input.bucket.clone())
                    .key(input.key.clone())
                    .build()
                    .map_err(|e| s3_error!(InternalError, "{e}"))?,
                method: http::Method::HEAD,
                uri: req.uri.clone(),
                headers: http::HeaderMap::new(),
                extensions: http::Extensions::new(),
                credentials: req.credentials.clone(),
                region: req.region.clone(),
                service: req.service.clone(),
                trailing_headers: None,
            };
            match self.fs.head_object(head).await {
                Ok(found) => Some(found.output.e_tag),
                Err(e) if *e.code() == s3s::S3ErrorCode::NoSuchKey => None,
                Err(e) => return Err(e),
            }
        };
        if input.if_none_match.as_ref().is_some_and(|c| c.is_any()) && current.is_some() {
            return Err(s3_error!(PreconditionFailed, "Object already exists"));
        }
        match (&input.if_match, current) {
            (None, _) => Ok(()),
            (Some(_), None) => Err(s3_error!(PreconditionFailed, "Object does not exist")),
            (Some(ETagCondition::ETag(expected)), Some(etag)) => {
                if etag.is_some_and(|etag| etag.strong_cmp(expected)) {
                    Ok(())
                } else {
                    Err(s3_error!(PreconditionFailed, "ETag does not match"))
                }
            }
            (Some(_), Some(_)) => Ok(()),
        }
    }

    /// After s3s-fs wrote `target` (a copy or a multipart completion), syncs it, its side
    /// files and the folders the write changed before the write is answered.
    async fn sync_after(
        &self,
        bucket: &str,
        key: &str,
        target: PathBuf,
        existing: PathBuf,
    ) -> S3Result<()> {
        let root = self.root.clone();
        let sides = [
            durable::side_file(&root, bucket, key, "metadata"),
            durable::side_file(&root, bucket, key, "internal"),
        ];
        let synced = tokio::task::spawn_blocking(move || {
            durable::sync_written(&target, &existing)?;
            for side in &sides {
                if side.exists() {
                    durable::sync_file(side)?;
                }
            }
            durable::sync_dir(&root)
        })
        .await
        .map_err(|e| s3_error!(InternalError, "{e}"))?;
        synced.map_err(|e| s3_error!(InternalError, "could not store the object durably: {e}"))
    }

    /// Does `key` name a folder of the bucket (as `a/b` does once `a/b/c` is stored)?
    /// S3 has no folders: no object is there, and S3 answers 404. s3s-fs opens the
    /// folder as a file and answers 500, which the SDK retries for about two seconds
    /// before it gives up; a compare-and-swap that starts from "not there yet" (a GET
    /// answering 404) would fail instead. Keys with `.`/`..` parts are left to s3s-fs.
    fn names_folder(&self, bucket: &str, key: &str) -> bool {
        let plain = !key.starts_with('/') && key.split('/').all(|p| p != "." && p != "..");
        plain && self.root.join(bucket).join(key).is_dir()
    }

    /// A write without a condition to `key`, which the bucket policy denies.
    fn refuses_plain_write(&self, key: &str) -> bool {
        crate::conditional_only(self.conditional_only, key)
    }
}

/// What AWS answers when the bucket policy's `RequireConditionalWrites` denies a write.
fn refused_by_policy(key: &str) -> s3s::S3Error {
    s3_error!(
        AccessDenied,
        "the bucket policy allows only conditional writes (If-None-Match or If-Match) to {key}"
    )
}

#[async_trait::async_trait]
impl S3 for Store {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.fs.list_buckets(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.fs.get_bucket_location(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.fs.delete_bucket(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let input = &req.input;
        // s3s-fs reads `If-None-Match` only as `*` and would write over the object for
        // any other value, as if no condition had been asked; S3 takes only `*`.
        if matches!(input.if_none_match, Some(ETagCondition::ETag(_))) {
            return Err(s3_error!(
                NotImplemented,
                "If-None-Match on a write takes only *"
            ));
        }
        let conditional = input.if_none_match.is_some() || input.if_match.is_some();
        if !conditional && self.refuses_plain_write(&input.key) {
            return Err(refused_by_policy(&input.key));
        }
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        self.locks
            .with(&[(&bucket, &key)], move || self.put_durably(req))
            .await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        // The body streams after the lock is let go, from the file s3s-fs opened under
        // it: writes replace the file (a rename), so that stays the data of the ETag
        // answered. (A copy onto an existing key rewrites the file in place: see
        // `copy_object`.)
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        self.locks
            .with(&[(&bucket, &key)], move || async move {
                if self.names_folder(&req.input.bucket, &req.input.key) {
                    return Err(s3_error!(NoSuchKey));
                }
                self.fs.get_object(req).await
            })
            .await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        self.locks
            .with(&[(&bucket, &key)], move || async move {
                if self.names_folder(&req.input.bucket, &req.input.key) {
                    return Err(s3_error!(NoSuchKey));
                }
                self.fs.head_object(req).await
            })
            .await
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let input = &req.input;
        // s3s 0.14.1 reads no destination condition on a copy, so every copy is a plain
        // write of its destination, which the policy denies on conditional-only keys.
        if self.refuses_plain_write(&input.key) {
            return Err(refused_by_policy(&input.key));
        }
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        let source = match &input.copy_source {
            CopySource::Bucket { bucket, key, .. } => Some((bucket.to_string(), key.to_string())),
            _ => None,
        };
        let mut keys = vec![(bucket.as_str(), key.as_str())];
        if let Some((b, k)) = &source {
            keys.push((b.as_str(), k.as_str()));
        }
        // The source under its lock too: its data, attributes and ETag are read in
        // several steps. s3s-fs copies the data into the destination file in place (not
        // through a rename): a GET of the destination still streaming from before sees
        // the new bytes. The function copies only into a dossier's files (fresh keys, or
        // the same bytes again when a submission is retried), never onto the
        // conditional-only keys, so that is left as s3s-fs does it.
        //
        // `x-amz-copy-source-if-match` is s3s-fs's own (412 when the source's ETag
        // differs); under the source's lock it is checked against the very bytes copied.
        // The checksum S3 computes when asked (`x-amz-checksum-algorithm: SHA256`) s3s-fs
        // does not: it is computed here, from the copy, still under the locks.
        let sha256 = matches!(
            input
                .checksum_algorithm
                .as_ref()
                .map(ChecksumAlgorithm::as_str),
            Some(ChecksumAlgorithm::SHA256)
        );
        let copied = self.root.join(&bucket).join(&key);
        let target = self.plain_path(&bucket, &key);
        let existing = target
            .as_deref()
            .map(|t| crate::durable::existing_ancestor(t, &self.root));
        let written = (bucket.as_str(), key.as_str());
        self.locks
            .with(&keys, move || async move {
                let mut out = self.fs.copy_object(req).await?;
                if let (Some(target), Some(existing)) = (target, existing) {
                    self.sync_after(written.0, written.1, target, existing)
                        .await?;
                }
                if sha256 && let Some(result) = out.output.copy_object_result.as_mut() {
                    result.checksum_sha256 = Some(file_sha256(copied).await?);
                }
                Ok(out)
            })
            .await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        // Under the lock, so a delete falls before or after a conditional write, never
        // between its check and its write.
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        self.locks
            .with(&[(&bucket, &key)], move || self.fs.delete_object(req))
            .await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        let names: Vec<String> = req
            .input
            .delete
            .objects
            .iter()
            .map(|o| o.key.clone())
            .collect();
        let keys: Vec<(&str, &str)> = names
            .iter()
            .map(|k| (bucket.as_str(), k.as_str()))
            .collect();
        self.locks
            .with(&keys, move || self.fs.delete_objects(req))
            .await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        self.fs.list_objects(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = &req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        // Listings with a delimiter, an odd prefix or an unknown bucket keep s3s-fs's
        // own answer (and errors).
        let walk_folder = input.delimiter.is_none()
            && !prefix.starts_with('/')
            && !prefix.split('/').any(|p| p == ".." || p == ".")
            && self.root.join(&input.bucket).is_dir();
        if !walk_folder {
            return self.fs.list_objects_v2(req).await;
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
        let bucket_root = self.root.join(&input.bucket);
        let mut objects = {
            let prefix = prefix.clone();
            tokio::task::spawn_blocking(move || {
                keys_under(&bucket_root, &prefix, resume.as_deref())
            })
            .await
            .map_err(|e| s3_error!(InternalError, "{e}"))?
            .map_err(|e| s3_error!(InternalError, "{e}"))?
        };
        let max_keys = input.max_keys.unwrap_or(1000);
        let limit = usize::try_from(max_keys).unwrap_or(1000);
        // As s3s-fs: `max-keys=0` answers nothing, and is not truncated.
        let is_truncated = limit > 0 && objects.len() > limit;
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
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.fs.upload_part(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.fs.upload_part_copy(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.fs.list_parts(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.fs.abort_multipart_upload(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        // Completing an upload writes the object (`s3:PutObject` for the policy), and
        // takes `If-None-Match`/`If-Match` as a PUT does.
        let input = &req.input;
        let conditional = input.if_none_match.is_some() || input.if_match.is_some();
        if !conditional && self.refuses_plain_write(&input.key) {
            return Err(refused_by_policy(&input.key));
        }
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        let target = self.plain_path(&bucket, &key);
        let existing = target
            .as_deref()
            .map(|t| crate::durable::existing_ancestor(t, &self.root));
        let written = (bucket.as_str(), key.as_str());
        self.locks
            .with(&[(&bucket, &key)], move || async move {
                let out = self.fs.complete_multipart_upload(req).await?;
                if let (Some(target), Some(existing)) = (target, existing) {
                    self.sync_after(written.0, written.1, target, existing)
                        .await?;
                }
                Ok(out)
            })
            .await
    }
}

/// Keys under `prefix` with their size and time, sorted. Only the folder the prefix
/// names can hold matching keys, so only that one is walked (s3s-fs walks the whole
/// bucket: a console listing one day of dossiers took ~1 s with 10,000 dossiers, ~50 ms
/// this way). Only keys after `after` are looked at closely: a file's size and time
/// cost a call each, and a listing that resumes after a watermark skips the rest unread.
fn keys_under(
    bucket_root: &Path,
    prefix: &str,
    after: Option<&str>,
) -> std::io::Result<Vec<Object>> {
    let folder = prefix.rfind('/').map_or("", |i| &prefix[..i]);
    let mut objects = Vec::new();
    let mut queue = vec![bucket_root.join(folder)];
    while let Some(dir) = queue.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                queue.push(entry.path());
                continue;
            }
            let path = entry.path();
            let Ok(rel) = path.strip_prefix(bucket_root) else {
                continue;
            };
            // Keys are the path's parts joined with `/` (s3s-fs skips names that are not
            // UTF-8 the same way).
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

/// The base64 SHA-256 of a file, as S3 answers `ChecksumSHA256`.
async fn file_sha256(path: PathBuf) -> S3Result<String> {
    use base64::Engine as _;
    use sha2::Digest as _;
    tokio::task::spawn_blocking(move || {
        let mut hasher = sha2::Sha256::new();
        let mut file = std::fs::File::open(&path)?;
        std::io::copy(&mut file, &mut hasher)?;
        Ok::<_, std::io::Error>(base64::engine::general_purpose::STANDARD.encode(hasher.finalize()))
    })
    .await
    .map_err(|e| s3_error!(InternalError, "{e}"))?
    .map_err(|e| s3_error!(InternalError, "{e}"))
}
