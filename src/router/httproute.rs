//! `httproute` weight store: the weights of `spec.rules[rule].backendRefs[]` of a Gateway API
//! HTTPRoute (`gateway.networking.k8s.io/v1`), matched to paths by backendRef name.
//!
//! `rules` and `backendRefs` are atomic lists, so a merge patch must carry the whole
//! `spec.rules` array: every other rule and every backendRef that is not a path is sent back
//! exactly as read (the object is handled as untyped JSON so unknown fields survive); only the
//! path backendRefs' `weight` changes.
use crate::domain::path::PathId;
use crate::domain::weights::Weights;
use crate::kube_client::KubeClient;
use crate::router::kube_object::{json_weight, short_json, PatchError, RouterObject};
use crate::router::{StoreError, WeightsRead, WriteRequest};
use indexmap::IndexMap;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{json, Value};

pub const BACKEND: &str = "httproute";
pub const GROUP: &str = "gateway.networking.k8s.io";
pub const VERSION: &str = "v1";

/// Gateway API default for a backendRef without `weight`.
const DEFAULT_WEIGHT: u32 = 1;

#[derive(Clone, Debug)]
pub struct HttpRouteStore {
    obj: RouterObject,
    rule: usize,
    /// path id → backendRef name, in path (config) order.
    backend_refs: IndexMap<PathId, String>,
}

impl HttpRouteStore {
    /// The HTTPRoute `namespace/name`, weights in `spec.rules[rule]`; `backend_refs` maps each
    /// path id (in config order) to its backendRef name.
    pub fn new(
        kc: &KubeClient,
        namespace: &str,
        name: &str,
        rule: usize,
        backend_refs: IndexMap<PathId, String>,
    ) -> Self {
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(GROUP, VERSION, "HTTPRoute"),
            "httproutes",
        );
        let paths = backend_refs.keys().cloned().collect();
        HttpRouteStore {
            obj: RouterObject::new(
                kc,
                &ar,
                "HTTPRoute",
                "httproutes.gateway.networking.k8s.io",
                namespace,
                name,
                paths,
            ),
            rule,
            backend_refs,
        }
    }

    pub fn object(&self) -> &RouterObject {
        &self.obj
    }

    pub async fn read(&self) -> Result<WeightsRead, StoreError> {
        let o = self.obj.get().await?;
        self.parse(&o)
    }

    /// The weights an object holds (a watch event, a patch answer).
    pub fn parse(&self, o: &DynamicObject) -> Result<WeightsRead, StoreError> {
        let rules = self.rules(o)?;
        let refs = self.rule_refs(rules)?;
        let mut weights = Weights::default();
        let mut bad = Vec::new();
        for (path, j) in self.locate(refs)? {
            match refs[j].get("weight") {
                None | Some(Value::Null) => {
                    weights.0.insert(path, DEFAULT_WEIGHT);
                }
                Some(v) => match json_weight(v) {
                    Some(w) => {
                        weights.0.insert(path, w);
                    }
                    None => bad.push(format!(
                        "backendRef '{}' (path '{path}') weight {} is not a non-negative integer",
                        self.backend_refs[&path],
                        short_json(v)
                    )),
                },
            }
        }
        let paths: Vec<PathId> = self.backend_refs.keys().cloned().collect();
        let invalid = if bad.is_empty() {
            weights.stored_problem(&paths)
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
            "HTTPRoute {} rule {} {what}",
            self.obj.target(),
            self.rule
        ))
    }

    fn rules<'a>(&self, o: &'a DynamicObject) -> Result<&'a Vec<Value>, StoreError> {
        o.data
            .get("spec")
            .and_then(|s| s.get("rules"))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                StoreError::Invalid(format!("HTTPRoute {} has no spec.rules", self.obj.target()))
            })
    }

    fn rule_refs<'a>(&self, rules: &'a [Value]) -> Result<&'a [Value], StoreError> {
        let Some(rule) = rules.get(self.rule) else {
            return Err(StoreError::Invalid(format!(
                "HTTPRoute {} has no rule {} (it has {} rule{}; see router.httproute.rule)",
                self.obj.target(),
                self.rule,
                rules.len(),
                if rules.len() == 1 { "" } else { "s" }
            )));
        };
        Ok(rule
            .get("backendRefs")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]))
    }

    /// For each path (in order), the index of its backendRef in the rule.
    fn locate(&self, refs: &[Value]) -> Result<Vec<(PathId, usize)>, StoreError> {
        let mut out = Vec::with_capacity(self.backend_refs.len());
        for (path, name) in &self.backend_refs {
            let hits: Vec<usize> = refs
                .iter()
                .enumerate()
                .filter(|(_, r)| r.get("name").and_then(Value::as_str) == Some(name.as_str()))
                .map(|(j, _)| j)
                .collect();
            match hits.as_slice() {
                [j] => out.push((path.clone(), *j)),
                [] => {
                    let present: Vec<&str> = refs
                        .iter()
                        .filter_map(|r| r.get("name").and_then(Value::as_str))
                        .collect();
                    return Err(self.invalid(format!(
                        "has no backendRef named '{name}' (path '{path}'); it has: {}",
                        if present.is_empty() {
                            "none".to_string()
                        } else {
                            present.join(", ")
                        }
                    )));
                }
                many => {
                    return Err(self.invalid(format!(
                        "has {} backendRefs named '{name}' (path '{path}'); cannot tell which one is the path",
                        many.len()
                    )))
                }
            }
        }
        Ok(out)
    }

    /// Merge patch carrying the whole `spec.rules` array (only the path backendRefs' weights
    /// changed), the resourceVersion precondition and the last-change annotation.
    pub async fn write(&self, req: &WriteRequest) -> Result<WeightsRead, StoreError> {
        let version = self.obj.check_write(req)?;
        let current = self.obj.get().await?;
        let rules = self.new_rules(&current, &req.to)?;
        let body = json!({
            "metadata": self.obj.patch_metadata(&version, req),
            "spec": { "rules": rules },
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

    /// The object's `spec.rules` with the path backendRefs' weights set to `to`.
    pub fn new_rules(&self, o: &DynamicObject, to: &Weights) -> Result<Value, StoreError> {
        let mut rules = self.rules(o)?.clone();
        let located = self.locate(self.rule_refs(&rules)?)?;
        let refs = rules
            .get_mut(self.rule)
            .and_then(|r| r.get_mut("backendRefs"))
            .and_then(Value::as_array_mut)
            .ok_or_else(|| self.invalid("has no backendRefs".into()))?;
        for (path, j) in located {
            let w = to
                .get(&path)
                .ok_or_else(|| StoreError::Invalid(format!("no new weight for path '{path}'")))?;
            match refs.get_mut(j).and_then(Value::as_object_mut) {
                Some(r) => {
                    r.insert("weight".into(), Value::from(w));
                }
                None => return Err(self.invalid(format!("backendRef {j} is not an object"))),
            }
        }
        Ok(Value::Array(rules))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(rules: Value) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "r", "namespace": "agents", "resourceVersion": "7"},
            "spec": {"rules": rules},
        }))
        .unwrap()
    }

    fn store() -> HttpRouteStore {
        crate::kube_client::install_crypto_provider();
        let config = kube::Config::new("http://127.0.0.1:1".parse().unwrap());
        let client = kube::Client::try_from(config).unwrap();
        let kc = KubeClient {
            client,
            server: "http://127.0.0.1:1".into(),
            context: None,
            default_namespace: "default".into(),
        };
        let refs: IndexMap<PathId, String> = [("eks", "svc-eks"), ("ac", "svc-ac")]
            .into_iter()
            .map(|(p, n)| (PathId::from(p), n.to_string()))
            .collect();
        HttpRouteStore::new(&kc, "agents", "r", 0, refs)
    }

    #[tokio::test]
    async fn parse_defaults_and_errors() {
        let s = store();
        let o = route(json!([{"backendRefs": [
            {"name": "svc-ac", "port": 80, "weight": 30},
            {"name": "svc-eks", "port": 80},
        ]}]));
        let r = s.parse(&o).unwrap();
        assert_eq!(r.weights.to_text(), "eks=1 ac=30");
        assert_eq!(r.version.as_deref(), Some("7"));

        let o = route(json!([{"backendRefs": [{"name": "svc-ac", "weight": 30}]}]));
        let e = s.parse(&o).unwrap_err().to_string();
        assert!(
            e.contains("no backendRef named 'svc-eks' (path 'eks')"),
            "{e}"
        );

        let o = route(json!([]));
        let e = s.parse(&o).unwrap_err().to_string();
        assert!(e.contains("has no rule 0 (it has 0 rules"), "{e}");
    }

    #[tokio::test]
    async fn new_rules_touch_only_path_weights() {
        let s = store();
        let other = json!({"matches": [{"path": {"type": "PathPrefix", "value": "/x"}}],
                           "backendRefs": [{"name": "svc-eks", "weight": 5}], "x-unknown": {"a": [1, 2]}});
        let o = route(json!([
            {"backendRefs": [
                {"name": "svc-eks", "port": 80, "weight": 70, "filters": []},
                {"name": "mirror", "port": 81, "weight": 0},
                {"name": "svc-ac", "port": 80, "weight": 30},
            ], "timeouts": {"request": "10s"}},
            other.clone(),
        ]));
        let to = Weights::from_pairs([("eks", 60), ("ac", 40)]);
        let rules = s.new_rules(&o, &to).unwrap();
        assert_eq!(rules[1], other);
        assert_eq!(
            rules[0],
            json!({"backendRefs": [
                {"name": "svc-eks", "port": 80, "weight": 60, "filters": []},
                {"name": "mirror", "port": 81, "weight": 0},
                {"name": "svc-ac", "port": 80, "weight": 40},
            ], "timeouts": {"request": "10s"}})
        );
    }
}
