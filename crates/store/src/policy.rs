//! The dossier bucket's policy as the function relies on it.

/// Keys the dossier bucket's policy lets be written only with a condition
/// (`If-None-Match: *` or `If-Match`): `RequireConditionalWrites` in
/// infra/template.yaml, `*` matching any run of characters as in IAM. The development
/// store is started with this list (`dev_store::start`) and refuses a plain write to
/// them too, so such a write fails in every test rather than first in production.
pub const CONDITIONAL_ONLY: &[&str] = &[
    "captcha/used/*",
    "sequence/*",
    "idempotency/*",
    "dossiers/*/dossier.json",
    "dossiers/*/events/*",
    "stats/*",
    "polls/*",
];
