//! The shared model of Một Cửa: what a procedure is, how its online form is described,
//! how content is loaded and checked, how submitted values are validated, and how
//! appointment dates are counted. Used by both the generator and the function so that
//! the form the site shows and the form the function accepts never drift apart.

pub mod bundle;
pub mod calendar;
pub mod day;
pub mod dossier_code;
pub mod fee;
pub mod form_html;
pub mod inspect;
pub mod load;
pub mod model;
pub mod plain_post;
pub mod text;
pub mod validate;
pub mod vietqr;
pub mod vn_time;

pub use bundle::{Bundle, BundleContent, BundleError, Shell};
pub use calendar::{Appointment, Calendar, HolidayFile};
pub use day::Day;
pub use load::{Content, ContentError, load, warnings};
pub use model::*;
