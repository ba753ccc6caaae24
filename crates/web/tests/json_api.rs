//! The JSON routes through the router (tower oneshot) against a real S3 API.

mod common;

use base64::Engine as _;

use axum::http::StatusCode;
use bytes::Bytes;
use common::*;
use serde_json::{Value, json};
use sha2::Digest as _;

fn today_code_prefix() -> String {
    let now = time::OffsetDateTime::now_utc().to_offset(catalog::vn_time::VN);
    format!(
        "T00.01.01-{:02}{:02}{:02}-",
        now.year() % 100,
        u8::from(now.month()),
        now.day()
    )
}

fn fields(a: &Answer) -> Vec<String> {
    a.json()["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {}", a.text()))
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn health_and_challenge() {
    let h = harness().await;
    let a = h.get("/api/health").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json(), json!({"ok": true}));
    let c = h.get("/api/challenge").await.json();
    assert_eq!(c["algorithm"], "SHA-256");
    assert_eq!(c["challenge"].as_str().unwrap().len(), 64);
    assert!(c["salt"].as_str().unwrap().contains("?expires="));
    assert_eq!(h.get("/api/nothing").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_dossier_is_received_stored_and_trackable() {
    let h = harness().await;
    let (key, altcha, check) = h.stage("giay_chung_sinh", "chung-sinh.pdf", PDF).await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.text());
    let a = h
        .dossier_as(
            &altcha,
            "key-aaaaaaaa-0001",
            khai_sinh_values(),
            json!([{"field": "giay_chung_sinh", "key": key, "name": "Giấy chứng sinh.pdf"}]),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let r = &a.json()["receipt"];
    let code = r["code"].as_str().unwrap();
    assert_eq!(code, format!("{}0001", today_code_prefix()));
    assert_eq!(r["applicant"]["name"], "Nguyễn Thị Lan");
    assert_eq!(r["applicant"]["phone"], "0912345678");
    assert_eq!(r["applicant"]["email"], "lan@example.vn");
    assert_eq!(r["applicant"]["address"], "Thôn 1, Xã Thử Nghiệm, Tỉnh Mẫu");
    assert_eq!(r["requested"], "Đăng ký khai sinh");
    assert_eq!(r["documents"][0]["name"], "Giấy chứng sinh");
    assert_eq!(r["documents"][0]["files"][0], "Giấy chứng sinh.pdf");
    assert!(
        r["receiving_unit"]["name"]
            .as_str()
            .unwrap()
            .contains("xã Thử Nghiệm")
    );
    assert!(
        r["processing_time"]
            .as_str()
            .unwrap()
            .contains("Ngay trong ngày")
    );
    assert_eq!(r["appointment"]["time"], "16:00");
    assert!(r["qr_svg"].as_str().unwrap().starts_with("<svg"));
    let token = r["tracking_token"].as_str().unwrap();
    assert!(token.len() >= 24);
    assert!(
        r["tracking_url"]
            .as_str()
            .unwrap()
            .contains("/api/track?code=")
    );

    // The bucket: manifest with hashes only, the file, the first event, the notice.
    let manifests = h.manifests().await;
    assert_eq!(manifests.len(), 1);
    let manifest = h.storage().get(&manifests[0]).await.unwrap().unwrap();
    let text = String::from_utf8(manifest.to_vec()).unwrap();
    assert!(!text.contains(token), "the token itself is never stored");
    let m: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(m["procedure"]["code"], "1.001193");
    assert_eq!(m["fields"]["so_ban"], 2);
    let att = &m["attachments"][0];
    assert_eq!(att["size"], PDF.len());
    assert_eq!(att["type"], "application/pdf");
    assert_eq!(att["sha256"], hex::encode(sha2::Sha256::digest(PDF)));
    let file_key = att["key"].as_str().unwrap();
    assert!(
        file_key.ends_with("/files/1-giay-chung-sinh.pdf"),
        "{file_key}"
    );
    assert_eq!(
        h.storage().get(file_key).await.unwrap().unwrap().as_ref(),
        PDF
    );
    let prefix = manifests[0].trim_end_matches("dossier.json");
    assert!(
        h.storage()
            .get(&format!("{prefix}events/000001.json"))
            .await
            .unwrap()
            .is_some()
    );
    let outbox = h.storage().list("outbox/").await.unwrap();
    assert_eq!(outbox.len(), 1);
    let notice: Value =
        serde_json::from_slice(&h.storage().get(&outbox[0]).await.unwrap().unwrap()).unwrap();
    assert_eq!(notice["sms"]["to"], "0912345678");
    assert!(notice["sms"]["text"].as_str().unwrap().contains(code));
    assert_eq!(notice["email"]["to"], "lan@example.vn");

    // Tracking with the token; nothing without it.
    let t = h.get(&format!("/api/dossiers/{code}?token={token}")).await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text());
    let t = t.json();
    assert_eq!(t["status"], "received");
    assert_eq!(t["procedure"]["code"], "1.001193");
    assert_eq!(t["history"][0]["status"], "received");
    let wrong = h
        .get(&format!(
            "/api/dossiers/{code}?token=AAAAAAAAAAAAAAAAAAAAAAAA"
        ))
        .await;
    let missing = h.get(&format!("/api/dossiers/{code}")).await;
    let unknown = h
        .get(&format!(
            "/api/dossiers/{}9999?token={token}",
            today_code_prefix()
        ))
        .await;
    let garbage = h.get("/api/dossiers/..%2F..%2Fetc?token=x").await;
    for other in [&missing, &unknown, &garbage] {
        assert_eq!(wrong.status, StatusCode::NOT_FOUND);
        assert_eq!(other.status, wrong.status);
        assert_eq!(other.body, wrong.body);
    }
    assert!(wrong.text().contains("Không tìm thấy hồ sơ"));
    let page = h
        .get(&format!("/api/track?code={code}&token={token}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("<html lang=\"vi\">") && page.text().contains(code));
    let page = h.get(&format!("/api/track?code={code}&token=nope")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

/// The same submission sent several times at once (a double tap on a slow network, the
/// page's retry racing the first attempt): one dossier, every answer naming it, exactly
/// one of them "created".
#[tokio::test]
async fn twins_sent_at_once_are_one_dossier() {
    let h = harness().await;
    for round in 0..5 {
        let (key, altcha, _) = h.stage("giay_chung_sinh", "a.pdf", PDF).await;
        let body = json!({"procedure": "1.001193", "idempotency_key": format!("twins-at-once-{round}"),
            "altcha": altcha, "values": khai_sinh_values(),
            "uploads": [{"field": "giay_chung_sinh", "key": key, "name": "a.pdf"}]});
        let before = h.manifests().await.len();
        let answers =
            futures_util::future::join_all((0..4).map(|_| h.post_json("/api/dossiers", &body)))
                .await;
        let created = answers
            .iter()
            .filter(|a| a.status == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1, "round {round}");
        let codes: std::collections::HashSet<String> = answers
            .iter()
            .map(|a| {
                assert!(a.status.is_success(), "{}", a.text());
                a.json()["receipt"]["code"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(codes.len(), 1, "round {round}: {codes:?}");
        assert_eq!(h.manifests().await.len(), before + 1);
    }
}

#[tokio::test]
async fn the_same_key_is_one_dossier_and_another_key_another() {
    let h = harness().await;
    let (key, altcha, _) = h.stage("giay_chung_sinh", "a.pdf", PDF).await;
    let uploads = json!([{"field": "giay_chung_sinh", "key": key, "name": "a.pdf"}]);
    let body = json!({"procedure": "1.001193", "idempotency_key": "same-key-123456", "altcha": altcha,
        "values": khai_sinh_values(), "uploads": uploads});
    let first = h.post_json("/api/dossiers", &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let second = h.post_json("/api/dossiers", &body).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    assert_eq!(first.json()["receipt"], second.json()["receipt"]);
    assert_eq!(h.manifests().await.len(), 1);

    // A staged file serves one submission: another key cannot take it, neither under
    // another proof of work (the file was issued under the first one) nor under the
    // same (used by the first submission).
    let other = h
        .dossier("other-key-123456", khai_sinh_values(), uploads.clone())
        .await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.text()
    );
    assert_eq!(fields(&other), vec!["giay_chung_sinh"]);
    assert!(other.text().contains("lần gửi khác"), "{}", other.text());
    let replayed = h
        .dossier_as(
            &altcha,
            "other-key-123457",
            khai_sinh_values(),
            uploads.clone(),
        )
        .await;
    assert_eq!(
        replayed.status,
        StatusCode::FORBIDDEN,
        "{}",
        replayed.text()
    );
    assert_eq!(h.manifests().await.len(), 1);
    // The same file chosen again for the other dossier: its own upload, its own dossier.
    let (again, altcha2, _) = h.stage("giay_chung_sinh", "a.pdf", PDF).await;
    let other = h
        .dossier_as(
            &altcha2,
            "other-key-123456",
            khai_sinh_values(),
            json!([{"field": "giay_chung_sinh", "key": again, "name": "a.pdf"}]),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text());
    assert_ne!(
        other.json()["receipt"]["code"],
        first.json()["receipt"]["code"]
    );
    assert_eq!(h.manifests().await.len(), 2);
    // The first submission's retry still answers its receipt.
    let retry = h.post_json("/api/dossiers", &body).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text());
    assert_eq!(retry.json()["receipt"], first.json()["receipt"]);

    // The same key with different content is refused, not silently merged.
    let mut changed = body.clone();
    changed["values"]["ho_ten"] = json!("Người Khác");
    let a = h.post_json("/api/dossiers", &changed).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&a), vec!["_form"]);
}

/// The data objects of an EMVCo QR payload or template (id → value), each length
/// checked. Written here from the specification, apart from `catalog::vietqr`.
fn emv_tlv(text: &str) -> std::collections::BTreeMap<String, String> {
    let mut fields = std::collections::BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let id = &rest[..2];
        let len: usize = rest[2..4].parse().expect("a two-digit length");
        fields.insert(id.to_owned(), rest[4..4 + len].to_owned());
        rest = &rest[4 + len..];
    }
    fields
}

/// Whether a payload's CRC (CRC-16/CCITT-FALSE over everything before its value) holds.
fn emv_crc_holds(payload: &str) -> bool {
    let (body, sent) = payload.split_at(payload.len() - 4);
    let mut crc: u16 = 0xFFFF;
    for b in body.bytes() {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    body.ends_with("6304") && format!("{crc:04X}") == sent
}

/// A level-4 dossier: the amount follows the copies and the delivery chosen, the
/// receipt names only the chosen way with its address, and the receipt and the
/// tracking page carry a VietQR code for that amount, with the dossier's code as the
/// transfer's message.
#[tokio::test]
async fn a_level_4_dossier_shows_its_fee_and_a_vietqr_to_pay_it() {
    let h = harness().await;
    let mut values = trich_luc_values();
    values["so_ban"] = json!("3");
    values["nhan_ket_qua"] = json!("buu_dien");
    values["dia_chi_nhan"] = json!({"detail": "Số 5, thôn Plei Ring", "commune": "Xã Thử Nghiệm", "province": "Tỉnh Mẫu"});
    let a = h
        .post_json(
            "/api/dossiers",
            &json!({"procedure": "2.000635", "idempotency_key": "fee-by-post-0001",
                "altcha": h.altcha().await, "values": values}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let receipt = &a.json()["receipt"];
    let code = receipt["code"].as_str().unwrap();
    assert_eq!(receipt["fee"]["total"], 3 * 8000 + 25000);
    assert_eq!(receipt["fee"]["total_text"], "49.000 đồng");
    let collection = receipt["result_collection"].as_str().unwrap();
    assert!(
        collection.starts_with("Nhận qua dịch vụ bưu chính, gửi đến: Số 5, thôn Plei Ring"),
        "{collection}"
    );
    assert!(!collection.contains("trực tiếp"), "{collection}");
    let payload = receipt["transfer"]["payload"].as_str().unwrap();
    let fields = emv_tlv(payload);
    assert!(emv_crc_holds(payload), "{payload}");
    assert_eq!(fields["01"], "12", "dynamic: one amount, one message");
    assert_eq!(fields["53"], "704");
    assert_eq!(fields["54"], "49000");
    let merchant = emv_tlv(&fields["38"]);
    assert_eq!(merchant["00"], "A000000727");
    assert_eq!(merchant["02"], "QRIBFTTA");
    assert_eq!(
        merchant["01"],
        "0006970405".to_owned() + "01135100201012345"
    );
    let additional = emv_tlv(&fields["62"]);
    let message = code.replace(['.', '-'], "");
    assert_eq!(additional["08"], message);
    let html = a.json()["receipt_html"].as_str().unwrap().to_owned();
    assert!(
        html.contains(&format!("data-vietqr=\"{payload}\"")),
        "{html}"
    );
    assert!(html.contains("Lưu ảnh mã QR") && html.contains("data:image/png;base64,"));
    assert!(
        html.contains("Tổng cộng: <strong>49.000 đồng</strong>"),
        "{html}"
    );

    // The tracking page says the same.
    let token = receipt["tracking_token"].as_str().unwrap();
    let page = h
        .get(&format!("/api/track?code={code}&token={token}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(
        text.contains(&format!("data-vietqr=\"{payload}\"")),
        "{text}"
    );
    assert!(text.contains("gửi đến: Số 5, thôn Plei Ring"), "{text}");

    // At the desk, one copy: no postage, and the desk only.
    let mut values = trich_luc_values();
    values["nhan_ket_qua"] = json!("tai_xa");
    let a = h
        .post_json(
            "/api/dossiers",
            &json!({"procedure": "2.000635", "idempotency_key": "fee-at-desk-0001",
                "altcha": h.altcha().await, "values": values}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let receipt = &a.json()["receipt"];
    assert_eq!(receipt["fee"]["total"], 8000);
    let collection = receipt["result_collection"].as_str().unwrap();
    assert!(collection.starts_with("Nhận trực tiếp"), "{collection}");
    assert!(!collection.contains("bưu chính"), "{collection}");
    let fields = emv_tlv(receipt["transfer"]["payload"].as_str().unwrap());
    assert_eq!(fields["54"], "8000");
}

#[tokio::test]
async fn concurrent_submissions_get_distinct_codes() {
    let h = harness().await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let altcha = h.altcha().await;
        let router = h.router.clone();
        let body = json!({"procedure": "2.000635", "idempotency_key": format!("concurrent-{i:04}"),
            "altcha": altcha, "values": trich_luc_values()});
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let req = axum::http::Request::post("/api/dossiers")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(serde_json::to_vec(&body).unwrap()))
                .unwrap();
            let resp = router.oneshot(req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::CREATED);
            let bytes = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .unwrap()
                .to_bytes();
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            v["receipt"]["code"].as_str().unwrap().to_owned()
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 12);
    // Also from a second instance that starts with no hint (like another Lambda).
    let content = catalog::load(&content_dir()).unwrap();
    let other = web::AppState::new(&content, h.storage().clone(), h.state.config().clone());
    let h2 = Harness {
        router: web::router(other.clone()),
        state: other,
        store: None,
        moto: h.moto,
        dir: tempfile::tempdir().unwrap(),
    };
    let a = h2
        .post_json(
            "/api/dossiers",
            &json!({"procedure": "2.000635", "idempotency_key": "second-instance",
        "altcha": h.altcha().await, "values": trich_luc_values()}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert!(
        a.json()["receipt"]["code"]
            .as_str()
            .unwrap()
            .ends_with("-0013")
    );
}

#[tokio::test]
async fn direct_upload_with_presigned_put() {
    let h = harness().await;
    let altcha = h.altcha().await;
    let a = h
        .post_json(
            "/api/uploads",
            &json!({"procedure": "1.001193", "altcha": altcha, "files": [
                {"field": "giay_chung_sinh", "name": "../../Giấy chứng sinh.pdf", "size": PDF.len(), "type": "application/pdf"}
            ]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let up = &a.json()["uploads"][0];
    let key = up["key"].as_str().unwrap();
    assert!(web::intake::valid_staging_key(key), "{key}");
    assert!(key.ends_with("-1-giay-chung-sinh.pdf"));
    assert_eq!(up["headers"]["content-type"], "application/pdf");
    let url = up["url"].as_str().unwrap();
    if !h.moto {
        // The length is signed: another size is refused (moto does not check).
        let mut longer = PDF.to_vec();
        longer.extend_from_slice(b"more");
        assert_eq!(presigned_put(url, &up["headers"], longer).await, 403);
    }
    let refs = json!([{"field": "giay_chung_sinh", "key": key, "name": "Giấy chứng sinh.pdf"}]);
    // Before its check the file is not taken.
    assert_eq!(presigned_put(url, &up["headers"], PDF.to_vec()).await, 200);
    let d = h
        .dossier_as(
            &altcha,
            "presigned-123456",
            khai_sinh_values(),
            refs.clone(),
        )
        .await;
    assert_eq!(d.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", d.text());
    assert!(d.text().contains("chưa kiểm tra xong"), "{}", d.text());
    let c = h
        .post_json(
            "/api/uploads/check",
            &json!({"procedure": "1.001193", "altcha": altcha, "files": refs}),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text());
    assert_eq!(c.json()["files"][0]["ok"], true);
    let d = h
        .dossier_as(&altcha, "presigned-123456", khai_sinh_values(), refs)
        .await;
    assert_eq!(d.status, StatusCode::CREATED, "{}", d.text());
}

/// Upload tickets and checks are given only for a solved, signed, unexpired proof of
/// work, and a check only of keys issued under it.
#[tokio::test]
async fn uploads_and_their_check_need_a_proof_of_work() {
    let h = harness().await;
    let files = json!([{"field": "giay_chung_sinh", "name": "a.pdf", "size": PDF.len(), "type": "application/pdf"}]);
    let forged = web::captcha::solve(&web::captcha::create(
        b"another-key-another-key-another-key",
        100,
        time::OffsetDateTime::now_utc().unix_timestamp(),
        600,
    ))
    .unwrap();
    let stale = web::captcha::solve(&web::captcha::create(
        &h.state.config().captcha_key,
        100,
        time::OffsetDateTime::now_utc().unix_timestamp() - 3600,
        600,
    ))
    .unwrap();
    for altcha in [
        None,
        Some("bm90IGpzb24="),
        Some(forged.as_str()),
        Some(stale.as_str()),
    ] {
        let mut body = json!({"procedure": "1.001193", "files": files});
        if let Some(a) = altcha {
            body["altcha"] = json!(a);
        }
        let a = h.post_json("/api/uploads", &body).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{altcha:?}: {}", a.text());
        assert!(a.json()["message"].as_str().unwrap().contains("xác minh"));
        assert_eq!(fields(&a), vec!["altcha"]);
        let c = h
            .post_json(
                "/api/uploads/check",
                &json!({"procedure": "1.001193", "altcha": altcha.unwrap_or_default(),
                    "files": [{"field": "giay_chung_sinh", "key": "uploads/0123456789abcdef0123456789abcdef/01234567-1-a.pdf", "name": "a.pdf"}]}),
            )
            .await;
        assert_eq!(c.status, StatusCode::FORBIDDEN, "{}", c.text());
    }
    assert!(h.storage().list("uploads/").await.unwrap().is_empty());
    // Another proof of work's upload is not checked under this one.
    let (key, _, _) = h.stage("giay_chung_sinh", "a.pdf", PDF).await;
    let c = h
        .post_json(
            "/api/uploads/check",
            &json!({"procedure": "1.001193", "altcha": h.altcha().await,
                "files": [{"field": "giay_chung_sinh", "key": key, "name": "a.pdf"}]}),
        )
        .await;
    assert_eq!(c.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", c.text());
    assert_eq!(fields(&c), vec!["giay_chung_sinh"]);
}

/// The bytes judged are the bytes stored: a JPEG and a PDF, uploaded in two requests
/// under one proof of work, are in the dossier byte for byte, with their SHA-256.
#[tokio::test]
async fn checked_uploads_are_stored_byte_for_byte() {
    let h = harness().await;
    let jpeg: &[u8] = include_bytes!("../../../content/media/mot-cua-quay-tiep-nhan.jpg");
    let altcha = h.altcha().await;
    let (photo, c1) = h
        .stage_under(&altcha, "giay_chung_sinh", "anh chup.jpg", jpeg)
        .await;
    let (pdf, c2) = h.stage_under(&altcha, "giay_khac", "giay.pdf", PDF).await;
    assert_eq!((c1.status, c2.status), (StatusCode::OK, StatusCode::OK));
    assert_ne!(photo, pdf);
    let a = h
        .dossier_as(
            &altcha,
            "byte-for-byte-01",
            khai_sinh_values(),
            json!([{"field": "giay_chung_sinh", "key": photo, "name": "anh chup.jpg"},
                   {"field": "giay_khac", "key": pdf, "name": "giay.pdf"}]),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let m: Value = serde_json::from_slice(
        &h.storage()
            .get(&h.manifests().await[0])
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    for (att, bytes, kind) in [
        (&m["attachments"][0], jpeg, "image/jpeg"),
        (&m["attachments"][1], PDF, "application/pdf"),
    ] {
        assert_eq!(att["type"], kind);
        assert_eq!(att["size"], bytes.len());
        assert_eq!(att["sha256"], hex::encode(sha2::Sha256::digest(bytes)));
        let stored = h
            .storage()
            .get(att["key"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&stored)),
            hex::encode(sha2::Sha256::digest(bytes))
        );
    }
}

/// Bytes written to a staged key after its check (the presigned URL still valid) are
/// refused at submission beside the file's field: the copy names the ETag checked.
/// Nothing becomes a dossier, and a file chosen again goes through.
#[tokio::test]
async fn a_file_swapped_after_its_check_is_refused_beside_its_field() {
    let h = harness().await;
    let (key, altcha, check) = h.stage("giay_chung_sinh", "don.pdf", PDF).await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.text());
    let swapped = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
    h.storage()
        .put(&key, Bytes::from_static(swapped), "application/pdf")
        .await
        .unwrap();
    let refs = json!([{"field": "giay_chung_sinh", "key": key, "name": "don.pdf"}]);
    let a = h
        .dossier_as(&altcha, "swapped-after-1", khai_sinh_values(), refs)
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
    assert_eq!(fields(&a), vec!["giay_chung_sinh"]);
    let m = a.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        m.contains("don.pdf") && m.contains("thay đổi sau khi"),
        "{m}"
    );
    // No dossier: no manifest, and the notice written beside the files (the same
    // round) is not one a delivery pass would send.
    assert!(h.manifests().await.is_empty());
    for key in h.storage().list("outbox/").await.unwrap() {
        let record: outbox::OutboxRecord =
            serde_json::from_slice(&h.storage().get(&key).await.unwrap().unwrap()).unwrap();
        let standing =
            outbox::deliver::standing(h.storage(), &record, time::OffsetDateTime::now_utc())
                .await
                .unwrap();
        assert_ne!(standing, outbox::deliver::Standing::Confirmed, "{key}");
    }
    let dossier_objects = h.storage().list("dossiers/").await.unwrap();
    if !h.moto {
        // The dev store refuses the copy (412); moto ignores `CopySourceIfMatch`, and
        // the copy's SHA-256 catches it after the copy.
        assert!(
            !dossier_objects.iter().any(|k| k.contains("/files/")),
            "{dossier_objects:?}"
        );
    }
    // The citizen chooses the file again: the same submission goes through.
    let (again, check) = h
        .stage_under(&altcha, "giay_chung_sinh", "don.pdf", PDF)
        .await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.text());
    let a = h
        .dossier_as(
            &altcha,
            "swapped-after-1",
            khai_sinh_values(),
            json!([{"field": "giay_chung_sinh", "key": again, "name": "don.pdf"}]),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let m: Value = serde_json::from_slice(
        &h.storage()
            .get(&h.manifests().await[0])
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let stored = h
        .storage()
        .get(m["attachments"][0]["key"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.as_ref(), PDF);
}

/// The check gives the browser its verdict, signed for the staged key: sent back with
/// the file, the submission reads nothing for it (the kept copy may even be gone); a
/// token altered on the way is not believed.
#[tokio::test]
async fn the_checks_signed_verdict_spares_the_submission_reading_it() {
    let h = harness().await;
    for (n, tamper) in [(1, false), (2, true)] {
        let (key, altcha, check) = h.stage("giay_chung_sinh", "don.pdf", PDF).await;
        assert_eq!(check.status, StatusCode::OK, "{}", check.text());
        let mut token = check.json()["files"][0]["verdict"]
            .as_str()
            .expect("a signed verdict")
            .to_owned();
        if tamper {
            // Another size in the verdict, the signature as it was.
            let (body, mac) = token.split_once('.').unwrap();
            let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(body)
                .unwrap();
            let mut v: Value = serde_json::from_slice(&json).unwrap();
            v["size"] = json!(1);
            let body = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(serde_json::to_vec(&v).unwrap());
            token = format!("{body}.{mac}");
        }
        h.storage()
            .delete(&web::intake::verdict_key(&key))
            .await
            .unwrap();
        let a = h
            .dossier_as(
                &altcha,
                &format!("carried-verdict-{n}"),
                khai_sinh_values(),
                json!([{"field": "giay_chung_sinh", "key": key, "name": "don.pdf", "verdict": token}]),
            )
            .await;
        if tamper {
            assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
            assert!(a.text().contains("chưa kiểm tra xong"), "{}", a.text());
        } else {
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        }
    }
}

#[tokio::test]
async fn upload_requests_are_checked() {
    let h = harness().await;
    let altcha = h.altcha().await;
    let a = h
        .post_json(
            "/api/uploads",
            &json!({"procedure": "1.001193", "altcha": altcha, "files": [
                {"field": "nope", "name": "a.pdf", "size": 10, "type": "application/pdf"},
                {"field": "giay_khac", "name": "big.pdf", "size": 200 * 1024, "type": "application/pdf"},
                {"field": "giay_khac", "name": "a.png", "size": 100, "type": "image/png"},
                {"field": "ho_ten", "name": "a.pdf", "size": 100, "type": "application/pdf"},
            ]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&a), vec!["_form", "giay_khac", "giay_khac", "_form"]);
    assert!(a.text().contains("vượt giới hạn"));
    let a = h
        .post_json(
            "/api/uploads",
            &json!({"procedure": "1.004837", "altcha": altcha, "files": []}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = h
        .post_raw(
            "/api/uploads",
            "application/json",
            b"{\"procedure\":".to_vec(),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn every_problem_is_reported_at_once_in_vietnamese() {
    let h = harness().await;
    let (exe, altcha, check) = h.stage("giay_chung_sinh", "scan.pdf", EXE).await;
    assert_eq!(
        check.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        check.text()
    );
    assert!(check.text().contains("không phải PDF"), "{}", check.text());
    let values = json!({"ho_ten": "", "so_dinh_danh": "12345", "dien_thoai": "12345", "email": "khong-phai-email",
        "noi_cu_tru": {"detail": "Thôn 1"}, "ngay_sinh_tre": "2999-01-01", "so_ban": "99",
        "la": "x"});
    let a = h
        .dossier_as(
            &altcha,
            "many-errors-1234",
            values,
            json!([{"field": "giay_chung_sinh", "key": exe, "name": "scan.pdf"}]),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
    let f = fields(&a);
    for id in [
        "_form",
        "ho_ten",
        "so_dinh_danh",
        "dien_thoai",
        "email",
        "noi_cu_tru",
        "ngay_sinh_tre",
        "so_ban",
        "giay_chung_sinh",
    ] {
        assert!(f.contains(&id.to_owned()), "{id} missing in {f:?}");
    }
    assert!(a.text().contains("không phải PDF"), "{}", a.text());
    assert!(h.manifests().await.is_empty());
}

#[tokio::test]
async fn bad_inputs_are_4xx_with_a_message() {
    let h = harness().await;
    // Malformed JSON, wrong shapes.
    for body in [&b"{not json"[..], b"[]", b"{\"procedure\": 5}", b""] {
        let a = h
            .post_raw("/api/dossiers", "application/json", body.to_vec())
            .await;
        assert_eq!(
            a.status,
            StatusCode::BAD_REQUEST,
            "{}",
            String::from_utf8_lossy(body)
        );
        assert!(a.json()["message"].as_str().unwrap().contains("JSON"));
    }
    // Wrong value types.
    let mut v = khai_sinh_values();
    v["ho_ten"] = json!({"x": {"y": 1}});
    let a = h.dossier("wrong-types-1234", v, json!([])).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut v = khai_sinh_values();
    v["ho_ten"] = json!(["a", "b"]);
    let a = h.dossier("wrong-types-1235", v, json!([])).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(fields(&a).contains(&"ho_ten".to_owned()));
    // Oversized text.
    let mut v = khai_sinh_values();
    v["ho_ten"] = json!("x".repeat(6000));
    let a = h.dossier("oversized-12345", v, json!([])).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.text().contains("dài quá"));
    // Missing attachment.
    let a = h
        .dossier("no-file-1234567", khai_sinh_values(), json!([]))
        .await;
    assert_eq!(fields(&a), vec!["giay_chung_sinh"]);
    // Staging keys that try to leave the staging area, and files on unknown fields.
    let a = h
        .dossier("traversal-12345", khai_sinh_values(), json!([
            {"field": "giay_chung_sinh", "key": "uploads/../dossiers/2025/01/x/dossier.json", "name": "a.pdf"},
            {"field": "../../etc", "key": "uploads/00000000000000000000000000000000/1-a.pdf", "name": "a.pdf"}
        ]))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A staged key that was never uploaded (a ticket, no PUT): no verdict.
    let altcha = h.altcha().await;
    let t = h
        .post_json(
            "/api/uploads",
            &json!({"procedure": "1.001193", "altcha": altcha, "files": [
                {"field": "giay_chung_sinh", "name": "a.pdf", "size": 10, "type": "application/pdf"}]}),
        )
        .await;
    let never = t.json()["uploads"][0]["key"].as_str().unwrap().to_owned();
    let refs = json!([{"field": "giay_chung_sinh", "key": never, "name": "a.pdf"}]);
    let c = h
        .post_json(
            "/api/uploads/check",
            &json!({"procedure": "1.001193", "altcha": altcha, "files": refs}),
        )
        .await;
    assert_eq!(c.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(c.text().contains("chưa tải lên xong"), "{}", c.text());
    let a = h
        .dossier_as(&altcha, "not-uploaded-123", khai_sinh_values(), refs)
        .await;
    assert_eq!(fields(&a), vec!["giay_chung_sinh"]);
    assert!(a.text().contains("chưa kiểm tra xong"), "{}", a.text());
    // Too many files.
    let (okey, altcha, _) = h.stage("giay_chung_sinh", "ok.pdf", PDF).await;
    let many: Vec<Value> = (0..11)
        .map(|_| json!({"field": "giay_chung_sinh", "key": okey, "name": "a.pdf"}))
        .collect();
    let a = h
        .dossier_as(&altcha, "too-many-1234567", khai_sinh_values(), json!(many))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.text().contains("tối đa"));
    // Unknown procedure, level 2, honeypot, no idempotency key.
    let altcha = h.altcha().await;
    for (procedure, website, key, field) in [
        ("9.999999", "", "unknown-proc-1234", "procedure"),
        ("1.004837", "", "level-two-123456", "procedure"),
        ("2.000635", "http://spam", "honeypot-1234567", "_form"),
        ("2.000635", "", "", "_form"),
    ] {
        let a = h
            .post_json(
                "/api/dossiers",
                &json!({"procedure": procedure, "idempotency_key": key, "website": website,
                "altcha": altcha, "values": trich_luc_values()}),
            )
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{procedure}: {}",
            a.text()
        );
        assert_eq!(fields(&a), vec![field]);
    }
    assert!(h.manifests().await.is_empty());
}

#[tokio::test]
async fn captcha_missing_wrong_stale_or_replayed_is_403() {
    let h = harness().await;
    let body = |key: &str, altcha: &str| json!({"procedure": "2.000635", "idempotency_key": key, "altcha": altcha, "values": trich_luc_values()});
    let a = h
        .post_json("/api/dossiers", &body("captcha-none-1234", ""))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.json()["message"].as_str().unwrap().contains("xác minh"));
    let a = h
        .post_json("/api/dossiers", &body("captcha-junk-1234", "bm90IGpzb24="))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // Signed with another key.
    let c = web::captcha::create(
        b"another-key-another-key-another-key",
        100,
        time::OffsetDateTime::now_utc().unix_timestamp(),
        600,
    );
    let a = h
        .post_json(
            "/api/dossiers",
            &body("captcha-forged-12", &web::captcha::solve(&c).unwrap()),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // Stale.
    let key = h.state.config().captcha_key.clone();
    let c = web::captcha::create(
        &key,
        100,
        time::OffsetDateTime::now_utc().unix_timestamp() - 3600,
        600,
    );
    let a = h
        .post_json(
            "/api/dossiers",
            &body("captcha-stale-123", &web::captcha::solve(&c).unwrap()),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.text().contains("hết hạn"));
    // Replayed for a different submission.
    let altcha = h.altcha().await;
    assert_eq!(
        h.post_json("/api/dossiers", &body("captcha-first-123", &altcha))
            .await
            .status,
        StatusCode::CREATED
    );
    let a = h
        .post_json("/api/dossiers", &body("captcha-second-12", &altcha))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.text().contains("đã được dùng"));
    assert_eq!(h.manifests().await.len(), 1);
}

#[tokio::test]
async fn storage_down_mid_submission_then_a_retry_succeeds_once() {
    let h = harness().await;
    for ops in 0..40 {
        let key = format!("storage-down-{ops:04}");
        let (file, altcha, _) = h.stage("giay_chung_sinh", "a.pdf", PDF).await;
        let uploads = json!([{"field": "giay_chung_sinh", "key": file, "name": "a.pdf"}]);
        let body = json!({"procedure": "1.001193", "idempotency_key": key, "altcha": altcha,
            "values": khai_sinh_values(), "uploads": uploads});
        let before = h.manifests().await.len();
        h.storage().fail_after(Some(ops));
        let a = h.post_json("/api/dossiers", &body).await;
        h.storage().fail_after(None);
        if a.status == StatusCode::CREATED {
            assert!(ops > 5, "the store was down for only {ops} steps");
            // The README's fault-injection figure (`-- --nocapture`).
            eprintln!(
                "fault injection: failed at each of {ops} store requests, {ops} retries, {ops} dossiers, none lost or doubled"
            );
            return;
        }
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text());
        assert!(a.json()["message"].as_str().unwrap().contains("thử lại"));
        assert_eq!(
            h.manifests().await.len(),
            before,
            "nothing visible as a dossier"
        );
        let retry = h.post_json("/api/dossiers", &body).await;
        assert_eq!(
            retry.status,
            StatusCode::CREATED,
            "after failing at step {ops}: {}",
            retry.text()
        );
        let again = h.post_json("/api/dossiers", &body).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(
            retry.json()["receipt"]["code"],
            again.json()["receipt"]["code"]
        );
        assert_eq!(h.manifests().await.len(), before + 1);
    }
    panic!("never succeeded");
}

/// A submission the store failed halfway, then edited and sent again with the same key,
/// becomes that dossier with the new content; it is not refused as "sent with other
/// content" under a code no dossier has. Once a dossier exists, other content under its
/// key is still refused, naming it.
#[tokio::test]
async fn an_edited_resend_after_a_failed_attempt_becomes_the_dossier() {
    let h = harness().await;
    let mut took_over = 0;
    for ops in 0..40 {
        let key = format!("edited-resend-{ops:04}");
        // One attempt's proof of work, as the form keeps it for the resend.
        let (file, altcha, _) = h.stage("giay_chung_sinh", "a.pdf", PDF).await;
        let uploads = json!([{"field": "giay_chung_sinh", "key": file, "name": "a.pdf"}]);
        let body = |values: serde_json::Value, altcha: &str| {
            json!({"procedure": "1.001193", "idempotency_key": key, "altcha": altcha,
                "values": values, "uploads": uploads})
        };
        let first = khai_sinh_values();
        let mut edited = khai_sinh_values();
        let name_field = edited
            .as_object()
            .unwrap()
            .keys()
            .find(|k| k.contains("ho_ten"))
            .cloned()
            .expect("a name field");
        edited[&name_field] = json!("Trần Thị Bình");
        let records = h.storage().list("idempotency/").await.unwrap().len();
        h.storage().fail_after(Some(ops));
        let a = h.post_json("/api/dossiers", &body(first, &altcha)).await;
        h.storage().fail_after(None);
        if a.status == StatusCode::CREATED {
            // The first attempt went through: other content under its key is refused.
            let b = h.post_json("/api/dossiers", &body(edited, &altcha)).await;
            assert_eq!(b.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", b.text());
            let code = a.json()["receipt"]["code"].as_str().unwrap().to_owned();
            assert!(b.text().contains(&code), "{}", b.text());
            assert!(
                took_over > 0,
                "no failed attempt left a record to take over"
            );
            return;
        }
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text());
        // Did the failed attempt get as far as its record (and its code)?
        let left_a_record = h.storage().list("idempotency/").await.unwrap().len() > records;
        let b = h.post_json("/api/dossiers", &body(edited, &altcha)).await;
        assert_eq!(
            b.status,
            StatusCode::CREATED,
            "edited after failing at step {ops}: {}",
            b.text()
        );
        let receipt = &b.json()["receipt"];
        assert_eq!(receipt["applicant"]["name"], "Trần Thị Bình", "{receipt}");
        let code = receipt["code"].as_str().unwrap();
        let token = receipt["tracking_token"].as_str().unwrap();
        let t = h.get(&format!("/api/dossiers/{code}?token={token}")).await;
        assert_eq!(
            t.status,
            StatusCode::OK,
            "the dossier {code} exists: {}",
            t.text()
        );
        // The notice the dossier's citizen gets is the edited form's.
        let notice = h
            .storage()
            .get(&format!("outbox/{code}-received.json"))
            .await
            .unwrap()
            .expect("the received notice");
        let notice = String::from_utf8_lossy(&notice);
        assert!(
            notice.contains("Trần Thị Bình") && !notice.contains("Nguyễn Thị Lan"),
            "after failing at step {ops}: {notice}"
        );
        if left_a_record {
            took_over += 1;
        }
    }
    panic!("never succeeded");
}

/// The whole file is checked, not only its first bytes: a PDF that runs JavaScript and
/// an image that is also a web page are refused beside their field, and nothing is
/// stored as a dossier.
#[tokio::test]
async fn active_pdfs_and_polyglot_images_are_refused_beside_their_field() {
    let h = harness().await;
    let script_pdf = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
    let mut polyglot = PNG.to_vec();
    polyglot
        .extend_from_slice(b"<html><body><script>alert(document.cookie)</script></body></html>");
    for (name, bytes, expected) in [
        ("don.pdf", &script_pdf[..], "JavaScript"),
        ("anh.png", &polyglot[..], "mã trang web"),
    ] {
        let (file, altcha, check) = h.stage("giay_chung_sinh", name, bytes).await;
        // Refused when the upload is checked, beside its field...
        assert_eq!(
            check.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            check.text()
        );
        assert_eq!(fields(&check), vec!["giay_chung_sinh"]);
        assert!(check.text().contains(expected), "{}", check.text());
        // ...and at submission, by its verdict.
        let a = h
            .post_json(
                "/api/dossiers",
                &json!({"procedure": "1.001193", "idempotency_key": format!("active-{name}"),
                    "altcha": altcha, "values": khai_sinh_values(),
                    "uploads": [{"field": "giay_chung_sinh", "key": file, "name": name}]}),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
        let errors = a.json()["errors"].clone();
        let e = errors
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == "giay_chung_sinh")
            .unwrap_or_else(|| panic!("no error beside the field: {errors}"));
        let m = e["message"].as_str().unwrap();
        assert!(m.contains(name) && m.contains(expected), "{m}");
    }
    assert!(h.manifests().await.is_empty());
}
