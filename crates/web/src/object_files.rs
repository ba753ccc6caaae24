//! The embedded store's objects, one file each: the bytes at `{bucket}/{key}` and the
//! object's S3 metadata (ETag, Content-Type, Cache-Control, user metadata) in an
//! extended attribute of that same file.
//!
//! s3s-fs writes three files per object, each through a temporary file, and keeps the
//! temporary and metadata files of every object in one root folder: under concurrent
//! submissions every write then queues on that one folder's lock, and the kernel spends
//! most of its time spinning on it. Here a write is one temporary file in the object's
//! own folder, its attribute set, one rename: the object and its metadata appear
//! together, atomically, and a reader that opened the file sees one consistent pair.
//!
//! Objects that have no attribute (written by s3s-fs: by an older version, or through a
//! multipart upload) are left to s3s-fs, which still owns their metadata.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use md5::Digest;
use s3s::dto::*;
use s3s::stream::{ByteStream, RemainingLength};
use s3s::{S3Error, S3Result, s3_error};
use serde::{Deserialize, Serialize};
use xattr::FileExt;

const ATTRIBUTE: &str = "user.motcua.s3";
/// Temporary files end with this; listings skip them.
pub const PART_SUFFIX: &str = ".motcua-part";
/// Bodies up to this size are read and written in one blocking call.
const SMALL: u64 = 1 << 20;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ObjectMeta {
    pub etag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<HashMap<String, String>>,
}

/// What a conditional write requires of the current object.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    None,
    /// `If-None-Match: *`
    Absent,
    /// `If-Match: "etag"`
    Matches(String),
}

/// One object opened for reading: the file, its metadata and size.
pub struct Opened {
    file: std::fs::File,
    pub meta: ObjectMeta,
    pub size: u64,
    pub modified: Option<Timestamp>,
}

/// Where an object is, or why it cannot be handled here.
pub enum Lookup {
    Found(Opened),
    Missing,
    /// The file exists without our attribute: s3s-fs's object.
    Foreign,
}

pub struct ObjectFiles {
    root: PathBuf,
    counter: AtomicU64,
}

impl ObjectFiles {
    /// `None` when the folder's file system keeps no user extended attributes; the
    /// store then keeps s3s-fs's layout for everything.
    pub fn new(root: &Path) -> Option<ObjectFiles> {
        let probe = root.join(format!(".xattr-probe-{}{PART_SUFFIX}", std::process::id()));
        let supported = std::fs::File::create(&probe)
            .and_then(|f| f.set_xattr(ATTRIBUTE, b"{}"))
            .is_ok();
        let _ = std::fs::remove_file(&probe);
        supported.then(|| ObjectFiles {
            root: root.to_path_buf(),
            counter: AtomicU64::new(0),
        })
    }

    /// The object's file; `None` for a key that could leave the bucket's folder or that
    /// a file cannot hold (those keep s3s-fs's answer).
    pub fn path(&self, bucket: &str, key: &str) -> Option<PathBuf> {
        let safe = |s: &str| {
            !s.is_empty()
                && !s.starts_with('/')
                && !s.ends_with('/')
                && !s.contains('\0')
                && !s.contains('\\')
                && s.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
        };
        if !safe(bucket) || bucket.contains('/') || !safe(key) || key.ends_with(PART_SUFFIX) {
            return None;
        }
        let bucket_dir = self.root.join(bucket);
        bucket_dir.is_dir().then(|| bucket_dir.join(key))
    }

    pub async fn open(&self, path: PathBuf) -> S3Result<Lookup> {
        blocking(move || open_blocking(&path)).await
    }

    /// Writes the object if `condition` holds (the caller holds the key's lock for a
    /// conditional write). Returns the new ETag.
    pub async fn put(
        &self,
        path: PathBuf,
        condition: Condition,
        body: Option<StreamingBlob>,
        length: Option<u64>,
        mut meta: ObjectMeta,
    ) -> S3Result<String> {
        let tmp = self.temporary(&path);
        let mut body = body;
        if length.is_some_and(|n| n <= SMALL) || body.is_none() {
            // Small: gather the body, then one blocking call checks the condition and
            // writes (as S3 does, the condition is judged when the body is complete).
            let mut data = Vec::with_capacity(length.unwrap_or(0).min(SMALL) as usize);
            if let Some(body) = body.as_mut() {
                while let Some(chunk) = body.next().await {
                    data.extend_from_slice(&chunk.map_err(|e| s3_error!(IncompleteBody, "{e}"))?);
                }
            }
            meta.etag = hex::encode(md5::Md5::digest(&data));
            let etag = meta.etag.clone();
            tokio::task::spawn_blocking(move || {
                check_condition(&path, &condition)?;
                write_whole(&tmp, &path, &data, &meta).map_err(internal)
            })
            .await
            .map_err(internal)??;
            return Ok(etag);
        }
        // Large: refused before megabytes are streamed when the condition already fails
        // (the caller holds the key's lock, so it cannot change meanwhile).
        if condition != Condition::None {
            let target = path.clone();
            tokio::task::spawn_blocking(move || check_condition(&target, &condition))
                .await
                .map_err(internal)??;
        }
        // Large: stream to the temporary file.
        let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let tmp_for_open = tmp.clone();
        let file = blocking(move || {
            std::fs::create_dir_all(&parent)?;
            std::fs::File::create(&tmp_for_open)
        })
        .await?;
        let mut file = tokio::fs::File::from_std(file);
        let mut hasher = md5::Md5::new();
        let written = async {
            use tokio::io::AsyncWriteExt;
            if let Some(body) = body.as_mut() {
                while let Some(chunk) = body.next().await {
                    let chunk = chunk.map_err(|e| s3_error!(IncompleteBody, "{e}"))?;
                    hasher.update(&chunk);
                    file.write_all(&chunk).await.map_err(internal)?;
                }
            }
            file.flush().await.map_err(internal)?;
            Ok::<_, S3Error>(())
        }
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        meta.etag = hex::encode(hasher.finalize());
        let etag = meta.etag.clone();
        let file = file.into_std().await;
        blocking(move || {
            let done = set_meta(&file, &meta).and_then(|()| std::fs::rename(&tmp, &path));
            if done.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            done
        })
        .await?;
        Ok(etag)
    }

    /// Copies `from` to `to` with `meta` (the source's own, or the request's).
    pub async fn copy(&self, from: Opened, to: PathBuf, meta: ObjectMeta) -> S3Result<String> {
        let tmp = self.temporary(&to);
        let etag = from.meta.etag.clone();
        blocking(move || {
            let mut source = from.file;
            source.seek(SeekFrom::Start(0))?;
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let done = (|| {
                let mut out = std::fs::File::create(&tmp)?;
                std::io::copy(&mut source, &mut out)?;
                set_meta(
                    &out,
                    &ObjectMeta {
                        etag: from.meta.etag.clone(),
                        ..meta
                    },
                )?;
                std::fs::rename(&tmp, &to)
            })();
            if done.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            done
        })
        .await?;
        Ok(etag)
    }

    fn temporary(&self, path: &Path) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("object");
        path.with_file_name(format!(".{name}.{}-{n}{PART_SUFFIX}", std::process::id()))
    }
}

impl Opened {
    /// The body for `range` (whole object when `None`), with its length and the
    /// `Content-Range` to answer.
    pub async fn body(
        self,
        range: Option<Range>,
    ) -> S3Result<(StreamingBlob, u64, Option<String>)> {
        let size = self.size;
        let (start, end, content_range) = match range {
            None => (0, size, None),
            Some(range) => {
                let r = range.check(size)?;
                let content_range = format!("bytes {}-{}/{size}", r.start, r.end - 1);
                (r.start, r.end, Some(content_range))
            }
        };
        let length = end - start;
        let mut file = self.file;
        if length <= SMALL {
            let data = blocking(move || {
                file.seek(SeekFrom::Start(start))?;
                let mut data = Vec::with_capacity(length as usize);
                file.take(length).read_to_end(&mut data)?;
                Ok(data)
            })
            .await?;
            return Ok((
                StreamingBlob::from(s3s::Body::from(Bytes::from(data))),
                length,
                content_range,
            ));
        }
        let file = blocking(move || {
            file.seek(SeekFrom::Start(start))?;
            Ok(file)
        })
        .await?;
        let reader = tokio::io::AsyncReadExt::take(tokio::fs::File::from_std(file), length);
        let stream = ExactStream {
            inner: tokio_util::io::ReaderStream::with_capacity(reader, 64 * 1024),
            remaining: length as usize,
        };
        Ok((StreamingBlob::new(stream), length, content_range))
    }
}

/// Removes the temporary files of writes that never finished (the process stopped
/// mid-write) and are older than `age`; returns how many. Listings never show them,
/// but they hold disk space.
pub fn sweep_parts(root: &Path, age: std::time::Duration) -> usize {
    let now = std::time::SystemTime::now();
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_type().is_file()
                && e.file_name()
                    .to_str()
                    .is_some_and(|n| n.ends_with(PART_SUFFIX))
                && e.metadata()
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|d| d > age)
        })
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

fn open_blocking(path: &Path) -> std::io::Result<Lookup> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if is_missing(&e) => return Ok(Lookup::Missing),
        Err(e) => return Err(e),
    };
    let info = file.metadata()?;
    if info.is_dir() {
        return Ok(Lookup::Missing);
    }
    let Some(raw) = file.get_xattr(ATTRIBUTE)? else {
        return Ok(Lookup::Foreign);
    };
    let meta: ObjectMeta = serde_json::from_slice(&raw)
        .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
    Ok(Lookup::Found(Opened {
        file,
        meta,
        size: info.len(),
        modified: info.modified().ok().map(Timestamp::from),
    }))
}

fn check_condition(path: &Path, condition: &Condition) -> S3Result<()> {
    match condition {
        Condition::None => Ok(()),
        Condition::Absent => match std::fs::symlink_metadata(path) {
            Ok(_) => Err(s3_error!(PreconditionFailed, "Object already exists")),
            Err(e) if is_missing(&e) => Ok(()),
            Err(e) => Err(internal(e)),
        },
        Condition::Matches(expected) => {
            let current = match open_blocking(path).map_err(internal)? {
                Lookup::Found(o) => o.meta.etag,
                Lookup::Missing => {
                    return Err(s3_error!(PreconditionFailed, "Object does not exist"));
                }
                // The store hands those to s3s-fs before coming here.
                Lookup::Foreign => String::new(),
            };
            if current == expected.trim_matches('"') {
                Ok(())
            } else {
                Err(s3_error!(PreconditionFailed, "ETag does not match"))
            }
        }
    }
}

fn write_whole(tmp: &Path, path: &Path, data: &[u8], meta: &ObjectMeta) -> std::io::Result<()> {
    let create = || std::fs::File::create(tmp);
    let mut file = match create() {
        Err(e) if is_missing(&e) => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            create()?
        }
        other => other?,
    };
    let done = file
        .write_all(data)
        .and_then(|()| set_meta(&file, meta))
        .and_then(|()| std::fs::rename(tmp, path));
    if done.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    done
}

fn set_meta(file: &std::fs::File, meta: &ObjectMeta) -> std::io::Result<()> {
    file.set_xattr(
        ATTRIBUTE,
        &serde_json::to_vec(meta).map_err(std::io::Error::other)?,
    )
}

fn is_missing(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

fn internal(e: impl std::fmt::Display) -> S3Error {
    s3_error!(InternalError, "{e}")
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> S3Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(internal)?
        .map_err(internal)
}

/// A file's bytes with their exact length known, so the answer carries a
/// Content-Length.
struct ExactStream<S> {
    inner: S,
    remaining: usize,
}

impl<S> Stream for ExactStream<S>
where
    S: Stream<Item = std::io::Result<Bytes>> + Unpin,
{
    type Item = Result<Bytes, s3s::StdError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(b))) => {
                self.remaining = self.remaining.saturating_sub(b.len());
                Poll::Ready(Some(Ok(b)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S> ByteStream for ExactStream<S>
where
    S: Stream<Item = std::io::Result<Bytes>> + Unpin,
{
    fn remaining_length(&self) -> RemainingLength {
        RemainingLength::new_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_object_and_its_metadata_are_one_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        let Some(store) = ObjectFiles::new(dir.path()) else {
            eprintln!("no user xattrs on this file system; nothing to test");
            return;
        };
        let path = store.path("b", "a/b/c.json").unwrap();
        let meta = ObjectMeta {
            content_type: Some("application/json".into()),
            ..Default::default()
        };
        let body = StreamingBlob::from(s3s::Body::from(Bytes::from_static(b"{\"n\":1}")));
        let etag = store
            .put(path.clone(), Condition::Absent, Some(body), Some(7), meta)
            .await
            .unwrap();
        assert_eq!(etag, hex::encode(md5::Md5::digest(b"{\"n\":1}")));
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"n\":1}");
        // Nothing else was left in the folder: no temporary, no side file.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("c.json")]);
        let Lookup::Found(opened) = store.open(path.clone()).await.unwrap() else {
            panic!("written object not found");
        };
        assert_eq!(
            opened.meta.content_type.as_deref(),
            Some("application/json")
        );
        assert_eq!(opened.meta.etag, etag);
        // A second create fails, a compare-and-swap with the wrong ETag fails, the
        // right one succeeds.
        let again = store
            .put(
                path.clone(),
                Condition::Absent,
                None,
                Some(0),
                ObjectMeta::default(),
            )
            .await;
        assert!(again.is_err());
        let wrong = store
            .put(
                path.clone(),
                Condition::Matches("\"0000\"".into()),
                None,
                Some(0),
                ObjectMeta::default(),
            )
            .await;
        assert!(wrong.is_err());
        store
            .put(
                path.clone(),
                Condition::Matches(format!("\"{etag}\"")),
                None,
                Some(0),
                ObjectMeta::default(),
            )
            .await
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    }

    #[test]
    fn unfinished_writes_are_swept_once_old() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/x")).unwrap();
        let old = dir.path().join(format!("b/x/.a.1-1{PART_SUFFIX}"));
        let recent = dir.path().join(format!("b/x/.a.1-2{PART_SUFFIX}"));
        let object = dir.path().join("b/x/a");
        for p in [&old, &recent, &object] {
            std::fs::write(p, b"x").unwrap();
        }
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        for p in [&old, &object] {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(two_hours_ago)
                .unwrap();
        }
        assert_eq!(
            sweep_parts(dir.path(), std::time::Duration::from_secs(3600)),
            1
        );
        assert!(!old.exists(), "an old unfinished write is removed");
        assert!(
            recent.exists(),
            "a write that may still be going on is kept"
        );
        assert!(object.exists(), "objects are never touched");
    }

    #[test]
    fn keys_that_leave_the_bucket_are_not_handled_here() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        let Some(store) = ObjectFiles::new(dir.path()) else {
            return;
        };
        assert!(store.path("b", "ok/key.json").is_some());
        for key in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "dir/",
            "",
            "x.motcua-part",
        ] {
            assert!(store.path("b", key).is_none(), "{key:?}");
        }
        assert!(store.path("missing-bucket", "k").is_none());
    }
}
