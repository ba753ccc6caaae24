//! The embedded S3 store answers like S3 for what the project uses, whichever layout an
//! object was written in: one file with its metadata attached (plain puts and copies),
//! or s3s-fs's own (multipart uploads, older data folders).

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, MetadataDirective};
use md5::Digest;

async fn client(store: &web::embedded_s3::EmbeddedS3) -> Client {
    let (ak, sk) = store.keys();
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(store.region.clone()))
        .credentials_provider(Credentials::new(ak, sk, None, None, "test"))
        .endpoint_url(&store.endpoint)
        .force_path_style(true)
        .build();
    let client = Client::from_conf(conf);
    client.create_bucket().bucket("bkt").send().await.unwrap();
    client
}

async fn fetch(s3: &Client, key: &str) -> aws_sdk_s3::operation::get_object::GetObjectOutput {
    s3.get_object().bucket("bkt").key(key).send().await.unwrap()
}

#[tokio::test]
async fn objects_keep_their_metadata_ranges_and_etags() {
    let dir = tempfile::tempdir().unwrap();
    let store = web::embedded_s3::start(dir.path()).await.unwrap();
    let s3 = client(&store).await;
    let body = "Xin chào, Ia Pết".as_bytes();
    // The SDK's default here sends a CRC32 checksum in an aws-chunked body.
    let put = s3
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
    let md5 = hex::encode(md5::Md5::digest(body));
    assert_eq!(put.e_tag(), Some(format!("\"{md5}\"").as_str()));

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
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("sha256"))
            .map(String::as_str),
        Some("abc")
    );

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

    // A copy with new metadata, then the original is unchanged.
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
    assert_eq!(copy.e_tag(), Some(format!("\"{md5}\"").as_str()));
    assert_eq!(&copy.body.collect().await.unwrap().into_bytes()[..], body);

    // Listing shows the objects, and nothing of a write in progress.
    std::fs::write(dir.path().join("bkt/a/b/.x.1-1.motcua-part"), b"half").unwrap();
    let listed = s3.list_objects_v2().bucket("bkt").send().await.unwrap();
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["a/b/chào.txt", "c/copy.txt"]);
    // Resuming after a key, and page by page.
    let after = s3
        .list_objects_v2()
        .bucket("bkt")
        .start_after("a/b/chào.txt")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = after.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["c/copy.txt"]);
    let first = s3
        .list_objects_v2()
        .bucket("bkt")
        .max_keys(1)
        .send()
        .await
        .unwrap();
    assert_eq!(first.is_truncated(), Some(true));
    let second = s3
        .list_objects_v2()
        .bucket("bkt")
        .max_keys(1)
        .continuation_token(first.next_continuation_token().unwrap())
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = first
        .contents()
        .iter()
        .chain(second.contents())
        .filter_map(|o| o.key())
        .collect();
    assert_eq!(keys, ["a/b/chào.txt", "c/copy.txt"]);
    assert_eq!(second.is_truncated(), Some(false));

    let missing = s3
        .get_object()
        .bucket("bkt")
        .key("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        missing.raw_response().map(|r| r.status().as_u16()),
        Some(404)
    );
}

#[tokio::test]
async fn a_large_object_streams_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = web::embedded_s3::start(dir.path()).await.unwrap();
    let s3 = client(&store).await;
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
    assert_eq!(got.body.collect().await.unwrap().into_bytes().to_vec(), big);
}

#[tokio::test]
async fn an_object_in_s3s_fs_layout_still_reads_and_swaps() {
    let dir = tempfile::tempdir().unwrap();
    let store = web::embedded_s3::start(dir.path()).await.unwrap();
    let s3 = client(&store).await;
    // A multipart upload is completed by s3s-fs, in its own layout.
    let up = s3
        .create_multipart_upload()
        .bucket("bkt")
        .key("old/report.json")
        .content_type("application/json")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let part = s3
        .upload_part()
        .bucket("bkt")
        .key("old/report.json")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from_static(b"{\"n\":1}"))
        .send()
        .await
        .unwrap();
    s3.complete_multipart_upload()
        .bucket("bkt")
        .key("old/report.json")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let got = fetch(&s3, "old/report.json").await;
    assert_eq!(got.content_type(), Some("application/json"));
    let etag = got.e_tag().unwrap().to_owned();
    assert_eq!(
        &got.body.collect().await.unwrap().into_bytes()[..],
        b"{\"n\":1}"
    );

    // A compare-and-swap on it: the stale ETag loses, the current one wins.
    let stale = s3
        .put_object()
        .bucket("bkt")
        .key("old/report.json")
        .if_match("\"00000000000000000000000000000000\"")
        .body(ByteStream::from_static(b"{\"n\":2}"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(stale.raw_response().map(|r| r.status().as_u16()), Some(412));
    s3.put_object()
        .bucket("bkt")
        .key("old/report.json")
        .if_match(&etag)
        .content_type("application/json")
        .body(ByteStream::from_static(b"{\"n\":2}"))
        .send()
        .await
        .unwrap();
    let got = fetch(&s3, "old/report.json").await;
    assert_eq!(got.content_type(), Some("application/json"));
    assert_eq!(
        &got.body.collect().await.unwrap().into_bytes()[..],
        b"{\"n\":2}"
    );
}

/// The store refuses what the dossier bucket's policy refuses on AWS: a write without a
/// condition to the keys exactly-once rests on, and a copy onto them.
#[tokio::test]
async fn plain_writes_to_conditional_keys_are_refused_as_the_bucket_policy_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = web::embedded_s3::start(dir.path()).await.unwrap();
    let s3 = client(&store).await;
    let put = |key: &'static str| {
        s3.put_object()
            .bucket("bkt")
            .key(key)
            .body(ByteStream::from_static(b"1"))
    };
    for key in [
        "sequence/261125/0001",
        "idempotency/abc.json",
        "captcha/used/abc",
        "dossiers/2026/11/H21.55.01-261125-0001/dossier.json",
        "dossiers/2026/11/H21.55.01-261125-0001/events/000002.json",
        "stats/count/total/0",
        "polls/tim-thay-trang/votes/abc",
    ] {
        let err = put(key).send().await.expect_err(key);
        let status = err.raw_response().map(|r| r.status().as_u16());
        assert_eq!(status, Some(403), "{key}: {err:?}");
        // With a condition, the same write goes through.
        put(key).if_none_match("*").send().await.unwrap();
        let etag = fetch(&s3, key).await.e_tag().unwrap().to_owned();
        put(key).if_match(etag).send().await.unwrap();
    }
    let copy = s3
        .copy_object()
        .bucket("bkt")
        .key("dossiers/2026/11/H21.55.01-261125-0002/dossier.json")
        .copy_source("bkt/sequence/261125/0001")
        .send()
        .await;
    assert_eq!(
        copy.expect_err("a copy onto a manifest")
            .raw_response()
            .map(|r| r.status().as_u16()),
        Some(403)
    );
    // Everything else is written as usual.
    for key in [
        "dossiers/2026/11/H21.55.01-261125-0001/files/1-scan.pdf",
        "outbox/H21.55.01-261125-0001-received.json",
        "index/snapshot.json",
    ] {
        put(key).send().await.unwrap();
    }
}
