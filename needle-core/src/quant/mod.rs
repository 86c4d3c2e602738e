//! Built-in quantizers.
//!
//! * `none` — no codes: search scores the `f32` vectors directly. The default.
//! * `sq8` — 8-bit scalar quantization per dimension: 4× less memory traffic per distance, with
//!   integer SIMD kernels; the collection rescores the best candidates exactly.

pub mod none;
pub mod rescore;
pub mod sq8;

use std::sync::Arc;

use crate::{Error, QuantizerFactory, Result};

pub use self::none::{NoQuantizer, NoQuantizerFactory};
pub use self::rescore::{rescore, Rescored};
pub use self::sq8::{Sq8Factory, Sq8Kernel, Sq8Quantizer};

/// The built-in quantizer factories: `none` and `sq8`.
pub fn builtins() -> Vec<Arc<dyn QuantizerFactory>> {
    vec![Arc::new(NoQuantizerFactory), Arc::new(Sq8Factory)]
}

/// Accepts `null` or an empty object; anything else names the unexpected parameters.
fn expect_no_params(id: &str, params: &serde_json::Value) -> Result<()> {
    match params {
        serde_json::Value::Null => Ok(()),
        serde_json::Value::Object(map) if map.is_empty() => Ok(()),
        serde_json::Value::Object(map) => Err(Error::InvalidConfig(format!(
            "quantizer '{id}' takes no parameters, got: {}",
            map.keys().cloned().collect::<Vec<_>>().join(", ")
        ))),
        other => Err(Error::InvalidConfig(format!("quantizer '{id}' parameters must be an object, got {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_ids_and_versions() {
        let ids: Vec<(String, u32)> = builtins().iter().map(|f| (f.id().to_string(), f.version())).collect();
        assert_eq!(ids, vec![("none".to_string(), 1), ("sq8".to_string(), 1)]);
    }
}
