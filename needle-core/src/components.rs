//! [`Components`]: the ids (and parameters) of the five components a collection uses, and the
//! check that they fit together.

use serde::{Deserialize, Serialize};

use crate::{Error, Registry, Result};

/// Names the components of one collection by registry id. Serialised into the database file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Components {
    /// Index id (`hnsw`, `flat`, …).
    pub index: String,
    /// Index parameters (JSON object).
    #[serde(default)]
    pub index_params: serde_json::Value,
    /// Distance id (`cosine`, `euclidean`, `dot`, `manhattan`, …).
    pub distance: String,
    /// Quantizer id (`none`, `sq8`, …).
    pub quantizer: String,
    /// Quantizer parameters (JSON object).
    #[serde(default)]
    pub quantizer_params: serde_json::Value,
}

impl Components {
    /// HNSW + cosine, no quantization.
    pub fn defaults() -> Self {
        Components {
            index: "hnsw".into(),
            index_params: serde_json::json!({}),
            distance: "cosine".into(),
            quantizer: "none".into(),
            quantizer_params: serde_json::json!({}),
        }
    }

    /// Checks that every id exists in `registry` and that the quantizer can serve the distance.
    pub fn validate(&self, registry: &Registry, dim: usize) -> Result<()> {
        if dim == 0 || dim > 65_536 {
            return Err(Error::InvalidConfig(format!("dimensions must be between 1 and 65536, got {dim}")));
        }
        let distance = registry.distance(&self.distance)?;
        registry.index(&self.index)?;
        let qf = registry.quantizer(&self.quantizer)?;
        let q = qf.create(dim, &self.quantizer_params)?;
        if q.code_len() > 0 || q.id() != "none" {
            match distance.metric() {
                Some(m) if q.supports(m) => {}
                Some(m) => {
                    return Err(Error::InvalidConfig(format!(
                        "quantizer '{}' cannot serve the {} distance",
                        q.id(),
                        m.id()
                    )))
                }
                None => {
                    return Err(Error::InvalidConfig(format!(
                        "quantizer '{}' cannot serve the custom distance '{}' (quantizers need a built-in metric)",
                        q.id(),
                        distance.id()
                    )))
                }
            }
        }
        Ok(())
    }
}
