//! Paying through a gateway, VNPAY's protocol: the tracking page's button opens the
//! gateway for one new attempt; the gateway's IPN, signed here as the protocol says
//! (HMAC-SHA512 over the sorted, form-encoded parameters, written apart from
//! `web::gateway`), is recorded once; forged, replayed, wrong-amount and unknown-order
//! notices change nothing and are answered with the protocol's codes.

mod common;

use axum::http::StatusCode;
use common::*;
use hmac::{Hmac, Mac};
use serde_json::Value;

const TMN: &str = "MOTCUA01";
const SECRET: &str = "TESTSECRETTESTSECRETTESTSECRET12";

async fn gateway_harness() -> Harness {
    harness_with(|c| {
        c.vnpay = Some(web::gateway::vnpay::Vnpay {
            tmn_code: TMN.into(),
            hash_secret: SECRET.into(),
            pay_url: "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html".into(),
        });
    })
    .await
}

/// The gateway's side: signs `params` and makes the query string it calls with.
fn signed_query(params: &[(&str, String)]) -> String {
    let mut sorted: Vec<&(&str, String)> = params.iter().collect();
    sorted.sort_by_key(|(k, _)| *k);
    let data = sorted
        .iter()
        .map(|(k, v)| {
            let v: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&");
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    format!(
        "{data}&vnp_SecureHash={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

fn ipn(
    txn_ref: &str,
    amount: u64,
    response: &str,
    transaction_no: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("vnp_Amount", (amount * 100).to_string()),
        ("vnp_BankCode", "NCB".into()),
        ("vnp_OrderInfo", "Nop phi ho so".into()),
        ("vnp_PayDate", "20261202081000".into()),
        ("vnp_ResponseCode", response.into()),
        ("vnp_TmnCode", TMN.into()),
        ("vnp_TransactionNo", transaction_no.into()),
        ("vnp_TransactionStatus", response.into()),
        ("vnp_TxnRef", txn_ref.into()),
    ]
}

/// The tracking page's "pay" form, posted.
async fn press_pay(h: &Harness, code: &str, token: &str) -> Answer {
    h.send(
        axum::http::Request::post(format!("/api/dossiers/{code}/pay"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(format!("token={token}")))
            .unwrap(),
    )
    .await
}

/// Clicks "pay" on the tracking page: the attempt's reference from the gateway URL.
async fn start(h: &Harness, code: &str, token: &str) -> (String, Vec<(String, String)>) {
    let a = press_pay(h, code, token).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
    let url = a.headers["location"].to_str().unwrap().to_owned();
    assert!(
        url.starts_with("https://sandbox.vnpayment.vn/paymentv2/vpcpay.html?"),
        "{url}"
    );
    let params: Vec<(String, String)> =
        form_urlencoded::parse(url.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    let txn = params
        .iter()
        .find(|(k, _)| k == "vnp_TxnRef")
        .unwrap()
        .1
        .clone();
    assert!(
        !code.contains(&txn) && txn.len() >= 16,
        "one reference per attempt, not the code"
    );
    (txn, params)
}

async fn call_ipn(h: &Harness, query: &str) -> Value {
    let a = h.get(&format!("/api/payments/vnpay/ipn?{query}")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    a.json()
}

#[tokio::test]
async fn a_gateway_payment_is_recorded_once_and_bad_notices_change_nothing() {
    let h = gateway_harness().await;
    let (code, token) = h.submit_trich_luc("gateway-0001").await;
    let page = h
        .get(&format!("/api/track?code={code}&token={token}"))
        .await
        .text();
    assert!(page.contains("Thanh toán 8.000 đồng qua VNPAY"), "{page}");
    let (txn, params) = start(&h, &code, &token).await;
    let get = |n: &str| params.iter().find(|(k, _)| k == n).unwrap().1.clone();
    assert_eq!(get("vnp_Amount"), "800000");
    assert_eq!(get("vnp_TmnCode"), TMN);
    assert!(get("vnp_ReturnUrl").ends_with("/api/payments/vnpay/return"));

    // Our URL's signature, recomputed the gateway's way.
    let unsigned: Vec<(&str, String)> = params
        .iter()
        .filter(|(k, _)| k != "vnp_SecureHash")
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let expected = signed_query(&unsigned);
    assert!(expected.ends_with(&format!("vnp_SecureHash={}", get("vnp_SecureHash"))));

    // Forged (signed with another secret), unknown order, wrong amount: nothing.
    let mut forged = signed_query(&ipn(&txn, 8000, "00", "14000001"));
    forged = forged.replace("vnp_Amount=800000", "vnp_Amount=100");
    assert_eq!(call_ipn(&h, &forged).await["RspCode"], "97");
    let unknown = signed_query(&ipn("ffffffffffffffff", 8000, "00", "14000002"));
    assert_eq!(call_ipn(&h, &unknown).await["RspCode"], "01");
    let wrong = signed_query(&ipn(&txn, 5000, "00", "14000003"));
    assert_eq!(call_ipn(&h, &wrong).await["RspCode"], "04");
    let t = h
        .get(&format!("/api/dossiers/{code}?token={token}"))
        .await
        .json();
    assert_eq!(t["payment_label"], "Chờ nộp phí", "{t}");

    // A payment that did not go through: acknowledged, nothing recorded.
    let (failed_txn, _) = start(&h, &code, &token).await;
    let failed = signed_query(&ipn(&failed_txn, 8000, "24", "0"));
    assert_eq!(call_ipn(&h, &failed).await["RspCode"], "00");
    let t = h
        .get(&format!("/api/dossiers/{code}?token={token}"))
        .await
        .json();
    assert_eq!(t["payment_label"], "Chờ nộp phí");

    // The real notice, sent three times at once and once more later: one payment.
    let good = signed_query(&ipn(&txn, 8000, "00", "14123456"));
    let answers = futures_util::future::join_all((0..3).map(|_| call_ipn(&h, &good))).await;
    let codes: Vec<&str> = answers
        .iter()
        .map(|a| a["RspCode"].as_str().unwrap())
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == "00").count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| *c == "00" || *c == "02"), "{codes:?}");
    assert_eq!(call_ipn(&h, &good).await["RspCode"], "02");
    let t = h
        .get(&format!("/api/dossiers/{code}?token={token}"))
        .await
        .json();
    assert_eq!(t["payment_label"], "Đã nộp phí", "{t}");
    let payments: Vec<&Value> = t["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get("payment").is_some())
        .collect();
    assert_eq!(payments.len(), 1, "{t}");
    assert_eq!(payments[0]["payment"]["method"], "gateway");
    assert_eq!(payments[0]["payment"]["amount"], 8000);
    assert_eq!(
        payments[0]["status"], "received",
        "the dossier does not move"
    );
    let page = h
        .get(&format!("/api/track?code={code}&token={token}"))
        .await
        .text();
    assert!(!page.contains("qua VNPAY</button>"), "nothing left to pay");

    // The citizen's return page: the outcome, and the way back to the dossier.
    let back = h.get(&format!("/api/payments/vnpay/return?{good}")).await;
    assert_eq!(back.status, StatusCode::OK);
    let text = back.text();
    assert!(
        text.contains("Thanh toán thành công") && text.contains("8.000 đồng"),
        "{text}"
    );
    assert!(text.contains(&format!("code={code}")), "{text}");
    let forged_back = h.get(&format!("/api/payments/vnpay/return?{forged}")).await;
    assert_eq!(forged_back.status, StatusCode::BAD_REQUEST);

    // Nothing to pay: no new attempt.
    let a = press_pay(&h, &code, &token).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn without_a_gateway_configured_nothing_offers_it() {
    let h = harness().await;
    let (code, token) = h.submit_trich_luc("no-gateway-1").await;
    let page = h
        .get(&format!("/api/track?code={code}&token={token}"))
        .await
        .text();
    assert!(!page.contains("VNPAY"), "{page}");
    let a = h.get("/api/payments/vnpay/ipn?vnp_TxnRef=x").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}
