//! Starting the function: under Lambda, or as a local server with (by default) the
//! embedded S3 store.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use catalog::Content;

use crate::config::Config;
use crate::embedded_s3::{self, EmbeddedS3};
use crate::state::AppState;
use crate::storage::{Storage, s3_client};

fn load_content(dir: &Path) -> anyhow::Result<Content> {
    catalog::load(dir).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("nội dung ở {} có lỗi:\n{}", dir.display(), list.join("\n"))
    })
}

/// State for development: the embedded store in `data_dir/s3`, secrets kept in
/// `data_dir/secrets`. The store must be kept alive as long as the state is used.
pub async fn dev_state(
    content: &Content,
    data_dir: &Path,
    public_url: &str,
) -> anyhow::Result<(AppState, EmbeddedS3)> {
    let mut config = Config::from_env_for_dev(data_dir, public_url)?;
    let store = embedded_s3::start(&data_dir.join("s3")).await?;
    config.s3_endpoint = Some(store.endpoint.clone());
    let client = s3_client(&config, Some(store.keys())).await;
    Storage::new(client.clone(), config.bucket.clone())
        .ensure_bucket()
        .await
        .context("không tạo được bucket trong kho S3 nhúng")?;
    Ok((AppState::new(content, client, config), store))
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
        let content = load_content(&config.content_dir)?;
        let client = s3_client(&config, None).await;
        let state = AppState::new(&content, client, config);
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
    let content_dir =
        PathBuf::from(std::env::var("MOTCUA_CONTENT").unwrap_or_else(|_| "content".into()));
    let content = load_content(&content_dir)?;

    let mut _store = None;
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
        let client = s3_client(&config, keys).await;
        Storage::new(client.clone(), config.bucket.clone())
            .ensure_bucket()
            .await
            .context("không dùng được bucket ở MOTCUA_S3_ENDPOINT")?;
        AppState::new(&content, client, config)
    } else {
        let data =
            PathBuf::from(std::env::var("MOTCUA_DATA_DIR").unwrap_or_else(|_| "data".into()));
        let (state, store) = dev_state(&content, &data, &public_url).await?;
        tracing::info!(
            "kho S3 nhúng: {} (dữ liệu ở {})",
            store.endpoint,
            data.join("s3").display()
        );
        _store = Some(store);
        state
    };
    let _outbox_worker = crate::notify::deliver::spawn_worker(state.clone());
    tracing::info!("submit-fn: http://{local}/api/health");
    axum::serve(listener, crate::router(state))
        .await
        .context("máy chủ dừng bất thường")
}
