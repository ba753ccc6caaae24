//! What a dossier costs the citizen: the procedure's fee (once, or per copy), postage
//! when the result goes by post, nothing asked while an exemption the citizen claimed
//! waits for an officer. Computed from the procedure and the form's checked values, so
//! the form page, the receipt, the tracking page and the notices all show one figure.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{Delivery, FeeUnit, Procedure};

/// The amount asked of a dossier, line by line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub lines: Vec<QuoteLine>,
    /// In đồng.
    pub total: u64,
    /// The citizen claimed an exemption: the fee line is not asked until an officer
    /// decides.
    #[serde(default)]
    pub exemption_claimed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteLine {
    /// "Lệ phí: 2 bản × 8.000 đồng"
    pub label: String,
    /// In đồng.
    pub amount: u64,
}

/// The way the citizen chose to receive the result, read from the procedure's
/// `delivery_field`; with a single way offered, that one.
pub fn chosen_delivery(procedure: &Procedure, values: &Map<String, Value>) -> Option<Delivery> {
    if let [only] = procedure.delivery[..] {
        return Some(only);
    }
    let choice = procedure.delivery_field.as_ref()?;
    let picked = values.get(&choice.field)?.as_str()?;
    procedure
        .delivery
        .iter()
        .copied()
        .find(|d| choice.option(*d) == Some(picked))
}

/// What the dossier with these checked `values` costs; `None` when the procedure asks
/// nothing.
pub fn quote(procedure: &Procedure, values: &Map<String, Value>) -> Option<Quote> {
    let fee = &procedure.fee;
    let mut lines = Vec::new();
    let exemption_claimed = fee
        .exemption_field
        .as_ref()
        .and_then(|id| values.get(id))
        .is_some_and(|v| v.as_bool() == Some(true));
    if fee.amount > 0 {
        let (label, amount) = match fee.per {
            FeeUnit::Dossier => ("Phí, lệ phí".to_owned(), fee.amount),
            FeeUnit::Copy => {
                let copies = fee
                    .copies_field
                    .as_ref()
                    .and_then(|id| values.get(id))
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                (
                    format!("Phí, lệ phí: {copies} bản × {}", dong(fee.amount)),
                    fee.amount * copies,
                )
            }
        };
        if exemption_claimed {
            lines.push(QuoteLine {
                label: format!("{label} (đề nghị miễn, chờ cán bộ xác nhận)"),
                amount: 0,
            });
        } else {
            lines.push(QuoteLine { label, amount });
        }
    }
    if fee.postage > 0 && chosen_delivery(procedure, values) == Some(Delivery::Post) {
        lines.push(QuoteLine {
            label: "Cước chuyển phát kết quả qua bưu điện".into(),
            amount: fee.postage,
        });
    }
    if lines.is_empty() {
        return None;
    }
    Some(Quote {
        total: lines.iter().map(|l| l.amount).sum(),
        lines,
        exemption_claimed,
    })
}

/// "16.000 đồng": thousands with dots, as Vietnamese write amounts.
pub fn dong(amount: u64) -> String {
    format!("{} đồng", crate::text::thousands(amount))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn trich_luc() -> Procedure {
        serde_yaml_ng::from_str(
            r#"
code: "2.000635"
title: Cấp bản sao trích lục hộ tịch
field: Hộ tịch
level: 4
summary: x
authority: x
processing: { working_days: 0, text: x }
fee: { amount: 8000, per: copy, copies_field: so_ban_sao, postage: 25000, exemption_field: mien_phi, text: x }
legal_basis: [x]
sources: [{ document: x }]
documents: []
result: x
delivery: [desk, post]
delivery_field: { field: nhan_ket_qua, desk: tai_xa, post: buu_dien }
reviewed: 2026-12-01
"#,
        )
        .unwrap()
    }

    fn values(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn per_copy_and_postage_by_the_chosen_delivery() {
        let p = trich_luc();
        let q = quote(
            &p,
            &values(json!({"so_ban_sao": 2, "nhan_ket_qua": "tai_xa"})),
        )
        .unwrap();
        assert_eq!(q.total, 16_000);
        assert_eq!(q.lines[0].label, "Phí, lệ phí: 2 bản × 8.000 đồng");
        let q = quote(
            &p,
            &values(json!({"so_ban_sao": 3, "nhan_ket_qua": "buu_dien"})),
        )
        .unwrap();
        assert_eq!(q.total, 24_000 + 25_000);
        assert_eq!(q.lines.len(), 2);
        assert_eq!(
            chosen_delivery(&p, &values(json!({"nhan_ket_qua": "buu_dien"}))),
            Some(Delivery::Post)
        );
        assert_eq!(
            chosen_delivery(&p, &values(json!({"nhan_ket_qua": "khac"}))),
            None
        );
    }

    #[test]
    fn a_claimed_exemption_asks_only_the_postage() {
        let p = trich_luc();
        let q = quote(
            &p,
            &values(json!({"so_ban_sao": 2, "nhan_ket_qua": "buu_dien", "mien_phi": true})),
        )
        .unwrap();
        assert!(q.exemption_claimed);
        assert_eq!(q.total, 25_000);
        assert!(q.lines[0].label.contains("chờ cán bộ xác nhận"));
    }

    #[test]
    fn free_procedures_ask_nothing_and_amounts_read_as_vietnamese() {
        let mut p = trich_luc();
        p.fee.amount = 0;
        p.fee.postage = 0;
        assert_eq!(quote(&p, &Map::new()), None);
        assert_eq!(dong(8000), "8.000 đồng");
        assert_eq!(dong(1_250_000), "1.250.000 đồng");
        assert_eq!(dong(500), "500 đồng");
    }
}
