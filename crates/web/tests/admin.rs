//! The desk's console API: sessions, the list, a dossier, the steps, and what is refused.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::{Value, json};
use web::admin::auth::{self, Role};

const PASSWORD: &str = "mat-khau-du-dai-123";

async fn officer(h: &Harness, login: &str, role: Role) {
    auth::add_officer(
        h.storage(),
        login,
        "Nguyễn Văn Cán Bộ",
        role,
        PASSWORD,
        false,
    )
    .await
    .unwrap();
}

struct Login {
    cookie: String,
    csrf: String,
}

async fn login(h: &Harness, login: &str) -> Login {
    let a = h
        .post_json(
            "/api/admin/login",
            &json!({"login": login, "password": PASSWORD}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let set = a.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(set.contains("Path=/api/admin"), "{set}");
    Login {
        cookie: set.split(';').next().unwrap().to_owned(),
        csrf: a.json()["csrf"].as_str().unwrap().to_owned(),
    }
}

impl Login {
    async fn get(&self, h: &Harness, uri: &str) -> Answer {
        h.send(
            Request::get(uri)
                .header("cookie", &self.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }
    async fn post(&self, h: &Harness, uri: &str, body: &Value) -> Answer {
        h.send(
            Request::post(uri)
                .header("cookie", &self.cookie)
                .header("x-csrf-token", &self.csrf)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(body).unwrap()))
                .unwrap(),
        )
        .await
    }
}

#[tokio::test]
async fn the_desk_prints_the_receipt_of_a_received_dossier() {
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    let (code, _) = h.submit_trich_luc("desk-receipt-0001").await;
    let s = login(&h, "lan").await;
    let uri = format!("/api/admin/dossiers/{code}/receipt");

    // Not yet received at the desk: nothing to print, and the page says what to do.
    let early = s.get(&h, &uri).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(
        early.text().contains("chưa được tiếp nhận"),
        "{}",
        early.text()
    );
    let d = s
        .get(&h, &format!("/api/admin/dossiers/{code}"))
        .await
        .json();
    assert_eq!(d["printable_receipt"], false);

    // Received with an appointment later than the one proposed: the first working day
    // after it that the desk accepts (weekends and holidays are refused with 422).
    let proposed = time::Date::parse(
        d["proposed_appointment"].as_str().unwrap(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    let mut day = proposed;
    loop {
        day = day.next_day().unwrap();
        assert!(
            day - proposed < time::Duration::days(10),
            "no working day found"
        );
        let r = s
            .post(
                &h,
                &format!("/api/admin/dossiers/{code}/actions"),
                &json!({"action": "receive", "expected_seq": 1, "appointment": format!("{day}")}),
            )
            .await;
        if r.status == StatusCode::OK {
            break;
        }
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    }
    let d = s
        .get(&h, &format!("/api/admin/dossiers/{code}"))
        .await
        .json();
    assert_eq!(d["printable_receipt"], true);

    let page = s.get(&h, &uri).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let text = page.text();
    let dmy = format!(
        "{:02}/{:02}/{}",
        day.day(),
        u8::from(day.month()),
        day.year()
    );
    for expected in [
        "ỦY BAN NHÂN DÂN XÃ THỬ NGHIỆM",
        "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        code.as_str(),
        "Liên 1: Lưu tại Trung tâm Phục vụ hành chính công xã",
        "Liên 2: Giao người nộp hồ sơ",
        "Trần Văn Bình",
        "NGƯỜI TIẾP NHẬN HỒ SƠ",
        // The officer who received it signs, and the day the desk set is the one shown.
        "Nguyễn Văn Cán Bộ",
        &dmy,
        "<svg",
    ] {
        assert!(text.contains(expected), "no \"{expected}\" in:\n{text}");
    }
    assert_eq!(
        text.matches("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ")
            .count(),
        2,
        "two copies"
    );
    let other = s
        .get(&h, "/api/admin/dossiers/H00.00.00-250101-0001/receipt")
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn officer_logs_in_lists_and_processes_a_dossier() {
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    let (code, token) = h.submit_trich_luc("admin-flow-0001").await;
    let s = login(&h, "lan").await;

    let me = s.get(&h, "/api/admin/session").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["login"], "lan");
    assert_eq!(me.json()["csrf"], s.csrf.as_str());
    // The console's status filter comes from the status machine.
    assert_eq!(
        me.json()["filters"][1],
        json!({"value": "overdue", "label": "Quá hạn"})
    );
    assert_eq!(
        me.json()["filters"][2],
        json!({"value": "supplement-requested", "label": "Chờ bổ sung"})
    );

    let list = s.get(&h, "/api/admin/dossiers").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let l = list.json();
    assert_eq!(l["counts"]["total"], 1);
    assert_eq!(l["counts"]["new"], 1);
    assert_eq!(l["items"][0]["code"], code.as_str());
    assert_eq!(l["items"][0]["status"], "received");

    let d = s.get(&h, &format!("/api/admin/dossiers/{code}")).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text());
    let d = d.json();
    assert_eq!(d["seq"], 1);
    let shown = |id: &str| {
        d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .map(|f| f["value"].clone())
    };
    assert_eq!(shown("ho_ten"), Some(json!("Trần Văn Bình")), "{d}");
    // A choice reads as its label, not its code.
    assert_eq!(shown("loai"), Some(json!("Khai sinh")), "{d}");
    assert_eq!(
        d["actions"],
        json!([
            {"id": "receive", "label": "Tiếp nhận, hẹn trả"},
            {"id": "request-papers", "label": "Yêu cầu bổ sung"},
            {"id": "refuse", "label": "Từ chối"},
            // The fixture's trích lục asks 8.000 đồng.
            {"id": "record-payment", "label": "Ghi nhận đã nộp phí"}
        ])
    );
    let proposed = d["proposed_appointment"].as_str().unwrap().to_owned();

    // Receive with the proposed appointment.
    let r = s
        .post(
            &h,
            &format!("/api/admin/dossiers/{code}/actions"),
            &json!({"action": "receive", "expected_seq": 1, "appointment": proposed}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "accepted");
    assert!(
        r.json()["appointment"]
            .as_str()
            .unwrap()
            .starts_with(&proposed)
    );

    // A second officer working from the same view is refused.
    let r2 = s
        .post(
            &h,
            &format!("/api/admin/dossiers/{code}/actions"),
            &json!({"action": "refuse", "expected_seq": 1, "reason": "trùng"}),
        )
        .await;
    assert_eq!(r2.status, StatusCode::CONFLICT);
    assert!(
        r2.text().contains("Hồ sơ vừa được cán bộ khác cập nhật"),
        "{}",
        r2.text()
    );

    // Papers, the citizen's supplement, result, hand-over by post.
    let r = s
        .post(
            &h,
            &format!("/api/admin/dossiers/{code}/actions"),
            &json!({"action": "request-papers", "expected_seq": 2, "missing": "Bản sao giấy khai sinh"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t = h.get(&format!("/api/dossiers/{code}?token={token}")).await;
    assert_eq!(t.json()["status_label"], "Cần bổ sung giấy tờ");
    assert!(
        !t.text().contains("\"by\""),
        "officer login leaked: {}",
        t.text()
    );
    // The notice's link opens /api/track: the page itself has a plain form (no
    // JavaScript) that posts the papers, relative to /api/track.
    let page = h
        .get(&format!("/api/track?code={code}&token={token}"))
        .await;
    let page = page.text();
    assert!(
        page.contains(&format!(
            r#"<form method="post" enctype="multipart/form-data" action="dossiers/{code}/supplement">"#
        )),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            r#"<input type="hidden" name="token" value="{token}">"#
        )),
        "{page}"
    );
    let boundary = "XbOuNdArY";
    let as_browser = |body: String| {
        Request::post(format!("/api/dossiers/{code}/supplement"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .body(Body::from(body))
            .unwrap()
    };
    let back = format!("../../track?code={code}&token={token}");
    // No file chosen (a browser sends an empty file part): a page that says so, with the
    // way back, and nothing recorded.
    let empty = h
        .send(as_browser(format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--{boundary}--\r\n"
        )))
        .await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.text()
    );
    assert!(
        empty.text().contains("Vui lòng chọn ít nhất một tệp"),
        "{}",
        empty.text()
    );
    assert!(
        empty
            .text()
            .contains(&format!(r#"href="{}""#, back.replace('&', "&amp;"))),
        "{}",
        empty.text()
    );
    let t = h.get(&format!("/api/dossiers/{code}?token={token}")).await;
    assert_eq!(t.json()["status_label"], "Cần bổ sung giấy tờ");

    let sup = h
        .send(as_browser(format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nBản sao có chứng thực\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"khai-sinh.pdf\"\r\nContent-Type: application/pdf\r\n\r\n{}\r\n--{boundary}--\r\n",
            std::str::from_utf8(PDF).unwrap()
        )))
        .await;
    // Back to the tracking page, which now shows the new status.
    assert_eq!(sup.status, StatusCode::SEE_OTHER, "{}", sup.text());
    assert_eq!(sup.headers["location"], back.as_str());
    let page = h
        .get(&format!("/api/track?code={code}&token={token}"))
        .await
        .text();
    assert!(
        page.contains("Đã bổ sung giấy tờ, chờ cán bộ xem xét"),
        "{page}"
    );
    assert!(page.contains("Ghi chú: Bản sao có chứng thực"), "{page}");
    assert!(!page.contains("Gửi giấy tờ bổ sung</button>"), "{page}");
    let l = s.get(&h, "/api/admin/dossiers?status=new").await.json();
    assert_eq!(l["items"][0]["status"], "supplemented");
    let d = s
        .get(&h, &format!("/api/admin/dossiers/{code}"))
        .await
        .json();
    assert_eq!(d["attachments"].as_array().unwrap().len(), 1);
    assert!(
        d["attachments"][0]["url"].is_null(),
        "no link that opens the file without the access log"
    );

    for (n, body) in [
        json!({"action": "result-ready", "expected_seq": 4}),
        json!({"action": "hand-over", "expected_seq": 5, "method": "post", "postal_tracking": "EB123456789VN"}),
    ]
    .into_iter()
    .enumerate()
    {
        let r = s
            .post(&h, &format!("/api/admin/dossiers/{code}/actions"), &body)
            .await;
        assert_eq!(r.status, StatusCode::OK, "step {n}: {}", r.text());
    }
    let t = h
        .get(&format!("/api/dossiers/{code}?token={token}"))
        .await
        .json();
    assert_eq!(t["status"], "posted");
    assert_eq!(t["status_label"], "Đã gửi kết quả qua bưu điện");
    assert_eq!(t["history"].as_array().unwrap().len(), 6);

    // Every step is kept, with who did it, and each has a notice in the outbox.
    let d = s
        .get(&h, &format!("/api/admin/dossiers/{code}"))
        .await
        .json();
    let history = d["history"].as_array().unwrap();
    assert_eq!(history[1]["by"], "lan");
    assert_eq!(history[5]["postal_tracking"], "EB123456789VN");
    let outbox = h.storage().list("outbox/").await.unwrap();
    assert_eq!(outbox.len(), 6, "{outbox:?}");

    // A step that does not fit the status is refused.
    let r = s
        .post(
            &h,
            &format!("/api/admin/dossiers/{code}/actions"),
            &json!({"action": "receive", "expected_seq": 6}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let out = s.post(&h, "/api/admin/logout", &json!({})).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}

#[tokio::test]
async fn appointment_must_be_a_working_day_and_filters_work() {
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    let (a, _) = h.submit_trich_luc("filter-0001").await;
    let (b, _) = h.submit_trich_luc("filter-0002").await;
    let s = login(&h, "lan").await;
    // 2030-01-05 is a Saturday.
    let r = s
        .post(
            &h,
            &format!("/api/admin/dossiers/{a}/actions"),
            &json!({"action": "receive", "appointment": "2030-01-05"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("ngày nghỉ"), "{}", r.text());
    let r = s
        .post(
            &h,
            &format!("/api/admin/dossiers/{a}/actions"),
            &json!({"action": "refuse", "reason": "Không thuộc thẩm quyền"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let l = s.get(&h, "/api/admin/dossiers?status=refused").await.json();
    assert_eq!(l["matched"], 1);
    assert_eq!(l["items"][0]["code"], a.as_str());
    let l = s.get(&h, "/api/admin/dossiers?status=new").await.json();
    assert_eq!(l["matched"], 1);
    assert_eq!(l["items"][0]["code"], b.as_str());
    let l = s
        .get(&h, "/api/admin/dossiers?procedure=nope&from=2000-01-01")
        .await
        .json();
    assert_eq!(l["matched"], 0);
    // Newest first.
    let l = s.get(&h, "/api/admin/dossiers").await.json();
    assert_eq!(l["items"][0]["code"], b.as_str());
}

#[tokio::test]
async fn tracking_shows_the_appointment_the_desk_set() {
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    let (code, token) = h.submit_trich_luc("appointment-0001").await;
    let s = login(&h, "lan").await;
    // 2040-01-09 is a Monday, later than any receipt's day.
    let r = s
        .post(
            &h,
            &format!("/api/admin/dossiers/{code}/actions"),
            &json!({"action": "receive", "expected_seq": 1, "appointment": "2040-01-09"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t = h
        .get(&format!("/api/dossiers/{code}?token={token}"))
        .await
        .json();
    assert!(
        t["appointment"]
            .as_str()
            .unwrap()
            .starts_with("2040-01-09T"),
        "{t}"
    );
    assert!(
        t["appointment_text"]
            .as_str()
            .unwrap()
            .contains("09/01/2040"),
        "{t}"
    );
    let page = h
        .get(&format!("/api/track?code={code}&token={token}"))
        .await;
    assert!(page.text().contains("09/01/2040"), "{}", page.text());
}

/// The desk records the fee as it comes in (part by transfer, the rest in cash); the
/// dossier's status does not move, the console filters on the fee, no notice repeats a
/// step, and the tracking page says "Đã nộp phí" and stops showing the QR code.
#[tokio::test]
async fn the_desk_records_a_payment_and_the_citizen_sees_it_paid() {
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    let (code, token) = h.submit_trich_luc("payment-0001").await;
    let track = format!("/api/track?code={code}&token={token}");
    let page = h.get(&track).await.text();
    assert!(
        page.contains("Chờ nộp phí") && page.contains("data-vietqr="),
        "{page}"
    );
    let s = login(&h, "lan").await;
    let d = s
        .get(&h, &format!("/api/admin/dossiers/{code}"))
        .await
        .json();
    assert_eq!(d["fee_total"], "8.000 đồng");
    assert_eq!(d["payment_label"], "Chờ nộp phí");
    assert!(
        d["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == "record-payment"),
        "{d}"
    );
    let listed = |filter: &'static str| {
        let s = &s;
        let h = &h;
        async move {
            s.get(h, &format!("/api/admin/dossiers?payment={filter}"))
                .await
                .json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["code"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("due").await, vec![code.clone()]);
    assert!(listed("paid").await.is_empty());

    let act = |body: Value| {
        let s = &s;
        let h = &h;
        let uri = format!("/api/admin/dossiers/{code}/actions");
        async move { s.post(h, &uri, &body).await }
    };
    let r = act(
        json!({"action": "record-payment", "expected_seq": 1, "amount": "5.000",
        "payment_method": "transfer"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("mã giao dịch"), "{}", r.text());
    let r = act(
        json!({"action": "record-payment", "expected_seq": 1, "amount": "5.000",
        "payment_method": "transfer", "reference": "FT26336000111"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let d = s
        .get(&h, &format!("/api/admin/dossiers/{code}"))
        .await
        .json();
    assert_eq!(
        d["status"], "received",
        "a payment does not move the dossier"
    );
    assert_eq!(d["payment_label"], "Đã nộp một phần phí");
    let r = act(
        json!({"action": "record-payment", "expected_seq": 2, "amount": "3000",
        "payment_method": "cash"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(listed("due").await.is_empty());
    assert_eq!(listed("paid").await, vec![code.clone()]);

    let page = h.get(&track).await.text();
    assert!(page.contains("<strong>Đã nộp phí</strong>"), "{page}");
    assert!(page.contains("Đã nộp phí 3.000 đồng (tiền mặt)"), "{page}");
    assert!(!page.contains("data-vietqr="), "paid: no QR code any more");
    // Only the submission's notice: a payment is not a step to announce again.
    assert_eq!(h.storage().list("outbox/").await.unwrap().len(), 1);

    // A free procedure has nothing to pay.
    let (file, altcha, _) = h.stage("giay_chung_sinh", "a.pdf", PDF).await;
    let a = h
        .dossier_as(
            &altcha,
            "free-payment-1",
            khai_sinh_values(),
            json!([{"field": "giay_chung_sinh", "key": file, "name": "a.pdf"}]),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let free = a.json()["receipt"]["code"].as_str().unwrap().to_owned();
    let d = s
        .get(&h, &format!("/api/admin/dossiers/{free}"))
        .await
        .json();
    assert!(d["fee_total"].is_null(), "{d}");
    assert!(
        !d["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == "record-payment"),
        "{d}"
    );
    let r = s
        .post(
            &h,
            &format!("/api/admin/dossiers/{free}/actions"),
            &json!({"action": "record-payment", "expected_seq": 1, "amount": "8000", "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
}

/// Money paid twice is shown as owed back and its refund recorded; a refused dossier
/// owes back all it was paid; the electronic receipt's lookup code reaches the citizen
/// as a link to the commune's receipt system.
#[tokio::test]
async fn double_payments_are_refunded_and_receipts_linked() {
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    let s = login(&h, "lan").await;
    let (code, token) = h.submit_trich_luc("refund-0001").await;
    let track = format!("/api/track?code={code}&token={token}");
    let uri = format!("/api/admin/dossiers/{code}/actions");
    let detail = |code: String| {
        let (s, h) = (&s, &h);
        async move {
            s.get(h, &format!("/api/admin/dossiers/{code}"))
                .await
                .json()
        }
    };
    let offered = |d: &Value, id: &str| {
        d["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id)
    };
    // Paid by transfer, then again in cash at the desk.
    for (seq, body) in [
        (
            1,
            json!({"amount": "8000", "payment_method": "transfer", "reference": "FT26336000777",
                   "e_receipt": "BL26-0001"}),
        ),
        (2, json!({"amount": "8000", "payment_method": "cash"})),
    ] {
        let mut body = body;
        body["action"] = json!("record-payment");
        body["expected_seq"] = json!(seq);
        let r = s.post(&h, &uri, &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let d = detail(code.clone()).await;
    assert_eq!(d["payment_label"], "Nộp thừa, chờ hoàn trả");
    assert_eq!(
        (d["refundable"].as_u64(), d["refundable_text"].as_str()),
        (Some(8000), Some("8.000 đồng"))
    );
    assert!(
        offered(&d, "record-refund") && offered(&d, "record-receipt"),
        "{d}"
    );
    let page = h.get(&track).await.text();
    assert!(
        page.contains("Tiền được hoàn trả</th><td>8.000 đồng"),
        "{page}"
    );
    assert!(
        page.contains("Mã tra cứu <strong>BL26-0001</strong>")
            && page.contains("href=\"https://bienlai.example.vn/tra-cuu?ma=BL26-0001\""),
        "{page}"
    );
    // More than was paid over is refused; the whole excess is recorded.
    let r = s
        .post(
            &h,
            &uri,
            &json!({"action": "record-refund", "expected_seq": 3, "amount": "16000",
              "payment_method": "cash"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text().contains("Chỉ có 8.000 đồng cần hoàn trả"),
        "{}",
        r.text()
    );
    let r = s
        .post(
            &h,
            &uri,
            &json!({"action": "record-refund", "expected_seq": 3, "amount": "8.000",
              "payment_method": "cash", "note": "Trả lại tại quầy"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let d = detail(code.clone()).await;
    assert_eq!(d["payment_label"], "Đã nộp phí");
    assert!(
        !offered(&d, "record-refund") && d["refundable_text"].is_null(),
        "{d}"
    );
    let page = h.get(&track).await.text();
    assert!(!page.contains("Tiền được hoàn trả"), "{page}");
    assert!(page.contains("Đã hoàn trả 8.000 đồng (tiền mặt)"), "{page}");
    // The accountant's day: both payments in, the refund out.
    let csv = s.get(&h, "/api/admin/payments.csv").await.text();
    let ours: Vec<&str> = csv.lines().filter(|l| l.contains(&code)).collect();
    assert_eq!(ours.len(), 3, "{csv}");
    assert!(
        ours.iter()
            .any(|l| l.contains(";-8000;hoàn trả, tiền mặt;")),
        "{csv}"
    );
    // A receipt issued later for the payment.
    let r = s
        .post(
            &h,
            &uri,
            &json!({"action": "record-receipt", "expected_seq": 4, "e_receipt": "BL26-0002"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let json = h
        .get(&format!("/api/dossiers/{code}?token={token}"))
        .await
        .json();
    let codes: Vec<&str> = json["e_receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["BL26-0001", "BL26-0002"]);

    // Paid, then refused: all of it is owed back, nothing more is asked.
    let (other, other_token) = h.submit_trich_luc("refund-0002").await;
    let other_uri = format!("/api/admin/dossiers/{other}/actions");
    for body in [
        json!({"action": "record-payment", "expected_seq": 1, "amount": "8000", "payment_method": "cash"}),
        json!({"action": "refuse", "expected_seq": 2, "reason": "Không thuộc thẩm quyền của xã"}),
    ] {
        let r = s.post(&h, &other_uri, &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let d = detail(other.clone()).await;
    assert_eq!(d["refundable"], 8000);
    assert!(
        !offered(&d, "record-payment") && offered(&d, "record-refund"),
        "{d}"
    );
    let page = h
        .get(&format!("/api/track?code={other}&token={other_token}"))
        .await
        .text();
    assert!(
        page.contains("Tiền được hoàn trả</th><td>8.000 đồng"),
        "{page}"
    );
    assert!(
        !page.contains("data-vietqr=") && !page.contains("Chờ nộp phí"),
        "{page}"
    );
}

/// A settled birth registration's fields, in the register's order, to copy into the
/// ministry's civil-status software one by one, or a day's settled dossiers as CSV and
/// JSON; a dossier not settled yet, or settled another day, is not exported.
#[tokio::test]
async fn settled_dossiers_export_in_the_registers_fields() {
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    let s = login(&h, "lan").await;
    let mut codes = Vec::new();
    for key in ["register-0001", "register-0002"] {
        let (file, altcha, _) = h.stage("giay_chung_sinh", "a.pdf", PDF).await;
        let a = h
            .dossier_as(
                &altcha,
                key,
                khai_sinh_values(),
                json!([{"field": "giay_chung_sinh", "key": file, "name": "a.pdf"}]),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        codes.push(a.json()["receipt"]["code"].as_str().unwrap().to_owned());
    }
    let d = s
        .get(&h, &format!("/api/admin/dossiers/{}", codes[0]))
        .await
        .json();
    assert_eq!(d["register"]["register"], "Sổ đăng ký khai sinh");
    let entries: Vec<(String, String)> = d["register"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().into(),
                e["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("Ngày, tháng, năm sinh".to_owned(), "01/05/2025".to_owned()),
            ("Người đi đăng ký".into(), "Nguyễn Thị Lan".into()),
            (
                "Số định danh cá nhân người đi đăng ký".into(),
                "064190000123".into()
            ),
            (
                "Nơi cư trú".into(),
                "Thôn 1, Xã Thử Nghiệm, Tỉnh Mẫu".into()
            ),
        ]
    );
    // The first is settled (taken in, result ready, handed over); the second is not.
    let uri = format!("/api/admin/dossiers/{}/actions", codes[0]);
    for (seq, action) in [(1, "receive"), (2, "result-ready"), (3, "hand-over")] {
        let r = s
            .post(
                &h,
                &uri,
                &json!({"action": action, "expected_seq": seq, "method": "desk"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.text());
    }
    let today = catalog::vn_time::now().date();
    let day = catalog::Day(today).iso();
    let export = s
        .get(
            &h,
            &format!("/api/admin/register.json?procedure=1.001193&day={day}"),
        )
        .await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text());
    let export = export.json();
    let rows = export["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "only the settled one: {export}");
    assert_eq!(rows[0]["code"], codes[0].as_str());
    assert_eq!(rows[0]["values"][1], "Nguyễn Thị Lan");
    assert_eq!(export["columns"][0], "Ngày, tháng, năm sinh");
    let csv = s
        .get(
            &h,
            &format!("/api/admin/register.csv?procedure=1.001193&day={day}"),
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let text = csv.text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0]
            .starts_with("\u{feff}Mã hồ sơ;Có kết quả lúc;Ngày, tháng, năm sinh;Người đi đăng ký;"),
        "{text}"
    );
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].starts_with(&codes[0])
            && lines[1].contains(";01/05/2025;Nguyễn Thị Lan;064190000123;"),
        "{text}"
    );
    // Another day: nothing; a procedure without a register: told which have one.
    let yesterday = catalog::Day(today.previous_day().unwrap()).iso();
    let none = s
        .get(
            &h,
            &format!("/api/admin/register.json?procedure=1.001193&day={yesterday}"),
        )
        .await
        .json();
    assert!(none["rows"].as_array().unwrap().is_empty(), "{none}");
    let wrong = s
        .get(&h, "/api/admin/register.csv?procedure=2.000635")
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.text().contains("1.001193 (Đăng ký khai sinh)"),
        "{}",
        wrong.text()
    );
    let bad_day = s
        .get(&h, "/api/admin/register.csv?procedure=1.001193&day=hôm-qua")
        .await;
    assert_eq!(bad_day.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Officers only.
    assert_eq!(
        h.get("/api/admin/register.csv?procedure=1.001193")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

/// A result sent online: only to a citizen who chose it, with a checked file; the
/// notice says so and never asks the citizen to come; the tracking page links the file
/// through a short-lived presigned URL that only the tracking token opens.
#[tokio::test]
async fn a_result_sent_online_is_downloaded_from_the_tracking_page() {
    use base64::Engine as _;
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    let mut values = trich_luc_values();
    values["nhan_ket_qua"] = json!("ban_dien_tu");
    let a = h
        .post_json(
            "/api/dossiers",
            &json!({"procedure": "2.000635", "idempotency_key": "online-result-1",
                "altcha": h.altcha().await, "values": values}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let receipt = a.json()["receipt"].clone();
    let code = receipt["code"].as_str().unwrap().to_owned();
    let token = receipt["tracking_token"].as_str().unwrap().to_owned();
    assert!(
        receipt["result_collection"]
            .as_str()
            .unwrap()
            .starts_with("Nhận bản điện tử"),
        "{receipt}"
    );
    let s = login(&h, "lan").await;
    let step = |body: Value| {
        let s = &s;
        let h = &h;
        let uri = format!("/api/admin/dossiers/{code}/actions");
        async move { s.post(h, &uri, &body).await }
    };
    assert_eq!(
        step(json!({"action": "result-ready", "expected_seq": 1}))
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not before it is received"
    );
    let r = step(json!({"action": "receive", "expected_seq": 1})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = step(json!({"action": "result-ready", "expected_seq": 2})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Without a file, or with something that is no PDF: refused, nothing written.
    let r = step(json!({"action": "hand-over", "expected_seq": 3, "method": "online"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("tệp kết quả"), "{}", r.text());
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let r = step(
        json!({"action": "hand-over", "expected_seq": 3, "method": "online",
        "result_file": {"name": "ket-qua.pdf", "data": b64(b"<html>not a pdf</html>")}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = step(
        json!({"action": "hand-over", "expected_seq": 3, "method": "online",
        "result_file": {"name": "Trích lục khai sinh.pdf", "data": b64(PDF)}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "returned");

    // The notice tells the citizen to download it, not to come.
    let notice = h
        .storage()
        .list("outbox/")
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.ends_with("-000004.json") || k.contains("000004"))
        .expect("the hand-over's notice");
    let notice =
        String::from_utf8(h.storage().get(&notice).await.unwrap().unwrap().to_vec()).unwrap();
    assert!(
        notice.contains("ban dien tu") && !notice.contains("den Bo phan"),
        "{notice}"
    );

    // The tracking page links the file; the link redirects to a presigned GET.
    let page = h
        .get(&format!("/api/track?code={code}&token={token}"))
        .await
        .text();
    assert!(
        page.contains("Kết quả bản điện tử") && page.contains("Tải Trích lục khai sinh.pdf"),
        "{page}"
    );
    let got = h
        .get(&format!("/api/dossiers/{code}/result?token={token}&n=0"))
        .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER);
    let url = got.headers["location"].to_str().unwrap();
    assert!(
        url.contains("X-Amz-Signature=") && url.contains("/result/"),
        "{url}"
    );
    let bucket_key = url.split('?').next().unwrap();
    let key = &bucket_key[bucket_key.find("dossiers/").unwrap()..];
    assert_eq!(h.storage().get(key).await.unwrap().unwrap().as_ref(), PDF);
    // Without the token: the same answer as an unknown code.
    let other = h
        .get(&format!("/api/dossiers/{code}/result?token=sai-ma&n=0"))
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);

    // A citizen who chose post is never sent the result online.
    let (post_code, _) = h.submit_trich_luc("online-refused-1").await;
    let r = s
        .post(
            &h,
            &format!("/api/admin/dossiers/{post_code}/actions"),
            &json!({"action": "receive", "expected_seq": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    s.post(
        &h,
        &format!("/api/admin/dossiers/{post_code}/actions"),
        &json!({"action": "result-ready", "expected_seq": 2}),
    )
    .await;
    let r = s
        .post(
            &h,
            &format!("/api/admin/dossiers/{post_code}/actions"),
            &json!({"action": "hand-over", "expected_seq": 3, "method": "online",
                "result_file": {"name": "kq.pdf", "data": b64(PDF)}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(
        r.text().contains("không chọn nhận bản điện tử"),
        "{}",
        r.text()
    );
}

/// The day's bank statement, matched to the dossiers by the code in each transfer's
/// message and the amount; the desk records a matched credit as the payment, and the
/// same credit matched again then shows as paid twice.
#[tokio::test]
async fn a_bank_statement_is_matched_to_the_dossiers_it_pays() {
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    let (a, _) = h.submit_trich_luc("statement-0001").await;
    let (b, _) = h.submit_trich_luc("statement-0002").await;
    let s = login(&h, "lan").await;
    let message = |code: &str| code.replace(['.', '-'], "");
    let csv = format!(
        "Ngày giao dịch;Số tiền ghi có;Nội dung;Mã giao dịch\n\
         02/12/2026;8.000;MBVCB.991.{} nop phi;FT001\n\
         02/12/2026;5.000;{} lan 1;FT002\n\
         02/12/2026;3.000;{};FT003\n\
         02/12/2026;20.000;chuyen tien hoc phi;FT004\n",
        message(&a),
        message(&b).to_lowercase(),
        b
    );
    let post = |csv: String| {
        let s = &s;
        let h = &h;
        async move {
            h.send(
                Request::post("/api/admin/payments/statement")
                    .header("cookie", &s.cookie)
                    .header("x-csrf-token", &s.csrf)
                    .header("content-type", "text/csv")
                    .body(Body::from(csv))
                    .unwrap(),
            )
            .await
        }
    };
    let r = post(csv.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let m = r.json()["matches"].clone();
    let verdicts: Vec<&str> = m
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["exact", "partial", "exact", "no-dossier"], "{m}");
    assert_eq!(m[0]["code"], a.as_str());
    assert_eq!(m[2]["code"], b.as_str());
    assert_eq!(
        m[2]["remaining"], 3000,
        "the second credit meets what the first left"
    );

    // The desk records the first credit; matched again, it is a double payment.
    let r = s
        .post(
            &h,
            &format!("/api/admin/dossiers/{a}/actions"),
            &json!({"action": "record-payment", "expected_seq": m[0]["seq"], "amount": "8000",
                "payment_method": "transfer", "reference": "FT001"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // The accountant's list of the day's payments.
    let list = s.get(&h, "/api/admin/payments.csv").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("nop-phi-")
    );
    let text = list.text();
    assert!(text.starts_with('\u{feff}'), "Excel reads it as UTF-8");
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(
        rows[1].contains(&format!(";{a};"))
            && rows[1].contains(";8000;chuyển khoản;FT001;Nguyễn Văn Cán Bộ"),
        "{text}"
    );
    // The same statement imported again: the recorded credit is shown as recorded
    // (its bank reference), never offered twice; another transfer to the paid dossier
    // is a double payment.
    let again = post(format!(
        "{}02/12/2026;8.000;{} chuyen lai;FT005\n",
        csv.clone(),
        message(&a)
    ))
    .await
    .json()["matches"]
        .clone();
    assert_eq!(again[0]["verdict"], "recorded", "{again}");
    assert_eq!(again[0]["recordable"], false, "{again}");
    assert!(
        again[0]["verdict_label"]
            .as_str()
            .unwrap()
            .contains("Đã ghi nhận trước đây")
    );
    assert_eq!(again[4]["verdict"], "already-paid", "{again}");
    assert!(
        again[4]["verdict_label"]
            .as_str()
            .unwrap()
            .contains("trùng")
    );

    // The credit naming no dossier, given back to its sender: recorded once, and shown
    // so when the statement is matched again.
    assert_eq!(again[3]["verdict"], "no-dossier");
    assert!(again[3]["returned"].is_null(), "{again}");
    let line = json!({"date": "02/12/2026", "amount": 20000, "reference": "FT004",
        "description": "chuyen tien hoc phi"});
    let mut returned = line.clone();
    let no_note = s.post(&h, "/api/admin/payments/unmatched", &line).await;
    assert_eq!(no_note.status, StatusCode::UNPROCESSABLE_ENTITY);
    returned["note"] = json!("Chuyển trả qua ngân hàng, mã GD FT009");
    let r = s.post(&h, "/api/admin/payments/unmatched", &returned).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let twice = s.post(&h, "/api/admin/payments/unmatched", &returned).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.text());
    let third = post(csv.clone()).await.json()["matches"].clone();
    let shown = third[3]["returned"].as_str().unwrap_or_default();
    assert!(
        shown.starts_with(
            "Đã trả lại người chuyển: Chuyển trả qua ngân hàng, mã GD FT009 (Nguyễn Văn Cán Bộ"
        ),
        "{third}"
    );

    // A file that is not a statement: told what is wrong, nothing matched.
    let bad = post("Ngày;Nội dung\n02/12/2026;x\n".into()).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("cột số tiền"), "{}", bad.text());
}

#[tokio::test]
async fn failed_logins_lock_the_account() {
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    for i in 0..5 {
        let a = h
            .post_json(
                "/api/admin/login",
                &json!({"login": "lan", "password": "sai"}),
            )
            .await;
        if i < 4 {
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{i}");
            assert!(a.text().contains("không đúng"));
        } else {
            assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
        }
    }
    // Even the right password is refused while locked.
    let a = h
        .post_json(
            "/api/admin/login",
            &json!({"login": "lan", "password": PASSWORD}),
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(a.text().contains("tạm khóa"), "{}", a.text());
    assert!(a.text().contains("15 phút"), "{}", a.text());
    // Unknown logins answer like wrong passwords.
    let a = h
        .post_json(
            "/api/admin/login",
            &json!({"login": "khong-co", "password": "x"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_strangers_guesses_lock_strangers_not_the_officers_own_browser() {
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    officer(&h, "minh", Role::Officer).await;
    // Lan signed in at her desk once: her browser keeps the device cookie.
    let first = h
        .post_json(
            "/api/admin/login",
            &json!({"login": "lan", "password": PASSWORD}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let device = first
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with(auth::DEVICE_COOKIE))
        .expect("a device cookie")
        .to_owned();
    assert!(device.contains("HttpOnly") && device.contains("SameSite=Strict"));
    let device = device.split(';').next().unwrap().to_owned();
    // Someone elsewhere guesses until the login is locked for strangers.
    for _ in 0..6 {
        h.post_json(
            "/api/admin/login",
            &json!({"login": "lan", "password": "sai"}),
        )
        .await;
    }
    let stranger = h
        .post_json(
            "/api/admin/login",
            &json!({"login": "lan", "password": PASSWORD}),
        )
        .await;
    assert_eq!(stranger.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        stranger.text().contains("đã từng đăng nhập"),
        "{}",
        stranger.text()
    );
    let from_desk = |login: &str, password: &str, cookie: &str| {
        Request::post("/api/admin/login")
            .header("content-type", "application/json")
            .header("cookie", cookie)
            .body(Body::from(
                serde_json::to_vec(&json!({"login": login, "password": password})).unwrap(),
            ))
            .unwrap()
    };
    // At her desk, Lan still signs in.
    let desk = h.send(from_desk("lan", PASSWORD, &device)).await;
    assert_eq!(desk.status, StatusCode::OK, "{}", desk.text());
    // Lan's device cookie is hers: it does not lift a lock on Minh's login, and a
    // forged one is a stranger's.
    for _ in 0..6 {
        h.post_json(
            "/api/admin/login",
            &json!({"login": "minh", "password": "sai"}),
        )
        .await;
    }
    let borrowed = h.send(from_desk("minh", PASSWORD, &device)).await;
    assert_eq!(borrowed.status, StatusCode::TOO_MANY_REQUESTS);
    let forged = format!("{}=bGFu.AAAA", auth::DEVICE_COOKIE);
    let forged = h.send(from_desk("lan", "sai", &forged)).await;
    assert_eq!(forged.status, StatusCode::TOO_MANY_REQUESTS);
    // The known browser has its own five tries, then it is locked too.
    for i in 0..6 {
        let a = h.send(from_desk("lan", "sai", &device)).await;
        let want = if i < 4 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(a.status, want, "{i}");
    }
}

#[tokio::test]
async fn form_login_sets_the_cookie_and_redirects() {
    let h = harness().await;
    officer(&h, "lan", Role::Admin).await;
    let a = h
        .post_raw(
            "/api/admin/login",
            "application/x-www-form-urlencoded",
            format!("login=lan&password={PASSWORD}").into_bytes(),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.headers["location"], "/can-bo/");
    // Local public URL: no Secure; elsewhere Secure.
    assert!(!a.headers["set-cookie"].to_str().unwrap().contains("Secure"));
    let h2 = harness_with(|c| c.public_url = "https://xa.gov.vn".into()).await;
    officer(&h2, "lan", Role::Admin).await;
    let a = h2
        .post_json(
            "/api/admin/login",
            &json!({"login": "lan", "password": PASSWORD}),
        )
        .await;
    assert!(
        a.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
}

#[tokio::test]
async fn officer_cli_refuses_a_second_add() {
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    let again = auth::add_officer(h.storage(), "lan", "Khác", Role::Admin, PASSWORD, false).await;
    assert!(matches!(again, Err(auth::AddOfficerError::Exists(_))));
    let stored = h
        .storage()
        .get("config/officers/lan.json")
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(stored.to_vec()).unwrap();
    assert!(text.contains("$argon2id$"), "{text}");
    assert!(!text.contains(PASSWORD));
}

/// Concurrent guesses are counted one by one before any password is checked: of twelve
/// at once, no more than the lock allows are ever checked (before, all twelve were).
#[tokio::test]
async fn concurrent_guesses_cannot_pass_the_lock() {
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    let body = json!({"login": "lan", "password": "doan-bua-123"});
    let answers =
        futures_util::future::join_all((0..12).map(|_| h.post_json("/api/admin/login", &body)))
            .await;
    let checked = answers
        .iter()
        .filter(|a| a.status == StatusCode::UNAUTHORIZED)
        .count();
    let locked = answers
        .iter()
        .filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + locked, 12, "every guess is answered 401 or 429");
    assert!(
        checked < auth::LOCK_AFTER,
        "{checked} guesses were checked; the lock allows {}",
        auth::LOCK_AFTER
    );
    // And the right password waits for the lock too.
    let a = h
        .post_json(
            "/api/admin/login",
            &json!({"login": "lan", "password": PASSWORD}),
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
}

/// Logging out ends the session for good: the same cookie, replayed, is refused.
#[tokio::test]
async fn logout_ends_the_session() {
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    let s = login(&h, "lan").await;
    assert_eq!(s.get(&h, "/api/admin/session").await.status, StatusCode::OK);
    let out = s.post(&h, "/api/admin/logout", &json!({})).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text());
    let again = s.get(&h, "/api/admin/dossiers").await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{}", again.text());
    assert!(again.text().contains("đăng nhập lại"), "{}", again.text());
    // A new login works.
    let s2 = login(&h, "lan").await;
    assert_eq!(
        s2.get(&h, "/api/admin/session").await.status,
        StatusCode::OK
    );
}

/// Disabling an officer, or resetting the password, ends the sessions already open.
#[tokio::test]
async fn disabling_or_resetting_an_officer_ends_their_sessions() {
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    let s = login(&h, "lan").await;
    auth::add_officer(
        h.storage(),
        "lan",
        "Nguyễn Văn Cán Bộ",
        Role::Officer,
        "mat-khau-moi-456",
        true,
    )
    .await
    .unwrap();
    assert_eq!(
        s.get(&h, "/api/admin/session").await.status,
        StatusCode::UNAUTHORIZED,
        "a password reset ends the old session"
    );

    officer(&h, "minh", Role::Officer).await;
    let m = login(&h, "minh").await;
    let mut record = auth::load_officer(h.storage(), "minh")
        .await
        .unwrap()
        .unwrap();
    record.disabled = true;
    h.storage()
        .put(
            &auth::officer_key("minh"),
            serde_json::to_vec(&record).unwrap().into(),
            "application/json",
        )
        .await
        .unwrap();
    assert_eq!(
        m.get(&h, "/api/admin/dossiers").await.status,
        StatusCode::UNAUTHORIZED,
        "a disabled officer's session ends"
    );
}

#[tokio::test]
async fn a_paper_dossier_typed_in_at_the_desk_is_taken_in_once_and_counted_at_the_desk() {
    let h = harness().await;
    officer(&h, "lan", Role::Officer).await;
    let s = login(&h, "lan").await;

    // The form as the desk sees it: a box per paper, no upload, no spam check.
    let form = s.get(&h, "/api/admin/desk/form?procedure=1.001193").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text());
    let html = form.json()["form_html"].as_str().unwrap().to_owned();
    assert!(html.contains(r#"id="desk-form""#), "{html}");
    assert!(
        html.contains(r#"name="paper" value="giay_chung_sinh""#),
        "{html}"
    );
    assert!(html.contains("Đã nhận bản giấy: Giấy chứng sinh"), "{html}");
    for absent in [r#"type="file""#, r#"name="website""#, r#"name="altcha""#] {
        assert!(!html.contains(absent), "{absent} in {html}");
    }
    let unknown = s.get(&h, "/api/admin/desk/form?procedure=9.999999").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let unknown = s
        .post(
            &h,
            "/api/admin/desk",
            &json!({"procedure": "9.999999", "idempotency_key": "desk-unknown-0001", "values": {}}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.json()["message"]
            .as_str()
            .unwrap()
            .contains("Không có thủ tục mã \"9.999999\""),
        "{}",
        unknown.text()
    );

    let values = |paper: bool| {
        let mut v = serde_json::Map::new();
        for (k, x) in khai_sinh_values().as_object().unwrap() {
            let list: Vec<Value> = match x {
                Value::Array(a) => a.clone(),
                Value::Object(parts) => {
                    for (part, pv) in parts {
                        v.insert(format!("{k}.{part}"), json!([pv]));
                    }
                    continue;
                }
                other => vec![other.clone()],
            };
            v.insert(k.clone(), Value::Array(list));
        }
        if paper {
            v.insert("paper".into(), json!(["giay_chung_sinh"]));
        }
        Value::Object(v)
    };
    let post = |values: Value| json!({"procedure": "1.001193", "idempotency_key": "desk-0123456789ab", "values": values});

    // The required paper not ticked: refused beside its field, nothing stored.
    let refused = s.post(&h, "/api/admin/desk", &post(values(false))).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text()
    );
    let j = refused.json();
    assert_eq!(j["errors"][0]["field"], "giay_chung_sinh", "{j}");
    assert!(
        j["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Chưa đánh dấu đã nhận bản giấy: Giấy chứng sinh"),
        "{j}"
    );
    let again = j["form_html"].as_str().unwrap();
    assert!(again.contains("error-summary"), "{again}");
    assert!(
        again.contains("Nguyễn Thị Lan"),
        "the form comes back filled: {again}"
    );
    assert!(h.manifests().await.is_empty());

    // Without the session's CSRF nonce: refused before anything is read.
    let forged = h
        .send(
            Request::post("/api/admin/desk")
                .header("cookie", &s.cookie)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&post(values(true))).unwrap()))
                .unwrap(),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Ticked: received and taken in at once, by this officer, with the appointment.
    let taken = s.post(&h, "/api/admin/desk", &post(values(true))).await;
    assert_eq!(taken.status, StatusCode::CREATED, "{}", taken.text());
    let code = taken.json()["code"].as_str().unwrap().to_owned();
    assert!(
        taken.json()["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Đã tiếp nhận hồ sơ {code}")),
        "{}",
        taken.text()
    );
    // The same form sent twice (a double click) is one dossier.
    let twice = s.post(&h, "/api/admin/desk", &post(values(true))).await;
    assert_eq!(twice.status, StatusCode::OK, "{}", twice.text());
    assert_eq!(twice.json()["code"], code.as_str());
    assert_eq!(h.manifests().await.len(), 1);

    let d = s
        .get(&h, &format!("/api/admin/dossiers/{code}"))
        .await
        .json();
    assert_eq!(d["channel"], "desk");
    assert_eq!(d["status"], "accepted", "{d}");
    let history = d["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{d}");
    assert_eq!(history[0]["by"], "lan");
    assert!(
        history[0]["note"]
            .as_str()
            .unwrap()
            .contains("Bản giấy đã nhận: Giấy chứng sinh"),
        "{d}"
    );
    assert_eq!(history[1]["status"], "accepted");
    assert!(history[1]["appointment"].is_object(), "{d}");
    assert_eq!(d["printable_receipt"], true);

    // The receipt to hand over lists the paper as received at the desk.
    let receipt = s
        .get(&h, &format!("/api/admin/dossiers/{code}/receipt"))
        .await;
    assert_eq!(receipt.status, StatusCode::OK, "{}", receipt.text());
    assert!(
        receipt.text().contains("bản giấy nộp tại quầy"),
        "{}",
        receipt.text()
    );

    // The citizen is told as for a dossier sent online, with the tracking link.
    let notices = h.storage().list("outbox/").await.unwrap();
    assert!(
        notices
            .iter()
            .any(|k| k.contains(&format!("{code}-received"))),
        "{notices:?}"
    );

    // The console's report counts it as received at the desk.
    // (After 15:00 or on a day off a dossier counts from the next working day.)
    let today = catalog::vn_time::now().date();
    let later = today + time::Duration::days(14);
    let r = s
        .get(&h, &format!("/api/admin/reports?from={today}&to={later}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(
        (&j["total"]["received"], &j["total"]["received_desk"]),
        (&json!(1), &json!(1)),
        "{j}"
    );
}
