//! An S3-compatible store in-process on a loopback port, so that development and tests
//! run the same aws-sdk-s3 code path as production: [s3s-fs] (objects as files under a
//! data folder, one folder per bucket) served by [s3s], with what conditional writes need
//! added on top (see `store.rs`):
//!
//! - every read and write of an object runs under that object's lock, so `If-None-Match:
//!   *` and `If-Match` (compare-and-swap on the ETag) are atomic and no update is lost,
//!   as on AWS S3 (412 Precondition Failed when the condition fails);
//! - a write without a condition to a key the bucket policy opens to conditional writes
//!   only is refused (403 AccessDenied), as production's bucket policy refuses it;
//! - a listing walks only the folder its prefix names;
//! - a write is synced to the disk (file and folders) before it is answered, so a power
//!   cut cannot leave an answered object empty (see `durable.rs`).
//!
//! SigV4 keys are always set (random per start): without them s3s answers signed
//! requests with 501. One process per data folder: s3s-fs numbers its temporary files
//! per process, and removes those it finds at start (writes a stop cut short), as the
//! store does with its staged PUTs.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! const CONDITIONAL_ONLY: &[&str] = &["sequence/*", "dossiers/*/dossier.json"];
//! let store = dev_store::start(std::path::Path::new("data/s3"), CONDITIONAL_ONLY).await?;
//! let (access_key, secret_key) = store.keys();
//! // An S3 client with `store.endpoint`, `store.region`, those keys and path-style
//! // addressing.
//! # Ok(()) }
//! ```
//!
//! [s3s]: https://crates.io/crates/s3s
//! [s3s-fs]: https://crates.io/crates/s3s-fs

mod durable;
mod locks;
mod policy;
mod store;

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use policy::{conditional_only, wildcard_match};

/// A running store. Dropping it stops accepting connections.
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
    /// Stops accepting connections (those already open finish their requests).
    pub fn shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }

    /// `(access_key, secret_key)`
    pub fn keys(&self) -> (String, String) {
        (self.access_key.clone(), self.secret_key.clone())
    }
}

impl Drop for EmbeddedS3 {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the store on 127.0.0.1 with a free port, keeping its data in `data_dir` (one
/// folder per bucket, created if missing). Must be called inside a Tokio runtime.
///
/// `conditional_only` lists the keys the production bucket policy opens to conditional
/// writes only, as the policy's resource patterns relative to the bucket (`*` matches
/// any characters, `/` included: [`wildcard_match`]), e.g. submit-fn's
/// `storage::CONDITIONAL_ONLY`. A PUT, copy or multipart completion to one of them
/// without `If-None-Match`/`If-Match` is refused with 403 AccessDenied. `&[]` refuses
/// nothing.
pub async fn start(
    data_dir: &Path,
    conditional_only: &'static [&'static str],
) -> anyhow::Result<EmbeddedS3> {
    start_on(data_dir, "127.0.0.1:0", conditional_only).await
}

/// [`start`] on `bind` (`host:port`; port 0 for a free one).
pub async fn start_on(
    data_dir: &Path,
    bind: &str,
    conditional_only: &'static [&'static str],
) -> anyhow::Result<EmbeddedS3> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("không tạo được thư mục dữ liệu {}", data_dir.display()))?;
    let root = std::fs::canonicalize(data_dir)
        .with_context(|| format!("không mở được thư mục dữ liệu {}", data_dir.display()))?;
    durable::clear_staging(&root)
        .with_context(|| format!("không dọn được các lần ghi dở trong {}", data_dir.display()))?;
    let fs = s3s_fs::FileSystem::new(&root).map_err(|e| {
        anyhow::anyhow!("không mở được kho S3 nhúng ở {}: {e:?}", data_dir.display())
    })?;
    let access_key = format!("MOTCUA{}", hex(&random::<6>()?).to_uppercase());
    let secret_key = hex(&random::<20>()?);
    let service = {
        let mut b =
            s3s::service::S3ServiceBuilder::new(store::Store::new(fs, root, conditional_only));
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
        tower::ServiceBuilder::new().layer(cors).service(b.build())
    };
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("không mở được cổng {bind} cho kho S3 nhúng"))?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    // Read timeouts as every local server has them (the browser's presigned PUTs come
    // here straight from a citizen's phone). s3s takes a PUT's length from hyper's own
    // body, so no body-silence limit: the whole request's limit bounds a stalled body.
    let handle = tokio::spawn(local_http::serve_incoming(
        listener,
        service,
        local_http::Timeouts::LOCAL,
        async {
            let _ = rx.await;
        },
    ));
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

fn random<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("không lấy được số ngẫu nhiên: {e}"))?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
