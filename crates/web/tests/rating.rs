//! The citizen's rating (`/api/dossiers/{code}/rating`) and the access log the tracking
//! page shows: driven through the router over a real embedded S3 store.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::{Value, json};
use web::admin::auth::{self, Role};

const PASSWORD: &str = "mat-khau-du-dai-123";
const OFFICER_NAME: &str = "Nguyễn Thị Hồng Nhung";

struct Login {
    cookie: String,
    csrf: String,
}

async fn login(h: &Harness, login: &str, role: Role) -> Login {
    auth::add_officer(h.storage(), login, OFFICER_NAME, role, PASSWORD, false)
        .await
        .unwrap();
    let a = h
        .post_json(
            "/api/admin/login",
            &json!({"login": login, "password": PASSWORD}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let set = a.headers["set-cookie"].to_str().unwrap().to_owned();
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
    async fn step(&self, h: &Harness, code: &str, body: Value) {
        let a = h
            .send(
                Request::post(format!("/api/admin/dossiers/{code}/actions"))
                    .header("cookie", &self.cookie)
                    .header("x-csrf-token", &self.csrf)
                    .header("content-type", "application/json")
                    .body(Body::from(serde_json::to_vec(&body).unwrap()))
                    .unwrap(),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{body}: {}", a.text());
    }
}

/// Receive, result ready, hand over at the desk.
async fn hand_over(h: &Harness, s: &Login, code: &str) {
    s.step(h, code, json!({"action": "receive"})).await;
    s.step(h, code, json!({"action": "result-ready"})).await;
    s.step(h, code, json!({"action": "hand-over", "method": "desk"}))
        .await;
}

fn form(token: &str, overall: &str, comment: &str) -> Vec<u8> {
    format!(
        "t={}&overall={overall}&on_time=4&attitude=5&comment={}",
        urlencode(token),
        urlencode(comment)
    )
    .into_bytes()
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn rate(h: &Harness, code: &str, body: Vec<u8>) -> Answer {
    h.post_raw(
        &format!("/api/dossiers/{code}/rating"),
        "application/x-www-form-urlencoded",
        body,
    )
    .await
}

async fn rating_events(h: &Harness, code: &str) -> Vec<Value> {
    let (_, events) = store::dossiers::read_dossier(h.storage(), code)
        .await
        .unwrap()
        .unwrap();
    events
        .iter()
        .filter(|e| e.rating.is_some())
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

async fn outbox_keys(h: &Harness) -> Vec<String> {
    h.storage().list("outbox/").await.unwrap()
}

#[tokio::test]
async fn a_rating_is_refused_before_the_hand_over_taken_after_and_refused_the_second_time() {
    let h = harness().await;
    let s = login(&h, "nhung", Role::Officer).await;
    let (code, token) = h.submit_trich_luc("rating-0001").await;
    let page = format!("/api/dossiers/{code}/rating?t={}", urlencode(&token));

    // Before the hand-over: a plain message, on the form and on a post.
    let a = h.get(&page).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert!(a.text().contains("chưa được trả kết quả"), "{}", a.text());
    let a = rate(&h, &code, form(&token, "5", "")).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert!(a.text().contains("chưa thể đánh giá"), "{}", a.text());
    s.step(&h, &code, json!({"action": "receive"})).await;
    s.step(&h, &code, json!({"action": "result-ready"})).await;
    assert_eq!(
        rate(&h, &code, form(&token, "5", "")).await.status,
        StatusCode::CONFLICT
    );
    let track = h
        .get(&format!("/api/dossiers/{code}?token={}", urlencode(&token)))
        .await
        .json();
    assert_eq!(track["can_rate"], false);
    assert!(rating_events(&h, &code).await.is_empty());

    // Handed over: the tracking page offers it, the notice carries the link.
    s.step(&h, &code, json!({"action": "hand-over", "method": "desk"}))
        .await;
    let track = h
        .get(&format!("/api/dossiers/{code}?token={}", urlencode(&token)))
        .await
        .json();
    assert_eq!(track["can_rate"], true);
    let html = h
        .get(&format!(
            "/api/track?code={code}&token={}",
            urlencode(&token)
        ))
        .await
        .text();
    assert!(html.contains(">Đánh giá</a>"), "{html}");
    let notices = outbox_keys(&h).await;
    let returned = notices
        .iter()
        .find(|k| k.contains("-returned-"))
        .expect("a hand-over notice");
    let notice = h.storage().get(returned).await.unwrap().unwrap();
    let notice: Value = serde_json::from_slice(&notice).unwrap();
    let sms = notice["sms"]["text"].as_str().unwrap();
    assert!(
        sms.contains(&format!("/api/dossiers/{code}/rating?t=")),
        "{sms}"
    );

    // The form: three questions, five answers each, in fieldsets with legends.
    let a = h.get(&page).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let f = a.text();
    assert_eq!(f.matches("<fieldset").count(), 3, "{f}");
    assert_eq!(f.matches("<legend>").count(), 3, "{f}");
    assert_eq!(f.matches("Rất không hài lòng").count(), 3, "{f}");
    assert!(f.contains(r#"action="rating""#), "{f}");
    assert!(!f.contains("<script"), "works without JavaScript: {f}");

    // Rated: thanks, and what was recorded.
    let a = rate(&h, &code, form(&token, "5", "  Cán bộ tận tình\u{7}  ")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let thanks = a.text();
    assert!(thanks.contains("Cảm ơn Ông/Bà đã đánh giá"), "{thanks}");
    assert!(
        thanks.contains("Rất hài lòng") && thanks.contains("Cán bộ tận tình"),
        "{thanks}"
    );
    let rated = rating_events(&h, &code).await;
    assert_eq!(rated.len(), 1);
    assert_eq!(rated[0]["status"], "returned", "the status stays");
    assert_eq!(
        rated[0]["rating"],
        json!({"overall": 5, "on_time": 4, "attitude": 5, "comment": "Cán bộ tận tình"})
    );
    // No notice for the citizen's own rating.
    assert_eq!(outbox_keys(&h).await.len(), notices.len());

    // The second time: the kind "already" page, on the form and on a post; nothing new.
    let a = h.get(&page).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.text()
            .contains("Ông/Bà đã đánh giá hồ sơ này rồi, cảm ơn"),
        "{}",
        a.text()
    );
    let a = rate(&h, &code, form(&token, "1", "đổi ý")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.text().contains("đã đánh giá hồ sơ này rồi"),
        "{}",
        a.text()
    );
    assert_eq!(rating_events(&h, &code).await.len(), 1);

    // The tracking page and its JSON show it, and no more offer it.
    let track = h
        .get(&format!("/api/dossiers/{code}?token={}", urlencode(&token)))
        .await
        .json();
    assert_eq!(track["can_rate"], false);
    assert_eq!(track["rating"]["answers"][0]["label"], "Rất hài lòng");
    assert_eq!(track["status"], "returned");
    let html = h
        .get(&format!(
            "/api/track?code={code}&token={}",
            urlencode(&token)
        ))
        .await
        .text();
    assert!(
        html.contains("Đánh giá của Ông/Bà") && html.contains("Cán bộ tận tình"),
        "{html}"
    );
    assert!(!html.contains(">Đánh giá</a>"), "{html}");

    // The console shows it on the dossier.
    let d = s
        .get(&h, &format!("/api/admin/dossiers/{code}"))
        .await
        .json();
    assert_eq!(d["rating"]["comment"], "Cán bộ tận tình");
    assert_eq!(d["status"], "returned");
}

#[tokio::test]
async fn twin_posts_at_once_give_one_rating() {
    let h = harness().await;
    let s = login(&h, "nhung", Role::Officer).await;
    let (code, token) = h.submit_trich_luc("rating-twins").await;
    hand_over(&h, &s, &code).await;
    let (a, b) = tokio::join!(
        rate(&h, &code, form(&token, "4", "một")),
        rate(&h, &code, form(&token, "2", "hai"))
    );
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK));
    let texts = [a.text(), b.text()];
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("đã được ghi nhận"))
            .count(),
        1,
        "one is recorded"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("đã đánh giá hồ sơ này rồi"))
            .count(),
        1,
        "the other is thanked"
    );
    assert_eq!(rating_events(&h, &code).await.len(), 1);
}

#[tokio::test]
async fn a_wrong_token_and_hostile_answers_get_plain_messages() {
    let h = harness().await;
    let s = login(&h, "nhung", Role::Officer).await;
    let (code, token) = h.submit_trich_luc("rating-hostile").await;
    s.step(
        &h,
        &code,
        json!({"action": "refuse", "reason": "Không thuộc thẩm quyền"}),
    )
    .await;

    // A refused dossier may be rated; not with another token.
    let a = h
        .get(&format!("/api/dossiers/{code}/rating?t=sai-ma"))
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.text().contains("Không tìm thấy hồ sơ"), "{}", a.text());
    let a = rate(&h, &code, form("sai-ma", "5", "")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = rate(&h, "../../etc-250101-0001", form(&token, "5", "")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    // A score of 9: the form again, with the answers kept and what to do.
    let a = rate(&h, &code, form(&token, "9", "<script>alert(1)</script>")).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = a.text();
    assert!(page.contains("Vui lòng chọn một mức trả lời"), "{page}");
    assert!(
        page.contains(r#"id="on_time-4" name="on_time" value="4" required checked"#),
        "{page}"
    );
    assert!(!page.contains("<script>alert"), "escaped: {page}");
    // The same as JSON.
    let a = h
        .post_json(
            &format!("/api/dossiers/{code}/rating"),
            &json!({"token": token, "overall": 9, "on_time": 1, "attitude": 1}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .contains("Vui lòng chọn")
    );
    // A body past the limit: a plain message, not the framework's.
    let a = rate(&h, &code, form(&token, "5", &"x".repeat(300 * 1024))).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(a.text().contains("Góp ý quá dài"), "{}", a.text());
    assert!(rating_events(&h, &code).await.is_empty());

    // A huge comment within the limit is cut, and the rating taken.
    let a = rate(&h, &code, form(&token, "3", &"ả".repeat(20_000))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let rated = rating_events(&h, &code).await;
    let comment = rated[0]["rating"]["comment"].as_str().unwrap();
    assert_eq!(comment.chars().count(), dossier::rating::MAX_COMMENT);
    assert_eq!(rated[0]["status"], "refused");
}

#[tokio::test]
async fn officers_openings_show_on_the_tracking_page_by_role_not_name() {
    let h = harness().await;
    let s = login(&h, "nhung", Role::Officer).await;
    let (key, altcha, check) = h.stage("giay_chung_sinh", "chung-sinh.pdf", PDF).await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.text());
    let a = h
        .dossier_as(
            &altcha,
            "rating-access-0001",
            khai_sinh_values(),
            json!([{"field": "giay_chung_sinh", "key": key, "name": "Giấy chứng sinh.pdf"}]),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let r = &a.json()["receipt"];
    let code = r["code"].as_str().unwrap().to_owned();
    let token = r["tracking_token"].as_str().unwrap().to_owned();
    let track_json = format!("/api/dossiers/{code}?token={}", urlencode(&token));
    assert_eq!(h.get(&track_json).await.json()["access"], json!([]));

    // The officer opens the dossier, then one of its files.
    let d = s.get(&h, &format!("/api/admin/dossiers/{code}")).await;
    assert_eq!(d.status, StatusCode::OK);
    let d = d.json();
    let file = &d["attachments"][0];
    let (key, name) = (
        file["key"].as_str().unwrap(),
        file["name"].as_str().unwrap(),
    );
    let a = s
        .get(
            &h,
            &format!(
                "/api/admin/dossiers/{code}/attachment?key={}",
                urlencode(key)
            ),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
    // A key of the folder that is no file of the dossier: refused, and not listed.
    let stray = format!("{}nope.pdf", dossier::dossier_prefix(&code).unwrap());
    let a = s
        .get(
            &h,
            &format!(
                "/api/admin/dossiers/{code}/attachment?key={}",
                urlencode(&stray)
            ),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    let track = h.get(&track_json).await;
    let raw = track.text();
    let access = track.json()["access"].clone();
    let lines = access.as_array().unwrap();
    assert_eq!(lines.len(), 2, "{access}");
    // Newest first: the file, then the dossier.
    assert_eq!(name, "Giấy chứng sinh.pdf");
    assert_eq!(lines[0]["what"], format!("tệp đính kèm \"{name}\""));
    assert_eq!(lines[1]["what"], "hồ sơ");
    for l in lines {
        assert_eq!(l["role"], "Cán bộ Trung tâm Phục vụ hành chính công xã");
    }
    assert!(
        !raw.contains(OFFICER_NAME) && !raw.contains("nhung"),
        "{raw}"
    );

    // The function's page too; an administrator's opening reads as such.
    let admin = login(&h, "quantri", Role::Admin).await;
    assert_eq!(
        admin
            .get(&h, &format!("/api/admin/dossiers/{code}"))
            .await
            .status,
        StatusCode::OK
    );
    let html = h
        .get(&format!(
            "/api/track?code={code}&token={}",
            urlencode(&token)
        ))
        .await
        .text();
    assert!(html.contains("Cán bộ đã xem hồ sơ của Ông/Bà"), "{html}");
    assert!(
        html.contains("Cán bộ quản trị hệ thống của xã đã xem hồ sơ"),
        "{html}"
    );
    assert!(
        html.contains("Cán bộ Trung tâm Phục vụ hành chính công xã đã xem tệp đính kèm &quot;Giấy chứng sinh.pdf&quot;"),
        "{html}"
    );
    assert!(!html.contains(OFFICER_NAME), "{html}");
    // What is stored names the role, never the login.
    let keys = h
        .storage()
        .list(&format!(
            "{}access/",
            dossier::dossier_prefix(&code).unwrap()
        ))
        .await
        .unwrap();
    assert_eq!(
        keys.len(),
        4,
        "three openings and the refused key's: {keys:?}"
    );
    for k in &keys {
        let body = h.storage().get(k).await.unwrap().unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            !body.contains("nhung") && !body.contains(OFFICER_NAME),
            "{body}"
        );
        assert!(!k.contains("nhung") && !k.contains("quantri"), "{k}");
    }

    // The receipt printed at the desk (after it was taken in) is an opening too.
    s.step(&h, &code, json!({"action": "receive", "expected_seq": 1}))
        .await;
    let printed = s
        .get(&h, &format!("/api/admin/dossiers/{code}/receipt"))
        .await;
    assert_eq!(printed.status, StatusCode::OK, "{}", printed.text());
    let access = h.get(&track_json).await.json()["access"].clone();
    assert_eq!(
        access[0]["what"], "giấy tiếp nhận hồ sơ (bản in)",
        "{access}"
    );

    // A code typed by hand that names no dossier: not found, and no folder left behind.
    let ghost = format!("{}9", &code[..code.len() - 1]);
    let ghost = if ghost == code {
        format!("{}8", &code[..code.len() - 1])
    } else {
        ghost
    };
    let d = s.get(&h, &format!("/api/admin/dossiers/{ghost}")).await;
    assert_eq!(d.status, StatusCode::NOT_FOUND);
    let left = h
        .storage()
        .list(dossier::dossier_prefix(&ghost).unwrap().as_str())
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}
