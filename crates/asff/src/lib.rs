//! The ASFF model (derived from the Security Hub API model by `xtask codegen`), the validation of
//! findings against it and against the limits that the model states only in prose, and the small
//! value rules (timestamps, severity) that every other crate shares. No I/O.

pub mod limits;
pub mod model;
pub mod severity;
mod shape;
pub mod timestamp;
pub mod validate;

pub use validate::{
    MAX_FINDING_BYTES, ValidationError, check_finding_size, json_len, validate_finding, validate_finding_object,
};
