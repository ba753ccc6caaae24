//! Starting the function: under Lambda, or as a local server with (by default) the
//! embedded S3 store.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use catalog::Bundle;

use crate::config::Config;
#[cfg(feature = "dev-store")]
use crate::embedded_s3::{self, EmbeddedS3};

/// The embedded store kept alive while the server runs; nothing in a Lambda build.
#[cfg(feature = "dev-store")]
pub type DevStore = EmbeddedS3;
#[cfg(not(feature = "dev-store"))]
pub type DevStore = std::convert::Infallible;
use crate::state::AppState;

/// Why the function bundle cannot be used, naming the file and how to make a good one.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "không đọc được tệp danh mục thủ tục {path} ({source}).\n    → Cách sửa: chạy `generator build` (tệp được ghi vào site.function/catalog.json bên cạnh thư mục site/), rồi đặt nó cạnh chương trình hoặc trỏ MOTCUA_CATALOG tới nó"
    )]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "tệp danh mục thủ tục {path} không dùng được: {source}.\n    → Cách sửa: chạy lại `generator build` bằng cùng phiên bản với hàm rồi triển khai lại tệp site.function/catalog.json vừa dựng, không sửa tay"
    )]
    Bundle {
        path: String,
        source: catalog::BundleError,
    },
}

/// Reads the function bundle the generator built (the only way the function learns the
/// procedures: it never parses the Markdown of content/).
pub fn load_bundle(path: &Path) -> Result<Bundle, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.display().to_string(),
        source,
    })?;
    Bundle::decode(&bytes).map_err(|source| LoadError::Bundle {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(feature = "dev-store")]
/// State for development: the embedded store in `data_dir/s3`, secrets kept in
/// `data_dir/secrets`. The store must be kept alive as long as the state is used.
pub async fn dev_state(
    bundle: Bundle,
    data_dir: &Path,
    public_url: &str,
) -> anyhow::Result<(AppState, EmbeddedS3)> {
    let mut config = Config::from_env_for_dev(data_dir, public_url)?;
    let store = embedded_s3::start(&data_dir.join("s3")).await?;
    config.s3_endpoint = Some(store.endpoint.clone());
    let storage = config.storage(Some(store.keys())).await;
    storage
        .ensure_bucket()
        .await
        .context("không tạo được bucket trong kho S3 nhúng")?;
    Ok((AppState::from_bundle(bundle, storage, config), store))
}

/// The `submit-fn` binary.
pub async fn main_from_env() -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,aws=warn")),
        )
        .with_target(false)
        .try_init();

    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        let config = Config::from_env()?;
        let bundle = load_bundle(&config.catalog)?;
        tracing::info!(
            "danh mục {} (sha256 {})",
            config.catalog.display(),
            bundle.content_sha256
        );
        let storage = config.storage(None).await;
        let state = AppState::from_bundle(bundle, storage, config);
        return crate::lambda::run(state)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"));
    }

    let addr = std::env::var("MOTCUA_ADDR").unwrap_or_else(|_| "127.0.0.1:8787".into());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("không mở được cổng {addr} (MOTCUA_ADDR)"))?;
    let local = listener.local_addr()?;
    let public_url =
        std::env::var("MOTCUA_PUBLIC_URL").unwrap_or_else(|_| format!("http://{local}"));
    // Locally the default is where `generator build` writes it in a checkout; on Lambda
    // (above) it is `catalog.json` beside the bootstrap.
    let catalog_path = PathBuf::from(
        std::env::var("MOTCUA_CATALOG").unwrap_or_else(|_| "site.function/catalog.json".into()),
    );
    let bundle = load_bundle(&catalog_path)?;

    #[cfg_attr(not(feature = "dev-store"), allow(unused_mut))]
    let mut _store: Option<DevStore> = None;
    let state = if std::env::var_os("MOTCUA_S3_ENDPOINT").is_some() {
        let secrets =
            PathBuf::from(std::env::var("MOTCUA_DATA_DIR").unwrap_or_else(|_| "data".into()));
        let config = Config::from_env_for_dev(&secrets, &public_url)?;
        let keys = match (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Ok(a), Ok(s)) => Some((a, s)),
            _ => None,
        };
        let storage = config.storage(keys).await;
        storage
            .ensure_bucket()
            .await
            .context("không dùng được bucket ở MOTCUA_S3_ENDPOINT")?;
        AppState::from_bundle(bundle, storage, config)
    } else {
        #[cfg(feature = "dev-store")]
        {
            let data =
                PathBuf::from(std::env::var("MOTCUA_DATA_DIR").unwrap_or_else(|_| "data".into()));
            let (state, store) = dev_state(bundle, &data, &public_url).await?;
            tracing::info!(
                "kho S3 nhúng: {} (dữ liệu ở {})",
                store.endpoint,
                data.join("s3").display()
            );
            _store = Some(store);
            state
        }
        #[cfg(not(feature = "dev-store"))]
        anyhow::bail!(
            "bản dựng này không có kho S3 nhúng (chỉ dùng trên Lambda).\n    → Cách sửa: đặt MOTCUA_S3_ENDPOINT tới một kho S3, hoặc dùng bản dựng mặc định (`cargo run -p submit-fn`)"
        )
    };
    let _outbox_worker =
        outbox::deliver::spawn_worker(state.storage().clone(), state.notifier().clone());
    tracing::info!("submit-fn: http://{local}/api/health");
    axum::serve(listener, crate::router(state))
        .await
        .context("máy chủ dừng bất thường")
}
