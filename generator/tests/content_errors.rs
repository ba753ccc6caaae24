//! Broken content is reported all at once, each problem with its file, line, key and
//! fix, and the published site is left untouched.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates")
}

fn generator(args: &[&str], content: &Path, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_generator"))
        .arg("--content")
        .arg(content)
        .arg("--templates")
        .arg(templates())
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .expect("generator runs")
}

#[test]
fn check_reports_every_problem_with_file_and_line() {
    let out = tempfile::tempdir().unwrap();
    let run = generator(&["check"], &fixture("broken"), &out.path().join("site"));
    assert!(!run.status.success(), "check must fail on broken content");
    let stderr = String::from_utf8(run.stderr).unwrap();
    let expected = [
        ("site.yaml:2: district:", "không còn cấp huyện"),
        (
            "procedures/phi-sai.md:26: register.fields[1].from:",
            "không có ô \"noi_sinh\" trong biểu mẫu",
        ),
        (
            "site.yaml:20: e_receipt.lookup_url:",
            "không phải địa chỉ https của trang tra cứu biên lai",
        ),
        ("holidays.yaml:6:", "ngày \"2025-02-30\" không hợp lệ"),
        (
            "procedures/kieu-truong-sai.md:28: form.sections[0].fields[1].type:",
            "kiểu trường \"dropdown\" không có",
        ),
        (
            "procedures/kieu-truong-sai.md:28:",
            "dùng một trong: text, textarea, date",
        ),
        (
            "procedures/muc-3-khong-form.md:5: form:",
            "mức độ 3 phải có biểu mẫu trực tuyến",
        ),
        (
            "procedures/thieu-khoa.md:2:",
            "thiếu khóa bắt buộc \"authority\"",
        ),
        (
            "procedures/thieu-mau.md:16: documents[0].form_file:",
            "không có tệp mẫu \"forms/khong-co.docx\"",
        ),
        (
            "procedures/trung-ma.md:2: code:",
            "trùng với procedures/hop-le.md",
        ),
        ("procedures/yaml-sai.md:6:", "YAML viết sai cú pháp"),
        ("procedures/thieu-nguon.md:11: sources:", "chưa ghi nguồn"),
        (
            "procedures/thong-bao-sai.md:29: form.contact.notify:",
            "có các lựa chọn [\"sms\", \"zalo\"]",
        ),
        (
            "procedures/phi-sai.md:12: fee.copies_field:",
            "không có ô \"so_ban\" kiểu number",
        ),
        (
            "procedures/phi-sai.md:21: delivery_field.post:",
            "ô \"nhan_ket_qua\" không có lựa chọn \"qua_buu_dien\"",
        ),
        (
            "news/thieu-anh.md:6: photos.file:",
            "không có ảnh \"media/khong-co.jpg\"",
        ),
    ];
    let problems: Vec<&str> = stderr
        .split("\n\n")
        .filter(|p| p.starts_with("lỗi: "))
        .collect();
    for (location, message) in expected {
        problems
            .iter()
            .find(|p| p.starts_with(&format!("lỗi: {location}")) && p.contains(message))
            .unwrap_or_else(|| panic!("no problem at {location} saying {message} in:\n{stderr}"));
    }
    assert!(stderr.contains("Tìm thấy 15 lỗi"), "{stderr}");
    assert_eq!(problems.len(), 15);
    assert!(
        problems.iter().all(|p| p.contains("\n    → Cách sửa: ")),
        "every problem says how to fix it"
    );
}

#[test]
fn broken_internal_link_is_reported_and_the_published_site_is_untouched() {
    let out = tempfile::tempdir().unwrap();
    let site = out.path().join("site");
    let good = generator(&["build"], &fixture("good"), &site);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let home_before = std::fs::read(site.join("index.html")).unwrap();
    let bundle = out.path().join("site.function/catalog.json");
    let bundle_before = std::fs::read(&bundle).expect("the build wrote the function bundle");

    let broken = generator(&["build"], &fixture("link"), &site);
    assert!(!broken.status.success());
    let stderr = String::from_utf8(broken.stderr).unwrap();
    assert!(
        stderr.contains("pages/lien-ket-hong.md:7: liên kết: liên kết \"/thu-tuc/khong-co/\" không dẫn tới trang nào"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(site.join("index.html")).unwrap(), home_before);
    assert!(!site.join("trang/lien-ket-hong/index.html").exists());
    // The function keeps the bundle of the site that is still published.
    assert_eq!(std::fs::read(&bundle).unwrap(), bundle_before);
    let mut leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    leftovers.sort();
    assert_eq!(
        leftovers,
        vec![
            std::ffi::OsString::from("site"),
            std::ffi::OsString::from("site.function")
        ],
        "no staging folder left behind"
    );
    assert_eq!(
        std::fs::read_dir(out.path().join("site.function"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<Vec<_>>(),
        vec![std::ffi::OsString::from("catalog.json")],
        "no half-written bundle left behind"
    );
}

#[test]
fn broken_content_never_replaces_a_good_site() {
    let out = tempfile::tempdir().unwrap();
    let site = out.path().join("site");
    assert!(
        generator(&["build"], &fixture("good"), &site)
            .status
            .success()
    );
    let before = std::fs::read(site.join("thu-tuc/dang-ky-khai-tu/index.html")).unwrap();
    let run = generator(&["build"], &fixture("broken"), &site);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("trang web chưa được cập nhật"));
    assert_eq!(
        std::fs::read(site.join("thu-tuc/dang-ky-khai-tu/index.html")).unwrap(),
        before
    );
}
