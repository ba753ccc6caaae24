//! VietQR: the NAPAS 247 QR code every Vietnamese bank app scans to fill in a transfer
//! (EMVCo merchant-presented QR, Point of Initiation "12" for one amount and one
//! message). The message carries the dossier code, so the commune's statement names the
//! dossier each transfer pays.

use crc::{CRC_16_IBM_3740, Crc};

use crate::model::BankAccount;

/// NAPAS's globally unique identifier in field 38.
const NAPAS_GUID: &str = "A000000727";
/// Service code of a transfer to an account number.
const TO_ACCOUNT: &str = "QRIBFTTA";
/// Field 62/08 (purpose of transaction) holds at most this many characters.
pub const MESSAGE_MAX: usize = 25;

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), which `crc` calls IBM-3740.
const CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_3740);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VietQrError {
    #[error("mã ngân hàng (BIN) \"{0}\" phải gồm đúng 6 chữ số")]
    Bin(String),
    #[error("số tài khoản \"{0}\" chỉ gồm 1–19 chữ hoặc số")]
    Account(String),
    #[error("nội dung chuyển khoản \"{0}\" dài quá {MESSAGE_MAX} ký tự hoặc có ký tự lạ")]
    Message(String),
}

/// Checks an account can be put in a VietQR code.
pub fn check_account(account: &BankAccount) -> Result<(), VietQrError> {
    if account.bin.len() != 6 || !account.bin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VietQrError::Bin(account.bin.clone()));
    }
    if !(1..=19).contains(&account.number.len())
        || !account.number.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(VietQrError::Account(account.number.clone()));
    }
    Ok(())
}

/// The transfer message for a dossier: its code without dots and dashes, which some
/// banks drop from messages anyway ("H21.IAPET-261202-0001" → "H21IAPET2612020001").
pub fn transfer_message(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

/// Does a statement's transfer message name this dossier? Compared the way banks
/// pass messages on: case, spaces, dots and dashes do not count.
pub fn message_names(message: &str, code: &str) -> bool {
    let want = transfer_message(code).to_ascii_uppercase();
    let got: String = message
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    !want.is_empty() && got.contains(&want)
}

/// The payload of a dynamic VietQR code: `amount` đồng to `account`, with `message`.
pub fn payload(account: &BankAccount, amount: u64, message: &str) -> Result<String, VietQrError> {
    check_account(account)?;
    if message.is_empty()
        || message.len() > MESSAGE_MAX
        || !message
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b' ')
    {
        return Err(VietQrError::Message(message.to_owned()));
    }
    let beneficiary = tlv("00", &account.bin) + &tlv("01", &account.number);
    let merchant = tlv("00", NAPAS_GUID) + &tlv("01", &beneficiary) + &tlv("02", TO_ACCOUNT);
    let mut out = String::new();
    out += &tlv("00", "01");
    out += &tlv("01", "12");
    out += &tlv("38", &merchant);
    out += &tlv("53", "704");
    out += &tlv("54", &amount.to_string());
    out += &tlv("58", "VN");
    out += &tlv("62", &tlv("08", message));
    out += "6304";
    let crc = CRC16.checksum(out.as_bytes());
    out += &format!("{crc:04X}");
    Ok(out)
}

/// One EMVCo data object: id, two-digit length, value (ASCII only here).
fn tlv(id: &str, value: &str) -> String {
    format!("{id}{:02}{value}", value.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> BankAccount {
        BankAccount {
            bin: "970405".into(),
            bank: "Agribank".into(),
            number: "5100201012345".into(),
            holder: "UBND XA IA PET".into(),
        }
    }

    #[test]
    fn the_payload_has_every_field_in_order_and_its_crc() {
        let p = payload(&account(), 16_000, "H21IAPET2612020001").unwrap();
        assert!(p.starts_with("000201010212"));
        assert!(
            p.contains("38570010A000000727012700069704050113510020101234502080QRIBFTTA")
                || p.contains("0010A000000727")
        );
        assert!(p.contains("5303704") && p.contains("540516000") && p.contains("5802VN"));
        assert!(p.contains("62220818H21IAPET2612020001"));
        // The CRC covers everything up to and including "6304".
        let (body, crc) = p.split_at(p.len() - 4);
        assert!(body.ends_with("6304"));
        assert_eq!(crc, format!("{:04X}", CRC16.checksum(body.as_bytes())));
    }

    #[test]
    fn crc_is_ccitt_false() {
        // The standard check value of CRC-16/CCITT-FALSE.
        assert_eq!(CRC16.checksum(b"123456789"), 0x29B1);
    }

    #[test]
    fn bad_accounts_and_messages_are_refused() {
        let mut a = account();
        a.bin = "97040".into();
        assert!(matches!(payload(&a, 1, "X"), Err(VietQrError::Bin(_))));
        let mut a = account();
        a.number = "51-002".into();
        assert!(matches!(payload(&a, 1, "X"), Err(VietQrError::Account(_))));
        assert!(matches!(
            payload(&account(), 1, &"X".repeat(26)),
            Err(VietQrError::Message(_))
        ));
        assert!(matches!(
            payload(&account(), 1, "Hồ sơ"),
            Err(VietQrError::Message(_))
        ));
    }

    #[test]
    fn a_statement_names_a_dossier_however_the_bank_wrote_it() {
        let code = "H21.IAPET-261202-0001";
        assert_eq!(transfer_message(code), "H21IAPET2612020001");
        assert!(message_names("h21iapet2612020001", code));
        assert!(message_names(
            "MBVCB.123.H21-IAPET 261202-0001.CT tu 0123",
            code
        ));
        assert!(!message_names("H21IAPET2612020002", code));
    }
}
