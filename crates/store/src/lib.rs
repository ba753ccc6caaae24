//! The dossier bucket. [`ObjectStore`] is what the function needs of an object store
//! (conditional writes above all: exactly-once submission rests on `If-None-Match: *`
//! and `If-Match`); [`s3::S3Store`] implements it with aws-sdk-s3, for AWS S3 in
//! production and for the embedded store and moto in development and tests. On top:
//! the operations that keep a dossier's writes exactly-once ([`dossiers`]) and the
//! desk's index ([`index`]), and the daily allowances ([`quota`]).

pub mod changes;
pub mod dossiers;
pub mod index;
mod object_store;
pub mod policy;
pub mod quota;
pub mod s3;
pub mod sweep;

pub use object_store::{
    CopyOutcome, ObjectInfo, ObjectStore, Storage, StorageError, StorageResult,
};
