//! Một Cửa submission function: takes level 3/4 dossiers into S3, exactly once.
//! The same axum router runs under AWS Lambda (`lambda_http`) and as a local server.

pub mod admin;
pub mod captcha;
pub mod config;
pub mod figures;
pub mod gate;
pub mod gateway;
pub mod html;
pub mod intake;
pub mod lambda;
pub mod limits;
pub mod multipart;
pub mod respond;
pub mod routes;
pub mod serve;
pub mod spreadsheet;
pub mod state;

pub use config::Config;
pub use html::Shell;
pub use routes::router;
pub use state::AppState;
