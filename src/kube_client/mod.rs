//! The one place a Kubernetes client is built (router backends and the Kubernetes source share
//! it): kubeconfig from `KUBECONFIG` or `~/.kube/config`, `kubernetes.context` or the current
//! context, exec credential plugins (`aws eks get-token`) forced non-interactive so they can
//! never draw over the UI or wait on stdin, and timeouts. Also the mapping of `kube::Error` to
//! messages that say what is missing (permission, object, connection).
use crate::config::KubernetesConfig;
use kube::config::{ExecInteractiveMode, KubeConfigOptions, Kubeconfig};
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// Why a Kubernetes call failed, in words that say what is missing. The router wraps it in its
/// own `StoreError` (which adds the write conflict); sources report it as their state.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KubeError {
    /// RBAC says no: the message names the verb, resource and namespace.
    #[error("{0}")]
    Forbidden(String),
    /// Connection, TLS, timeout, credentials.
    #[error("{0}")]
    Unreachable(String),
    /// The object or the kubeconfig doesn't hold what the config says.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Other(String),
}

/// How long to wait for a TCP/TLS connection to the API server.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Deadline for one request/response (get, list, patch). Watches are not bound by it: the
/// watcher's own idle timeout (`WATCH_TIMEOUT_SECS` + 5 s) detects a dead stream.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Server-side timeout asked for on each watch call; the watcher re-watches from the last
/// resourceVersion when it ends, so a silently dropped connection is noticed within ~1 minute.
pub const WATCH_TIMEOUT_SECS: u32 = 55;

/// A ready client plus what error messages need to name.
#[derive(Clone)]
pub struct KubeClient {
    pub client: kube::Client,
    /// The API server URL from the kubeconfig, e.g. `https://ABC.gr7.us-east-2.eks.amazonaws.com`.
    pub server: String,
    /// The kubeconfig context used (None for in-cluster config).
    pub context: Option<String>,
    /// The context's default namespace.
    pub default_namespace: String,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient")
            .field("server", &self.server)
            .field("context", &self.context)
            .field("default_namespace", &self.default_namespace)
            .finish()
    }
}

impl KubeClient {
    /// Wrap a client built elsewhere; `server` is the URL error messages name.
    pub fn new(client: kube::Client, server: impl Into<String>) -> Self {
        let default_namespace = client.default_namespace().to_string();
        KubeClient {
            client,
            server: server.into(),
            context: None,
            default_namespace,
        }
    }
}

impl From<KubeClient> for kube::Client {
    fn from(k: KubeClient) -> kube::Client {
        k.client
    }
}

/// A `kube::Client` from the environment's kubeconfig (see [`connect`]).
pub async fn client(kube_cfg: Option<&KubernetesConfig>) -> Result<kube::Client, KubeError> {
    Ok(connect(kube_cfg).await?.client)
}

/// Build a client from `KUBECONFIG` (a `:`-separated list, merged like kubectl does) or
/// `~/.kube/config`; in a pod with no kubeconfig, the in-cluster service account.
pub async fn connect(kube_cfg: Option<&KubernetesConfig>) -> Result<KubeClient, KubeError> {
    let context = kube_cfg.and_then(|k| k.context.as_deref());
    match kubeconfig_paths() {
        Some(paths) => connect_with_kubeconfig(&paths, context).await,
        None => Err(KubeError::Unreachable(
            "no kubeconfig: KUBECONFIG is not set and the home directory is unknown".into(),
        )),
    }
}

/// The kubeconfig files to read: the entries of `KUBECONFIG`, else `~/.kube/config`.
pub fn kubeconfig_paths() -> Option<Vec<PathBuf>> {
    if let Some(v) = std::env::var_os("KUBECONFIG") {
        let paths: Vec<PathBuf> = std::env::split_paths(&v)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !paths.is_empty() {
            return Some(paths);
        }
    }
    dirs::home_dir().map(|h| vec![h.join(".kube").join("config")])
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Read and merge the kubeconfig files that exist (kubectl skips missing entries of
/// `KUBECONFIG`); error if none does or one cannot be parsed.
pub fn load_kubeconfig(paths: &[PathBuf]) -> Result<Kubeconfig, KubeError> {
    let existing: Vec<&PathBuf> = paths.iter().filter(|p| p.is_file()).collect();
    if existing.is_empty() {
        return Err(KubeError::Unreachable(format!(
            "no kubeconfig at {} (set KUBECONFIG, or run `aws eks update-kubeconfig`)",
            join_paths(paths)
        )));
    }
    let mut merged = Kubeconfig::default();
    for p in existing {
        let kc = Kubeconfig::read_from(p).map_err(|e| {
            KubeError::Invalid(format!("cannot read kubeconfig {}: {e}", p.display()))
        })?;
        merged = merged.merge(kc).map_err(|e| {
            KubeError::Invalid(format!("cannot merge kubeconfig {}: {e}", p.display()))
        })?;
    }
    Ok(merged)
}

/// Force every exec credential plugin to run non-interactively: kube-rs then pipes its stdin
/// and captures its stderr instead of handing it the terminal (which the TUI owns).
pub fn make_non_interactive(kc: &mut Kubeconfig) {
    for user in kc.auth_infos.iter_mut() {
        if let Some(exec) = user.auth_info.as_mut().and_then(|a| a.exec.as_mut()) {
            exec.interactive_mode = Some(ExecInteractiveMode::Never);
        }
    }
}

/// The `kube::Config` for `context` (or the current context) of an already loaded kubeconfig,
/// with exec plugins non-interactive and hybridtop's timeouts. `origin` names the file(s) in
/// error messages.
pub async fn config_from_kubeconfig(
    mut kc: Kubeconfig,
    context: Option<&str>,
    origin: &str,
) -> Result<(kube::Config, String), KubeError> {
    make_non_interactive(&mut kc);
    let names: Vec<String> = kc.contexts.iter().map(|c| c.name.clone()).collect();
    let list = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    let chosen = match context {
        Some(c) => {
            if !names.iter().any(|n| n == c) {
                return Err(KubeError::Invalid(format!(
                    "kubernetes context '{c}' not found in {origin} (contexts: {list})"
                )));
            }
            c.to_string()
        }
        None => match kc.current_context.clone().filter(|c| !c.is_empty()) {
            Some(c) => {
                if !names.contains(&c) {
                    return Err(KubeError::Invalid(format!(
                        "current-context '{c}' of {origin} is not among its contexts ({list})"
                    )));
                }
                c
            }
            None => {
                return Err(KubeError::Invalid(format!(
                    "{origin} has no current-context; set [kubernetes] context (contexts: {list})"
                )))
            }
        },
    };
    let opts = KubeConfigOptions {
        context: Some(chosen.clone()),
        cluster: None,
        user: None,
    };
    let mut config = kube::Config::from_custom_kubeconfig(kc, &opts)
        .await
        .map_err(|e| {
            KubeError::Invalid(format!(
                "kubernetes context '{chosen}' in {origin} is unusable: {e}"
            ))
        })?;
    apply_policy(&mut config);
    Ok((config, chosen))
}

/// Timeouts and non-interactive exec on a loaded config.
pub fn apply_policy(config: &mut kube::Config) {
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.write_timeout = Some(REQUEST_TIMEOUT);
    // No read timeout on the connection: watches stay open for WATCH_TIMEOUT_SECS and are
    // guarded by the watcher's idle timeout; single requests are bounded by REQUEST_TIMEOUT.
    config.read_timeout = None;
    // kube's built-in retry of 429/503/504 (15 attempts, honouring Retry-After, up to 1000 s
    // apart) would hide a throttling or unavailable API behind REQUEST_TIMEOUT as "no answer".
    // Callers retry with their own backoff and report what the server said.
    config.default_retry = false;
    if let Some(exec) = config.auth_info.exec.as_mut() {
        exec.interactive_mode = Some(ExecInteractiveMode::Never);
    }
}

/// Install the process-wide rustls crypto provider (ring) unless one is already installed:
/// with more than one provider linked (the AWS SDK brings aws-lc-rs) rustls cannot choose and
/// building a client would panic.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only means another thread installed one first: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Build a client from explicit kubeconfig paths (what [`connect`] does with the environment's).
pub async fn connect_with_kubeconfig(
    paths: &[PathBuf],
    context: Option<&str>,
) -> Result<KubeClient, KubeError> {
    let origin = join_paths(paths);
    let kc = match load_kubeconfig(paths) {
        Ok(kc) => kc,
        Err(e) => {
            // In a pod without a kubeconfig, fall back to the service account.
            if context.is_none() && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
                if let Ok(config) = kube::Config::incluster() {
                    return build(config, None);
                }
            }
            return Err(e);
        }
    };
    let (config, chosen) = config_from_kubeconfig(kc, context, &origin).await?;
    build(config, Some(chosen))
}

/// Build a client from a kubeconfig file at `path` (tests, `hybridtop check --kubeconfig`).
pub async fn connect_with_file(
    path: &Path,
    context: Option<&str>,
) -> Result<KubeClient, KubeError> {
    connect_with_kubeconfig(&[path.to_path_buf()], context).await
}

fn build(mut config: kube::Config, context: Option<String>) -> Result<KubeClient, KubeError> {
    install_crypto_provider();
    apply_policy(&mut config);
    let server = {
        let uri = &config.cluster_url;
        let s = uri.to_string();
        // A bare authority URL prints with a trailing slash; kubeconfigs don't have one.
        if uri.path() == "/" && uri.query().is_none() {
            s.trim_end_matches('/').to_string()
        } else {
            s
        }
    };
    let default_namespace = config.default_namespace.clone();
    let plugin = exec_command(&config);
    let ctx = context.as_deref().unwrap_or("in-cluster");
    // Building the client runs the exec credential plugin once (non-interactively).
    let client = kube::Client::try_from(config).map_err(|e| match &e {
        kube::Error::Auth(a) => KubeError::Unreachable(format!(
            "cannot get credentials for the Kubernetes API at {server} (context '{ctx}'): {}",
            describe_auth_error(a, plugin.as_deref())
        )),
        _ => KubeError::Unreachable(format!(
            "cannot set up a client for the Kubernetes API at {server}: {}",
            error_chain(&e)
        )),
    })?;
    Ok(KubeClient {
        client,
        server,
        context,
        default_namespace,
    })
}

/// `aws eks get-token --cluster-name agents` for an exec-auth config, for messages.
fn exec_command(config: &kube::Config) -> Option<String> {
    let exec = config.auth_info.exec.as_ref()?;
    let mut parts = vec![exec.command.clone()?];
    parts.extend(exec.args.iter().flatten().cloned());
    Some(parts.join(" "))
}

/// What went wrong getting credentials, without dumping the plugin's environment.
pub fn describe_auth_error(a: &kube::client::AuthError, plugin: Option<&str>) -> String {
    use kube::client::AuthError;
    let plugin = plugin.unwrap_or("exec plugin");
    match a {
        AuthError::AuthExecStart(io) => format!(
            "credential plugin `{plugin}` could not be started: {io} (is it installed and on PATH?)"
        ),
        AuthError::AuthExecRun { out, .. } => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let detail: String = stderr.trim().chars().take(400).collect();
            if detail.is_empty() {
                format!("credential plugin `{plugin}` failed ({})", out.status)
            } else {
                format!(
                    "credential plugin `{plugin}` failed ({}): {detail}",
                    out.status
                )
            }
        }
        other => error_chain(other),
    }
}

/// `outer: inner: innermost`, skipping repeats (hyper errors repeat their source's text) and
/// kube/hyper wrapper layers that say nothing (`ServiceError`, `client error (Connect)`).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    let informative: Vec<String> = parts
        .iter()
        .filter(|p| !p.starts_with("ServiceError: ") && !p.starts_with("client error ("))
        .cloned()
        .collect();
    if informative.is_empty() {
        parts.join(": ")
    } else {
        informative.join(": ")
    }
}

/// What a request was about, so an error can name the verb, resource, namespace and object.
#[derive(Clone, Debug)]
pub struct RequestTarget<'a> {
    /// RBAC verb: get, list, watch, patch.
    pub verb: &'a str,
    /// `configmaps` or `httproutes.gateway.networking.k8s.io` (resource.group, as RBAC names it).
    pub resource: &'a str,
    /// `ConfigMap`, `HTTPRoute`.
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    /// The API server URL.
    pub server: &'a str,
}

/// Map a `kube::Error` to a `KubeError` whose text says what is missing. 409 is the caller's
/// business (it needs a fresh read) and comes back as `Other` here.
pub fn map_error(e: &kube::Error, t: &RequestTarget<'_>) -> KubeError {
    match e {
        kube::Error::Api(status) => match status.code {
            403 => KubeError::Forbidden(format!(
                "RBAC forbids {} on {} in namespace {}",
                t.verb, t.resource, t.namespace
            )),
            404 => KubeError::Invalid(format!("{} {}/{} not found", t.kind, t.namespace, t.name)),
            401 => KubeError::Unreachable(format!(
                "the Kubernetes API at {} rejected the credentials (401 Unauthorized){}",
                t.server,
                suffix(&status.message)
            )),
            400 | 422 => KubeError::Invalid(format!(
                "the Kubernetes API rejected the change to {} {}/{}: {}",
                t.kind, t.namespace, t.name, status.message
            )),
            code => KubeError::Other(format!(
                "the Kubernetes API at {} answered {} {} to {} {} {}/{}{}",
                t.server,
                code,
                status.reason,
                t.verb,
                t.kind,
                t.namespace,
                t.name,
                suffix(&status.message)
            )),
        },
        kube::Error::Auth(a) => KubeError::Unreachable(format!(
            "cannot get credentials for the Kubernetes API at {}: {}",
            t.server,
            describe_auth_error(a, None)
        )),
        kube::Error::SerdeError(s) => KubeError::Other(format!(
            "unexpected answer from the Kubernetes API at {} for {} {}/{}: {s}",
            t.server, t.kind, t.namespace, t.name
        )),
        other => KubeError::Unreachable(format!(
            "Kubernetes API unreachable at {}: {}",
            t.server,
            error_chain(other)
        )),
    }
}

fn suffix(msg: &str) -> String {
    if msg.is_empty() {
        String::new()
    } else {
        format!(": {msg}")
    }
}

/// The error for a request that did not complete within [`REQUEST_TIMEOUT`].
pub fn timeout_error(server: &str) -> KubeError {
    KubeError::Unreachable(format!(
        "Kubernetes API unreachable at {server}: no answer within {}s",
        REQUEST_TIMEOUT.as_secs()
    ))
}

/// Watch retry policy: 250 ms doubling to 30 s, reset by any successful event. Quicker to
/// recover than kube's default (800 ms) after a 410 relist or a brief API outage, still gentle
/// on a struggling server.
#[derive(Clone, Debug)]
pub struct WatchBackoff {
    next: Duration,
}

impl WatchBackoff {
    pub const MIN: Duration = Duration::from_millis(250);
    pub const MAX: Duration = Duration::from_secs(30);
    pub fn new() -> Self {
        WatchBackoff { next: Self::MIN }
    }
}

impl Default for WatchBackoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let d = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        Some(d)
    }
}

impl kube::runtime::utils::Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.next = Self::MIN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXEC_KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
clusters:
- name: arn:aws:eks:us-east-2:123456789012:cluster/agents
  cluster:
    server: https://ABCDEF.gr7.us-east-2.eks.amazonaws.com
contexts:
- name: eks
  context:
    cluster: arn:aws:eks:us-east-2:123456789012:cluster/agents
    user: eks-user
    namespace: agents
- name: other
  context:
    cluster: arn:aws:eks:us-east-2:123456789012:cluster/agents
    user: eks-user
current-context: eks
users:
- name: eks-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: ["--region", "us-east-2", "eks", "get-token", "--cluster-name", "agents"]
      interactiveMode: IfAvailable
"#;

    #[tokio::test]
    async fn exec_auth_is_forced_non_interactive() {
        let kc = Kubeconfig::from_yaml(EXEC_KUBECONFIG).unwrap();
        let mut forced = kc.clone();
        make_non_interactive(&mut forced);
        let exec = forced.auth_infos[0]
            .auth_info
            .as_ref()
            .unwrap()
            .exec
            .as_ref()
            .unwrap();
        assert_eq!(exec.interactive_mode, Some(ExecInteractiveMode::Never));

        let (config, ctx) = config_from_kubeconfig(kc, None, "test.yaml").await.unwrap();
        assert_eq!(ctx, "eks");
        let exec = config.auth_info.exec.as_ref().unwrap();
        assert_eq!(exec.interactive_mode, Some(ExecInteractiveMode::Never));
        assert_eq!(exec.command.as_deref(), Some("aws"));
        assert_eq!(config.connect_timeout, Some(CONNECT_TIMEOUT));
        assert!(!config.default_retry);
        assert_eq!(config.default_namespace, "agents");
    }

    #[tokio::test]
    async fn unknown_context_is_named_with_the_choices() {
        let kc = Kubeconfig::from_yaml(EXEC_KUBECONFIG).unwrap();
        let err = config_from_kubeconfig(kc, Some("prod"), "/tmp/kc.yaml")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "kubernetes context 'prod' not found in /tmp/kc.yaml (contexts: eks, other)"
        );
    }

    #[tokio::test]
    async fn missing_kubeconfig_is_named() {
        let err = connect_with_kubeconfig(&[PathBuf::from("/nonexistent/kubeconfig")], None)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("no kubeconfig at /nonexistent/kubeconfig"),
            "{err}"
        );
    }

    #[test]
    fn backoff_doubles_and_resets() {
        use kube::runtime::utils::Backoff;
        let mut b = WatchBackoff::new();
        assert_eq!(b.next(), Some(Duration::from_millis(250)));
        assert_eq!(b.next(), Some(Duration::from_millis(500)));
        for _ in 0..20 {
            b.next();
        }
        assert_eq!(b.next(), Some(WatchBackoff::MAX));
        b.reset();
        assert_eq!(b.next(), Some(WatchBackoff::MIN));
    }
}
