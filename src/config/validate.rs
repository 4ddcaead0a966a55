//! Validation of a parsed config: every error names the file, the key and the value, and says
//! what would be accepted.
use super::{colour_from_str, Config, ConfigError, PathThresholds, RouterBackend};
use crate::domain::path::{PathId, Side};

impl Config {
    pub(super) fn invalid(
        &self,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            file: self.origin.clone(),
            key: key.into(),
            message: message.into(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = Vec::<&PathId>::new();
        for (i, p) in self.paths.iter().enumerate() {
            let key = format!("paths[{i}].id");
            if p.id.as_str().is_empty()
                || !p
                    .id
                    .as_str()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            {
                return Err(self.invalid(
                    key,
                    format!("'{}' is not a slug (letters, digits, - _ .)", p.id),
                ));
            }
            if seen.contains(&&p.id) {
                return Err(self.invalid(key, format!("path id '{}' is used twice", p.id)));
            }
            seen.push(&p.id);
            if let Some(eks) = &p.eks {
                if eks.pods_per_node == 0 {
                    return Err(self.invalid(
                        format!("paths[{i}].eks.pods_per_node"),
                        "must be at least 1",
                    ));
                }
                // The preview divides by it: 0, NaN or a negative capacity would invent pods.
                if !(eks.pod_capacity_rpm.is_finite()
                    && eks.pod_capacity_rpm > 0.0
                    && eks.pod_capacity_rpm <= 1e6)
                {
                    return Err(self.invalid(
                        format!("paths[{i}].eks.pod_capacity_rpm"),
                        format!(
                            "{} must be more than 0 and at most 1000000",
                            eks.pod_capacity_rpm
                        ),
                    ));
                }
                if eks.pods_per_node > 1000 {
                    return Err(self.invalid(
                        format!("paths[{i}].eks.pods_per_node"),
                        format!("{} must be at most 1000", eks.pods_per_node),
                    ));
                }
                if !eks.gpu_node_usd_per_hour.is_finite() || eks.gpu_node_usd_per_hour < 0.0 {
                    return Err(self.invalid(
                        format!("paths[{i}].eks.gpu_node_usd_per_hour"),
                        "must be a non-negative number",
                    ));
                }
            }
            if let Some(ac) = &p.agentcore {
                for (k, v) in [
                    ("usd_per_1k_input_tokens", ac.usd_per_1k_input_tokens),
                    ("usd_per_1k_output_tokens", ac.usd_per_1k_output_tokens),
                    ("usd_per_vcpu_hour", ac.usd_per_vcpu_hour),
                    ("usd_per_gb_hour", ac.usd_per_gb_hour),
                ] {
                    if !v.is_finite() || v < 0.0 {
                        return Err(self.invalid(
                            format!("paths[{i}].agentcore.{k}"),
                            format!("{v} must be a non-negative number"),
                        ));
                    }
                }
            }
        }
        let w = self.general.window;
        if w < std::time::Duration::from_secs(60) || w > std::time::Duration::from_secs(86_400) {
            return Err(self.invalid(
                "general.window",
                format!(
                    "'{}' must be between 1m and 24h (rates and quantiles need a few 10 s buckets)",
                    humantime::format_duration(w)
                ),
            ));
        }
        if let Some(k) = &self.kubernetes {
            if k.max_events == 0 || k.max_events > 1_000_000 {
                return Err(self.invalid(
                    "kubernetes.max_events",
                    format!("{} must be 1..=1000000", k.max_events),
                ));
            }
        }
        let c = &self.correlation;
        for (key, v, max) in [
            ("correlation.max_sessions", c.max_sessions, 1_000_000),
            (
                "correlation.max_spans_per_session",
                c.max_spans_per_session,
                100_000,
            ),
        ] {
            if v == 0 || v > max {
                return Err(self.invalid(key, format!("{v} must be 1..={max}")));
            }
        }
        self.correlation_rules()?;
        if let Some(lf) = &self.langfuse {
            if lf.max_requests_per_minute == Some(0) {
                return Err(self.invalid(
                    "langfuse.max_requests_per_minute",
                    "must be at least 1 (Langfuse Hobby allows 30 per minute)",
                ));
            }
        }
        self.validate_prometheus()?;
        self.validate_otlp()?;
        if let Some(r) = &self.router {
            let g = &r.guard;
            if g.step == 0 || g.step > 100 {
                return Err(
                    self.invalid("router.guard.step", format!("{} must be 1..=100", g.step))
                );
            }
            for (name, map) in [("min", &g.min), ("max", &g.max)] {
                for (id, v) in map {
                    if !self.path_ids().contains(id) {
                        return Err(self.invalid(
                            format!("router.guard.{name}.{id}"),
                            format!("unknown path id '{id}' (paths: {})", self.path_list()),
                        ));
                    }
                    if *v > 100 {
                        return Err(self.invalid(
                            format!("router.guard.{name}.{id}"),
                            format!("{v} is over 100"),
                        ));
                    }
                }
            }
            let guard = g.guard();
            let ids = self.path_ids();
            let min_sum: u32 = ids.iter().map(|id| guard.min_of(id)).sum();
            let max_sum: u32 = ids.iter().map(|id| guard.max_of(id)).sum();
            if min_sum > 100 || max_sum < 100 {
                return Err(self.invalid(
                    "router.guard",
                    format!("no weights can satisfy these bounds (mins sum to {min_sum}, maxes to {max_sum})"),
                ));
            }
            for id in ids.iter() {
                if guard.min_of(id) > guard.max_of(id) {
                    return Err(self.invalid(format!("router.guard.min.{id}"), "is above its max"));
                }
            }
            if r.backend != RouterBackend::None {
                if r.namespace.as_deref().unwrap_or("").is_empty() {
                    return Err(self.invalid("router.namespace", "is required for this backend"));
                }
                if r.name.as_deref().unwrap_or("").is_empty() {
                    return Err(self.invalid("router.name", "is required for this backend"));
                }
            }
            if r.backend == RouterBackend::Httproute {
                let Some(h) = &r.httproute else {
                    return Err(self.invalid(
                        "router.httproute",
                        "backend = \"httproute\" needs a [router.httproute] section with backend_refs",
                    ));
                };
                for id in h.backend_refs.keys() {
                    if !ids.contains(id) {
                        return Err(self.invalid(
                            format!("router.httproute.backend_refs.{id}"),
                            format!("unknown path id '{id}' (paths: {})", self.path_list()),
                        ));
                    }
                }
                for id in ids.iter() {
                    if !h.backend_refs.contains_key(id) {
                        return Err(self.invalid(
                            "router.httproute.backend_refs",
                            format!("path '{id}' has no backendRef name"),
                        ));
                    }
                }
            }
        }
        self.validate_alerts()?;
        self.validate_advisor()?;
        for (pattern, colour) in &self.ui.environment_colors {
            if colour_from_str(colour).is_none() {
                return Err(self.invalid(
                    format!("ui.environment_colors.\"{pattern}\""),
                    format!("'{colour}' is not a colour (a name like red, \"#rrggbb\" or 0-255)"),
                ));
            }
        }
        for (action, keys) in &self.keys {
            if keys.is_empty() {
                return Err(self.invalid(format!("keys.{action}"), "needs at least one key"));
            }
        }
        Ok(())
    }

    fn validate_alerts(&self) -> Result<(), ConfigError> {
        let a = &self.alerts;
        let check = |key: String, v: f64| -> Result<(), ConfigError> {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(self.invalid(key, format!("{v} must be a non-negative number")))
            }
        };
        let pairs = |prefix: &str, t: &PathThresholds| -> Result<(), ConfigError> {
            for (k, v) in [
                ("p95_ms_warn", t.p95_ms_warn),
                ("p95_ms_crit", t.p95_ms_crit),
                ("error_rate_warn", t.error_rate_warn),
                ("error_rate_crit", t.error_rate_crit),
                ("throttles_per_minute_warn", t.throttles_per_minute_warn),
                ("throttles_per_minute_crit", t.throttles_per_minute_crit),
            ] {
                check(format!("{prefix}{k}"), v)?;
            }
            for (w, c, name) in [
                (t.p95_ms_warn, t.p95_ms_crit, "p95_ms"),
                (t.error_rate_warn, t.error_rate_crit, "error_rate"),
                (
                    t.throttles_per_minute_warn,
                    t.throttles_per_minute_crit,
                    "throttles_per_minute",
                ),
            ] {
                if w > c {
                    return Err(self.invalid(
                        format!("{prefix}{name}_warn"),
                        format!("{w} is above {name}_crit ({c})"),
                    ));
                }
            }
            Ok(())
        };
        pairs("alerts.", &a.for_path(&PathId::from("")))?;
        for id in a.paths.keys() {
            if !self.path_ids().contains(id) {
                return Err(self.invalid(
                    format!("alerts.paths.{id}"),
                    format!("unknown path id '{id}' (paths: {})", self.path_list()),
                ));
            }
            pairs(&format!("alerts.paths.{id}."), &a.for_path(id))?;
        }
        check("alerts.context_loss_warn".into(), a.context_loss_warn)?;
        check("alerts.context_loss_crit".into(), a.context_loss_crit)?;
        if a.context_loss_warn > a.context_loss_crit {
            return Err(self.invalid(
                "alerts.context_loss_warn",
                format!("{} is above context_loss_crit", a.context_loss_warn),
            ));
        }
        if let Some(b) = a.budget_usd_per_hour {
            check("alerts.budget_usd_per_hour".into(), b)?;
        }
        if !(a.budget_crit_ratio.is_finite() && a.budget_crit_ratio >= 1.0) {
            return Err(self.invalid(
                "alerts.budget_crit_ratio",
                format!("{} must be 1 or more", a.budget_crit_ratio),
            ));
        }
        if a.stale_intervals == 0 {
            return Err(self.invalid("alerts.stale_intervals", "must be at least 1"));
        }
        Ok(())
    }

    fn validate_advisor(&self) -> Result<(), ConfigError> {
        let a = &self.advisor;
        if let Some(p) = a.current_phase {
            if !(1..=3).contains(&p) {
                return Err(self.invalid(
                    "advisor.current_phase",
                    format!("{p} is not a phase (1, 2 or 3)"),
                ));
            }
        }
        if !(a.escalation_rate.is_finite() && (0.0..=1.0).contains(&a.escalation_rate)) {
            return Err(self.invalid(
                "advisor.escalation_rate",
                format!("{} must be a share between 0 and 1", a.escalation_rate),
            ));
        }
        if let Some(id) = &a.escalation_path {
            match self.path(id) {
                None => {
                    return Err(self.invalid(
                        "advisor.escalation_path",
                        format!("unknown path id '{id}' (paths: {})", self.path_list()),
                    ))
                }
                Some(p) if p.kind != Side::Agentcore => {
                    return Err(self.invalid(
                        "advisor.escalation_path",
                        format!("'{id}' is not an AgentCore path"),
                    ))
                }
                Some(_) => {}
            }
        }
        if !(a.eks_target_utilisation.is_finite()
            && a.eks_target_utilisation > 0.0
            && a.eks_target_utilisation <= 1.0)
        {
            return Err(self.invalid(
                "advisor.eks_target_utilisation",
                format!(
                    "{} must be a share above 0, at most 1",
                    a.eks_target_utilisation
                ),
            ));
        }
        if !(a.escalation_context_tokens.is_finite() && a.escalation_context_tokens >= 0.0) {
            return Err(self.invalid(
                "advisor.escalation_context_tokens",
                format!(
                    "{} must be a non-negative number",
                    a.escalation_context_tokens
                ),
            ));
        }
        if !(a.min_saving_usd_per_month.is_finite() && a.min_saving_usd_per_month >= 0.0) {
            return Err(self.invalid(
                "advisor.min_saving_usd_per_month",
                format!(
                    "{} must be a non-negative number",
                    a.min_saving_usd_per_month
                ),
            ));
        }
        Ok(())
    }
}

/// A Prometheus selector the way `[paths.prometheus] selector` takes it: `{…}` holding one or
/// more label matchers (`name="v"`, `!=`, `=~`, `!~`), comma-separated.
pub fn check_selector(s: &str) -> Result<(), String> {
    let re = regex::Regex::new(
        r#"^\{\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*(?:,\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*)*,?\s*\}$"#,
    )
    .map_err(|e| e.to_string())?;
    if re.is_match(s.trim()) {
        Ok(())
    } else {
        Err(format!(
            "'{s}' is not label matchers in braces, like {{namespace=\"agents\",app=\"vllm\"}}"
        ))
    }
}

impl Config {
    fn validate_otlp(&self) -> Result<(), ConfigError> {
        let Some(o) = &self.otlp else {
            return Ok(());
        };
        if o.listen.trim().parse::<std::net::SocketAddr>().is_err() {
            return Err(self.invalid(
                "otlp.listen",
                format!(
                    "'{}' is not an address and port (try \"127.0.0.1:4318\", or \"0.0.0.0:4318\" in a pod)",
                    o.listen
                ),
            ));
        }
        if !(1024..=256 * 1024 * 1024).contains(&o.max_body_bytes) {
            return Err(self.invalid(
                "otlp.max_body_bytes",
                format!("{} must be 1024 to 268435456", o.max_body_bytes),
            ));
        }
        if !(1..=10_000_000).contains(&o.max_queued_spans) {
            return Err(self.invalid(
                "otlp.max_queued_spans",
                format!("{} must be 1 to 10000000", o.max_queued_spans),
            ));
        }
        Ok(())
    }

    fn validate_prometheus(&self) -> Result<(), ConfigError> {
        for (i, p) in self.paths.iter().enumerate() {
            let Some(pr) = &p.prometheus else { continue };
            let key = format!("paths[{i}].prometheus.selector");
            if p.kind != Side::Eks {
                return Err(self.invalid(
                    key,
                    "only an EKS path has vLLM series (remove [paths.prometheus] here)",
                ));
            }
            check_selector(&pr.selector).map_err(|m| self.invalid(key, m))?;
        }
        let Some(pr) = &self.prometheus else {
            return Ok(());
        };
        match reqwest::Url::parse(pr.url.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
            Ok(_) => {
                return Err(self.invalid(
                    "prometheus.url",
                    format!("'{}' must be an http:// or https:// URL", pr.url),
                ))
            }
            Err(e) => {
                return Err(
                    self.invalid("prometheus.url", format!("'{}' is not a URL ({e})", pr.url))
                )
            }
        }
        let iv = pr.interval;
        if iv < std::time::Duration::from_secs(1) || iv > std::time::Duration::from_secs(3600) {
            return Err(self.invalid(
                "prometheus.interval",
                format!(
                    "'{}' must be between 1s and 1h",
                    humantime::format_duration(iv)
                ),
            ));
        }
        if pr.rate_window < std::time::Duration::from_secs(2) {
            return Err(self.invalid(
                "prometheus.rate_window",
                "must be at least 2s (rate() needs two samples)",
            ));
        }
        if pr.max_requests_per_minute == 0 {
            return Err(self.invalid("prometheus.max_requests_per_minute", "must be at least 1"));
        }
        if pr.auth == super::PrometheusAuth::Bearer && pr.bearer_token_env.trim().is_empty() {
            return Err(self.invalid(
                "prometheus.bearer_token_env",
                "auth = \"bearer\" needs the name of the variable holding the token",
            ));
        }
        let a = &self.alerts;
        if !(0.0..=1.0).contains(&a.kv_cache_warn)
            || !(0.0..=1.0).contains(&a.kv_cache_crit)
            || a.kv_cache_warn > a.kv_cache_crit
        {
            return Err(self.invalid(
                "alerts.kv_cache_warn",
                format!(
                    "{} and kv_cache_crit {} must be within 0..=1, warn ≤ crit",
                    a.kv_cache_warn, a.kv_cache_crit
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod prometheus_tests {
    use super::*;

    #[test]
    fn selectors() {
        assert!(check_selector(r#"{namespace="agents",app="vllm-qwen3"}"#).is_ok());
        assert!(check_selector(r#"{ app=~"vllm-.*" , pod!="x", }"#).is_ok());
        assert!(check_selector(r#"{a="\"q"}"#).is_ok());
        for bad in [
            "",
            "{}",
            "namespace=\"agents\"",
            r#"{namespace=agents}"#,
            r#"{a="b"} or up"#,
        ] {
            assert!(check_selector(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prometheus_errors_name_key_and_value() {
        let toml = "[prometheus]\nurl = \"not a url\"\n";
        let e = Config::from_toml(toml, "c.toml").unwrap_err().to_string();
        assert!(
            e.contains("c.toml") && e.contains("prometheus.url") && e.contains("not a url"),
            "{e}"
        );
        let toml = "[prometheus]\nauth = \"kerberos\"\n";
        assert!(Config::from_toml(toml, "c.toml").is_err());
        let toml = "[prometheus]\ninterval = \"2h\"\n";
        let e = Config::from_toml(toml, "c.toml").unwrap_err().to_string();
        assert!(e.contains("prometheus.interval"), "{e}");
        let toml =
            "[[paths]]\nid = \"e\"\nkind = \"eks\"\n[paths.prometheus]\nselector = \"app=vllm\"\n";
        let e = Config::from_toml(toml, "c.toml").unwrap_err().to_string();
        assert!(
            e.contains("paths[0].prometheus.selector") && e.contains("app=vllm"),
            "{e}"
        );
        let ok = "[prometheus]\nurl = \"http://127.0.0.1:9090\"\nauth = \"sigv4\"\n[[paths]]\nid = \"e\"\nkind = \"eks\"\n[paths.prometheus]\nselector = '{app=\"v\"}'\n";
        let c = Config::from_toml(ok, "c.toml").unwrap();
        assert_eq!(
            c.prometheus.unwrap().auth,
            crate::config::PrometheusAuth::Sigv4
        );
    }
}
