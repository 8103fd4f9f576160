//! Config: not converted yet.

use crate::{Conversion, ConvertError, ConvertOptions, Producer};
use serde_json::Value;

/// Whether the event (or API output) is one that this producer sends.
pub fn accepts(_event: &Value) -> bool {
    false
}

/// The findings that Security Hub makes of the event.
pub fn convert(_event: &Value, _options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    Err(ConvertError::new(Producer::Config, "not converted yet"))
}
