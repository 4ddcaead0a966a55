//! `hybridtop check`, Kubernetes part: one line per check — the kubeconfig context, the server,
//! then list and watch on every resource the source would watch (the real requests, so RBAC,
//! admission and missing CRDs answer exactly as they will for the dashboard), and the
//! ScaledObjects the paths name.
use super::plan::{Plan, Resource, WatchTarget};
use crate::config::{Config, KubernetesConfig};
use crate::kube_client::{self, error_chain, KubeClient, REQUEST_TIMEOUT};
use crate::model::sanitize::clean;
use crate::sources::kubernetes::json::{clip, MAX_MESSAGE};
use crate::sources::CheckLine;
use kube::api::{Api, DynamicObject, ListParams, WatchParams};
use std::collections::BTreeSet;
use std::path::PathBuf;
use tokio::time::timeout;

const SOURCE: &str = "kubernetes";

fn line(check: impl Into<String>, ok: bool, detail: impl Into<String>) -> CheckLine {
    CheckLine {
        source: SOURCE,
        check: check.into(),
        ok,
        detail: detail.into(),
    }
}

/// Check the Kubernetes side of `cfg` with the environment's kubeconfig (`KUBECONFIG` or
/// `~/.kube/config`). Empty `[kubernetes]` → one line saying the source is disabled.
pub async fn check(cfg: &Config) -> Vec<CheckLine> {
    check_with(cfg, None).await
}

/// [`check`] with explicit kubeconfig files instead of the environment's.
pub async fn check_with(cfg: &Config, kubeconfig: Option<&[PathBuf]>) -> Vec<CheckLine> {
    let Some(plan) = Plan::from_config(cfg) else {
        return vec![line(
            "configuration",
            true,
            "no [kubernetes] section: the Kubernetes source is disabled",
        )];
    };
    kube_client::install_crypto_provider();
    let mut lines = Vec::new();
    let client = match super::connect(&plan, kubeconfig).await {
        Ok(c) => c,
        Err(e) => {
            lines.push(line("kubeconfig context", false, clean(&e.to_string())));
            return lines;
        }
    };
    lines.push(line(
        "kubeconfig context",
        true,
        format!(
            "context '{}' → {}",
            client.context.as_deref().unwrap_or("in-cluster"),
            client.server
        ),
    ));
    if !server_reachable(&client, &mut lines).await {
        return lines;
    }
    let mut listable: BTreeSet<(Resource, String)> = BTreeSet::new();
    for t in plan.targets(&client.default_namespace) {
        let from = lines.len();
        if list_and_watch(&client, &t, &mut lines).await {
            listable.insert((t.resource, t.namespace.clone()));
        } else if t.resource == Resource::NodeClaims {
            // No Karpenter: nothing is wrong, there are just no NodeClaims to show.
            for l in lines[from..].iter_mut() {
                if l.detail.starts_with("Karpenter not installed") {
                    l.ok = true;
                }
            }
        }
    }
    for path in &plan.unwatched {
        lines.push(line(
            format!("pods of path {path}"),
            false,
            "no paths.eks.pod_selector: its pods are not watched",
        ));
    }
    for ((ns, name), path) in &plan.so_paths {
        if !listable.contains(&(Resource::ScaledObjects, ns.clone())) {
            continue;
        }
        let api: Api<DynamicObject> = Api::namespaced_with(
            client.client.clone(),
            ns,
            &Resource::ScaledObjects.api_resource(),
        );
        let what = format!("ScaledObject {ns}/{name} (path {path})");
        match timeout(REQUEST_TIMEOUT, api.get_opt(name)).await {
            Ok(Ok(Some(_))) => lines.push(line(what, true, "found")),
            Ok(Ok(None)) => lines.push(line(
                what,
                false,
                "not found: paths.eks.scaled_object names a ScaledObject that does not exist",
            )),
            Ok(Err(e)) => lines.push(line(what, false, detail(&e, "get", &t_so(ns), &client))),
            Err(_) => lines.push(line(what, false, no_answer(&client))),
        }
    }
    lines
}

fn t_so(ns: &str) -> WatchTarget {
    WatchTarget {
        resource: Resource::ScaledObjects,
        namespace: ns.to_string(),
        selector: None,
        path: None,
    }
}

fn no_answer(client: &KubeClient) -> String {
    format!(
        "Kubernetes API unreachable at {}: no answer within {}s",
        client.server,
        REQUEST_TIMEOUT.as_secs()
    )
}

async fn server_reachable(client: &KubeClient, lines: &mut Vec<CheckLine>) -> bool {
    let what = "server reachable";
    match timeout(REQUEST_TIMEOUT, client.client.apiserver_version()).await {
        Ok(Ok(v)) => {
            lines.push(line(
                what,
                true,
                format!("Kubernetes {} at {}", clean(&v.git_version), client.server),
            ));
            true
        }
        Ok(Err(kube::Error::Api(s))) if s.code == 401 => {
            lines.push(line(
                what,
                false,
                format!(
                    "the Kubernetes API at {} rejected the credentials (401 Unauthorized): refresh them (e.g. `aws sso login`) or fix the kubeconfig user",
                    client.server
                ),
            ));
            false
        }
        // Answered, just not allowed to say its version: reachable.
        Ok(Err(kube::Error::Api(s))) if s.code == 403 => {
            lines.push(line(
                what,
                true,
                format!("{} answers (GET /version is forbidden)", client.server),
            ));
            true
        }
        Ok(Err(e)) => {
            lines.push(line(
                what,
                false,
                clean(&format!(
                    "Kubernetes API unreachable at {}: {}",
                    client.server,
                    error_chain(&e)
                )),
            ));
            false
        }
        Err(_) => {
            lines.push(line(what, false, no_answer(client)));
            false
        }
    }
}

/// What a failed check request means, naming the missing permission.
fn detail(e: &kube::Error, verb: &str, t: &WatchTarget, client: &KubeClient) -> String {
    let res = t.resource.rbac_name();
    let ns = &t.namespace;
    let text = match e {
        kube::Error::Api(s) if s.code == 403 => {
            let server_says = clip(&s.message, MAX_MESSAGE);
            if server_says.is_empty() {
                format!("forbidden: needs {verb} on {res} in {ns}")
            } else {
                format!("forbidden: needs {verb} on {res} in {ns} ({server_says})")
            }
        }
        kube::Error::Api(s) if s.code == 404 => t.resource.not_installed(),
        other => super::watch::classify(other, t, verb, &client.server).message,
    };
    clean(&text).into_owned()
}

/// The list line and the watch line for one target; true when the list worked.
async fn list_and_watch(client: &KubeClient, t: &WatchTarget, lines: &mut Vec<CheckLine>) -> bool {
    let api: Api<DynamicObject> = super::plan::Plan::api(&client.client, t);
    let list_what = format!("list {}", t.describe());
    let watch_what = format!("watch {}", t.describe());
    let mut lp = ListParams::default().limit(1);
    if let Some(sel) = &t.selector {
        lp = lp.labels(sel);
    }
    let rv = match timeout(REQUEST_TIMEOUT, api.list(&lp)).await {
        Ok(Ok(list)) => {
            let n = list.items.len() as u64
                + list.metadata.remaining_item_count.unwrap_or(0).max(0) as u64;
            let found = if list
                .metadata
                .continue_
                .as_deref()
                .is_some_and(|c| !c.is_empty())
                && list.metadata.remaining_item_count.is_none()
            {
                format!("allowed ({n}+ found)")
            } else {
                format!("allowed ({n} found)")
            };
            lines.push(line(list_what, true, found));
            list.metadata.resource_version.unwrap_or_default()
        }
        Ok(Err(e)) => {
            let d = detail(&e, "list", t, client);
            lines.push(line(list_what, false, d.clone()));
            let watch_detail = match &e {
                kube::Error::Api(s) if s.code == 404 => d,
                _ => "not checked: list failed".to_string(),
            };
            lines.push(line(watch_what, false, watch_detail));
            return false;
        }
        Err(_) => {
            lines.push(line(list_what, false, no_answer(client)));
            lines.push(line(watch_what, false, "not checked: list failed"));
            return false;
        }
    };
    // A one-second watch from the list's version: the request is what RBAC judges; the stream
    // is dropped at once.
    let mut wp = WatchParams::default().timeout(1);
    if let Some(sel) = &t.selector {
        wp = wp.labels(sel);
    }
    match timeout(REQUEST_TIMEOUT, api.watch(&wp, &rv)).await {
        Ok(Ok(stream)) => {
            drop(stream);
            lines.push(line(watch_what, true, "allowed"));
        }
        Ok(Err(e)) => lines.push(line(watch_what, false, detail(&e, "watch", t, client))),
        Err(_) => lines.push(line(watch_what, false, no_answer(client))),
    }
    true
}

/// The `[kubernetes]` section as the shared client builder wants it.
pub(super) fn client_config(plan: &Plan) -> KubernetesConfig {
    KubernetesConfig {
        context: plan.context.clone(),
        ..KubernetesConfig::default()
    }
}
