//! The store driven as the function drives S3: with aws-sdk-s3 over HTTP (and, for what
//! a browser sends, with a plain HTTP client).

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, MetadataDirective};
use bytes::Bytes;
use dev_store::EmbeddedS3;
use http_body_util::{BodyExt, Full};
use md5::Digest;

/// Production's list (submit-fn's `storage::CONDITIONAL_ONLY`, the template's
/// `RequireConditionalWrites`) when these tests were written.
const POLICY: &[&str] = &[
    "captcha/used/*",
    "sequence/*",
    "idempotency/*",
    "dossiers/*/dossier.json",
    "dossiers/*/events/*",
    "stats/*",
    "polls/*",
];

fn client(store: &EmbeddedS3) -> Client {
    let (ak, sk) = store.keys();
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(store.region.clone()))
        .credentials_provider(Credentials::new(ak, sk, None, None, "test"))
        .endpoint_url(&store.endpoint)
        .force_path_style(true)
        .build();
    Client::from_conf(conf)
}

/// A store in a fresh folder, with bucket `bkt`.
async fn fresh(policy: &'static [&'static str]) -> (tempfile::TempDir, EmbeddedS3, Client) {
    let dir = tempfile::tempdir().unwrap();
    let store = dev_store::start(dir.path(), policy).await.unwrap();
    let s3 = client(&store);
    s3.create_bucket().bucket("bkt").send().await.unwrap();
    (dir, store, s3)
}

async fn fetch(s3: &Client, key: &str) -> aws_sdk_s3::operation::get_object::GetObjectOutput {
    s3.get_object().bucket("bkt").key(key).send().await.unwrap()
}

async fn body_of(s3: &Client, key: &str) -> Vec<u8> {
    fetch(s3, key)
        .await
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
        .to_vec()
}

fn status<E>(e: &SdkError<E>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

fn md5_hex(data: &[u8]) -> String {
    md5::Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn put(
    s3: &Client,
    key: &str,
    body: &'static [u8],
) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
    s3.put_object()
        .bucket("bkt")
        .key(key)
        .body(ByteStream::from_static(body))
}

#[tokio::test]
async fn objects_keep_their_metadata_ranges_and_etags() {
    let (_dir, _store, s3) = fresh(POLICY).await;
    let body = "Xin chào, Ia Pết".as_bytes();
    // The SDK's default here sends a CRC32 checksum in an aws-chunked body.
    let written = s3
        .put_object()
        .bucket("bkt")
        .key("a/b/chào.txt")
        .content_type("text/plain; charset=utf-8")
        .cache_control("max-age=60")
        .metadata("sha256", "abc")
        .body(ByteStream::from_static(body))
        .send()
        .await
        .unwrap();
    let etag = format!("\"{}\"", md5_hex(body));
    assert_eq!(written.e_tag(), Some(etag.as_str()));

    let head = s3
        .head_object()
        .bucket("bkt")
        .key("a/b/chào.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/plain; charset=utf-8"));
    assert_eq!(head.cache_control(), Some("max-age=60"));
    assert_eq!(head.content_length(), Some(body.len() as i64));
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("sha256"))
            .map(String::as_str),
        Some("abc")
    );

    let whole = fetch(&s3, "a/b/chào.txt").await;
    assert_eq!(whole.e_tag(), Some(etag.as_str()));
    assert_eq!(whole.content_type(), Some("text/plain; charset=utf-8"));
    assert_eq!(&whole.body.collect().await.unwrap().into_bytes()[..], body);

    let part = s3
        .get_object()
        .bucket("bkt")
        .key("a/b/chào.txt")
        .range("bytes=0-2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        part.content_range(),
        Some(format!("bytes 0-2/{}", body.len()).as_str())
    );
    assert_eq!(&part.body.collect().await.unwrap().into_bytes()[..], b"Xin");
    // A range past the end of the object.
    let past = s3
        .get_object()
        .bucket("bkt")
        .key("a/b/chào.txt")
        .range("bytes=1000-")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&past), Some(416));

    // A copy with new metadata (as the function moves an upload into its dossier), then
    // the original is unchanged.
    s3.copy_object()
        .bucket("bkt")
        .key("c/copy.txt")
        .copy_source("bkt/a/b/ch%C3%A0o.txt")
        .content_type("application/octet-stream")
        .metadata_directive(MetadataDirective::Replace)
        .send()
        .await
        .unwrap();
    let copy = fetch(&s3, "c/copy.txt").await;
    assert_eq!(copy.content_type(), Some("application/octet-stream"));
    assert_eq!(copy.e_tag(), Some(etag.as_str()));
    assert_eq!(&copy.body.collect().await.unwrap().into_bytes()[..], body);
    let original = fetch(&s3, "a/b/chào.txt").await;
    assert_eq!(original.content_type(), Some("text/plain; charset=utf-8"));
    // A copy that keeps the source's metadata.
    s3.copy_object()
        .bucket("bkt")
        .key("c/same.txt")
        .copy_source("bkt/a/b/ch%C3%A0o.txt")
        .send()
        .await
        .unwrap();
    let same = fetch(&s3, "c/same.txt").await;
    assert_eq!(same.content_type(), Some("text/plain; charset=utf-8"));
    assert_eq!(same.cache_control(), Some("max-age=60"));

    let missing = s3
        .get_object()
        .bucket("bkt")
        .key("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&missing), Some(404));
    let missing = s3
        .head_object()
        .bucket("bkt")
        .key("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&missing), Some(404));
    // A key that names a folder (`a/b` holds `a/b/chào.txt`) holds no object.
    let folder = s3
        .get_object()
        .bucket("bkt")
        .key("a/b")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&folder), Some(404));
    let folder = s3
        .head_object()
        .bucket("bkt")
        .key("a/b")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&folder), Some(404));

    // Deleted, it is gone, and can be created again with If-None-Match.
    s3.delete_object()
        .bucket("bkt")
        .key("c/same.txt")
        .send()
        .await
        .unwrap();
    let gone = s3
        .head_object()
        .bucket("bkt")
        .key("c/same.txt")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&gone), Some(404));
    put(&s3, "c/same.txt", b"again")
        .if_none_match("*")
        .send()
        .await
        .unwrap();
    assert_eq!(body_of(&s3, "c/same.txt").await, b"again");

    // The bucket is there; another is not.
    s3.head_bucket().bucket("bkt").send().await.unwrap();
    let none = s3.head_bucket().bucket("other").send().await.unwrap_err();
    assert_eq!(status(&none), Some(404));
}

#[tokio::test]
async fn a_large_object_streams_back_whole() {
    let (_dir, _store, s3) = fresh(POLICY).await;
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    s3.put_object()
        .bucket("bkt")
        .key("files/scan.pdf")
        .content_type("application/pdf")
        .body(ByteStream::from(big.clone()))
        .send()
        .await
        .unwrap();
    let got = fetch(&s3, "files/scan.pdf").await;
    assert_eq!(got.content_length(), Some(big.len() as i64));
    assert_eq!(got.e_tag(), Some(format!("\"{}\"", md5_hex(&big)).as_str()));
    assert_eq!(got.body.collect().await.unwrap().into_bytes().to_vec(), big);
}

/// The conditions a write can carry, one at a time.
#[tokio::test]
async fn conditional_writes_answer_as_s3() {
    let (_dir, _store, s3) = fresh(&[]).await;
    let first = put(&s3, "k.json", b"{\"n\":1}")
        .if_none_match("*")
        .send()
        .await
        .unwrap();
    let etag = first.e_tag().unwrap().to_owned();

    // Created once only.
    let again = put(&s3, "k.json", b"{\"n\":9}")
        .if_none_match("*")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&again), Some(412));
    // A stale ETag loses; the current one wins, once.
    let stale = put(&s3, "k.json", b"{\"n\":9}")
        .if_match("\"00000000000000000000000000000000\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&stale), Some(412));
    let second = put(&s3, "k.json", b"{\"n\":2}")
        .if_match(&etag)
        .send()
        .await
        .unwrap();
    let replay = put(&s3, "k.json", b"{\"n\":9}")
        .if_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&replay), Some(412));
    assert_eq!(body_of(&s3, "k.json").await, b"{\"n\":2}");
    assert_eq!(
        fetch(&s3, "k.json").await.e_tag(),
        second.e_tag(),
        "the ETag a write answers is the one a read sees"
    );
    // If-Match on a key that is not there: 412 (as s3s-fs and the store before it).
    let absent = put(&s3, "absent.json", b"x")
        .if_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&absent), Some(412));
    // If-None-Match takes only `*` on a write; s3s-fs alone would write regardless.
    let odd = put(&s3, "k.json", b"{\"n\":9}")
        .if_none_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&odd), Some(501));
    assert_eq!(body_of(&s3, "k.json").await, b"{\"n\":2}");
}

/// A copy that names its source's ETag (`CopySourceIfMatch`, as the function copies a
/// checked upload into a dossier) copies only that version, and, asked for SHA-256,
/// answers the copy's checksum as S3 does.
#[tokio::test]
async fn a_copy_if_match_copies_only_the_named_version_with_its_sha256() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let (_dir, _store, s3) = fresh(POLICY).await;
    let first = put(&s3, "uploads/a/1-scan.pdf", b"%PDF-1.7 first")
        .send()
        .await
        .unwrap();
    let checked = first.e_tag().unwrap().to_owned();
    let copy = |etag: &str| {
        s3.copy_object()
            .bucket("bkt")
            .key("dossiers/x/files/1-scan.pdf")
            .copy_source("bkt/uploads/a/1-scan.pdf")
            .copy_source_if_match(etag)
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
            .send()
    };
    let out = copy(&checked).await.unwrap();
    let expected =
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(b"%PDF-1.7 first"));
    assert_eq!(
        out.copy_object_result().unwrap().checksum_sha256(),
        Some(expected.as_str())
    );
    assert_eq!(
        body_of(&s3, "dossiers/x/files/1-scan.pdf").await,
        b"%PDF-1.7 first"
    );
    // The upload written again after its check: the copy is refused, nothing written.
    put(&s3, "uploads/a/1-scan.pdf", b"%PDF-1.7 swapped")
        .send()
        .await
        .unwrap();
    let e = copy(&checked).await.unwrap_err();
    assert_eq!(status(&e), Some(412));
    assert_eq!(
        body_of(&s3, "dossiers/x/files/1-scan.pdf").await,
        b"%PDF-1.7 first"
    );
}

/// Many clients claim one key at once (`If-None-Match: *`, as the function claims a
/// sequence number or an idempotency key): exactly one wins, the others get 412, and
/// the object is the winner's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_of_a_key_have_one_winner() {
    let (_dir, _store, s3) = fresh(POLICY).await;
    const CLAIMS: usize = 24;
    for round in 0..5 {
        let key = format!("sequence/261125/{round:04}");
        let mut tasks = Vec::new();
        for i in 0..CLAIMS {
            let (s3, key) = (s3.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                let body = format!("{{\"claimant\":{i}}}");
                let out = s3
                    .put_object()
                    .bucket("bkt")
                    .key(&key)
                    .if_none_match("*")
                    .body(ByteStream::from(body.into_bytes()))
                    .send()
                    .await;
                match out {
                    Ok(_) => Some(i),
                    Err(e) => {
                        assert_eq!(status(&e), Some(412), "{e:?}");
                        None
                    }
                }
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            winners.extend(t.await.unwrap());
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        assert_eq!(
            body_of(&s3, &key).await,
            format!("{{\"claimant\":{}}}", winners[0]).into_bytes()
        );
    }
}

/// Many clients increment one counter by compare-and-swap at once (read with its ETag,
/// write `If-Match`, retry on 412, as the visitor statistics do): no increment is lost,
/// and each success moved the counter by exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_compare_and_swap_loses_no_update() {
    let (_dir, _store, s3) = fresh(POLICY).await;
    const WORKERS: usize = 8;
    const EACH: usize = 12;
    let key = "stats/count/total/0";
    put(&s3, key, b"0").if_none_match("*").send().await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        let s3 = s3.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0;
            for _ in 0..EACH {
                loop {
                    let got = fetch(&s3, key).await;
                    let etag = got.e_tag().unwrap().to_owned();
                    let bytes = got.body.collect().await.unwrap().into_bytes();
                    let n: usize = std::str::from_utf8(&bytes).unwrap().parse().unwrap();
                    let out = s3
                        .put_object()
                        .bucket("bkt")
                        .key(key)
                        .if_match(&etag)
                        .body(ByteStream::from((n + 1).to_string().into_bytes()))
                        .send()
                        .await;
                    match out {
                        Ok(_) => break,
                        Err(e) => {
                            assert_eq!(status(&e), Some(412), "{e:?}");
                            conflicts += 1;
                        }
                    }
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for t in tasks {
        conflicts += t.await.unwrap();
    }
    let total = String::from_utf8(body_of(&s3, key).await).unwrap();
    assert_eq!(
        total,
        (WORKERS * EACH).to_string(),
        "{conflicts} conflicts along the way"
    );
}

/// The store refuses what the dossier bucket's policy refuses on AWS: a write without a
/// condition to the keys exactly-once rests on, and a copy onto them.
#[tokio::test]
async fn plain_writes_to_conditional_keys_are_refused_as_the_bucket_policy_does() {
    let (_dir, _store, s3) = fresh(POLICY).await;
    for key in [
        "sequence/261125/0001",
        "idempotency/abc.json",
        "captcha/used/abc",
        "dossiers/2026/11/H21.55.01-261125-0001/dossier.json",
        "dossiers/2026/11/H21.55.01-261125-0001/events/000002.json",
        "stats/count/total/0",
        "polls/tim-thay-trang/votes/abc",
    ] {
        let err = put(&s3, key, b"1").send().await.expect_err(key);
        assert_eq!(status(&err), Some(403), "{key}: {err:?}");
        // With a condition, the same write goes through.
        put(&s3, key, b"1").if_none_match("*").send().await.unwrap();
        let etag = fetch(&s3, key).await.e_tag().unwrap().to_owned();
        put(&s3, key, b"2").if_match(etag).send().await.unwrap();
        assert_eq!(body_of(&s3, key).await, b"2");
    }
    let copy = s3
        .copy_object()
        .bucket("bkt")
        .key("dossiers/2026/11/H21.55.01-261125-0002/dossier.json")
        .copy_source("bkt/sequence/261125/0001")
        .send()
        .await;
    assert_eq!(
        status(&copy.expect_err("a copy onto a manifest")),
        Some(403)
    );
    // Everything else is written as usual.
    for key in [
        "dossiers/2026/11/H21.55.01-261125-0001/files/1-scan.pdf",
        "outbox/H21.55.01-261125-0001-received.json",
        "index/snapshot.json",
    ] {
        put(&s3, key, b"1").send().await.unwrap();
    }
    s3.copy_object()
        .bucket("bkt")
        .key("dossiers/2026/11/H21.55.01-261125-0001/files/2-copy.pdf")
        .copy_source("bkt/sequence/261125/0001")
        .send()
        .await
        .unwrap();

    // A store given no patterns refuses nothing.
    let (_dir, _store, open) = fresh(&[]).await;
    put(&open, "sequence/261125/0001", b"1")
        .send()
        .await
        .unwrap();
}

/// A multipart upload: completed by s3s-fs, its object reads and swaps like any other;
/// completing one onto a conditional-only key takes a condition too.
#[tokio::test]
async fn a_multipart_upload_reads_and_swaps() {
    let (_dir, _store, s3) = fresh(POLICY).await;
    async fn upload(
        s3: &Client,
        key: &str,
        body: &'static [u8],
    ) -> (String, CompletedMultipartUpload) {
        let up = s3
            .create_multipart_upload()
            .bucket("bkt")
            .key(key)
            .content_type("application/json")
            .send()
            .await
            .unwrap();
        let id = up.upload_id().unwrap().to_owned();
        let part = s3
            .upload_part()
            .bucket("bkt")
            .key(key)
            .upload_id(&id)
            .part_number(1)
            .body(ByteStream::from_static(body))
            .send()
            .await
            .unwrap();
        let parts = CompletedMultipartUpload::builder()
            .parts(
                CompletedPart::builder()
                    .part_number(1)
                    .e_tag(part.e_tag().unwrap())
                    .build(),
            )
            .build();
        (id, parts)
    }

    let (id, parts) = upload(&s3, "old/report.json", b"{\"n\":1}").await;
    s3.complete_multipart_upload()
        .bucket("bkt")
        .key("old/report.json")
        .upload_id(id)
        .multipart_upload(parts)
        .send()
        .await
        .unwrap();
    let got = fetch(&s3, "old/report.json").await;
    assert_eq!(got.content_type(), Some("application/json"));
    let etag = got.e_tag().unwrap().to_owned();
    assert!(etag.ends_with("-1\""), "a multipart ETag: {etag}");
    assert_eq!(
        &got.body.collect().await.unwrap().into_bytes()[..],
        b"{\"n\":1}"
    );

    // A compare-and-swap on it: the stale ETag loses, the current one wins.
    let stale = put(&s3, "old/report.json", b"{\"n\":2}")
        .if_match("\"00000000000000000000000000000000\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&stale), Some(412));
    put(&s3, "old/report.json", b"{\"n\":2}")
        .if_match(&etag)
        .content_type("application/json")
        .send()
        .await
        .unwrap();
    let got = fetch(&s3, "old/report.json").await;
    assert_eq!(got.content_type(), Some("application/json"));
    assert_eq!(
        &got.body.collect().await.unwrap().into_bytes()[..],
        b"{\"n\":2}"
    );

    // Onto a conditional-only key: refused without a condition, done with one.
    let key = "idempotency/big.json";
    let (id, parts) = upload(&s3, key, b"{}").await;
    let plain = s3
        .complete_multipart_upload()
        .bucket("bkt")
        .key(key)
        .upload_id(&id)
        .multipart_upload(parts.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&plain), Some(403));
    s3.complete_multipart_upload()
        .bucket("bkt")
        .key(key)
        .upload_id(&id)
        .if_none_match("*")
        .multipart_upload(parts)
        .send()
        .await
        .unwrap();
    assert_eq!(body_of(&s3, key).await, b"{}");
}

#[tokio::test]
async fn listings_walk_the_prefix_and_resume() {
    let (_dir, _store, s3) = fresh(&[]).await;
    for key in [
        "dossiers/2026/11/A/dossier.json",
        "dossiers/2026/11/A/files/1.pdf",
        "dossiers/2026/11/B/dossier.json",
        "dossiers/2026/12/C/dossier.json",
        "dossiers-old/x.json",
        "outbox/1.json",
        "top.json",
    ] {
        put(&s3, key, b"{}").send().await.unwrap();
    }
    let list = |prefix: &'static str, after: Option<&'static str>| {
        let s3 = s3.clone();
        async move {
            let out = s3
                .list_objects_v2()
                .bucket("bkt")
                .prefix(prefix)
                .set_start_after(after.map(str::to_owned))
                .send()
                .await
                .unwrap();
            assert_eq!(out.key_count(), Some(out.contents().len() as i32));
            out.contents()
                .iter()
                .map(|o| {
                    assert_eq!(o.size(), Some(2));
                    o.key().unwrap().to_owned()
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list("dossiers/2026/11/", None).await,
        [
            "dossiers/2026/11/A/dossier.json",
            "dossiers/2026/11/A/files/1.pdf",
            "dossiers/2026/11/B/dossier.json"
        ]
    );
    // A prefix that ends inside a name: its folder is walked, the names filtered.
    assert_eq!(
        list("dossiers/2026/1", None).await,
        [
            "dossiers/2026/11/A/dossier.json",
            "dossiers/2026/11/A/files/1.pdf",
            "dossiers/2026/11/B/dossier.json",
            "dossiers/2026/12/C/dossier.json"
        ]
    );
    assert_eq!(
        list("dossiers", None).await,
        [
            "dossiers-old/x.json",
            "dossiers/2026/11/A/dossier.json",
            "dossiers/2026/11/A/files/1.pdf",
            "dossiers/2026/11/B/dossier.json",
            "dossiers/2026/12/C/dossier.json"
        ]
    );
    assert_eq!(list("top.json", None).await, ["top.json"]);
    assert!(list("nothing/here/", None).await.is_empty());
    assert!(list("top.json/", None).await.is_empty());
    assert_eq!(
        list("dossiers/", Some("dossiers/2026/11/A/files/1.pdf")).await,
        [
            "dossiers/2026/11/B/dossier.json",
            "dossiers/2026/12/C/dossier.json"
        ]
    );

    // Page by page, the whole bucket in order.
    let mut pages = s3
        .list_objects_v2()
        .bucket("bkt")
        .max_keys(3)
        .into_paginator()
        .send();
    let mut keys = Vec::new();
    let mut n = 0;
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        n += 1;
        keys.extend(page.contents().iter().map(|o| o.key().unwrap().to_owned()));
    }
    assert_eq!(n, 3);
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(keys.len(), 7);

    // With a delimiter, s3s-fs's own listing.
    let out = s3
        .list_objects_v2()
        .bucket("bkt")
        .prefix("dossiers/2026/")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let folders: Vec<_> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(folders, ["dossiers/2026/11/", "dossiers/2026/12/"]);

    let none = s3
        .list_objects_v2()
        .bucket("other")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&none), Some(404));
}

/// What the browser does with a presigned upload: a preflight from the site's origin,
/// then a PUT of exactly the signed size and type, with no SDK involved.
#[tokio::test]
async fn a_presigned_put_uploads_from_the_browser() {
    let (_dir, store, s3) = fresh(POLICY).await;
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let origin = "http://127.0.0.1:8080";

    let preflight = http::Request::builder()
        .method("OPTIONS")
        .uri(format!("{}/bkt/staging/abc/scan.pdf", store.endpoint))
        .header("origin", origin)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .body(Full::default())
        .unwrap();
    let answer = http.request(preflight).await.unwrap();
    assert!(answer.status().is_success(), "{:?}", answer.status());
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    let methods = answer.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(methods.contains("PUT"), "{methods}");

    let presigned_put = |key: &'static str, size: usize| {
        let s3 = s3.clone();
        async move {
            s3.put_object()
                .bucket("bkt")
                .key(key)
                .content_length(size as i64)
                .content_type("application/pdf")
                .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
                .await
                .unwrap()
        }
    };
    let send = |request: aws_sdk_s3::presigning::PresignedRequest, body: &'static [u8]| {
        let mut put = http::Request::builder()
            .method(request.method())
            .uri(request.uri())
            .header("origin", origin);
        // As the function hands them to the browser: the browser sets the length.
        for (name, value) in request.headers() {
            if !name.eq_ignore_ascii_case("content-length") {
                put = put.header(name, value);
            }
        }
        http.request(put.body(Full::new(Bytes::from_static(body))).unwrap())
    };

    let body: &'static [u8] = b"%PDF-1.7 scan";
    let request = presigned_put("staging/abc/scan.pdf", body.len()).await;
    assert!(
        request.uri().contains("X-Amz-Signature="),
        "{}",
        request.uri()
    );
    let answer = send(request, body).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    let exposed = answer.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("etag"), "{exposed}");
    let etag = answer.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", md5_hex(body)));
    let got = fetch(&s3, "staging/abc/scan.pdf").await;
    assert_eq!(got.content_type(), Some("application/pdf"));
    assert_eq!(&got.body.collect().await.unwrap().into_bytes()[..], body);

    // A signature is for what was signed: the URL with another key, or another size,
    // fails; the URL as signed works.
    let request = presigned_put("staging/abc/other.pdf", body.len()).await;
    let forged = |uri: String, body: &'static [u8]| {
        let mut put = http::Request::builder().method("PUT").uri(uri);
        for (name, value) in request.headers() {
            if !name.eq_ignore_ascii_case("content-length") {
                put = put.header(name, value);
            }
        }
        http.request(put.body(Full::new(Bytes::from_static(body))).unwrap())
    };
    let other_key = forged(request.uri().replace("other.pdf", "third.pdf"), body);
    assert_eq!(other_key.await.unwrap().status(), 403);
    let other_size = forged(request.uri().to_owned(), b"%PDF-1.7 a longer scan");
    assert_eq!(other_size.await.unwrap().status(), 403);
    assert_eq!(send(request, body).await.unwrap().status(), 200);
    assert_eq!(body_of(&s3, "staging/abc/other.pdf").await, body);

    // A presigned PUT to a conditional-only key, without a condition, is refused.
    let request = presigned_put("idempotency/abc.json", 2).await;
    assert_eq!(send(request, b"{}").await.unwrap().status(), 403);

    // And a presigned GET (the console's attachment links).
    let get = s3
        .get_object()
        .bucket("bkt")
        .key("staging/abc/scan.pdf")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let answer = http
        .request(
            http::Request::builder()
                .uri(get.uri())
                .body(Full::default())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let fetched = answer.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&fetched[..], body);
}

/// Stopped and started again on its folder, the store has its objects back (with their
/// ETags and types), and writes a stop cut short are gone.
#[tokio::test]
async fn a_restart_keeps_objects_and_clears_unfinished_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = dev_store::start(dir.path(), POLICY).await.unwrap();
    let s3 = client(&store);
    s3.create_bucket().bucket("bkt").send().await.unwrap();
    let written = put(&s3, "sequence/261125/0001", b"{\"n\":1}")
        .content_type("application/json")
        .if_none_match("*")
        .send()
        .await
        .unwrap();
    store.shutdown();
    drop(store);

    // What s3s-fs leaves when a write is cut short: a temporary file in its root.
    let unfinished = dir.path().join(".tmp.3.internal.part");
    std::fs::write(&unfinished, b"half").unwrap();
    // And what the store leaves of a PUT cut short before its commit: a staged object.
    let staged = dir.path().join(".motcua-staging/4");
    std::fs::create_dir_all(staged.parent().unwrap()).unwrap();
    std::fs::write(&staged, b"half").unwrap();

    let store = dev_store::start(dir.path(), POLICY).await.unwrap();
    let s3 = client(&store);
    assert!(
        !unfinished.exists(),
        "an unfinished write is swept at start"
    );
    assert!(
        !staged.exists(),
        "an unfinished staged PUT is swept at start"
    );
    let got = fetch(&s3, "sequence/261125/0001").await;
    assert_eq!(got.e_tag(), written.e_tag());
    assert_eq!(got.content_type(), Some("application/json"));
    let again = put(&s3, "sequence/261125/0001", b"{}")
        .if_none_match("*")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&again), Some(412));
    let listed = s3.list_objects_v2().bucket("bkt").send().await.unwrap();
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["sequence/261125/0001"]);
}

/// Every file (not folder) under `dir`, relative to it: what the writes left on disk.
/// (The staging folder itself stays, empty, for the next write.)
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut queue = vec![dir.to_path_buf()];
    while let Some(d) = queue.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                queue.push(path);
                continue;
            }
            out.push(path.strip_prefix(dir).unwrap().display().to_string());
        }
    }
    out.sort();
    out
}

/// Writes go through a staging folder and are synced before they are answered
/// (`src/durable.rs`): what the disk holds afterwards is the whole object under its own
/// name, with its attributes and ETag, and nothing staged or temporary. (A power cut is
/// not simulated; this checks what the sync path leaves.)
#[tokio::test]
async fn conditional_writes_leave_whole_objects_and_nothing_staged() {
    let (dir, _store, s3) = fresh(POLICY).await;
    // A claim in folders that do not exist yet, as a new dossier's manifest is.
    let key = "dossiers/2026/12/H21.55.01-261201-0001/dossier.json";
    let first = put(&s3, key, b"{\"v\":1}")
        .content_type("application/json")
        .if_none_match("*")
        .send()
        .await
        .unwrap();
    assert_eq!(
        first.e_tag(),
        Some(format!("\"{}\"", md5_hex(b"{\"v\":1}")).as_str())
    );
    let on_disk = dir.path().join("bkt").join(key);
    assert_eq!(std::fs::read(&on_disk).unwrap(), b"{\"v\":1}");
    // A compare-and-swap over it, as an idempotency record is replaced.
    let second = put(&s3, key, b"{\"v\":2, \"more\": true}")
        .content_type("application/json")
        .if_match(first.e_tag().unwrap())
        .send()
        .await
        .unwrap();
    let got = fetch(&s3, key).await;
    assert_eq!(got.e_tag(), second.e_tag());
    assert_eq!(got.content_type(), Some("application/json"));
    assert_eq!(body_of(&s3, key).await, b"{\"v\":2, \"more\": true}");
    // Refused writes stage nothing either.
    let again = put(&s3, key, b"{}")
        .if_none_match("*")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&again), Some(412));
    let stale = put(&s3, key, b"{}")
        .if_match(first.e_tag().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&stale), Some(412));
    // A copy and a plain write are synced the s3s-fs way; they leave nothing either.
    put(&s3, "uploads/u1/scan.pdf", b"%PDF-1.7")
        .send()
        .await
        .unwrap();
    s3.copy_object()
        .bucket("bkt")
        .key("dossiers/2026/12/H21.55.01-261201-0001/files/1-scan.pdf")
        .copy_source("bkt/uploads/u1/scan.pdf")
        .send()
        .await
        .unwrap();
    // An upload to a bucket that does not exist is refused, not made a folder.
    let nobucket = s3
        .put_object()
        .bucket("nobkt")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&nobucket), Some(404));

    let left: Vec<String> = files_under(dir.path())
        .into_iter()
        .filter(|f| f.contains("staging") || f.contains(".tmp.") || f.contains(".part"))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "staged or temporary files left");
    assert!(!dir.path().join("nobkt").exists());
    let listed = s3.list_objects_v2().bucket("bkt").send().await.unwrap();
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        [
            "dossiers/2026/12/H21.55.01-261201-0001/dossier.json",
            "dossiers/2026/12/H21.55.01-261201-0001/files/1-scan.pdf",
            "uploads/u1/scan.pdf"
        ]
    );
    let buckets = s3.list_buckets().send().await.unwrap();
    let names: Vec<_> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["bkt"], "the staging folder is no bucket");
}
