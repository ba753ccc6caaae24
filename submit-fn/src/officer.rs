//! `submit-fn officer add --login … --name … --role officer|admin [--replace]`, the
//! password read from standard input (one line), stored hashed (argon2id) in the
//! bucket's `config/officers/{login}.json` with a conditional write.
//!
//! Which bucket: the same rules as the server. With MOTCUA_S3_ENDPOINT, that store; with
//! MOTCUA_BUCKET and no endpoint, AWS S3 through the usual credential chain; otherwise
//! the embedded development store in `MOTCUA_DATA_DIR/s3` (default `data/s3`).

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
#[cfg(not(feature = "dev-store"))]
use anyhow::bail;
use clap::Subcommand;
use web::Config;
use web::admin::auth::{Role, add_officer};

#[derive(Subcommand)]
pub enum OfficerCommand {
    /// Thêm (hoặc với --replace, đặt lại) tài khoản một cán bộ; mật khẩu đọc từ đầu vào
    /// chuẩn, một dòng.
    Add {
        /// Tên đăng nhập: chữ thường không dấu, số, dấu chấm, gạch ngang.
        #[arg(long)]
        login: String,
        /// Họ tên cán bộ, in trên giấy tiếp nhận.
        #[arg(long)]
        name: String,
        /// officer (cán bộ) hoặc admin (quản trị).
        #[arg(long, default_value = "officer", value_parser = parse_role)]
        role: Role,
        /// Ghi đè tài khoản đã có (đặt lại mật khẩu).
        #[arg(long)]
        replace: bool,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("vai trò \"{text}\" không có; dùng officer hoặc admin"))
}

pub async fn run(command: OfficerCommand) -> anyhow::Result<()> {
    let OfficerCommand::Add {
        login,
        name,
        role,
        replace,
    } = command;
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("không đọc được mật khẩu từ đầu vào chuẩn")?;
    let password = password.trim_end_matches(['\r', '\n']);

    let data = PathBuf::from(std::env::var("MOTCUA_DATA_DIR").unwrap_or_else(|_| "data".into()));
    #[cfg_attr(not(feature = "dev-store"), allow(unused_mut))]
    let mut config = Config::from_env_for_dev(&data, "http://127.0.0.1")?;
    #[cfg_attr(not(feature = "dev-store"), allow(unused_mut))]
    let mut _store: Option<web::serve::DevStore> = None;
    let storage = if std::env::var_os("MOTCUA_S3_ENDPOINT").is_some() {
        let keys = match (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Ok(a), Ok(s)) => Some((a, s)),
            _ => None,
        };
        config.storage(keys).await
    } else if std::env::var_os("MOTCUA_BUCKET").is_some() {
        config.storage(None).await
    } else {
        #[cfg(feature = "dev-store")]
        {
            let store = web::serve::dev_store(&data.join("s3")).await?;
            config.s3_endpoint = Some(store.endpoint.clone());
            let storage = config.storage(Some(store.keys())).await;
            _store = Some(store);
            storage
        }
        #[cfg(not(feature = "dev-store"))]
        bail!(
            "bản dựng này không có kho S3 nhúng: đặt MOTCUA_BUCKET (AWS S3) hoặc MOTCUA_S3_ENDPOINT"
        )
    };
    if _store.is_some() {
        storage.ensure_bucket().await?;
    }
    let officer = add_officer(&storage, &login, &name, role, password, replace).await?;
    println!(
        "Đã lưu cán bộ {} ({}, {:?}) vào s3://{}/config/officers/{}.json",
        officer.login, officer.name, officer.role, config.bucket, officer.login
    );
    Ok(())
}
