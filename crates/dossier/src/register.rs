//! What the officer enters in the civil-status register for a settled dossier: the
//! register's fields in its order, each with the value the citizen gave in the form
//! (as they read it: option labels, dates as 30/04/2025), so nothing is typed twice.

use catalog::{Form, RegisterMapping};
use serde::Serialize;

use crate::{Event, Manifest, Status, field_text};

/// A dossier's entry in the register, field by field.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterCopy {
    pub register: String,
    pub software: Option<String>,
    pub entries: Vec<RegisterEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterEntry {
    /// The register's name for the field.
    pub name: String,
    /// The value to copy ("" when the citizen left it empty).
    pub value: String,
}

/// The register entry of dossier `m`, whose form is `form` and whose procedure maps its
/// fields by `mapping`.
pub fn copy_fields(mapping: &RegisterMapping, form: &Form, m: &Manifest) -> RegisterCopy {
    RegisterCopy {
        register: mapping.name.clone(),
        software: mapping.software.clone(),
        entries: mapping
            .fields
            .iter()
            .map(|rf| RegisterEntry {
                name: rf.name.clone(),
                value: match (form.field(&rf.from), m.fields.get(&rf.from)) {
                    (Some(field), Some(v)) => field_text(field, v),
                    _ => String::new(),
                },
            })
            .collect(),
    }
}

/// When the dossier's result was ready (the first step that settled it: result ready,
/// handed over, or posted), if it was; a refused dossier enters no register.
pub fn result_at(events: &[Event]) -> Option<&str> {
    events
        .iter()
        .find(|e| {
            matches!(
                e.status,
                Status::ResultReady | Status::Returned | Status::Posted
            )
        })
        .map(|e| e.at.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_come_in_the_registers_order_as_the_citizen_wrote_them() {
        let form: Form = serde_json::from_value(json!({"contact": {"name": "ho_ten_tre", "phone": "ho_ten_tre"}, "sections": [{"title": "Trẻ", "fields": [
            {"id": "ho_ten_tre", "label": "Họ tên trẻ", "type": "text"},
            {"id": "ngay_sinh_tre", "label": "Ngày sinh", "type": "date"},
            {"id": "gioi_tinh_tre", "label": "Giới tính", "type": "radio",
             "options": [{"value": "nam", "label": "Nam"}, {"value": "nu", "label": "Nữ"}]},
            {"id": "que_quan", "label": "Quê quán", "type": "text"},
        ]}]}))
        .unwrap();
        let mapping: RegisterMapping = serde_json::from_value(json!({
            "name": "Sổ đăng ký khai sinh",
            "fields": [
                {"name": "Giới tính", "from": "gioi_tinh_tre"},
                {"name": "Họ, chữ đệm, tên", "from": "ho_ten_tre"},
                {"name": "Ngày, tháng, năm sinh", "from": "ngay_sinh_tre"},
                {"name": "Quê quán", "from": "que_quan"},
            ]
        }))
        .unwrap();
        let m: Manifest = serde_json::from_value(json!({
            "version": 1, "code": "H21.IAPET-261202-0001",
            "procedure": {"code": "1.001193", "title": "Đăng ký khai sinh", "level": 3},
            "unit_code": "H21.IAPET",
            "fields": {"ho_ten_tre": "Rơ Mah Hờ Nia", "ngay_sinh_tre": "2026-11-20", "gioi_tinh_tre": "nu"},
            "attachments": [], "contact": {"name": "Rơ Mah Thiên", "phone": "0912345678"},
            "appointment": {"day": "2026-12-02", "time": "16:00"},
            "received_at": "2026-12-02T08:00:00+07:00", "channel": "online",
            "tracking_token_sha256": "", "idempotency_key_sha256": "",
        }))
        .unwrap();
        let copy = copy_fields(&mapping, &form, &m);
        let values: Vec<(&str, &str)> = copy
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            values,
            [
                ("Giới tính", "Nữ"),
                ("Họ, chữ đệm, tên", "Rơ Mah Hờ Nia"),
                ("Ngày, tháng, năm sinh", "20/11/2026"),
                ("Quê quán", ""),
            ]
        );
    }

    #[test]
    fn the_result_time_is_the_first_step_that_settled_it() {
        let at = |t: &str, s| Event::new(t.into(), s);
        let events = [
            at("2026-12-02T08:00:00+07:00", Status::Accepted),
            at("2026-12-03T09:00:00+07:00", Status::ResultReady),
            at("2026-12-04T10:00:00+07:00", Status::Returned),
        ];
        assert_eq!(result_at(&events), Some("2026-12-03T09:00:00+07:00"));
        assert_eq!(result_at(&events[..1]), None);
        assert_eq!(
            result_at(&[at("2026-12-02T08:00:00+07:00", Status::Refused)]),
            None
        );
    }
}
