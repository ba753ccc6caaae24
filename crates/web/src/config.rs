//! Configuration from environment variables, checked at start: every missing or wrong
//! value is reported at once, each with what is wrong and what would be right.

use std::path::{Path, PathBuf};

/// The files of a plain form post together: the most that fits Lambda's request limit
/// once API Gateway has base64-encoded the body (`catalog::plain_post`). Also the most
/// `MOTCUA_MAX_TOTAL_BYTES` may raise it to.
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = catalog::plain_post::MAX_FILES_BYTES;
pub const DEFAULT_MAX_FILE_BYTES: u64 = catalog::plain_post::MAX_FILES_BYTES;
/// A commune receives tens of online dossiers a day; a carrier-NAT address shared by
/// a whole district stays far below this, and a script needs fifty addresses to take
/// the day's codes.
pub const DEFAULT_DOSSIERS_PER_SOURCE_PER_DAY: u16 = 200;

#[derive(Clone)]
pub struct Config {
    pub bucket: String,
    /// For S3-compatible servers (path-style). `None` means AWS S3.
    pub s3_endpoint: Option<String>,
    pub region: String,
    /// The function bundle the generator built (`MOTCUA_CATALOG`, default
    /// `catalog.json`, beside the bootstrap on Lambda): the procedures, their forms,
    /// the holidays and the page layout. The function never reads the Markdown.
    pub catalog: PathBuf,
    /// Absolute URL the function is reachable under, without the `/api` suffix
    /// (e.g. `https://iapet.gialai.gov.vn`); used in tracking links and the QR code.
    pub public_url: String,
    /// Unit code override; else the content's `site.yaml` `unit_code`.
    pub unit_code: Option<String>,
    pub signing_key: Vec<u8>,
    pub captcha_key: Vec<u8>,
    pub cors_origin: Option<String>,
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
    /// Largest number of files in one plain form post.
    pub max_files: usize,
    /// ALTCHA difficulty: the secret number is drawn from 0..=max.
    pub captcha_max_number: u64,
    /// How long a challenge stays valid, in seconds.
    pub captcha_ttl_secs: u64,
    /// How long presigned upload URLs stay valid, in seconds.
    pub upload_ttl_secs: u64,
    /// E-mail and SMS delivery (MOTCUA_SMTP_URL, MOTCUA_SMS_URL, …).
    pub notify: outbox::NotifyConfig,
    /// The secret CloudFront sends with every request to the function
    /// (`MOTCUA_ORIGIN_SECRET`, the template's `ApiOriginSecret`). When set, requests
    /// without it are refused, and the client is the viewer address CloudFront gives.
    pub origin_secret: Option<Vec<u8>>,
    /// Dossiers one client address may file in a day
    /// (`MOTCUA_DOSSIERS_PER_SOURCE_PER_DAY`), so that no one source can use up the
    /// day's 9,999 codes.
    pub dossiers_per_source_per_day: u32,
    /// VNPAY (`MOTCUA_VNPAY_TMN_CODE`, `MOTCUA_VNPAY_HASH_SECRET`, `MOTCUA_VNPAY_URL`,
    /// default its sandbox); none: no gateway, fees are paid by transfer or in cash.
    pub vnpay: Option<crate::gateway::vnpay::Vnpay>,
    /// The site's bucket (`MOTCUA_SITE_BUCKET`), where the schedule writes the public
    /// service figures under `thong-ke/` (the `figures` module); none: not written.
    pub site_bucket: Option<String>,
    /// Locally, the built site's folder instead (`MOTCUA_SITE_DIR`; `generator serve`
    /// sets its output folder).
    pub site_dir: Option<PathBuf>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bucket", &self.bucket)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("region", &self.region)
            .field("catalog", &self.catalog)
            .field("public_url", &self.public_url)
            .field("unit_code", &self.unit_code)
            .field("signing_key", &"<hidden>")
            .field("captcha_key", &"<hidden>")
            .field("cors_origin", &self.cors_origin)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("max_total_bytes", &self.max_total_bytes)
            .finish_non_exhaustive()
    }
}

/// Every problem found in the environment, one line each.
#[derive(Debug, thiserror::Error)]
#[error("cấu hình sai:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError(pub Vec<String>);

impl Config {
    /// The bucket through an S3 client for this configuration. With `static_keys`
    /// (embedded store, moto) no credential chain is consulted; otherwise the usual AWS
    /// chain (the Lambda role) is.
    pub async fn storage(&self, static_keys: Option<(String, String)>) -> store::Storage {
        let client =
            store::s3::client(&self.region, self.s3_endpoint.as_deref(), static_keys).await;
        store::Storage::s3(client, self.bucket.clone())
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// For local development and the dev server: like [`Config::from_env`], but the bucket
    /// defaults to `motcua`, the public URL to the local address, and missing secrets are
    /// generated once and kept in `data_dir/secrets/`.
    pub fn from_env_for_dev(data_dir: &Path, public_url: &str) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let signing = dev_secret(data_dir, "signing-key", &mut problems);
        let captcha = dev_secret(data_dir, "captcha-key", &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        let public_url = public_url.to_owned();
        Config::from_lookup(|name| {
            std::env::var(name).ok().or_else(|| match name {
                "MOTCUA_BUCKET" => Some("motcua".into()),
                "MOTCUA_PUBLIC_URL" => Some(public_url.clone()),
                "MOTCUA_SIGNING_KEY" => Some(signing.clone()),
                "MOTCUA_CAPTCHA_KEY" => Some(captcha.clone()),
                "AWS_REGION" => Some("us-east-1".into()),
                _ => None,
            })
        })
    }

    /// A complete configuration for tests: fixed keys, bucket `motcua`, easy captcha.
    /// `catalog` is only recorded: tests build their state from content
    /// ([`crate::AppState::new`]) and never read it.
    pub fn for_tests(catalog: impl Into<PathBuf>, endpoint: Option<String>) -> Config {
        Config {
            bucket: "motcua".into(),
            s3_endpoint: endpoint,
            region: "us-east-1".into(),
            catalog: catalog.into(),
            public_url: "http://localhost:8787".into(),
            unit_code: None,
            signing_key: b"test-signing-key-0123456789abcdefghijkl".to_vec(),
            captcha_key: b"test-captcha-key-0123456789abcdefghijkl".to_vec(),
            cors_origin: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
            max_files: 10,
            captcha_max_number: 1000,
            captcha_ttl_secs: 600,
            upload_ttl_secs: 600,
            notify: outbox::NotifyConfig {
                recipient_key: b"test-signing-key-0123456789abcdefghijkl".to_vec(),
                ..outbox::NotifyConfig::default()
            },
            origin_secret: None,
            dossiers_per_source_per_day: DEFAULT_DOSSIERS_PER_SOURCE_PER_DAY.into(),
            vnpay: None,
            site_bucket: None,
            site_dir: None,
        }
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let bucket = get("MOTCUA_BUCKET").unwrap_or_else(|| {
            problems.push(
                "MOTCUA_BUCKET chưa đặt: cần tên bucket S3 lưu hồ sơ, ví dụ MOTCUA_BUCKET=iapet-hoso"
                    .into(),
            );
            String::new()
        });
        if !bucket.is_empty() && !valid_bucket(&bucket) {
            problems.push(format!(
                "MOTCUA_BUCKET=\"{bucket}\" không phải tên bucket hợp lệ: 3–63 ký tự a-z, 0-9, dấu chấm hoặc gạch nối"
            ));
        }
        let s3_endpoint = get("MOTCUA_S3_ENDPOINT");
        if let Some(e) = &s3_endpoint
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            problems.push(format!(
                "MOTCUA_S3_ENDPOINT=\"{e}\" phải là địa chỉ đầy đủ, ví dụ http://127.0.0.1:9000"
            ));
        }
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| {
                problems.push("AWS_REGION chưa đặt, ví dụ AWS_REGION=ap-southeast-1".into());
                String::new()
            });
        let catalog = PathBuf::from(
            get("MOTCUA_CATALOG").unwrap_or_else(|| catalog::bundle::FILE_NAME.into()),
        );
        let public_url = get("MOTCUA_PUBLIC_URL").unwrap_or_else(|| {
            problems.push(
                "MOTCUA_PUBLIC_URL chưa đặt: địa chỉ trang web công khai, ví dụ https://iapet.gialai.gov.vn"
                    .into(),
            );
            String::new()
        });
        if !(public_url.is_empty()
            || public_url.starts_with("https://")
            || public_url.starts_with("http://"))
        {
            problems.push(format!(
                "MOTCUA_PUBLIC_URL=\"{public_url}\" phải bắt đầu bằng https:// (hoặc http:// khi chạy thử)"
            ));
        }
        let public_url = public_url.trim_end_matches('/').to_owned();
        let mut secret = |name: &str| -> Vec<u8> {
            match get(name) {
                None => {
                    problems.push(format!(
                        "{name} chưa đặt: cần một chuỗi bí mật ngẫu nhiên dài ít nhất 32 ký tự (ví dụ: openssl rand -hex 32)"
                    ));
                    Vec::new()
                }
                Some(v) if v.chars().count() < 32 => {
                    problems.push(format!(
                        "{name} quá ngắn ({} ký tự): cần ít nhất 32 ký tự ngẫu nhiên",
                        v.chars().count()
                    ));
                    Vec::new()
                }
                Some(v) => v.into_bytes(),
            }
        };
        let signing_key = secret("MOTCUA_SIGNING_KEY");
        let captcha_key = secret("MOTCUA_CAPTCHA_KEY");
        if !signing_key.is_empty() && signing_key == captcha_key {
            problems.push("MOTCUA_SIGNING_KEY và MOTCUA_CAPTCHA_KEY phải khác nhau".into());
        }
        let cors_origin = get("MOTCUA_CORS_ORIGIN");
        if let Some(o) = &cors_origin
            && o != "*"
            && (!(o.starts_with("https://") || o.starts_with("http://")) || o.ends_with('/'))
        {
            problems.push(format!(
                "MOTCUA_CORS_ORIGIN=\"{o}\" phải là một nguồn dạng https://ten-mien (không có / ở cuối)"
            ));
        }
        let mut number = |name: &str, default: u64, min: u64, max: u64| -> u64 {
            match get(name) {
                None => default,
                Some(v) => match v.replace('_', "").parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => n,
                    _ => {
                        problems.push(format!(
                            "{name}=\"{v}\" không hợp lệ: cần một số nguyên từ {min} đến {max}"
                        ));
                        default
                    }
                },
            }
        };
        let max_total_bytes = number(
            "MOTCUA_MAX_TOTAL_BYTES",
            DEFAULT_MAX_TOTAL_BYTES,
            1024,
            DEFAULT_MAX_TOTAL_BYTES,
        );
        let max_file_bytes = number(
            "MOTCUA_MAX_FILE_BYTES",
            DEFAULT_MAX_FILE_BYTES,
            1024,
            100 * 1024 * 1024,
        );
        let max_files = number("MOTCUA_MAX_FILES", 10, 1, 50) as usize;
        let captcha_max_number = number("MOTCUA_CAPTCHA_MAX_NUMBER", 100_000, 10, 10_000_000);
        let captcha_ttl_secs = number("MOTCUA_CAPTCHA_TTL", 1200, 30, 86_400);
        let upload_ttl_secs = number("MOTCUA_UPLOAD_TTL", 600, 60, 3600);
        let dossiers_per_source_per_day = number(
            "MOTCUA_DOSSIERS_PER_SOURCE_PER_DAY",
            DEFAULT_DOSSIERS_PER_SOURCE_PER_DAY.into(),
            1,
            9999,
        ) as u32;
        let unit_code = get("MOTCUA_UNIT_CODE");
        if let Some(u) = &unit_code
            && !catalog::dossier_code::valid_unit_code(u)
        {
            problems.push(format!(
                "MOTCUA_UNIT_CODE=\"{u}\" không dùng được trong mã hồ sơ: {}, ví dụ H21.IAPET",
                catalog::dossier_code::UNIT_CODE_RULE
            ));
        }
        let origin_secret = get("MOTCUA_ORIGIN_SECRET");
        if let Some(s) = &origin_secret
            && s.chars().count() < 32
        {
            problems.push(format!(
                "MOTCUA_ORIGIN_SECRET quá ngắn ({} ký tự): cần ít nhất 32 ký tự ngẫu nhiên, đúng bằng giá trị CloudFront gửi (ApiOriginSecret)",
                s.chars().count()
            ));
        }
        let vnpay = match (
            get("MOTCUA_VNPAY_TMN_CODE"),
            get("MOTCUA_VNPAY_HASH_SECRET"),
        ) {
            (Some(tmn_code), Some(hash_secret)) => Some(crate::gateway::vnpay::Vnpay {
                tmn_code,
                hash_secret,
                pay_url: get("MOTCUA_VNPAY_URL")
                    .unwrap_or_else(|| crate::gateway::vnpay::SANDBOX_URL.to_owned()),
            }),
            (None, None) => None,
            _ => {
                problems.push(
                    "VNPAY cần cả MOTCUA_VNPAY_TMN_CODE và MOTCUA_VNPAY_HASH_SECRET (mã website và chuỗi bí mật VNPAY cấp); thiếu một trong hai".into(),
                );
                None
            }
        };
        let site_bucket = get("MOTCUA_SITE_BUCKET");
        if let Some(b) = &site_bucket
            && !valid_bucket(b)
        {
            problems.push(format!(
                "MOTCUA_SITE_BUCKET=\"{b}\" không phải tên bucket hợp lệ: 3–63 ký tự a-z, 0-9, dấu chấm hoặc gạch nối"
            ));
        }
        let site_dir = get("MOTCUA_SITE_DIR").map(PathBuf::from);
        let mut notify = outbox::NotifyConfig::from_lookup(&get, &mut problems);
        // Recipients are counted under a keyed hash: the signing key, never stored.
        notify.recipient_key = signing_key.clone();
        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        Ok(Config {
            bucket,
            s3_endpoint,
            region,
            catalog,
            public_url,
            unit_code,
            signing_key,
            captcha_key,
            cors_origin,
            max_file_bytes,
            max_total_bytes,
            max_files,
            captcha_max_number,
            captcha_ttl_secs,
            upload_ttl_secs,
            notify,
            origin_secret: origin_secret.map(String::into_bytes),
            dossiers_per_source_per_day,
            vnpay,
            site_bucket,
            site_dir,
        })
    }
}

fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
}

/// A secret kept in `data_dir/secrets/{name}`, generated on first use.
fn dev_secret(data_dir: &Path, name: &str, problems: &mut Vec<String>) -> String {
    let dir = data_dir.join("secrets");
    let path = dir.join(name);
    if let Ok(s) = std::fs::read_to_string(&path)
        && s.trim().len() >= 32
    {
        return s.trim().to_owned();
    }
    let secret = hex::encode(rand::random::<[u8; 32]>());
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, &secret)) {
        problems.push(format!("không ghi được {} ({e})", path.display()));
    }
    secret
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = config(&[
            ("MOTCUA_SIGNING_KEY", "short"),
            ("MOTCUA_MAX_TOTAL_BYTES", "9000000"),
        ])
        .unwrap_err();
        let text = err.to_string();
        for needle in [
            "MOTCUA_BUCKET",
            "AWS_REGION",
            "MOTCUA_PUBLIC_URL",
            "MOTCUA_SIGNING_KEY quá ngắn",
            "MOTCUA_CAPTCHA_KEY chưa đặt",
            "MOTCUA_MAX_TOTAL_BYTES",
        ] {
            assert!(text.contains(needle), "{needle} missing in {text}");
        }
    }

    #[test]
    fn a_complete_environment_is_accepted() {
        let c = config(&[
            ("MOTCUA_BUCKET", "iapet-hoso"),
            ("AWS_REGION", "ap-southeast-1"),
            ("MOTCUA_PUBLIC_URL", "https://iapet.gialai.gov.vn/"),
            ("MOTCUA_SIGNING_KEY", "0123456789abcdef0123456789abcdef"),
            ("MOTCUA_CAPTCHA_KEY", "fedcba9876543210fedcba9876543210"),
        ])
        .unwrap();
        assert_eq!(c.public_url, "https://iapet.gialai.gov.vn");
        assert!(c.s3_endpoint.is_none());
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
    }

    /// A unit code the dossier-code parser would refuse is refused at start, not after
    /// a submission has claimed a number (it used to panic there).
    #[test]
    fn a_unit_code_the_code_parser_refuses_is_refused_at_start() {
        let complete = [
            ("MOTCUA_BUCKET", "iapet-hoso"),
            ("AWS_REGION", "ap-southeast-1"),
            ("MOTCUA_PUBLIC_URL", "https://iapet.gialai.gov.vn/"),
            ("MOTCUA_SIGNING_KEY", "0123456789abcdef0123456789abcdef"),
            ("MOTCUA_CAPTCHA_KEY", "fedcba9876543210fedcba9876543210"),
        ];
        for bad in ["H21:55", "H21 55", "Xã.IaPết"] {
            let err = config(&[&complete[..], &[("MOTCUA_UNIT_CODE", bad)]].concat())
                .err()
                .unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(err.to_string().contains("MOTCUA_UNIT_CODE"), "{err}");
        }
        let ok =
            config(&[&complete[..], &[("MOTCUA_UNIT_CODE", "H21.IA-PET_01")]].concat()).unwrap();
        assert_eq!(ok.unit_code.as_deref(), Some("H21.IA-PET_01"));
    }

    #[test]
    fn the_plain_post_limit_cannot_be_raised_past_what_fits_lambda() {
        let err = config(&[("MOTCUA_MAX_TOTAL_BYTES", "5500000")]).unwrap_err();
        assert!(err.to_string().contains("MOTCUA_MAX_TOTAL_BYTES"), "{err}");
    }
}
