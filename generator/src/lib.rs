//! The Một Cửa site generator: content in, static site out.

pub mod assets;
pub mod build;
pub mod bundle;
pub mod deploy;
pub mod images;
pub mod markdown;
pub mod render;
pub mod search;
pub mod views;

pub use build::{BuildError, Paths, Report, Site};
#[cfg(feature = "serve")]
pub mod dev_api;
#[cfg(feature = "serve")]
pub mod serve;
