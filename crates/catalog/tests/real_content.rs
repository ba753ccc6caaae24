//! The example commune's content (content/) loads without a single error and says what
//! the reference facts say: six civil-status procedures, trích lục at level 4, forms
//! whose contact fields exist, and a holiday calendar for 2025–2027.

use std::path::Path;

use catalog::{Content, Day, Delivery, FieldType, load};

fn content() -> Content {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../content"));
    match load(root) {
        Ok(content) => content,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            panic!("content/ has {} error(s), listed above", errors.len());
        }
    }
}

fn day(text: &str) -> Day {
    Day::parse(text).unwrap()
}

#[test]
fn six_procedures_with_their_national_codes() {
    let c = content();
    let mut codes: Vec<&str> = c.procedures.iter().map(|p| p.code.as_str()).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            "1.000656", "1.000894", "1.001193", "1.004837", "1.004873", "2.000635"
        ]
    );
    for p in &c.procedures {
        assert_eq!(p.field, "Hộ tịch", "{}", p.source.path);
        assert!(!p.body.trim().is_empty(), "{} has no guide", p.source.path);
        assert!(
            !p.body.contains("\n# "),
            "{}: the page title is the only h1",
            p.source.path
        );
        assert!(
            p.body.contains("## "),
            "{}: the guide has sections",
            p.source.path
        );
        assert!(
            p.review_note.is_some(),
            "{}: says what is unverified",
            p.source.path
        );
    }
}

#[test]
fn slugs_are_the_urls_the_bodies_link_to() {
    let c = content();
    let slugs: Vec<&str> = c.procedures.iter().map(|p| p.slug.as_str()).collect();
    for slug in [
        "dang-ky-khai-sinh",
        "dang-ky-khai-tu",
        "dang-ky-ket-hon",
        "cap-ban-sao-trich-luc-ho-tich",
        "cap-giay-xac-nhan-tinh-trang-hon-nhan",
        "dang-ky-giam-ho",
    ] {
        assert!(slugs.contains(&slug), "no procedure at /thu-tuc/{slug}/");
    }
    // Every internal link in a body points at a page the site generates.
    let pages: Vec<String> = c
        .pages
        .iter()
        .map(|p| format!("/trang/{}/", p.slug))
        .collect();
    let news: Vec<String> = c
        .news
        .iter()
        .map(|n| format!("/tin-tuc/{}/", n.slug))
        .collect();
    let procedures: Vec<String> = slugs.iter().map(|s| format!("/thu-tuc/{s}/")).collect();
    let bodies = c
        .procedures
        .iter()
        .map(|p| (&p.source.path, &p.body))
        .chain(c.news.iter().map(|n| (&n.source.path, &n.body)))
        .chain(c.pages.iter().map(|p| (&p.source.path, &p.body)));
    for (path, body) in bodies {
        for link in body.split("](").skip(1) {
            let target = link.split(')').next().unwrap_or("");
            if !target.starts_with('/') {
                continue;
            }
            let target = target.split('#').next().unwrap_or(target);
            let ok = target == "/lien-he/"
                || target == "/tra-cuu/"
                || target == "/"
                || pages.iter().any(|p| p == target)
                || news.iter().any(|n| n == target)
                || procedures.iter().any(|p| p == target);
            assert!(ok, "{path}: link {target} leads nowhere");
        }
    }
}

#[test]
fn trich_luc_is_level_4_with_post_online_and_a_fee() {
    let c = content();
    let p = c.procedure("2.000635").expect("trích lục");
    assert_eq!(p.level, 4);
    assert!(p.delivery.contains(&Delivery::Post));
    assert!(p.delivery.contains(&Delivery::Desk));
    assert_eq!(p.fee.amount, 8000);
    assert!(!p.fee.payment.is_empty());
    let form = p.form.as_ref().unwrap();
    let how = form.field("nhan_ket_qua").expect("nhan_ket_qua");
    assert_eq!(how.kind, FieldType::Radio);
    let values: Vec<&str> = how.options.iter().map(|o| o.value.as_str()).collect();
    assert_eq!(values, ["tai_xa", "buu_dien", "ban_dien_tu"]);
    // Each option means a way the procedure offers, and the fee follows the copies.
    let choice = p.delivery_field.as_ref().expect("delivery_field");
    for (way, value) in [
        (Delivery::Desk, "tai_xa"),
        (Delivery::Post, "buu_dien"),
        (Delivery::Online, "ban_dien_tu"),
    ] {
        assert!(p.delivery.contains(&way));
        assert_eq!(choice.option(way), Some(value));
    }
    assert_eq!(p.fee.copies_field.as_deref(), Some("so_ban_sao"));
    assert!(
        c.site.bank.is_some(),
        "the sample commune shows how to pay by VietQR"
    );
    let address = form.field("dia_chi_nhan").expect("dia_chi_nhan");
    assert_eq!(address.kind, FieldType::Address);
    let cond = address.required_if.as_ref().expect("required_if");
    assert_eq!(
        (cond.field.as_str(), cond.equals.as_str()),
        ("nhan_ket_qua", "buu_dien")
    );
    let copies = form.field("so_ban_sao").expect("so_ban_sao");
    assert_eq!(
        (copies.kind, copies.min, copies.max),
        (FieldType::Number, Some(1), Some(10))
    );
    for other in c.procedures.iter().filter(|p| p.code != "2.000635") {
        assert_eq!(other.level, 3, "{}", other.source.path);
    }
}

#[test]
fn every_online_procedure_has_a_form_with_contact_fields() {
    let c = content();
    for p in c.procedures.iter().filter(|p| p.is_online()) {
        let form = p
            .form
            .as_ref()
            .unwrap_or_else(|| panic!("{} has no form", p.source.path));
        let kind = |id: &str| form.field(id).map(|f| f.kind);
        assert_eq!(
            kind(&form.contact.name),
            Some(FieldType::Text),
            "{}",
            p.source.path
        );
        assert_eq!(
            kind(&form.contact.phone),
            Some(FieldType::Phone),
            "{}",
            p.source.path
        );
        let email = form.contact.email.as_deref().expect("contact e-mail");
        assert_eq!(kind(email), Some(FieldType::Email), "{}", p.source.path);
        let address = form.contact.address.as_deref().expect("contact address");
        assert_eq!(kind(address), Some(FieldType::Address), "{}", p.source.path);
        // The pledge closes every form.
        let last = form.sections.last().and_then(|s| s.fields.last()).unwrap();
        assert_eq!(last.kind, FieldType::Checkbox, "{}", p.source.path);
        assert!(
            last.required && last.label.starts_with("Tôi cam đoan"),
            "{}",
            p.source.path
        );
        for f in form.attachments() {
            assert!(
                f.max_size_kb.is_some_and(|kb| kb <= 5120),
                "{}: {}",
                p.source.path,
                f.id
            );
            assert!(!f.accept.is_empty(), "{}: {}", p.source.path, f.id);
        }
        for f in form.fields().filter(|f| f.kind == FieldType::CitizenId) {
            if let Some(b) = &f.birth_date_field {
                assert_eq!(
                    kind(b),
                    Some(FieldType::Date),
                    "{}: {}",
                    p.source.path,
                    f.id
                );
            }
        }
        // Every document form file exists (the loader checks it too) and is a small PDF.
        for d in &p.documents {
            if let Some(file) = &d.form_file {
                let path = c.root.join("forms").join(file);
                let bytes = std::fs::read(&path).unwrap();
                assert!(bytes.starts_with(b"%PDF-"), "{file}");
                assert!(bytes.len() < 100 * 1024, "{file} is {} bytes", bytes.len());
            }
        }
    }
}

#[test]
fn holidays_cover_2025_to_2027() {
    let c = content();
    let cal = c.calendar();
    for year in 2025..=2027 {
        assert!(cal.covers(year), "no holidays for {year}");
    }
    assert!(!cal.is_working_day(day("2025-04-30")), "30/4/2025");
    assert!(
        !cal.is_working_day(day("2025-05-02")),
        "bridge day 2/5/2025"
    );
    assert!(
        cal.is_working_day(day("2025-04-26")),
        "make-up Saturday 26/4/2025"
    );
    assert!(!cal.is_working_day(day("2025-04-07")), "Hùng Kings 2025");
    assert!(!cal.is_working_day(day("2025-01-29")), "Tết 2025");
    assert!(
        cal.is_working_day(day("2025-02-03")),
        "back to work after Tết 2025"
    );
    assert!(!cal.is_working_day(day("2025-09-02")), "National Day 2025");
    assert!(!cal.is_working_day(day("2026-02-17")), "Tết 2026");
    assert!(
        !cal.is_working_day(day("2026-04-27")),
        "Hùng Kings 2026 made up on Monday"
    );
    assert!(!cal.is_working_day(day("2027-02-08")), "Tết 2027");
    assert!(!cal.is_working_day(day("2027-04-16")), "Hùng Kings 2027");
    assert!(cal.is_working_day(day("2025-07-01")), "an ordinary Tuesday");
}

/// 2026 as the Government fixed it: New Year 1–4 January with Friday 2 January swapped for
/// Saturday 10 January (letter 12729/VPCP-KGVX), National Day 29 August – 2 September with
/// Monday 31 August swapped for Saturday 22 August.
#[test]
fn appointments_around_new_year_and_national_day_2026() {
    use time::macros::{datetime, time};
    let c = content();
    let cal = c.calendar();
    let marital = c
        .procedure("1.004873")
        .expect("xác nhận tình trạng hôn nhân");
    assert_eq!(marital.processing.working_days, 3);
    let cutoff = Some(time!(15:00));
    // Tuesday 30/12/2025 in the morning: 31/12, then 1–4/1 off, then 5/1 and 6/1.
    let a = cal.appointment(datetime!(2025-12-30 09:00), 3, cutoff);
    assert_eq!(a.day, day("2026-01-06"));
    // Friday 28/8/2026: 29/8–2/9 off, so 3, 4 and 7 September.
    let a = cal.appointment(datetime!(2026-08-28 09:00), 3, cutoff);
    assert_eq!(a.day, day("2026-09-07"));
    // Same-day procedures sent after the cut-off land on the next working day, which
    // may be a working Saturday.
    let a = cal.appointment(datetime!(2026-08-28 16:00), 0, cutoff);
    assert_eq!(a.day, day("2026-09-03"));
    let a = cal.appointment(datetime!(2026-01-09 16:00), 0, cutoff);
    assert_eq!(a.day, day("2026-01-10"), "working Saturday 10/1/2026");
    let a = cal.appointment(datetime!(2026-08-21 16:00), 0, cutoff);
    assert_eq!(a.day, day("2026-08-22"), "working Saturday 22/8/2026");
    assert!(!cal.is_working_day(day("2026-01-02")));
    assert!(!cal.is_working_day(day("2026-08-31")));
}

#[test]
fn every_year_has_an_official_source_or_is_marked_estimated() {
    let c = content();
    for (year, y) in &c.holidays.years {
        assert!(
            y.estimated || !y.sources.is_empty(),
            "holidays {year}: no source"
        );
    }
    assert!(!c.holidays.years[&2026].estimated, "2026 is official");
    assert!(c.holidays.years[&2027].estimated, "2027 is not yet");
    // A year missing from the file still has Tết.
    let cal = c.calendar();
    assert!(!cal.covers(2028));
    assert!(!cal.is_working_day(day("2028-01-26")), "Tết Mậu Thân 2028");
}

#[test]
fn every_procedure_says_where_its_facts_come_from() {
    let c = content();
    for p in &c.procedures {
        assert!(!p.sources.is_empty(), "{}: no sources", p.source.path);
        assert!(
            p.sources.iter().all(|s| !s.document.trim().is_empty()),
            "{}",
            p.source.path
        );
        assert!(
            p.legal_basis.iter().any(|l| l.contains("01/2022/TT-BTP")),
            "{}: Circular 01/2022/TT-BTP missing from the legal basis",
            p.source.path
        );
        let text = format!("{:?} {:?} {}", p.fee, p.documents, p.body);
        assert!(!text.contains("Bộ phận Một cửa"), "{}", p.source.path);
    }
    let marital = c.procedure("1.004873").unwrap();
    assert!(
        !marital.fee.text.contains("5.000"),
        "the fee is set by the provincial council, not by this page"
    );
}

#[test]
fn the_commune_has_no_district() {
    let c = content();
    assert!(c.site.district.is_none());
    assert!(
        !c.site.unit_code.contains("55"),
        "unit code without the old district"
    );
    assert!(catalog::load::valid_unit_code(&c.site.unit_code));
    assert!(
        c.site.description.contains("Ia Băng"),
        "says what became of Ia Pết"
    );
}

#[test]
fn site_news_and_pages() {
    let c = content();
    assert_eq!(c.site.name, "Xã Ia Pết");
    assert_eq!(c.site.api_base, "/api");
    assert!(!c.site.help.is_empty());
    assert!(
        c.site
            .links
            .iter()
            .any(|l| l.url == "https://dichvucong.gov.vn")
    );
    let poll = c.site.poll.as_ref().expect("poll");
    assert_eq!(poll.id, "tim-thay-trang");
    assert!((4..=5).contains(&poll.options.len()));
    assert!(c.news.len() >= 3);
    assert!(
        c.news.iter().any(|n| n.photos.len() >= 3),
        "a photo news item"
    );
    for n in &c.news {
        for photo in &n.photos {
            let size = std::fs::metadata(c.root.join("media").join(&photo.file))
                .unwrap()
                .len();
            assert!(size < 300 * 1024, "{} is {size} bytes", photo.file);
        }
    }
    assert!(
        c.pages
            .iter()
            .any(|p| p.slug == "huong-dan-nop-ho-so-truc-tuyen")
    );
    assert!(c.pages.iter().any(|p| p.slug == "chinh-sach-bao-mat"));
}

#[test]
fn trich_luc_form_accepts_a_real_request_and_asks_for_the_postal_address() {
    use catalog::validate::{RawValues, validate_values};
    let c = content();
    let form = c.procedure("2.000635").unwrap().form.as_ref().unwrap();
    let today = time::macros::date!(2025 - 07 - 15);
    let mut raw = RawValues::new();
    let mut set = |k: &str, v: &str| {
        raw.insert(k.to_owned(), vec![v.to_owned()]);
    };
    set("ho_ten_nguoi_yeu_cau", "Rơ Châm Hyơk");
    set("ngay_sinh_nguoi_yeu_cau", "12/03/1990");
    set("so_dinh_danh", "064190001234");
    set("dien_thoai", "+84 905 123 456");
    set("noi_cu_tru.detail", "Làng Ia Pết");
    set("noi_cu_tru.commune", "Xã Ia Pết");
    set("noi_cu_tru.province", "Gia Lai");
    set("quan_he", "ban_than");
    set("loai_trich_luc", "khai_sinh");
    set("ho_ten_nguoi_co_ten", "Rơ Châm Hyơk");
    set("ngay_sinh_nguoi_co_ten", "1990-03-12");
    set(
        "noi_dang_ky",
        "Ủy ban nhân dân xã Ia Pết, huyện Đak Đoa, tỉnh Gia Lai",
    );
    set("so_ban_sao", "2");
    set("nhan_ket_qua", "buu_dien");
    set("thanh_toan", "khi_nhan");
    set("cam_doan", "on");

    // By post without an address: the address is asked for, nothing else.
    let errors = validate_values(form, &raw, &[], today).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["dia_chi_nhan"], "{errors:?}");

    // Collected at the desk: no address needed.
    let mut at_desk = raw.clone();
    at_desk.insert("nhan_ket_qua".into(), vec!["tai_xa".into()]);
    let clean = validate_values(form, &at_desk, &[], today).unwrap();
    assert_eq!(clean["dien_thoai"], "0905123456");
    assert_eq!(clean["so_ban_sao"], 2);

    // By post with an address: accepted.
    raw.insert("dia_chi_nhan.detail".into(), vec!["Thôn 3".into()]);
    raw.insert("dia_chi_nhan.commune".into(), vec!["Xã Ia Pết".into()]);
    raw.insert("dia_chi_nhan.province".into(), vec!["Gia Lai".into()]);
    validate_values(form, &raw, &[], today).unwrap();

    // Eleven copies is too many.
    raw.insert("so_ban_sao".into(), vec!["11".into()]);
    let errors = validate_values(form, &raw, &[], today).unwrap_err();
    assert_eq!(errors[0].field, "so_ban_sao");
}
