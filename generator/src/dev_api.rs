//! The function mounted at /api for local runs: the same router as on Lambda, over an
//! embedded S3-compatible store in the data folder, built from the function bundle the
//! build just wrote (`site.function/catalog.json`), the very file a deploy ships, so
//! that what is tried locally is what runs in production. After each rebuild the next
//! request finds a new bundle and the function takes it: a changed form is enforced as
//! the reloaded page shows it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;
use web::AppState;
use web::serve::DevStore as EmbeddedS3;

use crate::Site;

/// The function's router, rebuilt when the bundle file changes.
struct Live {
    path: PathBuf,
    current: Mutex<(Option<Stamp>, AppState, Router)>,
}

impl Live {
    fn router(&self) -> Router {
        let stamp = modified(&self.path);
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if stamp != current.0 {
            match web::serve::load_bundle(&self.path) {
                Ok(bundle) => {
                    let state = current.1.with_bundle(bundle);
                    *current = (stamp, state.clone(), web::router(state));
                }
                // The build renames a whole file into place, so this is a bundle broken
                // by hand: say so, and keep serving the last good one.
                Err(e) => eprintln!("{e}"),
            }
        }
        current.2.clone()
    }
}

/// What tells one bundle file from the next: each build renames a new file into place,
/// so on Unix its inode changes even when the clock's granularity would hide the write.
type Stamp = (SystemTime, u64, u64);

fn modified(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.modified().ok()?, meta.len(), inode))
}

pub async fn router(
    data: &Path,
    site: &Site,
    public_url: &str,
) -> anyhow::Result<(Router, EmbeddedS3)> {
    let path = crate::bundle::path(&site.paths.out);
    let stamp = modified(&path);
    let bundle = web::serve::load_bundle(&path)?;
    let (state, store) =
        web::serve::dev_state(bundle, data, public_url, Some(&site.paths.out)).await?;
    let live = Arc::new(Live {
        path,
        current: Mutex::new((stamp, state.clone(), web::router(state))),
    });
    // The widgets' figures, folded on a timer as the schedule folds them on Lambda
    // (`MOTCUA_WIDGETS_FOLD_INTERVAL` seconds, default 2), with the poll of the last
    // good bundle. The task ends with the server's runtime.
    if let Some(every) = widgets::fold::interval_from_env().map_err(anyhow::Error::msg)? {
        let live = live.clone();
        widgets::fold::spawn(every, move || {
            let current = live.current.lock().unwrap_or_else(|e| e.into_inner());
            current.1.widgets()
        });
    }
    // The public statistics page, written into the site's folder as the schedule
    // writes it into the site bucket (`MOTCUA_STATS_INTERVAL` seconds, default 5).
    if let Some(every) = web::figures::interval_from_env().map_err(anyhow::Error::msg)? {
        let live = live.clone();
        web::figures::spawn(every, move || {
            let current = live.current.lock().unwrap_or_else(|e| e.into_inner());
            current.1.clone()
        });
    }
    let service = tower::service_fn(move |request: Request<Body>| {
        let router = live.router();
        // A request as it arrived, without what the outer route put in its extensions:
        // its `{*rest}` parameter would otherwise be added to the function's own path
        // parameters, and every `Path` extractor there would fail (a 500 on every
        // route with a parameter, e.g. the console's dossier page).
        let (parts, body) = request.into_parts();
        let mut fresh = Request::new(body);
        *fresh.method_mut() = parts.method;
        *fresh.uri_mut() = parts.uri;
        *fresh.version_mut() = parts.version;
        *fresh.headers_mut() = parts.headers;
        async move { router.oneshot(fresh).await }
    });
    Ok((Router::new().route_service("/api/{*rest}", service), store))
}
