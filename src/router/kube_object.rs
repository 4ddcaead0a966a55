//! What the two Kubernetes weight stores share: the one object they read, patch and watch,
//! request deadlines, error mapping, the pre-write refusal checks and the
//! `hybridtop.io/last-change` annotation.
use crate::domain::path::PathId;
use crate::domain::weights::Weights;
use crate::kube_client::{self, KubeClient, RequestTarget};
use crate::router::{StoreError, WriteRequest};
use chrono::{SecondsFormat, Utc};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::{json, Value};

/// The annotation each write sets on the router object: JSON with who, host, when (RFC 3339),
/// from, to, reason.
pub const LAST_CHANGE_ANNOTATION: &str = "hybridtop.io/last-change";

/// One namespaced object holding the router's weights.
#[derive(Clone)]
pub struct RouterObject {
    api: Api<DynamicObject>,
    pub namespace: String,
    pub name: String,
    /// `ConfigMap` | `HTTPRoute`
    pub kind: &'static str,
    /// RBAC resource name: `configmaps` | `httproutes.gateway.networking.k8s.io`
    pub resource: &'static str,
    /// API server URL, for error messages.
    pub server: String,
    /// The configured path ids, in config order.
    pub paths: Vec<PathId>,
}

impl std::fmt::Debug for RouterObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouterObject")
            .field("kind", &self.kind)
            .field("target", &self.target())
            .field("server", &self.server)
            .finish()
    }
}

/// A patch the server refused because the precondition failed (409), or any other error.
pub enum PatchError {
    Conflict,
    Store(StoreError),
}

impl RouterObject {
    pub fn new(
        kc: &KubeClient,
        ar: &ApiResource,
        kind: &'static str,
        resource: &'static str,
        namespace: &str,
        name: &str,
        paths: Vec<PathId>,
    ) -> Self {
        RouterObject {
            api: Api::namespaced_with(kc.client.clone(), namespace, ar),
            namespace: namespace.to_string(),
            name: name.to_string(),
            kind,
            resource,
            server: kc.server.clone(),
            paths,
        }
    }

    /// The kube API handle (for the watcher).
    pub fn api(&self) -> &Api<DynamicObject> {
        &self.api
    }

    /// `namespace/name`
    pub fn target(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn request_target<'a>(&'a self, verb: &'a str) -> RequestTarget<'a> {
        RequestTarget {
            verb,
            resource: self.resource,
            kind: self.kind,
            namespace: &self.namespace,
            name: &self.name,
            server: &self.server,
        }
    }

    pub async fn get(&self) -> Result<DynamicObject, StoreError> {
        match tokio::time::timeout(kube_client::REQUEST_TIMEOUT, self.api.get(&self.name)).await {
            Err(_) => Err(kube_client::timeout_error(&self.server).into()),
            Ok(Err(e)) => Err(kube_client::map_error(&e, &self.request_target("get")).into()),
            Ok(Ok(o)) => Ok(o),
        }
    }

    /// A JSON merge patch (RFC 7386); `dry_run` sends `dryRun=All`.
    pub async fn merge_patch(
        &self,
        body: &Value,
        dry_run: bool,
    ) -> Result<DynamicObject, PatchError> {
        let mut pp = PatchParams::default();
        if dry_run {
            pp = pp.dry_run();
        }
        let patch = Patch::Merge(body);
        let call = self.api.patch(&self.name, &pp, &patch);
        match tokio::time::timeout(kube_client::REQUEST_TIMEOUT, call).await {
            Err(_) => Err(PatchError::Store(
                kube_client::timeout_error(&self.server).into(),
            )),
            Ok(Err(kube::Error::Api(s))) if s.code == 409 => Err(PatchError::Conflict),
            Ok(Err(e)) => Err(PatchError::Store(
                kube_client::map_error(&e, &self.request_target("patch")).into(),
            )),
            Ok(Ok(o)) => Ok(o),
        }
    }

    /// Defence in depth, before any request: the new weights must cover exactly the configured
    /// paths and not all be zero, and there must be a version to write against. Returns it.
    pub fn check_write(&self, req: &WriteRequest) -> Result<String, StoreError> {
        check_weights(&self.paths, &req.to, self.kind, &self.target())?;
        match req.expected_version.as_deref() {
            Some(v) if !v.is_empty() => Ok(v.to_string()),
            _ => Err(StoreError::Invalid(format!(
                "refusing to write {} {} without the resourceVersion it was read at (read the weights first)",
                self.kind,
                self.target()
            ))),
        }
    }

    /// `metadata` of a write: the resourceVersion precondition and the last-change annotation.
    pub fn patch_metadata(&self, version: &str, req: &WriteRequest) -> Value {
        json!({
            "resourceVersion": version,
            "annotations": { LAST_CHANGE_ANNOTATION: last_change(req) },
        })
    }
}

/// The new weights must name exactly `paths` and not all be zero.
pub fn check_weights(
    paths: &[PathId],
    to: &Weights,
    kind: &str,
    target: &str,
) -> Result<(), StoreError> {
    let missing: Vec<&str> = paths
        .iter()
        .filter(|p| to.get(p).is_none())
        .map(|p| p.as_str())
        .collect();
    let unknown: Vec<&str> =
        to.0.keys()
            .filter(|k| !paths.contains(k))
            .map(|k| k.as_str())
            .collect();
    if !missing.is_empty() || !unknown.is_empty() {
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!("missing {}", missing.join(", ")));
        }
        if !unknown.is_empty() {
            parts.push(format!("unknown {}", unknown.join(", ")));
        }
        return Err(StoreError::Invalid(format!(
            "refusing to write weights to {kind} {target} that don't cover exactly the configured paths ({})",
            parts.join("; ")
        )));
    }
    if to.sum() == 0 {
        return Err(StoreError::Invalid(format!(
            "refusing to write all-zero weights to {kind} {target}: no path would get traffic"
        )));
    }
    Ok(())
}

/// The `hybridtop.io/last-change` annotation's value.
pub fn last_change(req: &WriteRequest) -> String {
    json!({
        "who": req.actor.user,
        "host": req.actor.host,
        "when": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        "from": weights_json(&req.from),
        "to": weights_json(&req.to),
        "reason": req.reason,
    })
    .to_string()
}

/// `{path: percent}` as a JSON value (key order is not significant in JSON).
pub fn weights_json(w: &Weights) -> Value {
    Value::Object(
        w.iter()
            .map(|(k, v)| (k.as_str().to_string(), Value::from(v)))
            .collect(),
    )
}

/// A stored value for a message: JSON, at most 40 characters (it is untrusted and may be huge).
pub fn short_json(v: &Value) -> String {
    let t = v.to_string();
    if t.chars().count() <= 40 {
        return t;
    }
    let mut s: String = t.chars().take(39).collect();
    s.push('…');
    s
}

/// A non-negative integer weight from JSON (`70`, `70.0`), or None.
pub fn json_weight(v: &Value) -> Option<u32> {
    if let Some(u) = v.as_u64() {
        return u32::try_from(u).ok();
    }
    let f = v.as_f64()?;
    if f >= 0.0 && f.fract() == 0.0 && f <= f64::from(u32::MAX) {
        Some(f as u32)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(p: &[(&str, u32)]) -> Weights {
        Weights::from_pairs(p.iter().map(|(k, v)| (*k, *v)))
    }

    #[test]
    fn refuses_partial_unknown_and_all_zero() {
        let paths: Vec<PathId> = vec!["a".into(), "b".into()];
        assert!(check_weights(&paths, &w(&[("a", 60), ("b", 40)]), "ConfigMap", "ns/x").is_ok());
        let e = check_weights(&paths, &w(&[("a", 100)]), "ConfigMap", "ns/x").unwrap_err();
        assert!(e.to_string().contains("missing b"), "{e}");
        let e = check_weights(
            &paths,
            &w(&[("a", 50), ("b", 0), ("c", 50)]),
            "ConfigMap",
            "ns/x",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown c"), "{e}");
        let e = check_weights(&paths, &w(&[("a", 0), ("b", 0)]), "HTTPRoute", "ns/x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "refusing to write all-zero weights to HTTPRoute ns/x: no path would get traffic"
        );
    }

    #[test]
    fn weights_from_json_numbers() {
        assert_eq!(json_weight(&json!(70)), Some(70));
        assert_eq!(json_weight(&json!(70.0)), Some(70));
        assert_eq!(json_weight(&json!(70.5)), None);
        assert_eq!(json_weight(&json!(-1)), None);
        assert_eq!(json_weight(&json!("70")), None);
    }
}
