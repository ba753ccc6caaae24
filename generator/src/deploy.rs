//! `generator deploy`: publishes the built site to an S3 bucket, uploading only what
//! changed.
//!
//! What is in the bucket is known from two cheap requests instead of one HEAD per file:
//! a manifest object (`.motcua-manifest.json`, path → sha256, size, ETag, type and
//! caching, written last) and a ListObjectsV2 of the prefix (1 request per 1000 keys).
//! A file is left alone only when the manifest has its sha256, type and caching *and*
//! the listing still shows the object with the size (and, where the store reports it,
//! the ETag) the manifest recorded; so an interrupted deploy, a deleted object or an
//! object changed by hand is uploaded again. Every object also carries its sha256 in
//! `x-amz-meta-sha256`.
//!
//! Order: fingerprinted and other non-page files first, pages (HTML/JSON/XML) after
//! them, so that no published page points at an asset not yet there; then objects
//! whose files are gone are deleted; the manifest goes last.
//!
//! The public statistics page under `thong-ke/` (`catalog::bundle::STATS_PREFIX`) is
//! the schedule's, not the build's: a deploy neither uploads a local copy of it nor
//! deletes it from the bucket.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use futures_util::StreamExt as _;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest's name under the prefix.
pub const MANIFEST: &str = ".motcua-manifest.json";
/// Caching of files whose name changes with their content.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Caching of everything else (pages, JSON, feeds, forms to download).
pub const SHORT: &str = "public, max-age=300, must-revalidate";
/// Caching of the service worker: checked every time, so a new version reaches every phone.
pub const NO_CACHE: &str = "no-cache";
/// The service worker's stable address (templates/root/sw.js).
pub const SERVICE_WORKER: &str = "sw.js";

#[derive(Debug, Clone)]
pub struct Options {
    pub bucket: String,
    /// Key prefix (`""` for the bucket's root); normalised to end with `/`.
    pub prefix: String,
    pub dry_run: bool,
    /// Also delete objects in a bucket that has no manifest (one not deployed to yet by
    /// this tool, where the objects may be someone else's).
    pub delete_unknown: bool,
    /// Uploads in flight at once.
    pub concurrency: usize,
}

impl Options {
    pub fn new(bucket: impl Into<String>) -> Options {
        Options {
            bucket: bucket.into(),
            prefix: String::new(),
            dry_run: false,
            delete_unknown: false,
            concurrency: 8,
        }
    }
}

/// What a deploy did (or, with `dry_run`, would do). Paths are relative to the site.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub uploaded: Vec<String>,
    pub unchanged: Vec<String>,
    pub deleted: Vec<String>,
    /// Objects not deleted because the bucket had no manifest (see `delete_unknown`).
    pub kept_unknown: Vec<String>,
    pub bytes_uploaded: u64,
    pub dry_run: bool,
}

/// One file of the built site.
#[derive(Debug, Clone)]
struct LocalFile {
    rel: String,
    path: PathBuf,
    sha256: String,
    size: u64,
    content_type: &'static str,
    cache_control: &'static str,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    files: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Entry {
    sha256: String,
    size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    content_type: String,
    cache_control: String,
}

/// What a listing says about an object.
#[derive(Debug, Clone)]
struct Listed {
    size: u64,
    etag: Option<String>,
}

/// The Content-Type a file is served with, from its extension.
pub fn content_type(rel: &str) -> &'static str {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json; charset=utf-8",
        "webmanifest" => "application/manifest+json; charset=utf-8",
        "xml" if name == "atom.xml" => "application/atom+xml; charset=utf-8",
        "xml" => "application/xml; charset=utf-8",
        "svg" => "image/svg+xml; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "pdf" => "application/pdf",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "doc" => "application/msword",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "odt" => "application/vnd.oasis.opendocument.text",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "png" => "image/png",
        "gif" => "image/gif",
        "avif" => "image/avif",
        "ico" => "image/vnd.microsoft.icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        _ => "application/octet-stream",
    }
}

/// A content fingerprint as the generator writes it: 10 hexadecimal characters with
/// at least one digit (a plain word made only of a–f letters is not taken for one).
fn is_hash(s: &str) -> bool {
    s.len() == 10
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && s.bytes().any(|b| b.is_ascii_digit())
}

/// `assets/site.3f9a1c2e0b.css` and `media/photo-3f9a1c2e0b-960.webp` change name
/// when their content changes, so they can be cached forever.
pub fn is_fingerprinted(rel: &str) -> bool {
    let Some((dir, name)) = rel.rsplit_once('/') else {
        return false;
    };
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    match dir {
        "assets" => stem.rsplit_once('.').is_some_and(|(_, h)| is_hash(h)),
        "media" => stem.split('-').skip(1).any(is_hash),
        _ => false,
    }
}

pub fn cache_control(rel: &str) -> &'static str {
    if rel == SERVICE_WORKER {
        NO_CACHE
    } else if is_fingerprinted(rel) {
        IMMUTABLE
    } else {
        SHORT
    }
}

/// Pages go after everything they may point at.
fn is_page(rel: &str) -> bool {
    !is_fingerprinted(rel)
        && [".html", ".json", ".xml", ".txt"]
            .iter()
            .any(|ext| rel.ends_with(ext))
}

fn normalise_prefix(prefix: &str) -> String {
    let p = prefix.trim_matches('/');
    if p.is_empty() {
        String::new()
    } else {
        format!("{p}/")
    }
}

fn trim_etag(etag: &str) -> String {
    etag.trim_matches('"').to_owned()
}

fn scan(site: &Path) -> anyhow::Result<Vec<LocalFile>> {
    let mut paths = Vec::new();
    for entry in walkdir::WalkDir::new(site).follow_links(true) {
        let entry = entry.with_context(|| format!("không đọc được {}", site.display()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(site)
            .expect("under the site")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        // Hidden files (editor leftovers, and a stray copy of the manifest) stay local,
        // and so does the statistics page the local server wrote into the site.
        if rel.split('/').any(|part| part.starts_with('.'))
            || rel.starts_with(catalog::bundle::STATS_PREFIX)
        {
            continue;
        }
        paths.push((rel, entry.into_path()));
    }
    if paths.is_empty() {
        bail!(
            "{} không có tệp nào: hãy chạy `generator build` trước",
            site.display()
        );
    }
    let mut files = paths
        .into_par_iter()
        .map(|(rel, path)| {
            let bytes = std::fs::read(&path)
                .with_context(|| format!("không đọc được {}", path.display()))?;
            Ok(LocalFile {
                sha256: hex::encode(Sha256::digest(&bytes)),
                size: bytes.len() as u64,
                content_type: content_type(&rel),
                cache_control: cache_control(&rel),
                rel,
                path,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(files)
}

fn sdk_error<E>(
    what: &str,
    e: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    anyhow::anyhow!("{what}: {}", aws_sdk_s3::error::DisplayErrorContext(&e))
}

async fn read_manifest(
    client: &Client,
    bucket: &str,
    key: &str,
) -> anyhow::Result<Option<Manifest>> {
    match client.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let bytes = out
                .body
                .collect()
                .await
                .context("đọc manifest")?
                .into_bytes();
            match serde_json::from_slice::<Manifest>(&bytes) {
                Ok(m) => Ok(Some(m)),
                Err(e) => {
                    eprintln!("cảnh báo: {key} hỏng ({e}); mọi tệp sẽ được tải lên lại");
                    Ok(Some(Manifest::default()))
                }
            }
        }
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
        Err(e) => Err(sdk_error(&format!("không đọc được s3://{bucket}/{key}"), e)),
    }
}

async fn list(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> anyhow::Result<HashMap<String, Listed>> {
    let mut out = HashMap::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| sdk_error(&format!("không liệt kê được s3://{bucket}/{prefix}"), e))?;
        for o in page.contents() {
            if let Some(key) = o.key() {
                out.insert(
                    key.to_owned(),
                    Listed {
                        size: o.size().unwrap_or(0).max(0) as u64,
                        etag: o.e_tag().map(trim_etag),
                    },
                );
            }
        }
    }
    Ok(out)
}

async fn upload(
    client: &Client,
    bucket: &str,
    key: &str,
    file: &LocalFile,
) -> anyhow::Result<Option<String>> {
    let bytes = tokio::fs::read(&file.path)
        .await
        .with_context(|| format!("không đọc được {}", file.path.display()))?;
    let out = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(file.content_type)
        .cache_control(file.cache_control)
        .metadata("sha256", &file.sha256)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(|e| sdk_error(&format!("không tải lên được {key}"), e))?;
    Ok(out.e_tag().map(trim_etag))
}

/// Publishes the files under `site` to `options.bucket`.
pub async fn deploy(client: &Client, site: &Path, options: &Options) -> anyhow::Result<Report> {
    let prefix = normalise_prefix(&options.prefix);
    let bucket = options.bucket.as_str();
    let manifest_key = format!("{prefix}{MANIFEST}");

    let files = scan(site)?;
    let previous = read_manifest(client, bucket, &manifest_key).await?;
    let had_manifest = previous.is_some();
    let previous = previous.unwrap_or_default();
    let listed = list(client, bucket, &prefix).await?;

    let mut report = Report {
        dry_run: options.dry_run,
        ..Report::default()
    };
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    let mut to_upload: Vec<&LocalFile> = Vec::new();
    for file in &files {
        let key = format!("{prefix}{}", file.rel);
        let known = previous.files.get(&file.rel);
        let current = listed.get(&key);
        let same = match (known, current) {
            (Some(entry), Some(obj)) => {
                entry.sha256 == file.sha256
                    && entry.size == file.size
                    && entry.content_type == file.content_type
                    && entry.cache_control == file.cache_control
                    && obj.size == file.size
                    && match (&entry.etag, &obj.etag) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    }
            }
            _ => false,
        };
        if same {
            report.unchanged.push(file.rel.clone());
            entries.insert(file.rel.clone(), known.expect("matched").clone());
        } else {
            to_upload.push(file);
        }
    }
    // Non-page files first, then pages; each group in path order.
    to_upload.sort_by_key(|f| (is_page(&f.rel), f.rel.clone()));

    let local: std::collections::HashSet<String> =
        files.iter().map(|f| format!("{prefix}{}", f.rel)).collect();
    let stats = format!("{prefix}{}", catalog::bundle::STATS_PREFIX);
    let mut gone: Vec<String> = listed
        .keys()
        .filter(|k| **k != manifest_key && !local.contains(*k) && !k.starts_with(&stats))
        .cloned()
        .collect();
    gone.sort();
    let strip = |k: &str| k.strip_prefix(&prefix).unwrap_or(k).to_owned();
    let may_delete = had_manifest || options.delete_unknown;

    if options.dry_run {
        report.uploaded = to_upload.iter().map(|f| f.rel.clone()).collect();
        report.bytes_uploaded = to_upload.iter().map(|f| f.size).sum();
        if may_delete {
            report.deleted = gone.iter().map(|k| strip(k)).collect();
        } else {
            report.kept_unknown = gone.iter().map(|k| strip(k)).collect();
        }
        return Ok(report);
    }

    let split = to_upload
        .iter()
        .position(|f| is_page(&f.rel))
        .unwrap_or(to_upload.len());
    let (assets, pages) = to_upload.split_at(split);
    for group in [assets, pages] {
        let results: Vec<anyhow::Result<(&LocalFile, Option<String>)>> =
            futures_util::stream::iter(group.iter().copied())
                .map(|file| {
                    let key = format!("{prefix}{}", file.rel);
                    async move {
                        upload(client, bucket, &key, file)
                            .await
                            .map(|etag| (file, etag))
                    }
                })
                .buffer_unordered(options.concurrency.max(1))
                .collect()
                .await;
        for result in results {
            let (file, etag) = result?;
            report.uploaded.push(file.rel.clone());
            report.bytes_uploaded += file.size;
            entries.insert(
                file.rel.clone(),
                Entry {
                    sha256: file.sha256.clone(),
                    size: file.size,
                    etag,
                    content_type: file.content_type.to_owned(),
                    cache_control: file.cache_control.to_owned(),
                },
            );
        }
    }
    report.uploaded.sort();

    if may_delete {
        for chunk in gone.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build().expect("key set"))
                .collect::<Vec<_>>();
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .expect("objects set");
            let out = client
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| sdk_error("không xóa được các tệp cũ", e))?;
            if let Some(err) = out.errors().first() {
                bail!(
                    "không xóa được {}: {}",
                    err.key().unwrap_or("?"),
                    err.message().unwrap_or("lỗi không rõ")
                );
            }
            report.deleted.extend(chunk.iter().map(|k| strip(k)));
        }
    } else {
        report.kept_unknown = gone.iter().map(|k| strip(k)).collect();
    }

    if !report.uploaded.is_empty()
        || !report.deleted.is_empty()
        || !had_manifest
        || entries != previous.files
    {
        let manifest = Manifest {
            version: 1,
            files: entries,
        };
        client
            .put_object()
            .bucket(bucket)
            .key(&manifest_key)
            .content_type("application/json; charset=utf-8")
            .cache_control("no-store")
            .body(ByteStream::from(serde_json::to_vec(&manifest)?))
            .send()
            .await
            .map_err(|e| sdk_error(&format!("không ghi được {manifest_key}"), e))?;
    }
    Ok(report)
}

fn tuned(builder: aws_sdk_s3::config::Builder, endpoint: Option<&str>) -> Client {
    let mut builder = builder
        // S3-compatible stores do not all take the newer default checksums.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .timeout_config(
            aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(120))
                .connect_timeout(Duration::from_secs(10))
                .build(),
        );
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint).force_path_style(true);
    }
    Client::from_conf(builder.build())
}

/// A client from the usual AWS chain (environment, profile, SSO, instance role);
/// `endpoint` selects an S3-compatible server, addressed path-style.
pub async fn client(endpoint: Option<&str>, region: Option<&str>) -> anyhow::Result<Client> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    let shared = loader.load().await;
    if shared.region().is_none() {
        bail!("chưa biết vùng AWS: đặt --region hoặc AWS_REGION, ví dụ ap-southeast-1");
    }
    Ok(tuned(aws_sdk_s3::config::Builder::from(&shared), endpoint))
}

/// A client with fixed keys (the embedded store, tests).
pub fn static_client(endpoint: &str, region: &str, access_key: &str, secret_key: &str) -> Client {
    let builder = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            access_key,
            secret_key,
            None,
            None,
            "motcua-static",
        ));
    tuned(builder, Some(endpoint))
}

/// The report as the command prints it.
pub fn describe(report: &Report, bucket: &str, prefix: &str) -> String {
    let mut out = String::new();
    let verb = if report.dry_run { "sẽ " } else { "" };
    let target = format!("s3://{bucket}/{}", normalise_prefix(prefix));
    for rel in &report.uploaded {
        out.push_str(&format!("  {verb}tải lên  {rel}\n"));
    }
    for rel in &report.deleted {
        out.push_str(&format!("  {verb}xóa      {rel}\n"));
    }
    for rel in &report.kept_unknown {
        out.push_str(&format!(
            "  giữ lại  {rel} (bucket chưa có manifest; thêm --delete-unknown để xóa)\n"
        ));
    }
    out.push_str(&format!(
        "{}{target}: {} tệp {verb}tải lên ({:.1} KB), {} tệp không đổi, {} tệp {verb}xóa.\n",
        if report.dry_run {
            "Chạy thử, không thay đổi gì. "
        } else {
            ""
        },
        report.uploaded.len(),
        report.bytes_uploaded as f64 / 1024.0,
        report.unchanged.len(),
        report.deleted.len(),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_caching() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("tin-tuc/atom.xml"),
            "application/atom+xml; charset=utf-8"
        );
        assert_eq!(
            content_type("sitemap.xml"),
            "application/xml; charset=utf-8"
        );
        assert_eq!(
            content_type("assets/favicon.37233d6a84.svg"),
            "image/svg+xml; charset=utf-8"
        );
        assert_eq!(
            content_type("bieu-mau/to-khai.DOCX"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        assert!(is_fingerprinted("assets/site.68ca8406d9.css"));
        assert!(is_fingerprinted(
            "media/nop-ho-so-tren-dien-thoai-f654ff3150-480.jpg"
        ));
        assert!(!is_fingerprinted("assets/site.css"));
        assert!(!is_fingerprinted("media/anh-cua-xa.jpg"));
        assert!(!is_fingerprinted("thu-tuc/site.68ca8406d9.css"));
        assert!(!is_fingerprinted("media/cafe-facadebead-1.jpg"));
        assert_eq!(cache_control("api/procedures.json"), SHORT);
        assert_eq!(cache_control("sw.js"), NO_CACHE);
        assert_eq!(cache_control("assets/form.75f956db73.js"), IMMUTABLE);
        assert_eq!(normalise_prefix("/a/b/"), "a/b/");
        assert_eq!(normalise_prefix("/"), "");
    }
}
