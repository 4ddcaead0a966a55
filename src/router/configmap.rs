//! `configmap` weight store: `data[key]` of a ConfigMap holds a JSON object
//! `{"eks-qwen3": 70, "agentcore-haiku": 20, "agentcore-sonnet": 10}`.
use crate::domain::path::PathId;
use crate::domain::weights::Weights;
use crate::kube_client::KubeClient;
use crate::router::kube_object::{json_weight, short_json, PatchError, RouterObject};
use crate::router::{StoreError, WeightsRead, WriteRequest};
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{json, Map, Value};

pub const BACKEND: &str = "configmap";

#[derive(Clone, Debug)]
pub struct ConfigMapStore {
    obj: RouterObject,
    key: String,
}

impl ConfigMapStore {
    /// The ConfigMap `namespace/name`, weights in `data[key]`, for these paths (config order).
    pub fn new(
        kc: &KubeClient,
        namespace: &str,
        name: &str,
        key: &str,
        paths: Vec<PathId>,
    ) -> Self {
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("", "v1", "ConfigMap"),
            "configmaps",
        );
        ConfigMapStore {
            obj: RouterObject::new(kc, &ar, "ConfigMap", "configmaps", namespace, name, paths),
            key: key.to_string(),
        }
    }

    pub fn object(&self) -> &RouterObject {
        &self.obj
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub async fn read(&self) -> Result<WeightsRead, StoreError> {
        let o = self.obj.get().await?;
        self.parse(&o)
    }

    /// The weights an object holds (a watch event, a patch answer).
    pub fn parse(&self, o: &DynamicObject) -> Result<WeightsRead, StoreError> {
        let map = self.stored_map(o)?;
        let mut weights = Weights::default();
        let mut bad = Vec::new();
        for p in &self.obj.paths {
            match map.get(p.as_str()).map(|v| (v, json_weight(v))) {
                None => {}
                Some((_, Some(w))) => {
                    weights.0.insert(p.clone(), w);
                }
                Some((v, None)) => {
                    bad.push(format!("'{p}' = {} is not a whole percent", short_json(v)))
                }
            }
        }
        // An unparseable value is missing from `weights`: name the value, not its absence.
        let invalid = if bad.is_empty() {
            weights.stored_problem(&self.obj.paths)
        } else {
            Some(bad.join("; "))
        };
        Ok(WeightsRead {
            backend: BACKEND,
            target: Some(self.obj.target()),
            weights,
            version: o.metadata.resource_version.clone(),
            invalid,
        })
    }

    fn invalid(&self, what: String) -> StoreError {
        StoreError::Invalid(format!(
            "ConfigMap {} key '{}' {what}",
            self.obj.target(),
            self.key
        ))
    }

    fn stored_map(&self, o: &DynamicObject) -> Result<Map<String, Value>, StoreError> {
        let Some(text) = o
            .data
            .get("data")
            .and_then(|d| d.get(&self.key))
            .and_then(Value::as_str)
        else {
            return Err(StoreError::Invalid(format!(
                "ConfigMap {} has no key '{}' in data",
                self.obj.target(),
                self.key
            )));
        };
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(self.invalid("is not a JSON object of path id → percent".into())),
            Err(e) => Err(self.invalid(format!("is not valid JSON: {e}"))),
        }
    }

    /// Merge patch of `data[key]` with the resourceVersion precondition and the last-change
    /// annotation. Keys of the stored JSON that are not paths are kept.
    pub async fn write(&self, req: &WriteRequest) -> Result<WeightsRead, StoreError> {
        let version = self.obj.check_write(req)?;
        let current = self.obj.get().await?;
        let extra: Map<String, Value> = self
            .stored_map(&current)
            .map(|m| {
                m.into_iter()
                    .filter(|(k, _)| !self.obj.paths.iter().any(|p| p.as_str() == k))
                    .collect()
            })
            .unwrap_or_default();
        let text = weights_text(&req.to, &extra);
        let body = json!({
            "metadata": self.obj.patch_metadata(&version, req),
            "data": { self.key.clone(): text },
        });
        match self.obj.merge_patch(&body, req.dry_run).await {
            Ok(o) => self.parse(&o),
            Err(PatchError::Store(e)) => Err(e),
            Err(PatchError::Conflict) => match self.read().await {
                Ok(now) => Err(StoreError::Conflict {
                    current: Box::new(now),
                }),
                Err(e) => Err(StoreError::Other(format!(
                    "the router's weights changed since they were read (nothing was written), and re-reading them failed: {e}"
                ))),
            },
        }
    }
}

/// `{"eks-qwen3":80,"agentcore-haiku":15,"agentcore-sonnet":5}` in path order, then any other
/// keys the object held.
pub fn weights_text(w: &Weights, extra: &Map<String, Value>) -> String {
    let mut parts: Vec<String> = w
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
        .collect();
    parts.extend(
        extra
            .iter()
            .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str()))),
    );
    format!("{{{}}}", parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_path_order_and_extras() {
        let w = Weights::from_pairs([
            ("eks-qwen3", 80),
            ("agentcore-haiku", 15),
            ("agentcore-sonnet", 5),
        ]);
        let mut extra = Map::new();
        extra.insert("canary".into(), json!(0));
        assert_eq!(
            weights_text(&w, &extra),
            r#"{"eks-qwen3":80,"agentcore-haiku":15,"agentcore-sonnet":5,"canary":0}"#
        );
        let back: Value = serde_json::from_str(&weights_text(&w, &extra)).unwrap();
        assert_eq!(back["agentcore-sonnet"], json!(5));
    }
}
