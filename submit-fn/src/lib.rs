//! What the function's binaries share when they start: the log, and the state a
//! deployed function builds from its environment. Everything else is in the crates.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use web::serve::load_bundle;
use web::{AppState, Config};
use widgets::WidgetsState;

/// Logs to standard error (CloudWatch on Lambda), `RUST_LOG` or `info,aws=warn`.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,aws=warn")),
        )
        .with_target(false)
        .try_init();
}

/// Is this process under a Lambda runtime (or its emulator)?
pub fn on_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// The dossier function's state on Lambda: the configuration from the environment
/// (every problem reported at once), the function bundle beside the bootstrap, the
/// bucket through the function's role.
pub async fn lambda_state() -> anyhow::Result<AppState> {
    let config = Config::from_env()?;
    let bundle = load_bundle(&config.catalog)?;
    tracing::info!(
        "danh mục {} (sha256 {})",
        config.catalog.display(),
        bundle.content_sha256
    );
    let storage = config.storage(None).await;
    Ok(AppState::from_bundle(bundle, storage, config))
}

/// The widgets function's state: only the bucket (`MOTCUA_BUCKET`, and
/// `MOTCUA_S3_ENDPOINT` for a store other than AWS S3) and the site's poll from the
/// function bundle (`MOTCUA_CATALOG`, default `catalog.json`). No secrets: the widgets
/// need none.
pub async fn widgets_state() -> anyhow::Result<WidgetsState> {
    let bucket = std::env::var("MOTCUA_BUCKET").context(
        "MOTCUA_BUCKET chưa đặt: tên bucket hồ sơ (DossierBucket trong infra/template.yaml)",
    )?;
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let endpoint = std::env::var("MOTCUA_S3_ENDPOINT").ok();
    let catalog =
        PathBuf::from(std::env::var("MOTCUA_CATALOG").unwrap_or_else(|_| "catalog.json".into()));
    let bundle = load_bundle(&catalog)?;
    let client = store::s3::client(&region, endpoint.as_deref(), None).await;
    Ok(WidgetsState {
        storage: store::Storage::s3(client, bucket),
        poll: bundle.content.site.poll.map(Arc::new),
    })
}
