//! What to watch, derived once from the config: one pod watch per EKS path (its namespace and
//! `pod_selector`), ScaledObject, HPA and event watches per namespace, the GPU nodes and
//! Karpenter NodeClaims (cluster-scoped), and which path each ScaledObject belongs to.
use crate::config::Config;
use crate::domain::path::{PathId, Side};
use std::collections::BTreeMap;

/// The kinds of object the source watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    Pods,
    ScaledObjects,
    Hpas,
    Events,
    Nodes,
    NodeClaims,
}

impl Resource {
    /// As RBAC names it (`resource.group`), which is what a missing permission must say.
    pub fn rbac_name(self) -> &'static str {
        match self {
            Resource::Pods => "pods",
            Resource::ScaledObjects => "scaledobjects.keda.sh",
            Resource::Hpas => "horizontalpodautoscalers.autoscaling",
            Resource::Events => "events.events.k8s.io",
            Resource::Nodes => "nodes",
            Resource::NodeClaims => "nodeclaims.karpenter.sh",
        }
    }

    /// Nodes and NodeClaims belong to no namespace.
    pub fn cluster_scoped(self) -> bool {
        matches!(self, Resource::Nodes | Resource::NodeClaims)
    }

    /// Why a 404 on this resource type happens, in words an operator acts on.
    pub fn not_installed(self) -> String {
        match self {
            Resource::ScaledObjects => {
                "KEDA not installed: the API server does not serve scaledobjects.keda.sh/v1alpha1"
                    .to_string()
            }
            Resource::Hpas => {
                "autoscaling/v2 not served: HorizontalPodAutoscalers cannot be read (Kubernetes older than 1.23?)"
                    .to_string()
            }
            Resource::Pods => "the API server does not serve pods (v1)".to_string(),
            Resource::Events => "the API server does not serve events.k8s.io/v1".to_string(),
            Resource::Nodes => "the API server does not serve nodes (v1)".to_string(),
            Resource::NodeClaims => {
                "Karpenter not installed: no nodeclaims.karpenter.sh/v1 (launching nodes are not shown)"
                    .to_string()
            }
        }
    }

    pub fn api_resource(self) -> kube::core::ApiResource {
        use kube::core::{ApiResource, GroupVersionKind};
        let (g, v, k, plural) = match self {
            Resource::Pods => ("", "v1", "Pod", "pods"),
            Resource::ScaledObjects => ("keda.sh", "v1alpha1", "ScaledObject", "scaledobjects"),
            Resource::Hpas => (
                "autoscaling",
                "v2",
                "HorizontalPodAutoscaler",
                "horizontalpodautoscalers",
            ),
            Resource::Events => ("events.k8s.io", "v1", "Event", "events"),
            Resource::Nodes => ("", "v1", "Node", "nodes"),
            Resource::NodeClaims => ("karpenter.sh", "v1", "NodeClaim", "nodeclaims"),
        };
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(g, v, k), plural)
    }
}

/// One watch: a resource in a namespace, optionally narrowed by a label selector; pods carry
/// the path they belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchTarget {
    pub resource: Resource,
    pub namespace: String,
    pub selector: Option<String>,
    pub path: Option<PathId>,
}

impl WatchTarget {
    /// `pods in agents (app=vllm-qwen3)`, `scaledobjects.keda.sh in agents`, `nodes (…)`.
    pub fn describe(&self) -> String {
        if self.resource.cluster_scoped() {
            return match &self.selector {
                Some(s) => format!("{} ({s})", self.resource.rbac_name()),
                None => self.resource.rbac_name().to_string(),
            };
        }
        match &self.selector {
            Some(s) => format!("{} in {} ({s})", self.resource.rbac_name(), self.namespace),
            None => format!("{} in {}", self.resource.rbac_name(), self.namespace),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// `[kubernetes] context`, else the kubeconfig's current context.
    pub context: Option<String>,
    /// One pod watch per EKS path with a `pod_selector`.
    pub pods: Vec<WatchTarget>,
    /// Namespaces for ScaledObjects and HPAs: `[kubernetes] namespaces` plus the namespaces of
    /// EKS paths that name a ScaledObject. Empty: the context's default namespace.
    pub namespaces: Vec<String>,
    /// (namespace, ScaledObject name) → the path it scales.
    pub so_paths: BTreeMap<(String, String), PathId>,
    /// EKS paths whose pods cannot be watched because they have no `pod_selector`.
    pub unwatched: Vec<PathId>,
    /// Label selector of the GPU nodes (`[kubernetes] gpu_node_selector`); empty: no node watch.
    pub gpu_node_selector: Option<String>,
}

impl Plan {
    pub fn from_config(cfg: &Config) -> Option<Plan> {
        let k = cfg.kubernetes.as_ref()?;
        let mut plan = Plan {
            context: k.context.clone().filter(|c| !c.is_empty()),
            ..Plan::default()
        };
        let mut namespaces: Vec<String> = Vec::new();
        let add_ns = |ns: &str, list: &mut Vec<String>| {
            if !ns.is_empty() && !list.iter().any(|n| n == ns) {
                list.push(ns.to_string());
            }
        };
        for ns in &k.namespaces {
            add_ns(ns, &mut namespaces);
        }
        for p in cfg.paths.iter().filter(|p| p.kind == Side::Eks) {
            let eks = p.eks.clone().unwrap_or_default();
            match eks.pod_selector.as_deref().map(str::trim) {
                Some(sel) if !sel.is_empty() => plan.pods.push(WatchTarget {
                    resource: Resource::Pods,
                    namespace: eks.namespace.clone(),
                    selector: Some(sel.to_string()),
                    path: Some(p.id.clone()),
                }),
                _ => plan.unwatched.push(p.id.clone()),
            }
            if let Some(so) = eks.scaled_object.as_deref().filter(|s| !s.is_empty()) {
                add_ns(&eks.namespace, &mut namespaces);
                plan.so_paths
                    .insert((eks.namespace.clone(), so.to_string()), p.id.clone());
            }
        }
        plan.namespaces = namespaces;
        plan.gpu_node_selector =
            Some(k.gpu_node_selector.trim().to_string()).filter(|s| !s.is_empty());
        Some(plan)
    }

    /// Every watch, pods first, then ScaledObjects and HPAs per namespace. `default_ns` stands
    /// in when no namespace is configured.
    pub fn targets(&self, default_ns: &str) -> Vec<WatchTarget> {
        let mut out = self.pods.clone();
        let fallback = [default_ns.to_string()];
        let namespaces: &[String] = if self.namespaces.is_empty() {
            &fallback
        } else {
            &self.namespaces
        };
        for ns in namespaces {
            for resource in [Resource::ScaledObjects, Resource::Hpas] {
                out.push(WatchTarget {
                    resource,
                    namespace: ns.clone(),
                    selector: None,
                    path: None,
                });
            }
        }
        // Events where the paths' objects live: the pods' namespaces and the KEDA ones.
        let mut event_ns: Vec<&String> = namespaces.iter().collect();
        for p in &self.pods {
            if !event_ns.contains(&&p.namespace) {
                event_ns.push(&p.namespace);
            }
        }
        for ns in event_ns {
            out.push(WatchTarget {
                resource: Resource::Events,
                namespace: ns.clone(),
                selector: None,
                path: None,
            });
        }
        if let Some(sel) = &self.gpu_node_selector {
            for (resource, selector) in [
                (Resource::Nodes, Some(sel.clone())),
                (Resource::NodeClaims, None),
            ] {
                out.push(WatchTarget {
                    resource,
                    namespace: String::new(),
                    selector,
                    path: None,
                });
            }
        }
        out
    }

    /// The API handle for a watch target: namespaced, or cluster-wide for nodes and NodeClaims.
    pub fn api(client: &kube::Client, t: &WatchTarget) -> kube::Api<kube::api::DynamicObject> {
        let ar = t.resource.api_resource();
        if t.resource.cluster_scoped() {
            kube::Api::all_with(client.clone(), &ar)
        } else {
            kube::Api::namespaced_with(client.clone(), &t.namespace, &ar)
        }
    }

    pub fn so_path(&self, namespace: &str, name: &str) -> Option<&PathId> {
        self.so_paths
            .get(&(namespace.to_string(), name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> Config {
        let text = format!(
            r#"
[[paths]]
id = "eks-qwen3"
kind = "eks"
[paths.eks]
namespace = "agents"
pod_selector = "app=vllm-qwen3"
scaled_object = "vllm-qwen3"
[[paths]]
id = "eks-llama"
kind = "eks"
[paths.eks]
namespace = "batch"
scaled_object = "llama"
[[paths]]
id = "agentcore-haiku"
kind = "agentcore"
{extra}
"#
        );
        Config::from_toml(&text, "test.toml").unwrap()
    }

    #[test]
    fn absent_section_means_no_source() {
        assert!(Plan::from_config(&cfg("")).is_none());
    }

    #[test]
    fn watches_follow_the_paths_and_namespaces() {
        let plan = Plan::from_config(&cfg(
            "[kubernetes]\ncontext = \"prod\"\nnamespaces = [\"agents\", \"keda-extra\"]",
        ))
        .unwrap();
        assert_eq!(plan.context.as_deref(), Some("prod"));
        assert_eq!(plan.pods.len(), 1);
        assert_eq!(plan.pods[0].describe(), "pods in agents (app=vllm-qwen3)");
        assert_eq!(plan.pods[0].path, Some(PathId::from("eks-qwen3")));
        assert_eq!(plan.unwatched, vec![PathId::from("eks-llama")]);
        // The namespace of a path's ScaledObject is watched even if not listed.
        assert_eq!(plan.namespaces, ["agents", "keda-extra", "batch"]);
        assert_eq!(
            plan.so_path("batch", "llama"),
            Some(&PathId::from("eks-llama"))
        );
        assert_eq!(plan.so_path("agents", "llama"), None);
        let t: Vec<String> = plan
            .targets("default")
            .iter()
            .map(|t| t.describe())
            .collect();
        assert_eq!(
            t,
            [
                "pods in agents (app=vllm-qwen3)",
                "scaledobjects.keda.sh in agents",
                "horizontalpodautoscalers.autoscaling in agents",
                "scaledobjects.keda.sh in keda-extra",
                "horizontalpodautoscalers.autoscaling in keda-extra",
                "scaledobjects.keda.sh in batch",
                "horizontalpodautoscalers.autoscaling in batch",
                "events.events.k8s.io in agents",
                "events.events.k8s.io in keda-extra",
                "events.events.k8s.io in batch",
                "nodes (nvidia.com/gpu.present=true)",
                "nodeclaims.karpenter.sh",
            ]
        );
    }

    #[test]
    fn no_namespace_falls_back_to_the_context_default() {
        let text = "[[paths]]\nid = \"a\"\nkind = \"agentcore\"\n[kubernetes]\n";
        let plan = Plan::from_config(&Config::from_toml(text, "t.toml").unwrap()).unwrap();
        let t: Vec<String> = plan.targets("ops").iter().map(|t| t.describe()).collect();
        assert_eq!(
            t,
            [
                "scaledobjects.keda.sh in ops",
                "horizontalpodautoscalers.autoscaling in ops",
                "events.events.k8s.io in ops",
                "nodes (nvidia.com/gpu.present=true)",
                "nodeclaims.karpenter.sh",
            ]
        );
    }
}
