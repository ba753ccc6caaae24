//! The one status machine of a dossier: its statuses and their labels, the desk's steps,
//! which step is open in which status and what it leads to. Everything that shows or
//! checks a status (the tracking page, the console, the notices, the index) reads it
//! from here; the console's script gets the labels from the server's answers.

use serde::{Deserialize, Serialize};

/// Where a dossier stands: the status of its last event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Submitted online, not yet looked at by the desk.
    Received,
    /// Taken in by the desk, with an appointment.
    Accepted,
    /// The desk asked the citizen for more papers.
    SupplementRequested,
    /// The citizen sent the papers asked for.
    Supplemented,
    ResultReady,
    /// Handed over at the desk.
    Returned,
    /// Sent by post.
    Posted,
    Refused,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Received,
        Status::Accepted,
        Status::SupplementRequested,
        Status::Supplemented,
        Status::ResultReady,
        Status::Returned,
        Status::Posted,
        Status::Refused,
    ];

    /// The name stored in events and sent to browsers (`supplement-requested`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Accepted => "accepted",
            Status::SupplementRequested => "supplement-requested",
            Status::Supplemented => "supplemented",
            Status::ResultReady => "result-ready",
            Status::Returned => "returned",
            Status::Posted => "posted",
            Status::Refused => "refused",
        }
    }

    /// What the citizen and the desk read for this status.
    pub fn label(self) -> &'static str {
        match self {
            Status::Received => "Đã tiếp nhận, đang chờ xử lý",
            Status::Accepted => "Đã nhận đủ hồ sơ, đang giải quyết",
            Status::SupplementRequested => "Cần bổ sung giấy tờ",
            Status::ResultReady => "Đã có kết quả, mời nhận",
            Status::Returned => "Đã trả kết quả",
            Status::Refused => "Từ chối giải quyết",
            Status::Supplemented => "Đã bổ sung giấy tờ, chờ cán bộ xem xét",
            Status::Posted => "Đã gửi kết quả qua bưu điện",
        }
    }

    /// The name of the notice a step into this status sends, as the console's outbox
    /// panel lists it.
    pub fn notice_label(self) -> &'static str {
        match self {
            Status::Received => "Đã nhận hồ sơ",
            Status::Accepted => "Tiếp nhận, hẹn trả",
            Status::SupplementRequested => "Yêu cầu bổ sung",
            Status::Supplemented => "Đã nhận giấy tờ bổ sung",
            Status::ResultReady => "Đã có kết quả",
            Status::Returned => "Đã trả kết quả",
            Status::Posted => "Gửi kết quả qua bưu điện",
            Status::Refused => "Từ chối",
        }
    }

    /// The status as the console's filter names it; `None` for the two the "new" filter
    /// covers.
    pub fn filter_label(self) -> Option<&'static str> {
        match self {
            Status::Received | Status::Supplemented => None,
            Status::SupplementRequested => Some("Chờ bổ sung"),
            Status::Accepted => Some("Đang giải quyết"),
            Status::ResultReady => Some("Có kết quả"),
            Status::Returned => Some("Đã trả"),
            Status::Posted => Some("Đã gửi bưu điện"),
            Status::Refused => Some("Từ chối"),
        }
    }

    /// The desk's steps open from this status.
    pub fn actions(self) -> &'static [Action] {
        use Action::*;
        match self {
            Status::Received => &[Receive, RequestPapers, Refuse],
            // Papers came in: take it in (again), ask again, or go on to the result.
            Status::Supplemented => &[Receive, RequestPapers, ResultReady, Refuse],
            Status::Accepted => &[RequestPapers, ResultReady, Refuse],
            Status::SupplementRequested => &[Refuse],
            Status::ResultReady => &[HandOver],
            Status::Returned | Status::Posted | Status::Refused => &[],
        }
    }

    pub fn allows(self, action: Action) -> bool {
        self.actions().contains(&action)
    }

    /// A payment can be recorded on a dossier that owes a fee, whatever step it is at
    /// (paid before the result, or in cash when it is handed over), unless refused.
    pub fn takes_payment(self) -> bool {
        self != Status::Refused
    }

    /// Still with the desk: not settled (result ready, handed over, posted) nor refused.
    /// Only an open dossier can be overdue.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            Status::ResultReady | Status::Returned | Status::Posted | Status::Refused
        )
    }

    /// Waiting for an officer to look at it.
    pub fn is_new(self) -> bool {
        matches!(self, Status::Received | Status::Supplemented)
    }

    /// The citizen may send the papers asked for (the supplement form).
    pub fn awaits_papers(self) -> bool {
        self == Status::SupplementRequested
    }

    /// The step that gave the desk's receipt (Mẫu 01) its appointment.
    pub fn is_acceptance(self) -> bool {
        self == Status::Accepted
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step the desk takes on a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Take the dossier in and set the appointment.
    Receive,
    /// Ask the citizen for more papers.
    RequestPapers,
    ResultReady,
    /// Hand the result over at the desk or send it by post.
    HandOver,
    Refuse,
    /// Record a fee paid (a transfer seen on the account, cash): the status stays.
    RecordPayment,
    /// Record money given back (paid twice or too much, or on a refused dossier).
    RecordRefund,
    /// Record the lookup code of the electronic receipt issued for a fee.
    RecordReceipt,
}

impl Action {
    /// The steps that move a dossier through the status machine.
    pub const ALL: [Action; 5] = [
        Action::Receive,
        Action::RequestPapers,
        Action::ResultReady,
        Action::HandOver,
        Action::Refuse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Receive => "receive",
            Action::RequestPapers => "request-papers",
            Action::ResultReady => "result-ready",
            Action::HandOver => "hand-over",
            Action::Refuse => "refuse",
            Action::RecordPayment => "record-payment",
            Action::RecordRefund => "record-refund",
            Action::RecordReceipt => "record-receipt",
        }
    }

    /// The steps about the fee, open beside the status machine's: they keep the
    /// status.
    pub const MONEY: [Action; 3] = [
        Action::RecordPayment,
        Action::RecordRefund,
        Action::RecordReceipt,
    ];

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL
            .into_iter()
            .chain(Action::MONEY)
            .find(|a| a.as_str() == s)
    }

    /// A step about the fee, that leaves the dossier where it was.
    pub fn keeps_status(self) -> bool {
        Action::MONEY.contains(&self)
    }

    /// The step's name on the console's button.
    pub fn label(self) -> &'static str {
        match self {
            Action::Receive => "Tiếp nhận, hẹn trả",
            Action::RequestPapers => "Yêu cầu bổ sung",
            Action::ResultReady => "Đã có kết quả",
            Action::HandOver => "Trả kết quả",
            Action::Refuse => "Từ chối",
            Action::RecordPayment => "Ghi nhận đã nộp phí",
            Action::RecordRefund => "Ghi nhận đã hoàn trả tiền",
            Action::RecordReceipt => "Ghi nhận biên lai điện tử",
        }
    }

    /// The statuses this step can lead to (hand-over: at the desk or by post).
    pub fn leads_to(self) -> &'static [Status] {
        match self {
            Action::Receive => &[Status::Accepted],
            Action::RequestPapers => &[Status::SupplementRequested],
            Action::ResultReady => &[Status::ResultReady],
            Action::HandOver => &[Status::Returned, Status::Posted],
            Action::Refuse => &[Status::Refused],
            // Whatever it was at: money does not move the dossier.
            Action::RecordPayment | Action::RecordRefund | Action::RecordReceipt => &Status::ALL,
        }
    }
}

/// A step as the console offers it: its id and its button label.
#[derive(Debug, Clone, Serialize)]
pub struct ActionOffer {
    pub id: Action,
    pub label: &'static str,
}

/// Where a dossier's money stands, as far as the steps about the fee need it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    /// It asks a fee.
    pub owes_fee: bool,
    /// Paid and kept, in đồng.
    pub paid: u64,
    /// To be given back, in đồng.
    pub refundable: u64,
    /// The commune has an electronic receipt system.
    pub e_receipts: bool,
}

impl Action {
    /// Is this step about the fee open on a dossier in `status` with `money`? (The
    /// status machine's steps answer through [`Status::allows`].)
    pub fn open_for_money(self, status: Status, money: Money) -> bool {
        match self {
            Action::RecordPayment => money.owes_fee && status.takes_payment(),
            Action::RecordRefund => money.refundable > 0,
            Action::RecordReceipt => money.e_receipts && money.paid > 0,
            _ => false,
        }
    }
}

/// The steps open from `status`, each with its label, for the console; the steps
/// about the fee too when `money` opens them.
pub fn offers(status: Status, money: Money) -> Vec<ActionOffer> {
    status
        .actions()
        .iter()
        .copied()
        .chain(
            Action::MONEY
                .into_iter()
                .filter(|a| a.open_for_money(status, money)),
        )
        .map(|id| ActionOffer {
            id,
            label: id.label(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_json() {
        for s in Status::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), s);
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{}\"", a.as_str()));
            assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), a);
        }
        assert_eq!(Action::parse("delete"), None);
    }

    #[test]
    fn settled_dossiers_offer_no_step_and_are_not_open() {
        for s in [Status::Returned, Status::Posted, Status::Refused] {
            assert!(s.actions().is_empty(), "{s}");
            assert!(!s.is_open(), "{s}");
        }
        assert!(!Status::ResultReady.is_open());
        assert_eq!(Status::ResultReady.actions(), &[Action::HandOver]);
    }

    #[test]
    fn waiting_for_papers_the_desk_can_only_refuse() {
        assert_eq!(Status::SupplementRequested.actions(), &[Action::Refuse]);
        assert!(Status::SupplementRequested.awaits_papers());
        assert!(Status::SupplementRequested.is_open());
    }

    #[test]
    fn every_step_leads_somewhere_that_is_reachable() {
        // Every status but the first is reached by some step (supplemented by the
        // citizen's own step), and every step is open from some status.
        for s in Status::ALL {
            let reached = Action::ALL.iter().any(|a| a.leads_to().contains(&s));
            assert!(
                reached || matches!(s, Status::Received | Status::Supplemented),
                "{s} is never reached"
            );
        }
        for a in Action::ALL {
            assert!(Status::ALL.iter().any(|s| s.allows(a)), "{a:?} never open");
        }
    }
}
