//! The function's process: under Lambda, or as a local server with (by default) the
//! embedded S3 store.

use std::path::PathBuf;

use anyhow::Context as _;
use web::serve::{DevStore, load_bundle};
use web::{AppState, Config};

/// Runs under the Lambda runtime, or as the local server.
pub async fn run() -> anyhow::Result<()> {
    submit_fn::init_tracing();
    if submit_fn::on_lambda() {
        let state = submit_fn::lambda_state().await?;
        return web::lambda::run_http(web::router(state))
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
            // The site `generator build` wrote beside the bundle (`site.function/` →
            // `site/`), if it is there.
            let site = catalog_path.parent().and_then(|dir| {
                let name = dir.file_name()?.to_str()?.strip_suffix(".function")?;
                Some(dir.with_file_name(name)).filter(|p| p.is_dir())
            });
            let (state, store) =
                web::serve::dev_state(bundle, &data, &public_url, site.as_deref()).await?;
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
    // The widgets' figures, folded on a timer as the schedule folds them on Lambda.
    let _widgets_fold = match widgets::fold::interval_from_env().map_err(anyhow::Error::msg)? {
        Some(every) => {
            let widgets = state.widgets();
            Some(widgets::fold::spawn(every, move || widgets.clone()))
        }
        None => None,
    };
    // The public statistics page, when there is a site folder to write it into.
    let _figures = match web::figures::interval_from_env().map_err(anyhow::Error::msg)? {
        Some(every)
            if state.config().site_dir.is_some() || state.config().site_bucket.is_some() =>
        {
            let state = state.clone();
            Some(web::figures::spawn(every, move || state.clone()))
        }
        _ => None,
    };
    tracing::info!("submit-fn: http://{local}/api/health");
    // With read timeouts (axum::serve has none): a slow client cannot hold a connection.
    local_http::serve(
        listener,
        web::router(state),
        local_http::Timeouts::LOCAL,
        std::future::pending(),
    )
    .await;
    Ok(())
}
