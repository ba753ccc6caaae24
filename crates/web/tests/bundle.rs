//! The function bundle as production uses it (a file the generator wrote, read at start)
//! and form versions: a page older than the function's form is told to reload, on the
//! JSON path and on the plain form post, and nothing is stored.

mod common;

use axum::http::StatusCode;
use catalog::{BundleContent, Shell};
use common::*;
use serde_json::json;
use web::AppState;

const FORM: &str = "/api/dossiers/form";
const STALE: &str = "0123456789ab";

fn fixture() -> catalog::Content {
    catalog::load(&content_dir()).expect("fixture content loads")
}

#[tokio::test]
async fn the_function_runs_on_the_bundle_file_with_the_sites_layout() {
    let content = fixture();
    let shell = Shell {
        site_name: content.site.name.clone(),
        css_href: "/assets/site.0f1e2d3c.css".into(),
        header_html: r#"<header class="top"><a class="brand" href="/">Đầu trang thật</a></header>"#
            .into(),
        footer_html: r#"<footer class="foot"><p>Chân trang thật</p></footer>"#.into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.json");
    let (bytes, hash) = BundleContent::from_content(&content, shell).encode();
    std::fs::write(&path, bytes).unwrap();

    let bundle = web::serve::load_bundle(&path).expect("a built bundle loads");
    assert_eq!(bundle.content_sha256, hash);
    let h = harness_built(
        |_| {},
        |storage, config| AppState::from_bundle(bundle, storage, config),
    )
    .await;
    assert_eq!(h.state.catalog_sha256(), hash);

    // Every page of the function carries the published stylesheet, header and footer.
    let page = h.get("/api/track").await.text();
    assert!(
        page.contains(r#"<link rel="stylesheet" href="/assets/site.0f1e2d3c.css">"#),
        "{page}"
    );
    assert!(page.contains("Đầu trang thật") && page.contains("Chân trang thật"));
    assert!(!page.contains("/assets/site.css"));

    // And it takes a dossier from it.
    let (code, _) = h.submit_trich_luc("bundle-file-0001").await;
    assert!(!code.is_empty());
}

#[tokio::test]
async fn a_missing_or_altered_bundle_stops_the_start_with_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.json");
    let e = web::serve::load_bundle(&path).unwrap_err().to_string();
    assert!(e.contains(&path.display().to_string()), "{e}");
    assert!(
        e.contains("generator build") && e.contains("MOTCUA_CATALOG"),
        "{e}"
    );

    let content = fixture();
    let (bytes, _) =
        BundleContent::from_content(&content, Shell::plain(&content.site.name)).encode();
    let altered =
        String::from_utf8(bytes)
            .unwrap()
            .replacen("\"required\":true", "\"required\":false", 1);
    std::fs::write(&path, altered).unwrap();
    let e = web::serve::load_bundle(&path).unwrap_err().to_string();
    assert!(e.contains(&path.display().to_string()), "{e}");
    assert!(e.contains("mã băm") && e.contains("generator build"), "{e}");

    std::fs::write(&path, "<html>not a bundle</html>").unwrap();
    let e = web::serve::load_bundle(&path).unwrap_err().to_string();
    assert!(e.contains("không phải tệp danh mục JSON"), "{e}");
}

#[tokio::test]
async fn a_json_submission_from_an_older_form_is_told_to_reload() {
    let h = harness().await;
    let current = h
        .state
        .form_version("2.000635")
        .expect("online form")
        .to_owned();
    let content = fixture();
    let written = content
        .procedure("2.000635")
        .and_then(|p| p.form.as_ref())
        .map(catalog::Form::version);
    assert_eq!(Some(current.clone()), written, "the page's version");

    let altcha = h.altcha().await;
    let a = h
        .post_json(
            "/api/dossiers",
            &json!({"procedure": "2.000635", "form_version": STALE,
                "idempotency_key": "stale-json-0001", "altcha": altcha,
                "values": trich_luc_values()}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text());
    let message = a.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("đã được cập nhật") && message.contains("tải lại trang"),
        "{message}"
    );
    assert!(h.manifests().await.is_empty(), "nothing stored");

    // The same submission from the current page goes through.
    let altcha = h.altcha().await;
    let a = h
        .post_json(
            "/api/dossiers",
            &json!({"procedure": "2.000635", "form_version": current,
                "idempotency_key": "stale-json-0001", "altcha": altcha,
                "values": trich_luc_values()}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    assert_eq!(h.manifests().await.len(), 1);
}

#[tokio::test]
async fn a_plain_post_from_an_older_form_gets_the_current_form_and_the_message() {
    let h = harness().await;
    let current = h.state.form_version("1.001193").unwrap().to_owned();
    let (ct, body) = multipart(
        &khai_sinh_form(&[("form_version", STALE)]),
        &[("giay_chung_sinh", "a.pdf", PDF)],
    );
    let a = h.post_raw(FORM, &ct, body).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text());
    let page = a.text();
    assert!(page.contains("đã được cập nhật") && page.contains("tải lại trang"));
    // The form comes back as the function holds it now, filled as sent.
    assert!(
        page.contains(&format!(
            r#"<input type="hidden" name="form_version" value="{current}">"#
        )),
        "{page}"
    );
    assert!(page.contains("Thôn 2"));
    assert!(h.manifests().await.is_empty(), "nothing stored");

    // Sent again from that page, it is taken.
    let current: &'static str = Box::leak(current.into_boxed_str());
    let (ct, body) = multipart(
        &khai_sinh_form(&[("form_version", current)]),
        &[("giay_chung_sinh", "a.pdf", PDF)],
    );
    let a = h.post_raw(FORM, &ct, body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());

    // A post without a version (an old page, another client) is checked as before.
    let (ct, body) = multipart(
        &khai_sinh_form(&[("ho_ten", "Phạm Thị Hoa")]),
        &[("giay_chung_sinh", "b.pdf", PDF)],
    );
    let a = h.post_raw(FORM, &ct, body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    assert_eq!(h.manifests().await.len(), 2);
}
