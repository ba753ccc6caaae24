//! VNPAY's payment protocol, version 2.1.0: a payment URL signed with HMAC-SHA512 over
//! its parameters sorted by name and form-encoded (the same bytes the gateway signs its
//! IPN and return calls with), amounts in đồng × 100, times in Vietnam's (GMT+7)
//! `yyyyMMddHHmmss`, and the IPN answered with `RspCode` / `Message`.

use hmac::{Hmac, Mac};
use sha2::Sha512;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use super::{Callback, Gateway, IpnOutcome, Order};

/// VNPAY's sandbox payment page; the live one is configured with `MOTCUA_VNPAY_URL`.
pub const SANDBOX_URL: &str = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html";
/// How long the gateway's page accepts the payment.
const EXPIRES_AFTER: Duration = Duration::minutes(15);

#[derive(Clone)]
pub struct Vnpay {
    /// The merchant's terminal code (`vnp_TmnCode`).
    pub tmn_code: String,
    /// The shared secret (`vnp_HashSecret`).
    pub hash_secret: String,
    /// The payment page.
    pub pay_url: String,
}

/// `yyyyMMddHHmmss` in Vietnam's time.
fn vn_stamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(catalog::vn_time::VN);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The bytes signed: `name=value` pairs sorted by name, form-encoded, joined by `&`
/// (empty values left out, as the gateway does).
fn signed_data(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, v)| !v.is_empty() && k != "vnp_SecureHash" && k != "vnp_SecureHashType")
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in sorted {
        out.append_pair(k, v);
    }
    out.finish()
}

impl Vnpay {
    fn sign(&self, data: &str) -> String {
        let mut mac = Hmac::<Sha512>::new_from_slice(self.hash_secret.as_bytes())
            .expect("HMAC takes any key length");
        mac.update(data.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl Gateway for Vnpay {
    fn name(&self) -> &'static str {
        "VNPAY"
    }

    fn payment_url(&self, order: &Order<'_>) -> String {
        let params: Vec<(String, String)> = [
            ("vnp_Version", "2.1.0".to_owned()),
            ("vnp_Command", "pay".to_owned()),
            ("vnp_TmnCode", self.tmn_code.clone()),
            ("vnp_Amount", (order.amount * 100).to_string()),
            ("vnp_CurrCode", "VND".to_owned()),
            ("vnp_TxnRef", order.txn_ref.to_owned()),
            ("vnp_OrderInfo", order.info.to_owned()),
            ("vnp_OrderType", "other".to_owned()),
            ("vnp_Locale", "vn".to_owned()),
            ("vnp_ReturnUrl", order.return_url.to_owned()),
            ("vnp_IpAddr", order.client_ip.to_owned()),
            ("vnp_CreateDate", vn_stamp(order.now)),
            ("vnp_ExpireDate", vn_stamp(order.now + EXPIRES_AFTER)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let data = signed_data(&params);
        let hash = self.sign(&data);
        format!("{}?{data}&vnp_SecureHash={hash}", self.pay_url)
    }

    fn verify(&self, params: &[(String, String)]) -> Option<Callback> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let sent = get("vnp_SecureHash")?.to_ascii_lowercase();
        let expected = self.sign(&signed_data(params));
        if !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
            return None;
        }
        if get("vnp_TmnCode") != Some(self.tmn_code.as_str()) {
            return None;
        }
        let amount: u64 = get("vnp_Amount")?.parse().ok()?;
        if !amount.is_multiple_of(100) {
            return None;
        }
        Some(Callback {
            txn_ref: get("vnp_TxnRef")?.to_owned(),
            amount: amount / 100,
            paid: get("vnp_ResponseCode") == Some("00")
                && get("vnp_TransactionStatus").is_none_or(|s| s == "00"),
            transaction_no: get("vnp_TransactionNo").unwrap_or_default().to_owned(),
            bank_code: get("vnp_BankCode").map(str::to_owned),
        })
    }

    fn ipn_answer(&self, outcome: IpnOutcome) -> serde_json::Value {
        let (code, message) = match outcome {
            IpnOutcome::Confirmed => ("00", "Confirm Success"),
            IpnOutcome::AlreadyConfirmed => ("02", "Order already confirmed"),
            IpnOutcome::UnknownOrder => ("01", "Order not found"),
            IpnOutcome::WrongAmount => ("04", "Invalid amount"),
            IpnOutcome::BadSignature => ("97", "Fail checksum"),
            IpnOutcome::Unavailable => ("99", "Unknown error"),
        };
        serde_json::json!({ "RspCode": code, "Message": message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gateway() -> Vnpay {
        Vnpay {
            tmn_code: "MOTCUA01".into(),
            hash_secret: "SECRETSECRETSECRETSECRETSECRET12".into(),
            pay_url: SANDBOX_URL.into(),
        }
    }

    fn query(url: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(url.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn a_payment_url_is_sorted_signed_and_in_hundredths_of_a_dong() {
        let g = gateway();
        let url = g.payment_url(&Order {
            txn_ref: "a1b2c3d4e5f60718",
            amount: 33_000,
            info: "Nop phi ho so H21IAPET2612020001",
            client_ip: "203.0.113.9",
            now: time::macros::datetime!(2026-12-02 01:00 UTC),
            return_url: "https://iapet.example/api/payments/vnpay/return",
        });
        assert!(url.starts_with(SANDBOX_URL));
        let q = query(&url);
        let names: Vec<&str> = q.iter().map(|(k, _)| k.as_str()).collect();
        let mut sorted = names[..names.len() - 1].to_vec();
        sorted.sort_unstable();
        assert_eq!(&names[..names.len() - 1], &sorted[..]);
        let get = |n: &str| q.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(get("vnp_Amount"), "3300000");
        assert_eq!(get("vnp_CreateDate"), "20261202080000");
        assert_eq!(get("vnp_ExpireDate"), "20261202081500");
        assert_eq!(get("vnp_SecureHash").len(), 128);
        // The spaces of the order info go as '+', as the gateway signs them.
        assert!(url.contains("vnp_OrderInfo=Nop+phi+ho+so+H21IAPET2612020001"));
    }

    #[test]
    fn callbacks_are_believed_only_with_their_signature() {
        let g = gateway();
        let mut params: Vec<(String, String)> = [
            ("vnp_Amount", "3300000"),
            ("vnp_BankCode", "NCB"),
            ("vnp_OrderInfo", "Nop phi ho so H21IAPET2612020001"),
            ("vnp_PayDate", "20261202081000"),
            ("vnp_ResponseCode", "00"),
            ("vnp_TmnCode", "MOTCUA01"),
            ("vnp_TransactionNo", "14123456"),
            ("vnp_TransactionStatus", "00"),
            ("vnp_TxnRef", "a1b2c3d4e5f60718"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let hash = g.sign(&signed_data(&params));
        params.push(("vnp_SecureHash".into(), hash.to_uppercase()));
        let c = g.verify(&params).expect("signed by the gateway's secret");
        assert_eq!(c.amount, 33_000);
        assert!(c.paid);
        assert_eq!(c.transaction_no, "14123456");
        // Any field changed after signing: refused.
        let mut forged = params.clone();
        forged[0].1 = "100".into();
        assert_eq!(g.verify(&forged), None);
        let mut failed = params.clone();
        failed.retain(|(k, _)| k != "vnp_SecureHash");
        failed[4].1 = "24".into();
        let hash = g.sign(&signed_data(&failed));
        failed.push(("vnp_SecureHash".into(), hash));
        assert!(!g.verify(&failed).unwrap().paid);
        assert_eq!(g.ipn_answer(IpnOutcome::AlreadyConfirmed)["RspCode"], "02");
    }
}
