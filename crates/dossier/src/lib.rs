//! The dossier, as plain rules over plain values: what is stored (manifest and events),
//! the one status machine (which officer step is open in which status, what it leads
//! to, its label), the desk's steps checked and turned into events, the receipt's
//! content and the notices' texts. Storage, delivery and HTTP live in other crates and
//! call in here; nothing here waits on I/O.

pub mod access;
pub mod model;
pub mod notice;
pub mod payment;
pub mod privacy;
pub mod qr;
pub mod rating;
pub mod receipt;
pub mod register;
pub mod report;
pub mod status;
pub mod step;
pub mod summary;
pub mod tracking;
pub mod url;

pub use model::*;
pub use status::{Action, Status};
pub use summary::{Summary, summarize};

/// What a citizen reads when storage failed and nothing was taken.
pub const RETRY_MESSAGE: &str = "Hệ thống lưu trữ hồ sơ đang tạm thời gián đoạn nên hồ sơ của bạn CHƯA được nhận. Vui lòng thử lại sau ít phút; nếu gửi lại, hồ sơ chỉ được ghi nhận một lần.";
