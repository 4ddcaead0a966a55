//! `hybridtop check`, the Prometheus part: the URL, the auth, whether the API answers a query,
//! and the metric names chosen for each EKS path.
use super::*;
use crate::sources::CheckLine;

pub async fn check(cfg: &Config) -> Vec<CheckLine> {
    let line = |check: String, ok: bool, detail: String| CheckLine {
        source: "prometheus",
        check,
        ok,
        detail: crate::model::sanitize::clean_owned(&detail),
    };
    let Some(pc) = cfg.prometheus.as_ref() else {
        return vec![line(
            "configured".into(),
            true,
            "no [prometheus] section: the source is disabled".into(),
        )];
    };
    let mut out = Vec::new();
    let base = match api::parse_base(&pc.url) {
        Ok(b) => b,
        Err(e) => {
            out.push(line("url".into(), false, e.to_string()));
            return out;
        }
    };
    let auth = match api::resolve_auth(pc, &base).await {
        Ok(a) => a,
        Err(e) => {
            out.push(line("auth".into(), false, e.to_string()));
            return out;
        }
    };
    let how = auth.as_str();
    let budget = Budget::new(30, Duration::from_secs(60));
    let mut api = match Api::new(base, auth, budget, pc.timeout) {
        Ok(a) => a,
        Err(e) => {
            out.push(line("reachable".into(), false, e.to_string()));
            return out;
        }
    };
    let time = Utc::now().timestamp_millis() as f64 / 1000.0;
    match api.query("vector(1)", time).await {
        Ok(_) => {
            out.push(line(
                "reachable".into(),
                true,
                format!("{} answers queries", api.base()),
            ));
            out.push(line(
                "auth".into(),
                true,
                format!("auth = \"{how}\" accepted"),
            ));
        }
        Err(e @ PromError::Rejected { .. }) => {
            out.push(line(
                "reachable".into(),
                true,
                format!("{} answers", api.base()),
            ));
            out.push(line("auth".into(), false, e.to_string()));
            return out;
        }
        Err(e) => {
            out.push(line("reachable".into(), false, e.to_string()));
            return out;
        }
    }
    let targets = targets(cfg);
    if targets.is_empty() {
        out.push(line(
            "paths".into(),
            false,
            "no EKS path has [paths.prometheus] selector: nothing to query".into(),
        ));
    }
    for t in targets {
        let check = format!("names {}", t.path);
        match api.names(&t.selector).await {
            Ok(avail) => {
                let names = plan::choose(&avail);
                let chosen: Vec<String> = plan::Figure::ALL
                    .iter()
                    .filter_map(|f| names.get(*f))
                    .map(str::to_string)
                    .collect();
                let ok = names.get(plan::Figure::KvCache).is_some();
                let detail = if chosen.is_empty() {
                    format!("no vLLM series match {}", t.selector)
                } else {
                    format!("{}; using {}", names.describe(), chosen.join(", "))
                };
                out.push(line(check, ok, detail));
            }
            Err(e) => out.push(line(check, false, e.to_string())),
        }
    }
    out
}
