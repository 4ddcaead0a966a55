//! Routing targets: the paths traffic can take.
use serde::{Deserialize, Serialize};
use std::fmt;

/// A path's slug, e.g. `eks-qwen3`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PathId(pub String);

impl PathId {
    pub fn new(s: impl Into<String>) -> Self {
        PathId(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PathId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for PathId {
    fn from(s: &str) -> Self {
        PathId(s.to_string())
    }
}

/// Which side of the hybrid platform a path (or an observation) lives on.
/// Declared AgentCore first so sorted lists read `["agentcore", "eks"]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Agentcore,
    Eks,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Agentcore => "agentcore",
            Side::Eks => "eks",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
