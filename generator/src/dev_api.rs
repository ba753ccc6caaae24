//! The function mounted at /api for local runs: the same router as on Lambda, over an
//! embedded S3-compatible store in the data folder, with the site's own header and
//! footer around its pages.

use std::path::Path;

use axum::Router;
use submit_fn::embedded_s3::EmbeddedS3;
use submit_fn::html::Shell;

use crate::Site;

pub async fn router(
    data: &Path,
    site: &Site,
    public_url: &str,
) -> anyhow::Result<(Router, EmbeddedS3)> {
    let (state, store) = submit_fn::serve::dev_state(&site.content, data, public_url).await?;
    let state = state.with_shell(shell(site));
    Ok((submit_fn::router(state), store))
}

/// The header and footer of the built site, so that the function's pages (receipt,
/// form with errors, tracking) look like the rest of the site.
fn shell(site: &Site) -> Shell {
    let page = std::fs::read_to_string(site.paths.out.join("404.html")).unwrap_or_default();
    let between = |start: &str, end: &str| -> String {
        page.find(start)
            .and_then(|s| {
                page[s..]
                    .find(end)
                    .map(|e| page[s..s + e + end.len()].to_owned())
            })
            .unwrap_or_default()
    };
    Shell {
        site_name: site.content.site.name.clone(),
        css_href: site
            .theme
            .assets
            .urls
            .get("site.css")
            .cloned()
            .unwrap_or_default(),
        header_html: between("<header", "</header>"),
        footer_html: between("<footer", "</footer>"),
    }
}
