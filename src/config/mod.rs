//! TOML configuration, schema v1 (ARCHITECTURE.md "Contracts" → "Config"): loading, the
//! schema with its defaults (`schema`), validation with errors that name the file, the key and the
//! value (`validate`), and where config, state and cache live. Secrets never live here: the file
//! names environment variables.
mod colour;
pub mod private;
mod schema;
mod validate;

pub use colour::colour_from_str;
pub use schema::*;

use crate::domain::path::PathId;
use crate::domain::weights::{Guard, Weights};
use regex::Regex;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The demo's built-in configuration: the seed's three paths and their prices.
pub const DEMO_CONFIG: &str = include_str!("demo.toml");

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("no config file at {path} — run `hybridtop demo` for the built-in demo, or `hybridtop init` to write an example config")]
    NotFound { path: PathBuf },
    #[error("cannot read config file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: key `{key}`: {message}")]
    Invalid {
        file: String,
        key: String,
        message: String,
    },
}

impl Config {
    /// Parse and validate TOML text. `origin` names the file in every error.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut unknown = Vec::new();
        let de = toml::Deserializer::parse(text).map_err(|e| ConfigError::Parse {
            file: origin.to_string(),
            message: e.to_string().trim().to_string(),
        })?;
        let mut cfg: Config = serde_ignored::deserialize(de, |p| unknown.push(p.to_string()))
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                file: origin.to_string(),
                message: e.to_string().trim().to_string(),
            })?;
        cfg.unknown_keys = unknown;
        cfg.origin = origin.to_string();
        if cfg.paths.is_empty() {
            cfg.paths = Config::demo().paths;
        }
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::NotFound {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => {
                return Err(ConfigError::Io {
                    path: path.to_path_buf(),
                    source: e,
                })
            }
        };
        Config::from_toml(&text, &path.display().to_string())
    }

    /// The built-in demo configuration. It is part of the binary and tested, so it always parses.
    pub fn demo() -> Config {
        let de = match toml::Deserializer::parse(DEMO_CONFIG) {
            Ok(de) => de,
            Err(_) => return Config::default(),
        };
        let mut cfg: Config = Deserialize::deserialize(de).unwrap_or_default();
        cfg.origin = "built-in demo config".into();
        cfg
    }
}

impl Config {
    pub fn path_ids(&self) -> Vec<PathId> {
        self.paths.iter().map(|p| p.id.clone()).collect()
    }

    fn path_list(&self) -> String {
        self.paths
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn path(&self, id: &PathId) -> Option<&PathConfig> {
        self.paths.iter().find(|p| &p.id == id)
    }

    pub fn guard(&self) -> Guard {
        self.router
            .as_ref()
            .map(|r| r.guard.guard())
            .unwrap_or_default()
    }

    pub fn correlation_rules(&self) -> Result<CorrelationRules, ConfigError> {
        let c = &self.correlation;
        let compile = |key: &str, re: &str, need_session: bool| -> Result<Regex, ConfigError> {
            let r = Regex::new(re).map_err(|e| {
                self.invalid(
                    format!("correlation.{key}"),
                    format!("'{re}' is not a valid regex: {e}"),
                )
            })?;
            if need_session && !r.capture_names().any(|n| n == Some("session")) {
                return Err(self.invalid(
                    format!("correlation.{key}"),
                    format!("'{re}' needs a named group (?P<session>…)"),
                ));
            }
            Ok(r)
        };
        Ok(CorrelationRules {
            session_id: compile("session_id", &c.session_id, true)?,
            agentcore_trace: compile("agentcore_trace", &c.agentcore_trace, true)?,
            eks_trace: compile("eks_trace", &c.eks_trace, false)?,
            parent_metadata_key: c.parent_metadata_key.clone(),
            context_grace: c.context_grace,
            retention: c.retention,
            max_sessions: c.max_sessions.max(1),
            max_spans_per_session: c.max_spans_per_session.max(1),
        })
    }

    /// The demo's starting weights: the seed's 70/20/10 when the paths are the seed's, otherwise
    /// an even split that satisfies the guard.
    pub fn default_weights(&self) -> Weights {
        let ids = self.path_ids();
        let seed: [(&str, u32); 3] = [
            ("eks-qwen3", 70),
            ("agentcore-haiku", 20),
            ("agentcore-sonnet", 10),
        ];
        if ids.len() == 3 && seed.iter().all(|(k, _)| ids.contains(&PathId::from(*k))) {
            return Weights::from_pairs(seed);
        }
        let n = ids.len().max(1) as u32;
        let mut w: Vec<(PathId, u32)> = ids.iter().map(|id| (id.clone(), 100 / n)).collect();
        let rest = 100 - (100 / n) * n;
        for item in w.iter_mut().take(rest as usize) {
            item.1 += 1;
        }
        Weights::from_pairs(w)
    }
}

/// Default config location: `$HYBRIDTOP_CONFIG`, else `$XDG_CONFIG_HOME/hybridtop/config.toml`.
pub fn default_config_path() -> PathBuf {
    if let Some(p) = std::env::var_os("HYBRIDTOP_CONFIG") {
        return PathBuf::from(p);
    }
    config_dir().join("config.toml")
}

pub fn config_dir() -> PathBuf {
    xdg_dir("XDG_CONFIG_HOME", ".config", dirs::config_dir).join("hybridtop")
}

pub fn state_dir() -> PathBuf {
    xdg_dir("XDG_STATE_HOME", ".local/state", dirs::state_dir).join("hybridtop")
}

pub fn cache_dir() -> PathBuf {
    xdg_dir("XDG_CACHE_HOME", ".cache", dirs::cache_dir).join("hybridtop")
}

fn xdg_dir(var: &str, home_rel: &str, fallback: fn() -> Option<PathBuf>) -> PathBuf {
    if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return PathBuf::from(v);
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(home_rel);
    }
    fallback().unwrap_or_else(|| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn demo_config_parses_and_validates() {
        let cfg = Config::from_toml(DEMO_CONFIG, "demo.toml").unwrap();
        assert_eq!(cfg.paths.len(), 3);
        assert!(cfg.unknown_keys.is_empty(), "{:?}", cfg.unknown_keys);
        assert_eq!(
            cfg.default_weights().to_text(),
            "eks-qwen3=70 agentcore-haiku=20 agentcore-sonnet=10"
        );
        assert_eq!(Config::demo().paths.len(), 3);
    }

    #[test]
    fn design_example_parses() {
        let text = include_str!("../../tests/fixtures/design_config.toml");
        let cfg = Config::from_toml(text, "design.toml").unwrap();
        assert!(cfg.unknown_keys.is_empty(), "{:?}", cfg.unknown_keys);
        assert_eq!(cfg.general.window, Duration::from_secs(300));
        assert_eq!(cfg.guard().min_of(&"agentcore-sonnet".into()), 5);
    }

    fn err(text: &str) -> String {
        Config::from_toml(text, "t.toml").unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_key_and_value() {
        let e = err("[correlation]\nsession_id = '(unclosed'\n");
        assert!(
            e.contains("t.toml") && e.contains("correlation.session_id") && e.contains("(unclosed"),
            "{e}"
        );
        let e = err("[correlation]\nsession_id = '^hybrid-(.+)$'\n");
        assert!(e.contains("named group"), "{e}");
        let e = err("[general]\nwindow = 'soon'\n");
        assert!(e.contains("soon") && e.contains("window"), "{e}");
        let e = err("[router]\nbackend='httproute'\nnamespace='a'\nname='r'\n[router.httproute]\nbackend_refs={ nope = 'x' }\n");
        assert!(e.contains("router.httproute.backend_refs.nope"), "{e}");
        let e = err("[router]\nbackend='none'\n[router.guard]\nmin = { eks-qwen3 = 60, agentcore-haiku = 60 }\n");
        assert!(e.contains("router.guard") && e.contains("120"), "{e}");
        let e = err("[[paths]]\nid='a'\nkind='eks'\n[[paths]]\nid='a'\nkind='agentcore'\n");
        assert!(e.contains("paths[1].id") && e.contains("twice"), "{e}");
        let e = err("[[paths]]\nid='a'\nkind='gpu'\n");
        assert!(e.contains("gpu"), "{e}");
        let e = err("not toml = = 1");
        assert!(e.contains("t.toml"), "{e}");
    }

    #[test]
    fn the_langfuse_plan_sets_the_budget() {
        let b = |t: &str| {
            Config::from_toml(&format!("[langfuse]\n{t}\n"), "t.toml")
                .unwrap()
                .langfuse
                .unwrap()
                .budget_per_minute()
        };
        assert_eq!(b(""), 20);
        assert_eq!(b("plan = \"hobby\""), 20);
        assert_eq!(b("plan = \"core\""), 60);
        assert_eq!(b("plan = \"self-hosted\""), 600);
        assert_eq!(b("plan = \"pro\"\nmax_requests_per_minute = 7"), 7);
        let e = Config::from_toml("[langfuse]\nplan = \"enterprise\"\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("plan") && e.contains("enterprise"), "{e}");
        assert!(Config::from_toml("[langfuse]\nmax_requests_per_minute = 0\n", "t.toml").is_err());
    }

    #[test]
    fn unknown_keys_are_collected_not_fatal() {
        let cfg = Config::from_toml("[general]\nenvironmnet = 'x'\n", "t.toml").unwrap();
        assert_eq!(cfg.unknown_keys, vec!["general.environmnet".to_string()]);
    }

    #[test]
    fn advisor_and_alert_keys() {
        let cfg = Config::from_toml(
            "[advisor]\ncurrent_phase = 3\ncustom_model_needed = true\n\
             team_k8s_capability = 'advanced'\nescalation_rate = 0.04\n\
             escalation_path = 'agentcore-sonnet'\nescalation_context_tokens = 550\n\
             eks_target_utilisation = 0.8\nmin_saving_usd_per_month = 100\n\
             [alerts]\nbudget_usd_per_hour = 40\nbudget_crit_ratio = 2\nstale_intervals = 5\n\
             bell = true\n[alerts.paths.eks-qwen3]\np95_ms_warn = 60\np95_ms_crit = 120\n",
            "t.toml",
        )
        .unwrap();
        assert!(cfg.unknown_keys.is_empty(), "{:?}", cfg.unknown_keys);
        let a = &cfg.advisor;
        assert_eq!(a.current_phase, Some(3));
        assert!(a.custom_model_needed);
        assert_eq!(a.team_k8s_capability, TeamCapability::Advanced);
        assert_eq!(a.escalation_path, Some(PathId::from("agentcore-sonnet")));
        assert_eq!(a.eks_target_utilisation, 0.8);
        let t = cfg.alerts.for_path(&PathId::from("eks-qwen3"));
        assert_eq!(
            (t.p95_ms_warn, t.p95_ms_crit, t.error_rate_crit),
            (60.0, 120.0, 0.05)
        );
        let t = cfg.alerts.for_path(&PathId::from("agentcore-haiku"));
        assert_eq!((t.p95_ms_warn, t.p95_ms_crit), (100.0, 200.0));
        assert_eq!(cfg.alerts.budget_usd_per_hour, Some(40.0));
        assert!(cfg.alerts.bell);
        // Defaults: bell off, beginner team, no escalation modelled.
        let d = Config::default();
        assert!(!d.alerts.bell);
        assert_eq!(d.advisor.team_k8s_capability, TeamCapability::Beginner);
        assert_eq!(d.advisor.escalation_rate, 0.0);
        // The example config and the demo config carry the keys and parse.
        let ex = Config::from_toml(crate::commands::init::EXAMPLE, "example.toml").unwrap();
        assert!(ex.unknown_keys.is_empty(), "{:?}", ex.unknown_keys);
        assert_eq!(Config::demo().advisor.escalation_rate, 0.04);
        for (text, key) in [
            ("[advisor]\ncurrent_phase = 4\n", "advisor.current_phase"),
            ("[advisor]\nteam_k8s_capability = 'guru'\n", "guru"),
            (
                "[advisor]\nescalation_rate = 1.5\n",
                "advisor.escalation_rate",
            ),
            (
                "[advisor]\nescalation_path = 'eks-qwen3'\n",
                "not an AgentCore path",
            ),
            (
                "[advisor]\nescalation_path = 'nope'\n",
                "advisor.escalation_path",
            ),
            (
                "[advisor]\neks_target_utilisation = 0\n",
                "advisor.eks_target_utilisation",
            ),
            ("[alerts]\np95_ms_warn = 300\n", "alerts.p95_ms_warn"),
            (
                "[alerts]\nbudget_crit_ratio = 0.5\n",
                "alerts.budget_crit_ratio",
            ),
            ("[alerts]\nstale_intervals = 0\n", "alerts.stale_intervals"),
            ("[general]\nwindow = '1ms'\n", "general.window"),
            ("[general]\nwindow = '59s'\n", "general.window"),
            ("[general]\nwindow = '25h'\n", "general.window"),
            (
                "[correlation]\nmax_sessions = 0\n",
                "correlation.max_sessions",
            ),
            (
                "[correlation]\nmax_sessions = 1000001\n",
                "correlation.max_sessions",
            ),
            (
                "[correlation]\nmax_spans_per_session = 0\n",
                "correlation.max_spans_per_session",
            ),
            (
                "[[paths]]\nid = 'e'\nkind = 'eks'\n[paths.eks]\npod_capacity_rpm = nan\n",
                "paths[0].eks.pod_capacity_rpm",
            ),
            (
                "[[paths]]\nid = 'e'\nkind = 'eks'\n[paths.eks]\npod_capacity_rpm = 0\n",
                "paths[0].eks.pod_capacity_rpm",
            ),
            (
                "[[paths]]\nid = 'e'\nkind = 'eks'\n[paths.eks]\npod_capacity_rpm = -5\n",
                "paths[0].eks.pod_capacity_rpm",
            ),
            (
                "[[paths]]\nid = 'e'\nkind = 'eks'\n[paths.eks]\npods_per_node = 1001\n",
                "paths[0].eks.pods_per_node",
            ),
            ("[alerts]\nerror_rate_crit = -1\n", "alerts.error_rate_crit"),
            (
                "[alerts.paths.nope]\np95_ms_warn = 1\n",
                "alerts.paths.nope",
            ),
        ] {
            let e = err(text);
            assert!(e.contains(key), "{text}: {e}");
        }
    }

    #[test]
    fn request_timeouts_default_and_parse() {
        let c = Config::from_toml("[aws]\n[langfuse]\n", "t.toml").unwrap();
        assert_eq!(c.aws.unwrap().timeout, Duration::from_secs(15));
        assert_eq!(c.langfuse.unwrap().timeout, Duration::from_secs(60));
        let c = Config::from_toml(
            "[aws]\ntimeout = \"3s\"\n[langfuse]\ntimeout = \"2s\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.aws.unwrap().timeout, Duration::from_secs(3));
        assert_eq!(c.langfuse.unwrap().timeout, Duration::from_secs(2));
        assert!(err("[aws]\ntimeout = \"0s\"\n").contains("timeout"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("6h").unwrap(), Duration::from_secs(21600));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("x").is_err());
        assert_eq!(parse_duration("365d").unwrap(), MAX_DURATION);
        assert!(parse_duration("366d").is_err());
    }

    #[test]
    fn absurd_window_is_an_error_not_an_overflow() {
        // Found by the `config_parse` fuzz target: the window's bucket arithmetic overflowed.
        for w in ["500000000000y", "300000000y", "18446744073709551615s"] {
            let text = format!("[general]\nwindow = \"{w}\"\n");
            let e = Config::from_toml(&text, "c.toml").unwrap_err().to_string();
            assert!(e.contains("longer than a year"), "{w}: {e}");
        }
    }
}
