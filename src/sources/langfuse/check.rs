//! `hybridtop check`, its Langfuse part: base URL, keys, reachability and the API version, each
//! as a line that says what to fix.
use super::*;

/// `hybridtop check`, the Langfuse part: the base URL, the keys, whether the host answers and
/// accepts them, and which API version it speaks. At most three requests; no secret in the
/// output.
pub async fn check(cfg: &Config) -> Vec<CheckLine> {
    let line = |check: &str, ok: bool, detail: String| CheckLine {
        source: "langfuse",
        check: check.to_string(),
        ok,
        detail: crate::model::sanitize::clean_owned(&detail),
    };
    let Some(lf) = cfg.langfuse.as_ref() else {
        return vec![line(
            "configured",
            true,
            "no [langfuse] section: the source is disabled".into(),
        )];
    };
    let mut out = Vec::new();
    let (raw, from) = configured_base_url(cfg);
    let base = match api::parse_base(&raw) {
        Ok(b) => {
            out.push(line(
                "base URL",
                true,
                format!("{b} (from {})", from.as_str()),
            ));
            b
        }
        Err(e) => {
            out.push(line(
                "base URL",
                false,
                format!("{e} (from {})", from.as_str()),
            ));
            return out;
        }
    };
    let mut missing = Vec::new();
    for var in [&lf.public_key_env, &lf.secret_key_env] {
        if env_nonempty(var).is_none() {
            missing.push(var.as_str());
        }
    }
    if !missing.is_empty() {
        out.push(line(
            "keys",
            false,
            format!("{} not set in the environment", missing.join(" and ")),
        ));
        return out;
    }
    out.push(line(
        "keys",
        true,
        format!("{} and {} are set", lf.public_key_env, lf.secret_key_env),
    ));
    let access = match resolve_access(cfg) {
        Ok(a) => a,
        Err(e) => {
            out.push(line("keys", false, e.to_string()));
            return out;
        }
    };
    let stats = Arc::new(LangfuseStats::default());
    let mut api = match Api::new(access, Budget::new(3, Duration::from_secs(60)), stats) {
        Ok(a) => a,
        Err(e) => {
            out.push(line("reachable", false, e.to_string()));
            return out;
        }
    };
    // One small, bounded request per API version.
    let now = Utc::now();
    let from = now - chrono::Duration::minutes(1);
    let try_v2 = lf.api != LangfuseApi::V1;
    let mut answered: Option<ApiVersion> = None;
    let mut v2_missing = false;
    if try_v2 {
        let q = vec![
            ("fields", "core".to_string()),
            ("limit", "1".to_string()),
            ("fromStartTime", ts(from)),
            ("toStartTime", ts(now)),
        ];
        match api
            .get("/api/public/v2/observations", &q, "v2 observations")
            .await
        {
            Ok(Some(_)) => answered = Some(ApiVersion::V2),
            Ok(None) => v2_missing = true,
            Err(e) => return fail(out, e, &base, line),
        }
    }
    if answered.is_none()
        && (lf.api == LangfuseApi::V1 || (lf.api == LangfuseApi::Auto && v2_missing))
    {
        let q = vec![
            ("limit", "1".to_string()),
            ("page", "1".to_string()),
            ("fromTimestamp", ts(from)),
            ("toTimestamp", ts(now)),
            ("fields", "core".to_string()),
        ];
        match api.get("/api/public/traces", &q, "v1 traces").await {
            Ok(Some(_)) => answered = Some(ApiVersion::V1),
            Ok(None) => {}
            Err(e) => return fail(out, e, &base, line),
        }
    }
    out.push(line("reachable", true, format!("{base} answered")));
    out.push(line(
        "keys accepted",
        true,
        "the API accepted the keys".into(),
    ));
    match answered {
        Some(ApiVersion::V2) => out.push(line(
            "API version",
            true,
            "v2 observations (cursor pages)".into(),
        )),
        Some(ApiVersion::V1) => out.push(line(
            "API version",
            true,
            if v2_missing {
                "v1 traces + observations (v2 answered 404: self-hosted without v4 mode)".into()
            } else {
                "v1 traces + observations".into()
            },
        )),
        None => out.push(line(
            "API version",
            false,
            match lf.api {
                LangfuseApi::V2 => ApiError::NotFound {
                    base: base.clone(),
                    what: NotFound::V2,
                }
                .to_string(),
                _ => ApiError::NotFound {
                    base: base.clone(),
                    what: NotFound::V1,
                }
                .to_string(),
            },
        )),
    }
    out
}

fn fail(
    mut out: Vec<CheckLine>,
    e: ApiError,
    base: &str,
    line: impl Fn(&str, bool, String) -> CheckLine,
) -> Vec<CheckLine> {
    match e {
        ApiError::Rejected { .. } => {
            out.push(line("reachable", true, format!("{base} answered")));
            out.push(line("keys accepted", false, e.to_string()));
        }
        ApiError::Unreachable { .. } => out.push(line("reachable", false, e.to_string())),
        other => {
            out.push(line("reachable", true, format!("{base} answered")));
            out.push(line("API version", false, other.to_string()));
        }
    }
    out
}
