//! What the citizen is told at each step: the SMS and the e-mail of a notice, and the
//! outbox record that carries them until the delivery pass sends them.

use catalog::Delivery;
use catalog::vn_time::{hhmm, received_text};
use serde::{Deserialize, Serialize};

use crate::{Event, Manifest, Status};

/// What a notice needs besides the dossier.
pub struct NoticeContext<'a> {
    /// The commune's name, as the site shows it.
    pub site_name: &'a str,
    /// The dossier's tracking link ([`crate::tracking::url`]).
    pub tracking_url: String,
    /// The dossier's rating link ([`crate::tracking::rating_url`]), sent once the
    /// dossier is settled.
    pub rating_url: String,
    /// SMS without diacritics (the cheap and safe choice in Vietnam).
    pub sms_ascii: bool,
}

impl NoticeContext<'_> {
    fn sms_text(&self, text: String) -> String {
        if self.sms_ascii {
            strip_marks(&text)
        } else {
            text
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sms {
    pub to: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// `outbox/{id}.json`; the first submission notice (written by the submission itself)
/// has the same shape without the delivery fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxRecord {
    pub code: String,
    /// The status whose step this notice announces.
    pub kind: Status,
    pub created_at: String,
    #[serde(default)]
    pub sms: Option<Sms>,
    #[serde(default)]
    pub email: Option<Email>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub next_attempt_at: Option<String>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// The event this notice announces (`dossiers/…/events/{seq:06}.json`) and the `id`
    /// that event is written with; absent on the submission's first notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

/// Vietnamese without diacritics, case kept (codes and tracking tokens in links must
/// survive): "Hẹn trả" → "Hen tra", "Đ" → "D".
pub fn strip_marks(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    text.chars()
        .map(|c| match c {
            'đ' | 'ð' => 'd',
            'Đ' | 'Ð' => 'D',
            '–' | '—' => '-',
            '…' => '.',
            other => other,
        })
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .collect()
}

/// The notice for an officer's (or the citizen's supplement) step, if the step has one.
pub fn record_for_event(ctx: &NoticeContext, m: &Manifest, e: &Event) -> Option<OutboxRecord> {
    // A payment keeps the status: it is not that status's step again. The tracking
    // page shows it.
    // Nor is the citizen's rating, which they have just given.
    if e.payment.is_some() || e.rating.is_some() {
        return None;
    }
    let url = &ctx.tracking_url;
    let rate = &ctx.rating_url;
    let site = ctx.site_name;
    let short_site = catalog::text::fold(site).to_uppercase();
    let cut = |s: &str, n: usize| -> String {
        let mut t: String = s.chars().take(n).collect();
        if s.chars().count() > n {
            t.push('…');
        }
        t
    };
    let (subject, sms, lines) = match e.status {
        Status::Accepted => {
            let a = e.appointment.unwrap_or(m.appointment);
            let when = format!("{} giờ ngày {}", hhmm(a.time), a.day.vietnamese());
            (
                format!("Hồ sơ {} đã được tiếp nhận – hẹn trả {}", m.code, a.day.vietnamese()),
                format!("{short_site}: ho so {} da duoc tiep nhan. Hen tra ket qua {when}. Tra cuu: {url}", m.code),
                format!("Trung tâm Phục vụ hành chính công xã đã kiểm tra và tiếp nhận hồ sơ của Ông/Bà.\n\nHẹn trả kết quả: {when}."),
            )
        }
        Status::SupplementRequested => {
            let missing = e.missing.clone().unwrap_or_default();
            (
                format!("Hồ sơ {} cần bổ sung giấy tờ", m.code),
                format!("{short_site}: ho so {} can bo sung: {}. Nop bo sung tai: {url}", m.code, cut(&missing, 60)),
                format!("Hồ sơ của Ông/Bà cần bổ sung giấy tờ sau:\n\n{missing}\n\nÔng/Bà có thể nộp bổ sung trực tuyến tại trang tra cứu hồ sơ (đường dẫn bên dưới) hoặc mang đến Trung tâm Phục vụ hành chính công xã."),
            )
        }
        Status::Supplemented => (
            format!("Đã nhận giấy tờ bổ sung cho hồ sơ {}", m.code),
            format!("{short_site}: da nhan giay to bo sung cho ho so {}. Tra cuu: {url}", m.code),
            "Trung tâm Phục vụ hành chính công xã đã nhận giấy tờ bổ sung của Ông/Bà và sẽ tiếp tục xử lý hồ sơ.".into(),
        ),
        Status::ResultReady => {
            // Told the way the citizen chose: nobody who chose post is asked to come.
            let (sms_how, how) = match m.delivery {
                Some(Delivery::Post) => (
                    "Ket qua se gui qua buu dien den dia chi Ong/Ba da khai",
                    "Kết quả sẽ được gửi qua bưu điện đến địa chỉ Ông/Bà đã khai. Khi nhận, Ông/Bà xuất trình giấy tờ tùy thân và trả phí cho nhân viên bưu điện nếu chưa nộp.",
                ),
                Some(Delivery::Online) => (
                    "Ban dien tu co tren trang tra cuu",
                    "Bản điện tử của kết quả có trên trang tra cứu hồ sơ (đường dẫn bên dưới); Ông/Bà không cần đến xã.",
                ),
                Some(Delivery::Desk) | None => (
                    "Moi Ong/Ba den Trung tam Phuc vu hanh chinh cong xa nhan",
                    "Mời Ông/Bà đến Trung tâm Phục vụ hành chính công xã nhận kết quả, mang theo giấy tiếp nhận hồ sơ và giấy tờ tùy thân.",
                ),
            };
            (
                format!("Hồ sơ {} đã có kết quả", m.code),
                format!("{short_site}: ho so {} da co ket qua. {sms_how}. Tra cuu: {url}", m.code),
                format!("Hồ sơ của Ông/Bà đã có kết quả. {how}"),
            )
        }
        Status::Returned if e.delivery.as_deref() == Some("online") => (
            format!("Hồ sơ {} – kết quả bản điện tử", m.code),
            format!("{short_site}: ket qua ho so {} da co ban dien tu, tai ve tai: {url}", m.code),
            "Bản điện tử của kết quả giải quyết hồ sơ đã có trên trang tra cứu hồ sơ (đường dẫn bên dưới): Ông/Bà tải về, không cần đến xã. Đường dẫn tải chỉ dùng được khi có mã tra cứu; xin đừng chia sẻ cho người khác.".into(),
        ),
        Status::Returned => (
            format!("Hồ sơ {} đã trả kết quả", m.code),
            format!("{short_site}: ho so {} da tra ket qua. Danh gia: {rate}", m.code),
            "Kết quả giải quyết hồ sơ đã được trao cho Ông/Bà tại Trung tâm Phục vụ hành chính công xã. Cảm ơn Ông/Bà đã sử dụng dịch vụ công trực tuyến.".into(),
        ),
        Status::Posted => {
            let n = e.postal_tracking.clone().unwrap_or_default();
            (
                format!("Hồ sơ {} – kết quả đã gửi qua bưu điện", m.code),
                format!("{short_site}: ket qua ho so {} da gui qua buu dien, so buu gui {n}. Danh gia: {rate}", m.code),
                format!("Kết quả giải quyết hồ sơ đã được gửi đến Ông/Bà qua bưu điện.\n\nSố hiệu bưu gửi: {n}"),
            )
        }
        Status::Refused => {
            let reason = e.reason.clone().unwrap_or_default();
            (
                format!("Hồ sơ {} không được giải quyết", m.code),
                format!("{short_site}: ho so {} bi tu choi. Ly do: {}. Chi tiet: {url}", m.code, cut(&reason, 70)),
                format!("Rất tiếc, hồ sơ của Ông/Bà không được giải quyết.\n\nLý do: {reason}\n\nMọi thắc mắc xin liên hệ Trung tâm Phục vụ hành chính công xã."),
            )
        }
        Status::Received => return None,
    };
    // Settled: one tap to rate the service. The SMS of an online result and of a
    // refusal already carry a link (the tracking page, which offers the rating too); a
    // second one would make them three messages long, so only the e-mail has both.
    let rating_line = if crate::rating::settles(e.status) {
        format!(
            "\n\nÔng/Bà vui lòng dành một phút đánh giá mức độ hài lòng về việc giải quyết hồ sơ: {rate}"
        )
    } else {
        String::new()
    };
    let body = format!(
        "Kính gửi {},\n\n{lines}{rating_line}\n\nMã hồ sơ: {}\nThủ tục: {}\n\nTra cứu tình trạng hồ sơ: {url}\n\n{site}\nĐây là thư tự động, vui lòng không trả lời thư này.\n",
        if m.contact.name.is_empty() {
            "Ông/Bà"
        } else {
            &m.contact.name
        },
        m.code,
        m.procedure.title,
    );
    Some(OutboxRecord {
        code: m.code.clone(),
        kind: e.status,
        created_at: e.at.clone(),
        sms: m.contact.sms_to().map(|to| Sms {
            to: to.to_owned(),
            text: ctx.sms_text(sms),
        }),
        email: m.contact.email_to().map(|to| Email {
            to: to.to_owned(),
            subject: format!("{subject} – {}", m.procedure.title),
            body,
        }),
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
        event_key: None,
        event_id: None,
    })
}

/// The first notice, written by the submission itself: the dossier is received, with
/// its appointment.
pub fn received_notice(ctx: &NoticeContext, m: &Manifest) -> OutboxRecord {
    let url = &ctx.tracking_url;
    let when = format!(
        "{} giờ ngày {}",
        hhmm(m.appointment.time),
        m.appointment.day.vietnamese()
    );
    // The amount and where to see how to pay it (the tracking page's VietQR code).
    let total = m.fee.as_ref().map(|q| q.total).filter(|t| *t > 0);
    let sms_fee = total
        .map(|t| {
            format!(
                " Phi phai nop {}, cach nop xem tai trang tra cuu.",
                catalog::text::fold(&catalog::fee::dong(t))
            )
        })
        .unwrap_or_default();
    let email_fee = total
        .map(|t| {
            format!(
                "\nPhí, lệ phí phải nộp: {}. Cách nộp (chuyển khoản bằng mã VietQR, hoặc tiền mặt khi nhận kết quả) có trên trang tra cứu hồ sơ.",
                catalog::fee::dong(t)
            )
        })
        .unwrap_or_default();
    let sms = format!(
        "{}: da tiep nhan ho so {} ({}). Hen tra ket qua {}.{sms_fee} Tra cuu: {}",
        catalog::text::fold(ctx.site_name).to_uppercase(),
        m.code,
        catalog::text::fold(&m.procedure.title),
        when,
        url
    );
    let email = m.contact.email_to().map(|to| Email {
        to: to.to_owned(),
        subject: format!("Đã tiếp nhận hồ sơ {} – {}", m.code, m.procedure.title),
        body: format!(
            "Kính gửi {},\n\n{} đã tiếp nhận hồ sơ {} của Ông/Bà.\n\nMã hồ sơ: {}\nThủ tục: {}\nThời gian tiếp nhận: {}\nHẹn trả kết quả: {}{email_fee}\n\nTra cứu tình trạng hồ sơ: {}\n\nĐây là thư tự động, vui lòng không trả lời thư này.\n",
            m.contact.name,
            ctx.site_name,
            if m.channel == "desk" {
                "nộp tại Trung tâm Phục vụ hành chính công xã"
            } else {
                "trực tuyến"
            },
            m.code,
            m.procedure.title,
            received_text(&m.received_at),
            when,
            url
        ),
    });
    OutboxRecord {
        code: m.code.clone(),
        kind: Status::Received,
        created_at: m.received_at.clone(),
        sms: m.contact.sms_to().map(|to| Sms {
            to: to.to_owned(),
            text: sms,
        }),
        email,
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
        event_key: None,
        event_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ContactInfo, Event, Manifest, ProcedureRef};
    use catalog::fee::{Quote, QuoteLine};
    use catalog::{Appointment, Day};
    use time::macros::{date, time};

    fn manifest(delivery: Option<Delivery>, fee: Option<u64>) -> Manifest {
        Manifest {
            version: 1,
            code: "H21.IAPET-261202-0001".into(),
            procedure: ProcedureRef {
                code: "2.000635".into(),
                title: "Cấp bản sao trích lục hộ tịch".into(),
                level: 4,
            },
            unit_code: "H21.IAPET".into(),
            fields: serde_json::Map::new(),
            attachments: Vec::new(),
            paper: Vec::new(),
            contact: ContactInfo {
                name: "Trần Văn Bình".into(),
                phone: "0987654321".into(),
                email: Some("binh@example.vn".into()),
                address: None,
                notify_by: None,
            },
            appointment: Appointment {
                day: Day(date!(2026 - 12 - 02)),
                time: time!(16:00),
            },
            received_at: "2026-12-02T01:00:00Z".into(),
            channel: "json".into(),
            tracking_token_sha256: String::new(),
            idempotency_key_sha256: String::new(),
            delivery,
            delivery_address: None,
            fee: fee.map(|total| Quote {
                lines: vec![QuoteLine {
                    label: "Phí, lệ phí".into(),
                    amount: total,
                }],
                total,
                exemption_claimed: false,
            }),
        }
    }

    fn ctx() -> NoticeContext<'static> {
        NoticeContext {
            site_name: "Xã Ia Pết",
            tracking_url: "https://iapet.example/api/track?code=x&token=y".into(),
            rating_url: "https://iapet.example/api/dossiers/x/rating?t=y".into(),
            sms_ascii: true,
        }
    }

    #[test]
    fn the_result_ready_notice_follows_the_chosen_delivery() {
        let ready = Event::new("2026-12-02T08:00:00Z".into(), Status::ResultReady);
        let by_post = record_for_event(&ctx(), &manifest(Some(Delivery::Post), None), &ready)
            .expect("a notice");
        let sms = by_post.sms.expect("an SMS").text;
        let email = by_post.email.expect("an e-mail").body;
        assert!(
            sms.contains("gui qua buu dien") && !sms.contains("den Bo phan"),
            "{sms}"
        );
        assert!(
            email.contains("qua bưu điện") && !email.contains("Mời Ông/Bà đến"),
            "{email}"
        );
        let at_desk = record_for_event(&ctx(), &manifest(Some(Delivery::Desk), None), &ready)
            .expect("a notice");
        assert!(
            at_desk
                .sms
                .expect("an SMS")
                .text
                .contains("den Trung tam Phuc vu hanh chinh cong xa nhan")
        );
        assert!(crate::step::result_ready_text(Some(Delivery::Post)).contains("bưu điện"));
        assert!(!crate::step::result_ready_text(Some(Delivery::Post)).contains("Mời Ông/Bà đến"));
    }

    #[test]
    fn settled_notices_carry_the_rating_link_and_a_rating_sends_none() {
        let m = manifest(Some(Delivery::Desk), None);
        let rate = "https://iapet.example/api/dossiers/x/rating?t=y";
        for status in [Status::Returned, Status::Posted, Status::Refused] {
            let mut e = Event::new("2026-12-02T08:00:00Z".into(), status);
            e.postal_tracking = Some("EE1VN".into());
            e.reason = Some("Thiếu giấy tờ".into());
            let r = record_for_event(&ctx(), &m, &e).expect("a notice");
            assert!(r.email.expect("an e-mail").body.contains(rate), "{status}");
            let sms = r.sms.expect("an SMS").text;
            // One link per SMS: the refusal's is the tracking page, which offers it.
            assert_eq!(sms.matches("https://").count(), 1, "{sms}");
            if status != Status::Refused {
                assert!(sms.contains(rate), "{sms}");
            }
        }
        let ready = Event::new("2026-12-02T08:00:00Z".into(), Status::ResultReady);
        let r = record_for_event(&ctx(), &m, &ready).unwrap();
        assert!(!r.email.unwrap().body.contains(rate));
        let mut rated = Event::new("2026-12-02T09:00:00Z".into(), Status::Returned);
        rated.rating = Some(crate::Rating {
            overall: 5,
            on_time: 5,
            attitude: 5,
            comment: None,
        });
        assert!(record_for_event(&ctx(), &m, &rated).is_none());
    }

    #[test]
    fn the_received_notice_says_the_amount_when_there_is_one() {
        let with_fee = received_notice(&ctx(), &manifest(Some(Delivery::Post), Some(49_000)));
        assert!(
            with_fee
                .sms
                .expect("an SMS")
                .text
                .contains("Phi phai nop 49.000 dong")
        );
        assert!(
            with_fee
                .email
                .expect("an e-mail")
                .body
                .contains("Phí, lệ phí phải nộp: 49.000 đồng")
        );
        let free = received_notice(&ctx(), &manifest(None, None));
        assert!(!free.sms.expect("an SMS").text.contains("Phi"));
    }
}
