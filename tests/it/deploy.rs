//! `deploy/`: the collector's manifests stay true to the product. The config the ConfigMap is
//! generated from loads without an error or an unknown key, the RBAC grants only reads, and the
//! Deployment runs `collect` with that config.
use hybridtop::config::Config;
use std::path::Path;

fn deploy(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn the_collector_config_loads_cleanly() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/config.toml");
    let c = Config::load(&p).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);
    assert!(c.general.read_only, "the collector never changes weights");
    assert!(!c.paths.is_empty());
    // Pushed spans: the receiver listens for the Service, behind a token.
    let o = c.otlp.as_ref().expect("[otlp]");
    assert_eq!(o.listen, "0.0.0.0:4318");
    assert!(o.bearer_token_env.is_some());
    let svc = deploy("service.yaml");
    assert!(svc.contains("4318") && svc.contains("otlp-http"), "{svc}");
    let tee = deploy("otel-collector-exporter.yaml");
    assert!(tee.contains("hybridtop-collector.hybridtop.svc") && tee.contains("compression: none"));
}

#[test]
fn rbac_only_reads_and_the_deployment_collects() {
    let rbac = deploy("rbac.yaml");
    let verbs: Vec<&str> = rbac
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once("verbs:").map(|(_, v)| v))
        .collect();
    assert!(!verbs.is_empty());
    for v in verbs {
        assert_eq!(v.trim(), r#"["get", "list", "watch"]"#, "{rbac}");
    }
    let d = deploy("deployment.yaml");
    for want in [
        "collect",
        "--publish",
        "/etc/hybridtop/config.toml",
        "HYBRIDTOP_REDIS_PASSWORD",
    ] {
        assert!(d.contains(want), "deployment.yaml lacks {want}");
    }
    let k: String = deploy("kustomization.yaml")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    // The Secret is created by hand, never applied from the repo.
    assert!(
        k.contains("config.toml") && !k.contains("secret.example.yaml"),
        "{k}"
    );
    let sa = deploy("serviceaccount.yaml");
    assert!(sa.contains("eks.amazonaws.com/role-arn"), "{sa}");
}
