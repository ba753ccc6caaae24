//! What starting the function needs, whichever binary starts it: the function bundle,
//! and for development the state over the embedded S3 store.

use std::path::Path;

use anyhow::Context as _;
use catalog::Bundle;

use crate::config::Config;
#[cfg(feature = "dev-store")]
use dev_store::EmbeddedS3;

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

/// Starts the development store on a free loopback port, with its data in `dir` and
/// production's bucket policy (the keys only conditional writes may touch).
#[cfg(feature = "dev-store")]
pub async fn dev_store(dir: &Path) -> anyhow::Result<EmbeddedS3> {
    dev_store::start(dir, store::policy::CONDITIONAL_ONLY).await
}

#[cfg(feature = "dev-store")]
/// State for development: the embedded store in `data_dir/s3`, secrets kept in
/// `data_dir/secrets`. The store must be kept alive as long as the state is used.
/// `site_dir`: the built site's folder, where the statistics page is written
/// (`crate::figures`), unless `MOTCUA_SITE_DIR` says otherwise.
pub async fn dev_state(
    bundle: Bundle,
    data_dir: &Path,
    public_url: &str,
    site_dir: Option<&Path>,
) -> anyhow::Result<(AppState, EmbeddedS3)> {
    let mut config = Config::from_env_for_dev(data_dir, public_url)?;
    if config.site_dir.is_none() {
        config.site_dir = site_dir.map(Path::to_path_buf);
    }
    let store = dev_store(&data_dir.join("s3")).await?;
    config.s3_endpoint = Some(store.endpoint.clone());
    let storage = config.storage(Some(store.keys())).await;
    storage
        .ensure_bucket()
        .await
        .context("không tạo được bucket trong kho S3 nhúng")?;
    Ok((AppState::from_bundle(bundle, storage, config), store))
}
