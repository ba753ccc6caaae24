//! Test harness: the router over an embedded S3 store started per test in a temporary
//! folder, or over moto when MOTCUA_TEST_S3_ENDPOINT is set.
#![allow(dead_code)]

use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use dev_store::EmbeddedS3;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use store::Storage;
use tower::ServiceExt;
use web::{AppState, Config, router};

pub struct Harness {
    pub state: AppState,
    pub router: Router,
    pub store: Option<EmbeddedS3>,
    pub moto: bool,
    pub dir: tempfile::TempDir,
}

pub fn content_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/content")
}

pub async fn harness() -> Harness {
    harness_with(|_| {}).await
}

pub async fn harness_with(adjust: impl FnOnce(&mut Config)) -> Harness {
    let content = catalog::load(&content_dir()).expect("fixture content loads");
    harness_built(adjust, |storage, config| {
        AppState::new(&content, storage, config)
    })
    .await
}

/// A harness whose state is made by `build` (e.g. from a bundle file, as in production).
pub async fn harness_built(
    adjust: impl FnOnce(&mut Config),
    build: impl FnOnce(Storage, Config) -> AppState,
) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let (config, storage, store, moto) = match std::env::var("MOTCUA_TEST_S3_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => {
            let mut config = Config::for_tests(content_dir(), Some(endpoint));
            config.bucket = format!("t-{}", hex::encode(rand::random::<[u8; 8]>()));
            adjust(&mut config);
            let storage = config
                .storage(Some(("testing".into(), "testing".into())))
                .await;
            (config, storage, None, true)
        }
        _ => {
            let store = web::serve::dev_store(dir.path()).await.unwrap();
            let mut config = Config::for_tests(content_dir(), Some(store.endpoint.clone()));
            adjust(&mut config);
            let storage = config.storage(Some(store.keys())).await;
            (config, storage, Some(store), false)
        }
    };
    storage.ensure_bucket().await.unwrap();
    let state = build(storage, config);
    Harness {
        router: router(state.clone()),
        state,
        store,
        moto,
        dir,
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Harness {
    pub async fn send(&self, req: Request<Body>) -> Answer {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> Answer {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn post_json(&self, uri: &str, body: &Value) -> Answer {
        self.send(
            Request::post(uri)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(body).unwrap()))
                .unwrap(),
        )
        .await
    }

    pub async fn post_raw(&self, uri: &str, content_type: &str, body: Vec<u8>) -> Answer {
        self.send(
            Request::post(uri)
                .header("content-type", content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// A solved ALTCHA payload from the function's own challenge.
    pub async fn altcha(&self) -> String {
        let a = self.get("/api/challenge").await;
        assert_eq!(a.status, StatusCode::OK);
        let c: web::captcha::Challenge = serde_json::from_slice(&a.body).unwrap();
        web::captcha::solve(&c).expect("solvable")
    }

    /// Submits the level-3 extract fixture (2.000635) under `key`; its code and tracking token.
    pub async fn submit_trich_luc(&self, key: &str) -> (String, String) {
        let altcha = self.altcha().await;
        let a = self
            .post_json(
                "/api/dossiers",
                &json!({"procedure": "2.000635", "idempotency_key": key, "altcha": altcha,
                    "values": trich_luc_values()}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        let r = &a.json()["receipt"];
        (
            r["code"].as_str().unwrap().to_owned(),
            r["tracking_token"].as_str().unwrap().to_owned(),
        )
    }

    pub fn storage(&self) -> &Storage {
        self.state.storage()
    }

    /// Every manifest in the bucket.
    pub async fn manifests(&self) -> Vec<String> {
        self.storage()
            .list("dossiers/")
            .await
            .unwrap()
            .into_iter()
            .filter(|k| k.ends_with("/dossier.json"))
            .collect()
    }

    /// Stages `bytes` for `field` as the browser does, under a new proof of work: the
    /// upload ticket, the presigned PUT, the check once it is up. The staged key, the
    /// `altcha` value its submission must carry, and the check's answer.
    pub async fn stage(&self, field: &str, name: &str, bytes: &[u8]) -> (String, String, Answer) {
        let altcha = self.altcha().await;
        let (key, check) = self.stage_under(&altcha, field, name, bytes).await;
        (key, altcha, check)
    }

    /// [`Harness::stage`] under a given proof of work.
    pub async fn stage_under(
        &self,
        altcha: &str,
        field: &str,
        name: &str,
        bytes: &[u8],
    ) -> (String, Answer) {
        let kind = match name.rsplit('.').next() {
            Some("png") => "image/png",
            Some("jpg" | "jpeg") => "image/jpeg",
            _ => "application/pdf",
        };
        let a = self
            .post_json(
                "/api/uploads",
                &json!({"procedure": "1.001193", "altcha": altcha, "files": [
                    {"field": field, "name": name, "size": bytes.len(), "type": kind}]}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        let up = &a.json()["uploads"][0];
        let key = up["key"].as_str().unwrap().to_owned();
        let put = presigned_put(up["url"].as_str().unwrap(), &up["headers"], bytes.to_vec()).await;
        assert_eq!(put, 200);
        let check = self
            .post_json(
                "/api/uploads/check",
                &json!({"procedure": "1.001193", "altcha": altcha,
                    "files": [{"field": field, "key": key, "name": name}]}),
            )
            .await;
        (key, check)
    }

    pub async fn dossier(&self, key: &str, values: Value, uploads: Value) -> Answer {
        let altcha = self.altcha().await;
        self.dossier_as(&altcha, key, values, uploads).await
    }

    /// A submission of the level-3 fixture with a given proof of work.
    pub async fn dossier_as(
        &self,
        altcha: &str,
        key: &str,
        values: Value,
        uploads: Value,
    ) -> Answer {
        self.post_json(
            "/api/dossiers",
            &json!({
                "procedure": "1.001193",
                "idempotency_key": key,
                "altcha": altcha,
                "website": "",
                "values": values,
                "uploads": uploads,
            }),
        )
        .await
    }
}

/// Valid values for the level-3 fixture procedure (without its required attachment).
pub fn khai_sinh_values() -> Value {
    json!({
        "ho_ten": "Nguyễn Thị Lan",
        "so_dinh_danh": "064190000123",
        "dien_thoai": "0912 345 678",
        "email": "lan@example.vn",
        "nhan_thong_bao": ["sms", "email"],
        "noi_cu_tru": {"detail": "Thôn 1", "commune": "Xã Thử Nghiệm", "province": "Tỉnh Mẫu"},
        "ngay_sinh_tre": "2025-05-01",
        "so_ban": "2"
    })
}

pub fn trich_luc_values() -> Value {
    json!({ "ho_ten": "Trần Văn Bình", "dien_thoai": "0987654321", "loai": "khai_sinh" })
}

pub const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
/// A whole 1 × 1 PNG (the function decodes every image it takes).
pub const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0b\x49\x44\x41\x54\x78\x9c\x63\x60\x00\x02\x00\x00\x05\x00\x01\x7a\x5e\xab\x3f\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";
pub const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0 this is not a pdf";

/// PUTs bytes to a presigned URL; returns the status.
pub async fn presigned_put(url: &str, headers: &Value, body: Vec<u8>) -> u16 {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, http_body_util::Full<bytes::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut req = Request::put(url).header("content-length", body.len());
    for (k, v) in headers.as_object().unwrap() {
        req = req.header(k.as_str(), v.as_str().unwrap());
    }
    let resp = client
        .request(
            req.body(http_body_util::Full::new(bytes::Bytes::from(body)))
                .unwrap(),
        )
        .await
        .unwrap();
    resp.status().as_u16()
}

/// A multipart/form-data body from text fields and files.
pub fn multipart(texts: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----motcua-test-boundary-7d9";
    let mut body = Vec::new();
    for (name, value) in texts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file_name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A fresh question of the plain form, answered from its words as a person would, with
/// its token as the function's own page carries it (`gate`). Leaked: tests only.
pub fn answered_gate() -> [(&'static str, &'static str); 2] {
    let key = Config::for_tests(content_dir(), None).captcha_key;
    let gate = web::gate::create(&key, time::OffsetDateTime::now_utc().unix_timestamp());
    let answer = web::gate::solve(&gate.question).expect("a question a person can answer");
    [
        (
            "human_answer",
            Box::leak(answer.to_string().into_boxed_str()),
        ),
        ("gate", Box::leak(gate.token.into_boxed_str())),
    ]
}

/// Form fields for the level-3 fixture as a plain post sends them.
pub fn khai_sinh_form(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let [answer, gate] = answered_gate();
    let mut v = vec![
        ("procedure", "1.001193"),
        ("idempotency_key", ""),
        ("website", ""),
        answer,
        gate,
        ("ho_ten", "Lê Văn Cường"),
        ("so_dinh_danh", "064190000123"),
        ("dien_thoai", "0912345678"),
        ("noi_cu_tru.detail", "Thôn 2"),
        ("noi_cu_tru.commune", "Xã Thử Nghiệm"),
        ("noi_cu_tru.province", "Tỉnh Mẫu"),
        ("ngay_sinh_tre", "01/05/2025"),
    ];
    for (k, val) in extra {
        if let Some(slot) = v.iter_mut().find(|(n, _)| n == k) {
            slot.1 = val;
        } else {
            v.push((k, val));
        }
    }
    v
}
