//! The function bundle: written by the same build as the site, beside it and never in
//! it, carrying the site's own layout and the form versions the pages show; and
//! `generator serve`'s function runs on it and takes the rebuilt one.
#![cfg(feature = "serve")]

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use generator::{Paths, Site};
use tower::ServiceExt;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `good` fixture copied into `dir/content` and built into `dir/site`.
fn build_fixture(dir: &Path) -> Site {
    let content = dir.join("content");
    for entry in walkdir::WalkDir::new(root().join("generator/tests/fixtures/good")) {
        let entry = entry.unwrap();
        let rel = entry
            .path()
            .strip_prefix(root().join("generator/tests/fixtures/good"))
            .unwrap();
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(content.join(rel)).unwrap();
        } else {
            std::fs::copy(entry.path(), content.join(rel)).unwrap();
        }
    }
    let paths = Paths {
        content,
        templates: root().join("templates"),
        out: dir.join("site"),
    };
    let mut site = Site::load(paths, true).unwrap_or_else(|e| panic!("{}", e.report()));
    site.build(false)
        .unwrap_or_else(|e| panic!("{}", e.report()));
    site
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

/// The `form_version` a built form page carries.
fn page_version(site: &Path, slug: &str) -> String {
    let page = read(site.join(format!("thu-tuc/{slug}/nop-truc-tuyen/index.html")));
    let marker = r#"name="form_version" value=""#;
    let start = page
        .find(marker)
        .expect("the form page carries its version")
        + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

#[test]
fn the_bundle_is_written_beside_the_site_with_its_layout_and_form_versions() {
    let dir = tempfile::tempdir().unwrap();
    build_fixture(dir.path());
    let site = dir.path().join("site");
    let path = dir.path().join("site.function/catalog.json");
    assert_eq!(generator::bundle::path(&site), path);
    let bundle = web::serve::load_bundle(&path).expect("the build wrote a good bundle");

    // Nothing of it is in the published folder: not the file, not its content.
    for entry in walkdir::WalkDir::new(&site) {
        let entry = entry.unwrap();
        assert_ne!(entry.file_name(), "catalog.json");
        if entry.file_type().is_file() {
            let bytes = std::fs::read(entry.path()).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains("content_sha256"),
                "{} carries the bundle's content",
                entry.path().display()
            );
        }
    }

    // The function's pages get exactly the site's stylesheet, header and footer.
    let shell = &bundle.content.shell;
    assert!(
        shell.css_href.starts_with("/assets/site.") && shell.css_href != "/assets/site.css",
        "{}",
        shell.css_href
    );
    assert!(site.join(shell.css_href.trim_start_matches('/')).is_file());
    let not_found = read(site.join("404.html"));
    assert!(shell.header_html.starts_with(r#"<header class="top">"#));
    assert!(
        not_found.contains(&shell.header_html),
        "{}",
        shell.header_html
    );
    assert!(shell.footer_html.starts_with(r#"<footer class="foot">"#));
    assert!(
        not_found.contains(&shell.footer_html),
        "{}",
        shell.footer_html
    );
    assert!(!shell.header_html.contains("{{") && !shell.header_html.contains("{#"));

    // The version the page shows, the schema JSON gives and the function holds agree.
    let version = page_version(&site, "dang-ky-khai-tu");
    assert_eq!(bundle.form_version("1.000656"), Some(version.as_str()));
    let schema: serde_json::Value =
        serde_json::from_str(&read(site.join("api/forms/1.000656.json"))).unwrap();
    assert_eq!(schema["form_version"], version.as_str());
    assert_eq!(bundle.form_version("1.004837"), None, "level 2: no form");
}

async fn send(router: &axum::Router, request: Request<Body>) -> (StatusCode, String) {
    let answer = router.clone().oneshot(request).await.unwrap();
    let status = answer.status();
    let body = axum::body::to_bytes(answer.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn submission(version: &str) -> Request<Body> {
    let body = serde_json::json!({
        "procedure": "1.000656", "form_version": version,
        "idempotency_key": "dev-serve-0001", "altcha": "", "values": {}
    });
    Request::post("/api/dossiers")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn generator_serves_the_function_on_the_bundle_it_just_built() {
    let dir = tempfile::tempdir().unwrap();
    let mut site = build_fixture(dir.path());
    let (api, _store) =
        generator::dev_api::router(&dir.path().join("data"), &site, "http://127.0.0.1:8080")
            .await
            .expect("the dev function starts");

    let (status, page) = send(
        &api,
        Request::get("/api/track").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let css = &web::serve::load_bundle(&generator::bundle::path(&site.paths.out))
        .unwrap()
        .content
        .shell
        .css_href;
    assert!(page.contains(&format!(r#"<link rel="stylesheet" href="{css}">"#)));
    assert!(page.contains(r#"<header class="top">"#) && page.contains(r#"<footer class="foot">"#));

    // A route with a path parameter answers as the function does (the mount's own
    // `{*rest}` parameter once leaked into it: every such route gave 500).
    let (status, answer) = send(
        &api,
        Request::get("/api/dossiers/H21.IAPET-261201-0001?token=khong-dung")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(answer.contains("Không tìm thấy hồ sơ"), "{answer}");

    // The editor makes the phone optional; the page and the function change together.
    let before = page_version(&site.paths.out, "dang-ky-khai-tu");
    let file = site.paths.content.join("procedures/dang-ky-khai-tu.md");
    let text = read(&file);
    let edited = text.replace(
        "type: phone, required: true",
        "type: phone, required: false",
    );
    assert_ne!(edited, text);
    std::fs::write(&file, edited).unwrap();
    site.rebuild(std::slice::from_ref(&file))
        .unwrap_or_else(|e| panic!("{}", e.report()));
    // As `generator serve` does once the browser has been told to reload.
    assert!(site.write_stale_bundle().unwrap());
    let after = page_version(&site.paths.out, "dang-ky-khai-tu");
    assert_ne!(after, before);

    // A page opened before the edit is told to reload…
    let (status, body) = send(&api, submission(&before)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("tải lại trang"), "{body}");
    // …and one from the rebuilt page is checked as usual (here: no proof of work).
    let (status, body) = send(&api, submission(&after)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}
