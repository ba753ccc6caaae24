//! The desk's steps on a dossier, checked and turned into the event that records them.
//! Writing the event (exactly once, on the next sequence number) is the store's job.

use catalog::vn_time::{VN, format_time, hhmm};
use catalog::{Appointment, Calendar, Day, Delivery, Procedure};
use serde::Deserialize;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::status::Money;
use crate::{Action, Event, Payment, PaymentMethod, Status, current_status};

/// What another officer's step in between gets.
pub const CONFLICT: &str = "Hồ sơ vừa được cán bộ khác cập nhật, vui lòng tải lại";

/// A step as the console sends it.
#[derive(Debug, Deserialize)]
pub struct StepRequest {
    pub action: String,
    /// The number of events the officer saw; the step is refused if there are more now.
    #[serde(default)]
    pub expected_seq: Option<u32>,
    /// receive: YYYY-MM-DD (default: the proposed day).
    #[serde(default)]
    pub appointment: Option<String>,
    /// receive: HH:MM (default 16:00).
    #[serde(default)]
    pub appointment_time: Option<String>,
    /// request-papers: what is missing.
    #[serde(default)]
    pub missing: Option<String>,
    /// hand-over: "desk" or "post".
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub postal_tracking: Option<String>,
    /// refuse: why.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// hand-over online: the result file, its bytes in base64 (the web layer checks
    /// and stores it).
    #[serde(default)]
    pub result_file: Option<ResultFile>,
    /// record-payment: the amount received, in đồng ("49.000" or "49000").
    #[serde(default)]
    pub amount: Option<String>,
    /// record-payment: "transfer" or "cash".
    #[serde(default)]
    pub payment_method: Option<String>,
    /// record-payment: the bank's transaction reference (a transfer).
    #[serde(default)]
    pub reference: Option<String>,
    /// record-payment, record-receipt: the electronic receipt's lookup code.
    #[serde(default)]
    pub e_receipt: Option<String>,
}

/// A fee paid through a payment gateway, as the gateway confirmed it: the dossier stays
/// where it was (`events` are its events so far). `reference` names the gateway and its
/// attempt, so that the same confirmation found again changes nothing.
pub fn gateway_payment(
    events: &[Event],
    at: OffsetDateTime,
    amount: u64,
    gateway: &str,
    reference: String,
) -> Event {
    let mut event = Event::new(format_time(at), current_status(events));
    event.label = format!(
        "Đã nộp phí {} ({} {gateway})",
        catalog::fee::dong(amount),
        PaymentMethod::Gateway.label()
    );
    event.payment = Some(Payment {
        amount,
        method: PaymentMethod::Gateway,
        reference: Some(reference),
    });
    event
}

/// The amount, the way and the reference of money received or given back, as the
/// officer typed them; `ask` begins the message when the amount is missing.
fn money_moved(req: &StepRequest, ask: &str) -> Result<Payment, StepRefused> {
    let amount = req
        .amount
        .as_deref()
        .map(|a| a.trim().replace(['.', ',', ' '], ""))
        .and_then(|a| a.parse::<u64>().ok())
        .filter(|a| (1..100_000_000).contains(a))
        .ok_or_else(|| invalid(format!("{ask}, chỉ gồm chữ số, ví dụ 49000.")))?;
    let method = match req.payment_method.as_deref().map(str::trim) {
        Some("transfer") | None | Some("") => PaymentMethod::Transfer,
        Some("cash") => PaymentMethod::Cash,
        Some(_) => {
            return Err(invalid("Vui lòng chọn cách: chuyển khoản hoặc tiền mặt."));
        }
    };
    let reference = clean(&req.reference, 80);
    if method == PaymentMethod::Transfer && reference.is_none() {
        return Err(invalid(
            "Vui lòng nhập mã giao dịch in trên sao kê ngân hàng, để đối chiếu khi cần.",
        ));
    }
    Ok(Payment {
        amount,
        method,
        reference,
    })
}

/// The electronic receipt's lookup code the officer typed, if any: letters, digits and
/// a few marks, as receipt systems print them.
fn receipt_code(req: &StepRequest, facts: Facts) -> Result<Option<String>, StepRefused> {
    let Some(code) = clean(&req.e_receipt, 60) else {
        return Ok(None);
    };
    if !facts.money.e_receipts {
        return Err(invalid(
            "Xã chưa khai báo hệ thống biên lai điện tử (e_receipt trong site.yaml).",
        ));
    }
    if !code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        return Err(invalid(format!(
            "Mã tra cứu biên lai \"{code}\" có ký tự lạ; chỉ gồm chữ, số và các dấu - _ . /, đúng như in trên biên lai."
        )));
    }
    Ok(Some(code))
}

/// A result file the officer sends with a hand-over online.
#[derive(Debug, Clone, Deserialize)]
pub struct ResultFile {
    pub name: String,
    /// The file's bytes, base64.
    pub data: String,
}

/// What a step needs to know of the dossier besides its events.
#[derive(Debug, Default, Clone, Copy)]
pub struct Facts {
    /// How the citizen chose to receive the result.
    pub delivery: Option<Delivery>,
    /// Where its money stands (which steps about the fee are open).
    pub money: Money,
}

impl Facts {
    /// The facts of dossier `m` after `events`; `e_receipts`: the commune has an
    /// electronic receipt system.
    pub fn of(m: &crate::Manifest, events: &[Event], e_receipts: bool) -> Facts {
        Facts {
            delivery: m.delivery,
            money: money(m, events, e_receipts),
        }
    }
}

/// Where the money of dossier `m` stands after `events`.
pub fn money(m: &crate::Manifest, events: &[Event], e_receipts: bool) -> Money {
    Money {
        owes_fee: crate::payment::due(m) > 0,
        paid: crate::payment::paid(events),
        refundable: crate::payment::refundable(m, events),
        e_receipts,
    }
}

/// Who takes the step.
#[derive(Debug, Clone, Copy)]
pub struct Officer<'a> {
    pub login: &'a str,
    pub name: &'a str,
}

/// Why a step is not taken; each reads as the officer's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepRefused {
    /// Someone else's step came first (409).
    #[error("{CONFLICT}")]
    Conflict,
    /// The step does not fit the request or the dossier's status (422).
    #[error("{0}")]
    Invalid(String),
}

/// The appointment of a dossier received at `now`: the procedure's working days from
/// its reception day (after the cut-off, 15:00 unless the procedure says otherwise, the
/// next working day), holidays skipped. The receipt's appointment, and the one the desk
/// proposes when it takes the dossier in (3 days when the procedure is no longer in the
/// catalogue).
pub fn proposed_appointment(
    calendar: &Calendar,
    procedure: Option<&Procedure>,
    now: OffsetDateTime,
) -> Appointment {
    let now = now.to_offset(VN);
    calendar.appointment(
        PrimitiveDateTime::new(now.date(), now.time()),
        procedure.map_or(3, |p| p.processing.working_days),
        Some(catalog::calendar::cutoff_of(procedure)),
    )
}

/// The event of a dossier taken in by the desk with appointment `a`, at `at`: for the
/// console's step on a dossier sent online, and for a paper dossier the desk types in
/// (`web::intake`), which is taken in as it is received.
pub fn taken_in(at: String, officer: Officer<'_>, a: Appointment, note: Option<&str>) -> Event {
    let mut event = Event::new(at, Status::Received);
    event.by = Some(officer.login.to_owned());
    event.by_name = Some(officer.name.to_owned());
    accept(&mut event, a, note);
    event
}

fn accept(event: &mut Event, a: Appointment, note: Option<&str>) {
    event.status = Status::Accepted;
    event.label = Status::Accepted.label().to_owned();
    event.note = Some(format!(
        "Đã tiếp nhận hồ sơ. Hẹn trả kết quả: {} giờ, ngày {}.{}",
        hhmm(a.time),
        a.day.vietnamese(),
        note.map(|n| format!(" {n}")).unwrap_or_default()
    ));
    event.appointment = Some(a);
}

fn clean(text: &Option<String>, max: usize) -> Option<String> {
    text.as_deref()
        .map(|s| {
            s.chars()
                .filter(|c| !c.is_control() || *c == '\n')
                .take(max)
                .collect::<String>()
                .trim()
                .to_owned()
        })
        .filter(|s| !s.is_empty())
}

fn invalid(text: impl Into<String>) -> StepRefused {
    StepRefused::Invalid(text.into())
}

/// What the citizen is told when the result is ready, by the way they chose to receive
/// it: nobody who chose post is asked to come to the desk.
pub fn result_ready_text(delivery: Option<Delivery>) -> &'static str {
    match delivery {
        Some(Delivery::Post) => {
            "Đã có kết quả. Kết quả sẽ được gửi qua bưu điện đến địa chỉ Ông/Bà đã khai; khi nhận, Ông/Bà xuất trình giấy tờ tùy thân và trả phí cho nhân viên bưu điện nếu chưa nộp."
        }
        Some(Delivery::Online) => {
            "Đã có kết quả. Bản điện tử của kết quả sẽ có trên trang tra cứu hồ sơ; Ông/Bà không cần đến xã."
        }
        Some(Delivery::Desk) | None => {
            "Đã có kết quả. Mời Ông/Bà đến Trung tâm Phục vụ hành chính công xã nhận kết quả (mang theo giấy tiếp nhận và giấy tờ tùy thân)."
        }
    }
}

/// Checks step `req` on a dossier whose events are `events` and returns the event that
/// records it. `proposed` is [`proposed_appointment`] for now.
pub fn take(
    req: &StepRequest,
    events: &[Event],
    officer: Officer<'_>,
    calendar: &Calendar,
    proposed: Appointment,
    facts: Facts,
    now: OffsetDateTime,
) -> Result<Event, StepRefused> {
    let seq = events.len() as u32;
    if req.expected_seq.is_some_and(|e| e != seq) {
        return Err(StepRefused::Conflict);
    }
    let status = current_status(events);
    let open = |a: &Action| status.allows(*a) || a.open_for_money(status, facts.money);
    let Some(action) = Action::parse(&req.action).filter(open) else {
        return Err(invalid(format!(
            "Hồ sơ đang ở trạng thái \"{}\", không thể thực hiện bước này.",
            status.label()
        )));
    };
    let now_vn = now.to_offset(VN);
    let note = clean(&req.note, 1000);
    let mut event = Event::new(format_time(now), Status::Received);
    event.by = Some(officer.login.to_owned());
    event.by_name = Some(officer.name.to_owned());
    match action {
        Action::Receive => {
            let day = match req
                .appointment
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                None => proposed.day,
                Some(text) => Day::parse_input(text).ok_or_else(|| {
                    invalid(format!(
                        "Ngày hẹn \"{}\" không hợp lệ; hãy chọn ngày dạng NNNN-TT-NN.",
                        text.chars().take(20).collect::<String>()
                    ))
                })?,
            };
            if day.0 < now_vn.date() {
                return Err(invalid("Ngày hẹn trả kết quả không được trước hôm nay."));
            }
            if !calendar.is_working_day(day) {
                return Err(invalid(format!(
                    "Ngày {} là ngày nghỉ; vui lòng chọn một ngày làm việc.",
                    day.vietnamese()
                )));
            }
            let time = match req
                .appointment_time
                .as_deref()
                .filter(|s| !s.trim().is_empty())
            {
                None => proposed.time,
                Some(t) => catalog::calendar::parse_hhmm(t).ok_or_else(|| {
                    invalid("Giờ hẹn không hợp lệ; hãy viết dạng GG:PP, ví dụ 16:00.")
                })?,
            };
            accept(&mut event, Appointment { day, time }, note.as_deref());
        }
        Action::RequestPapers => {
            let missing = clean(&req.missing, 1000)
                .ok_or_else(|| invalid("Vui lòng ghi rõ giấy tờ cần bổ sung."))?;
            event.status = Status::SupplementRequested;
            event.note = Some(format!("Cần bổ sung: {missing}"));
            event.missing = Some(missing);
        }
        Action::ResultReady => {
            event.status = Status::ResultReady;
            event.note = Some(note.unwrap_or_else(|| result_ready_text(facts.delivery).to_owned()));
        }
        Action::HandOver => match req.method.as_deref() {
            Some("post") => {
                let number = clean(&req.postal_tracking, 40)
                    .ok_or_else(|| invalid("Vui lòng nhập số hiệu bưu gửi."))?;
                event.status = Status::Posted;
                event.delivery = Some("post".into());
                event.note = Some(format!(
                    "Đã gửi kết quả qua bưu điện, số hiệu bưu gửi: {number}."
                ));
                event.postal_tracking = Some(number);
            }
            Some("desk") | None => {
                event.status = Status::Returned;
                event.delivery = Some("desk".into());
                event.note = Some(note.unwrap_or_else(|| {
                    "Đã trả kết quả tại Trung tâm Phục vụ hành chính công xã.".into()
                }));
            }
            Some("online") => {
                if facts.delivery != Some(Delivery::Online) {
                    return Err(invalid(
                        "Công dân không chọn nhận bản điện tử: hãy trả kết quả tại quầy hoặc qua bưu điện.",
                    ));
                }
                if req.result_file.is_none() {
                    return Err(invalid(
                        "Vui lòng chọn tệp kết quả (bản quét có chữ ký, dấu hoặc bản điện tử) để gửi cho công dân.",
                    ));
                }
                event.status = Status::Returned;
                event.delivery = Some("online".into());
                event.note = Some(note.unwrap_or_else(|| {
                    "Đã gửi bản điện tử của kết quả: Ông/Bà tải về trên trang tra cứu hồ sơ.".into()
                }));
            }
            Some(_) => {
                return Err(invalid(
                    "Cách trả kết quả phải là tại quầy, qua bưu điện hoặc bản điện tử.",
                ));
            }
        },
        Action::Refuse => {
            let reason = clean(&req.reason, 1000)
                .ok_or_else(|| invalid("Vui lòng ghi rõ lý do từ chối."))?;
            event.status = Status::Refused;
            event.note = Some(format!("Lý do: {reason}"));
            event.reason = Some(reason);
        }
        Action::RecordPayment => {
            let money = money_moved(req, "Vui lòng nhập số tiền đã nhận")?;
            // The dossier stays where it was.
            event.status = status;
            event.label = format!(
                "Đã nộp phí {} ({})",
                catalog::fee::dong(money.amount),
                money.method.label()
            );
            event.note = note;
            event.e_receipt = receipt_code(req, facts)?;
            event.payment = Some(money);
            return Ok(event);
        }
        Action::RecordRefund => {
            let money = money_moved(req, "Vui lòng nhập số tiền đã hoàn trả")?;
            if money.amount > facts.money.refundable {
                return Err(invalid(format!(
                    "Chỉ có {} cần hoàn trả cho hồ sơ này; vui lòng kiểm tra lại số tiền.",
                    catalog::fee::dong(facts.money.refundable)
                )));
            }
            event.status = status;
            event.label = format!(
                "Đã hoàn trả {} ({})",
                catalog::fee::dong(money.amount),
                money.method.label()
            );
            event.note = note;
            event.refund = Some(money);
            return Ok(event);
        }
        Action::RecordReceipt => {
            event.status = status;
            event.e_receipt =
                Some(receipt_code(req, facts)?.ok_or_else(|| {
                    invalid("Vui lòng nhập mã tra cứu in trên biên lai điện tử.")
                })?);
            event.label = format!(
                "Đã phát hành biên lai điện tử (mã tra cứu {})",
                event.e_receipt.as_deref().unwrap_or_default()
            );
            event.note = note;
            return Ok(event);
        }
    }
    debug_assert!(action.leads_to().contains(&event.status));
    event.label = event.status.label().into();
    Ok(event)
}

/// The citizen's own step: the papers asked for, sent from the tracking page.
pub fn supplemented(at: OffsetDateTime, file_count: usize, note: &str) -> Event {
    let mut event = Event::new(format_time(at), Status::Supplemented);
    event.note = Some(if note.trim().is_empty() {
        format!("Công dân đã gửi {file_count} tệp bổ sung.")
    } else {
        format!(
            "Công dân đã gửi {file_count} tệp bổ sung. Ghi chú: {}",
            note.trim()
        )
    });
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::HolidayFile;
    use time::macros::{datetime, time};

    fn calendar() -> Calendar {
        Calendar::new(&HolidayFile::default())
    }

    fn request(action: &str) -> StepRequest {
        serde_json::from_value(serde_json::json!({ "action": action })).unwrap()
    }

    const OFFICER: Officer<'static> = Officer {
        login: "lan",
        name: "Trần Thị Lan",
    };

    fn proposed() -> Appointment {
        Appointment {
            day: Day::parse("2025-05-05").unwrap(),
            time: time!(16:00),
        }
    }

    // Wednesday 30 April 2025, 09:00 in Vietnam.
    const NOW: OffsetDateTime = datetime!(2025-04-30 02:00 UTC);

    fn event(status: Status) -> Event {
        Event::new("2025-04-29T08:00:00+07:00".into(), status)
    }

    #[test]
    fn receiving_sets_the_proposed_appointment_and_names_the_officer() {
        let e = take(
            &request("receive"),
            &[],
            OFFICER,
            &calendar(),
            proposed(),
            Facts::default(),
            NOW,
        )
        .unwrap();
        assert_eq!(e.status, Status::Accepted);
        assert_eq!(e.label, "Đã nhận đủ hồ sơ, đang giải quyết");
        assert_eq!(e.appointment, Some(proposed()));
        assert_eq!(e.by.as_deref(), Some("lan"));
        assert_eq!(e.at, "2025-04-30T09:00:00+07:00");
        assert_eq!(
            e.note.as_deref(),
            Some("Đã tiếp nhận hồ sơ. Hẹn trả kết quả: 16:00 giờ, ngày 05/05/2025.")
        );
    }

    #[test]
    fn a_step_the_status_does_not_allow_is_refused_with_the_status() {
        let events = [event(Status::Received), event(Status::Refused)];
        let err = take(
            &request("receive"),
            &events,
            OFFICER,
            &calendar(),
            proposed(),
            Facts::default(),
            NOW,
        );
        assert_eq!(
            err.unwrap_err().to_string(),
            "Hồ sơ đang ở trạng thái \"Từ chối giải quyết\", không thể thực hiện bước này."
        );
        let err = take(
            &request("delete"),
            &[],
            OFFICER,
            &calendar(),
            proposed(),
            Facts::default(),
            NOW,
        );
        assert!(matches!(err, Err(StepRefused::Invalid(_))));
    }

    #[test]
    fn a_stale_view_is_a_conflict() {
        let mut req = request("receive");
        req.expected_seq = Some(0);
        let events = [event(Status::Received)];
        assert!(matches!(
            take(
                &req,
                &events,
                OFFICER,
                &calendar(),
                proposed(),
                Facts::default(),
                NOW
            ),
            Err(StepRefused::Conflict)
        ));
    }

    #[test]
    fn appointments_in_the_past_or_on_a_day_off_are_refused() {
        let mut req = request("receive");
        req.appointment = Some("2025-04-29".into());
        let err = take(
            &req,
            &[],
            OFFICER,
            &calendar(),
            proposed(),
            Facts::default(),
            NOW,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Ngày hẹn trả kết quả không được trước hôm nay."
        );
        req.appointment = Some("03/05/2025".into());
        let err = take(
            &req,
            &[],
            OFFICER,
            &calendar(),
            proposed(),
            Facts::default(),
            NOW,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Ngày 03/05/2025 là ngày nghỉ; vui lòng chọn một ngày làm việc."
        );
        req.appointment = Some("ngày mai".into());
        assert!(
            take(
                &req,
                &[],
                OFFICER,
                &calendar(),
                proposed(),
                Facts::default(),
                NOW
            )
            .is_err()
        );
    }

    #[test]
    fn hand_over_by_post_needs_its_number() {
        let events = [event(Status::Accepted), event(Status::ResultReady)];
        let mut req = request("hand-over");
        req.method = Some("post".into());
        let err = take(
            &req,
            &events,
            OFFICER,
            &calendar(),
            proposed(),
            Facts::default(),
            NOW,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "Vui lòng nhập số hiệu bưu gửi.");
        req.postal_tracking = Some(" EE123456789VN ".into());
        let e = take(
            &req,
            &events,
            OFFICER,
            &calendar(),
            proposed(),
            Facts::default(),
            NOW,
        )
        .unwrap();
        assert_eq!(e.status, Status::Posted);
        assert_eq!(e.postal_tracking.as_deref(), Some("EE123456789VN"));
        let e = take(
            &request("hand-over"),
            &events,
            OFFICER,
            &calendar(),
            proposed(),
            Facts::default(),
            NOW,
        )
        .unwrap();
        assert_eq!(e.status, Status::Returned);
    }

    #[test]
    fn asking_for_papers_and_refusing_need_their_reason() {
        for action in ["request-papers", "refuse"] {
            let err = take(
                &request(action),
                &[],
                OFFICER,
                &calendar(),
                proposed(),
                Facts::default(),
                NOW,
            );
            assert!(matches!(err, Err(StepRefused::Invalid(_))), "{action}");
        }
        let mut req = request("request-papers");
        req.missing = Some("Bản sao\u{7} giấy chứng sinh".into());
        let e = take(
            &req,
            &[],
            OFFICER,
            &calendar(),
            proposed(),
            Facts::default(),
            NOW,
        )
        .unwrap();
        assert_eq!(e.status, Status::SupplementRequested);
        assert_eq!(e.missing.as_deref(), Some("Bản sao giấy chứng sinh"));
    }

    fn payment(amount: &str, method: &str, reference: &str) -> StepRequest {
        serde_json::from_value(serde_json::json!({
            "action": "record-payment", "amount": amount,
            "payment_method": method, "reference": reference,
        }))
        .unwrap()
    }

    const OWES: Facts = Facts {
        delivery: Some(Delivery::Post),
        money: Money {
            owes_fee: true,
            paid: 0,
            refundable: 0,
            e_receipts: false,
        },
    };

    #[test]
    fn a_payment_is_recorded_without_moving_the_dossier() {
        let events = [event(Status::Received), event(Status::Accepted)];
        let e = take(
            &payment("49.000", "transfer", "FT26336123456"),
            &events,
            OFFICER,
            &calendar(),
            proposed(),
            OWES,
            NOW,
        )
        .unwrap();
        assert_eq!(e.status, Status::Accepted);
        assert_eq!(e.label, "Đã nộp phí 49.000 đồng (chuyển khoản)");
        let p = e.payment.as_ref().unwrap();
        assert_eq!((p.amount, p.method), (49_000, PaymentMethod::Transfer));
        assert_eq!(p.reference.as_deref(), Some("FT26336123456"));
        // Cash at hand-over needs no reference; it is open after the result, too.
        let events = [event(Status::Received), event(Status::Posted)];
        let e = take(
            &payment("49000", "cash", ""),
            &events,
            OFFICER,
            &calendar(),
            proposed(),
            OWES,
            NOW,
        )
        .unwrap();
        assert_eq!(e.status, Status::Posted);
    }

    #[test]
    fn a_payment_needs_a_fee_an_amount_and_a_transfers_reference() {
        let events = [event(Status::Received)];
        let refused = |req: StepRequest, facts: Facts, events: &[Event]| match take(
            &req,
            events,
            OFFICER,
            &calendar(),
            proposed(),
            facts,
            NOW,
        ) {
            Err(StepRefused::Invalid(text)) => text,
            other => panic!("{other:?}"),
        };
        assert!(
            refused(payment("8000", "cash", ""), Facts::default(), &events)
                .contains("không thể thực hiện")
        );
        assert!(refused(payment("không", "cash", ""), OWES, &events).contains("số tiền"));
        assert!(refused(payment("0", "cash", ""), OWES, &events).contains("số tiền"));
        assert!(refused(payment("49000", "transfer", " "), OWES, &events).contains("mã giao dịch"));
        assert!(
            refused(payment("49000", "vi", ""), OWES, &events)
                .contains("chuyển khoản hoặc tiền mặt")
        );
        let refused_dossier = [event(Status::Received), event(Status::Refused)];
        assert!(
            refused(payment("49000", "cash", ""), OWES, &refused_dossier)
                .contains("không thể thực hiện")
        );
    }

    fn money_step(action: &str, amount: &str, e_receipt: &str) -> StepRequest {
        serde_json::from_value(serde_json::json!({
            "action": action, "amount": amount, "payment_method": "transfer",
            "reference": "FT26336999", "e_receipt": e_receipt,
        }))
        .unwrap()
    }

    fn with_money(money: Money) -> Facts {
        Facts {
            delivery: None,
            money,
        }
    }

    #[test]
    fn money_given_back_is_recorded_up_to_what_is_owed_back() {
        let events = [event(Status::Received), event(Status::Returned)];
        let paid_twice = with_money(Money {
            owes_fee: true,
            paid: 98_000,
            refundable: 49_000,
            e_receipts: false,
        });
        let take_with = |req: &StepRequest, facts: Facts| {
            take(req, &events, OFFICER, &calendar(), proposed(), facts, NOW)
        };
        let e = take_with(&money_step("record-refund", "49.000", ""), paid_twice).unwrap();
        assert_eq!(e.status, Status::Returned, "the dossier stays where it was");
        assert_eq!(e.label, "Đã hoàn trả 49.000 đồng (chuyển khoản)");
        assert_eq!(e.refund.as_ref().map(|r| r.amount), Some(49_000));
        assert!(e.payment.is_none());
        match take_with(&money_step("record-refund", "50000", ""), paid_twice) {
            Err(StepRefused::Invalid(text)) => assert!(text.contains("49.000 đồng"), "{text}"),
            other => panic!("{other:?}"),
        }
        // Nothing to give back: the step is not open.
        let settled = with_money(Money {
            refundable: 0,
            ..paid_twice.money
        });
        match take_with(&money_step("record-refund", "1000", ""), settled) {
            Err(StepRefused::Invalid(text)) => assert!(text.contains("không thể thực hiện")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_electronic_receipt_is_recorded_only_where_the_commune_has_a_system() {
        let events = [event(Status::Received), event(Status::Accepted)];
        let take_with = |req: &StepRequest, facts: Facts| {
            take(req, &events, OFFICER, &calendar(), proposed(), facts, NOW)
        };
        let paid = Money {
            owes_fee: true,
            paid: 49_000,
            refundable: 0,
            e_receipts: true,
        };
        let e = take_with(
            &money_step("record-receipt", "", "BL26-000123"),
            with_money(paid),
        )
        .unwrap();
        assert_eq!(e.e_receipt.as_deref(), Some("BL26-000123"));
        assert_eq!(e.status, Status::Accepted);
        // With the payment itself.
        let e = take_with(&money_step("record-payment", "49000", "BL26-000124"), OWES);
        assert!(matches!(e, Err(StepRefused::Invalid(t)) if t.contains("e_receipt")));
        let e = take_with(
            &money_step("record-payment", "49000", "BL26-000124"),
            with_money(Money { paid: 0, ..paid }),
        )
        .unwrap();
        assert_eq!(e.e_receipt.as_deref(), Some("BL26-000124"));
        for (code, why) in [("", "mã tra cứu"), ("<script>", "ký tự lạ")] {
            match take_with(&money_step("record-receipt", "", code), with_money(paid)) {
                Err(StepRefused::Invalid(text)) => assert!(text.contains(why), "{text}"),
                other => panic!("{other:?}"),
            }
        }
        // Nothing paid yet, or no receipt system: not open.
        for money in [
            Money { paid: 0, ..paid },
            Money {
                e_receipts: false,
                ..paid
            },
        ] {
            assert!(
                take_with(&money_step("record-receipt", "", "BL1"), with_money(money)).is_err()
            );
        }
    }
}
