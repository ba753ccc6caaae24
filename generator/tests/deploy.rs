//! `generator deploy` against the embedded S3 store: a fixture site is built and
//! published; a second deploy of the same files uploads nothing; one changed file is
//! one upload; a removed file is deleted; a dry run changes nothing.

#![cfg(feature = "serve")] // the embedded store comes with the function

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_sdk_s3::Client;
use generator::deploy::{self, IMMUTABLE, MANIFEST, Options, SHORT};
use generator::{Paths, Site};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn build(out: &Path) {
    let paths = Paths {
        content: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good"),
        templates: root().join("templates"),
        out: out.to_path_buf(),
    };
    let mut site = Site::load(paths, false).unwrap_or_else(|e| panic!("{}", e.report()));
    site.build(false)
        .unwrap_or_else(|e| panic!("{}", e.report()));
}

/// Every object under the bucket: key → (content type, cache control, sha256 metadata, body).
async fn objects(
    client: &Client,
    bucket: &str,
) -> BTreeMap<String, (String, String, String, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let list = client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    for o in list.contents() {
        let key = o.key().unwrap().to_owned();
        let got = client
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .unwrap();
        let ct = got.content_type().unwrap_or_default().to_owned();
        let cc = got.cache_control().unwrap_or_default().to_owned();
        let sha = got
            .metadata()
            .and_then(|m| m.get("sha256"))
            .cloned()
            .unwrap_or_default();
        let body = got.body.collect().await.unwrap().into_bytes().to_vec();
        out.insert(key, (ct, cc, sha, body));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_only_what_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    build(&site);
    let store = web::serve::dev_store(&tmp.path().join("s3")).await.unwrap();
    let client = deploy::static_client(
        &store.endpoint,
        &store.region,
        &store.access_key,
        &store.secret_key,
    );
    client.create_bucket().bucket("site").send().await.unwrap();
    let options = Options {
        prefix: "/".into(),
        ..Options::new("site")
    };

    // A dry run against the empty bucket plans every file and writes nothing.
    let dry = deploy::deploy(
        &client,
        &site,
        &Options {
            dry_run: true,
            ..options.clone()
        },
    )
    .await
    .unwrap();
    let local_count = walkdir::WalkDir::new(&site)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .count();
    assert_eq!(dry.uploaded.len(), local_count);
    assert!(
        objects(&client, "site").await.is_empty(),
        "a dry run wrote something"
    );

    // First deploy: everything, with the right headers.
    let first = deploy::deploy(&client, &site, &options).await.unwrap();
    assert_eq!(first.uploaded.len(), local_count);
    assert!(first.unchanged.is_empty() && first.deleted.is_empty());
    let all = objects(&client, "site").await;
    assert!(all.contains_key(MANIFEST));
    assert_eq!(all.len(), local_count + 1);
    let (ct, cc, sha, body) = &all["index.html"];
    assert_eq!(ct, "text/html; charset=utf-8");
    assert_eq!(cc, SHORT);
    assert_eq!(
        sha,
        &hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body))
    );
    assert_eq!(body, &std::fs::read(site.join("index.html")).unwrap());
    let css = all
        .keys()
        .find(|k| k.starts_with("assets/site.") && k.ends_with(".css"))
        .expect("fingerprinted css");
    assert_eq!(all[css].0, "text/css; charset=utf-8");
    assert_eq!(all[css].1, IMMUTABLE);
    let js = all
        .keys()
        .find(|k| k.starts_with("assets/") && k.ends_with(".js"))
        .expect("a script");
    assert_eq!(all[js].0, "text/javascript; charset=utf-8");
    assert_eq!(all[js].1, IMMUTABLE);
    assert_eq!(
        all["api/procedures.json"].0,
        "application/json; charset=utf-8"
    );
    assert_eq!(all["api/procedures.json"].1, SHORT);
    assert_eq!(all["sitemap.xml"].0, "application/xml; charset=utf-8");
    let pdf = all
        .keys()
        .find(|k| k.ends_with(".pdf"))
        .expect("the fixture's form");
    assert_eq!(all[pdf].0, "application/pdf");
    assert_eq!(all[pdf].1, SHORT);

    // Nothing changed: nothing uploaded, the manifest is not even rewritten.
    let again = deploy::deploy(&client, &site, &options).await.unwrap();
    assert!(
        again.uploaded.is_empty(),
        "uploaded again: {:?}",
        again.uploaded
    );
    assert!(again.deleted.is_empty());
    assert_eq!(again.unchanged.len(), local_count);

    // One changed file, one new file: two uploads.
    let page = site.join("lien-he/index.html");
    let mut html = std::fs::read_to_string(&page).unwrap();
    html.push_str("<!-- đã sửa -->\n");
    std::fs::write(&page, &html).unwrap();
    std::fs::write(site.join("ghi-chu.txt"), "tạm thời\n").unwrap();
    let changed = deploy::deploy(&client, &site, &options).await.unwrap();
    assert_eq!(
        changed.uploaded,
        vec!["ghi-chu.txt".to_string(), "lien-he/index.html".to_string()]
    );
    let all = objects(&client, "site").await;
    assert_eq!(all["lien-he/index.html"].3, html.as_bytes());
    assert_eq!(all["ghi-chu.txt"].0, "text/plain; charset=utf-8");

    // A dry run after a removal reports the deletion and performs none.
    std::fs::remove_file(site.join("ghi-chu.txt")).unwrap();
    let dry = deploy::deploy(
        &client,
        &site,
        &Options {
            dry_run: true,
            ..options.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!(dry.deleted, vec!["ghi-chu.txt".to_string()]);
    assert!(dry.uploaded.is_empty());
    assert!(objects(&client, "site").await.contains_key("ghi-chu.txt"));

    // The real one deletes it.
    let removed = deploy::deploy(&client, &site, &options).await.unwrap();
    assert_eq!(removed.deleted, vec!["ghi-chu.txt".to_string()]);
    assert!(removed.uploaded.is_empty());
    assert!(!objects(&client, "site").await.contains_key("ghi-chu.txt"));

    // An object removed from the bucket behind the manifest's back is put back.
    client
        .delete_object()
        .bucket("site")
        .key("404.html")
        .send()
        .await
        .unwrap();
    let healed = deploy::deploy(&client, &site, &options).await.unwrap();
    assert_eq!(healed.uploaded, vec!["404.html".to_string()]);

    let report = deploy::describe(&healed, "site", "");
    assert!(report.contains("1 tệp tải lên"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_and_a_foreign_bucket() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    build(&site);
    let store = web::serve::dev_store(&tmp.path().join("s3")).await.unwrap();
    let client = deploy::static_client(
        &store.endpoint,
        &store.region,
        &store.access_key,
        &store.secret_key,
    );
    client
        .create_bucket()
        .bucket("shared")
        .send()
        .await
        .unwrap();
    // Something that was in the bucket before: without a manifest it is not ours.
    client
        .put_object()
        .bucket("shared")
        .key("www/old.html")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"old"))
        .send()
        .await
        .unwrap();
    client
        .put_object()
        .bucket("shared")
        .key("elsewhere/keep.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"keep"))
        .send()
        .await
        .unwrap();
    let options = Options {
        prefix: "www".into(),
        ..Options::new("shared")
    };
    let first = deploy::deploy(&client, &site, &options).await.unwrap();
    assert_eq!(first.kept_unknown, vec!["old.html".to_string()]);
    assert!(first.deleted.is_empty());
    let all = objects(&client, "shared").await;
    assert!(all.contains_key("www/index.html"));
    assert!(all.contains_key("www/.motcua-manifest.json"));
    assert!(all.contains_key("www/old.html"));

    // Once the manifest is there, the prefix is ours: the stray object goes; nothing
    // outside the prefix is touched.
    let second = deploy::deploy(&client, &site, &options).await.unwrap();
    assert_eq!(second.deleted, vec!["old.html".to_string()]);
    assert!(second.uploaded.is_empty());
    let all = objects(&client, "shared").await;
    assert!(!all.contains_key("www/old.html"));
    assert!(all.contains_key("elsewhere/keep.txt"));
}

/// The statistics page the schedule writes into the site bucket (thong-ke/) is not the
/// build's: a deploy leaves it in place and never uploads a local copy over it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statistics_page_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    build(&site);
    let store = web::serve::dev_store(&tmp.path().join("s3")).await.unwrap();
    let client = deploy::static_client(
        &store.endpoint,
        &store.region,
        &store.access_key,
        &store.secret_key,
    );
    client.create_bucket().bucket("site").send().await.unwrap();
    let options = Options::new("site");
    deploy::deploy(&client, &site, &options).await.unwrap();
    // The schedule writes the page; the local server left an older copy in the folder.
    client
        .put_object()
        .bucket("site")
        .key("thong-ke/index.html")
        .body(b"<p>so lieu moi</p>".to_vec().into())
        .send()
        .await
        .unwrap();
    std::fs::create_dir_all(site.join("thong-ke")).unwrap();
    std::fs::write(site.join("thong-ke/index.html"), "<p>ban cu</p>").unwrap();
    let again = deploy::deploy(&client, &site, &options).await.unwrap();
    assert!(again.uploaded.is_empty(), "{:?}", again.uploaded);
    assert!(again.deleted.is_empty(), "{:?}", again.deleted);
    let all = objects(&client, "site").await;
    assert_eq!(all["thong-ke/index.html"].3, b"<p>so lieu moi</p>");
    // A rebuild keeps the local copy, for the local server to update.
    build(&site);
    assert!(site.join("thong-ke/index.html").is_file());
}
