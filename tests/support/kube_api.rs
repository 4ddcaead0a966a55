//! An in-process fake kube-apiserver for integration tests, reached over real HTTP through a
//! kubeconfig file so the whole `kube` client stack (config loading, auth, discovery, list,
//! watch, patch) is exercised.
//!
//! Generic: objects are JSON (`serde_json::Value`) keyed by group/version/resource/namespace/name;
//! any resource type can be registered ([`ResourceType`]). ConfigMaps, Pods, Namespaces,
//! Deployments, HTTPRoutes, KEDA ScaledObjects and HPAs are registered from the start.
//!
//! Speaks: discovery (`/version`, `/api`, `/apis`, `/api/v1`, `/apis/<g>`, `/apis/<g>/<v>`),
//! GET, LIST (label selectors `a=b,c!=d,e in (x,y),f notin (z),g,!h`, field selectors, `limit` +
//! `continue` with consistent snapshots, list `metadata.resourceVersion`,
//! `resourceVersionMatch=Exact`), WATCH (`watch=true`, `resourceVersion`, chunked
//! newline-delimited JSON events ADDED/MODIFIED/DELETED, BOOKMARK with `allowWatchBookmarks`,
//! `sendInitialEvents`, `timeoutSeconds`, an ERROR 410 `Expired` event for a compacted
//! resourceVersion), PATCH (`application/merge-patch+json`, RFC 7386; `metadata.resourceVersion`
//! in the patch is a precondition → 409), PUT, POST, DELETE, `dryRun=All`, `Status` objects shaped
//! like the API server's, bearer-token auth (401), per-(verb, resource) error injection (403 …),
//! a request log, mutation from the test side (watchers see it), compaction / watch expiry
//! (410), and stop/restart on the same port (objects survive, like etcd).
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio::runtime::Runtime;
use tokio::time::Instant;

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// The token the server accepts unless changed with [`KubeApiServer::set_token`].
pub const DEFAULT_TOKEN: &str = "hybridtop-test-token";
/// The user name in RBAC messages.
pub const TEST_USER: &str = "system:serviceaccount:agents:hybridtop";

// ---------------------------------------------------------------------------------------------
// Resource types

/// A served resource: `group` "" is the core group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    /// Plural, lower case: `configmaps`.
    pub plural: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    /// A CRD (not built into the API server): list items carry apiVersion/kind, strategic
    /// merge patch is refused (415) as the real server does.
    pub crd: bool,
}

impl ResourceType {
    pub fn new(group: &str, version: &str, plural: &str, kind: &str, namespaced: bool) -> Self {
        ResourceType {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            kind: kind.into(),
            namespaced,
            short_names: vec![],
            crd: false,
        }
    }
    pub fn crd(mut self) -> Self {
        self.crd = true;
        self
    }
    pub fn short(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn configmaps() -> Self {
        Self::new("", "v1", "configmaps", "ConfigMap", true).short(&["cm"])
    }
    pub fn pods() -> Self {
        Self::new("", "v1", "pods", "Pod", true).short(&["po"])
    }
    pub fn namespaces() -> Self {
        Self::new("", "v1", "namespaces", "Namespace", false).short(&["ns"])
    }
    pub fn deployments() -> Self {
        Self::new("apps", "v1", "deployments", "Deployment", true).short(&["deploy"])
    }
    pub fn httproutes() -> Self {
        Self::new(
            "gateway.networking.k8s.io",
            "v1",
            "httproutes",
            "HTTPRoute",
            true,
        )
        .crd()
    }
    pub fn scaled_objects() -> Self {
        Self::new("keda.sh", "v1alpha1", "scaledobjects", "ScaledObject", true)
            .short(&["so"])
            .crd()
    }
    pub fn events() -> Self {
        Self::new("events.k8s.io", "v1", "events", "Event", true).short(&["ev"])
    }
    pub fn nodes() -> Self {
        Self::new("", "v1", "nodes", "Node", false).short(&["no"])
    }
    pub fn node_claims() -> Self {
        Self::new("karpenter.sh", "v1", "nodeclaims", "NodeClaim", false).crd()
    }
    pub fn hpas() -> Self {
        Self::new(
            "autoscaling",
            "v2",
            "horizontalpodautoscalers",
            "HorizontalPodAutoscaler",
            true,
        )
        .short(&["hpa"])
    }
    /// `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
    /// `configmaps` or `httproutes.gateway.networking.k8s.io`, as RBAC names it.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
    /// `ConfigMap` or `HTTPRoute.gateway.networking.k8s.io`, as validation messages name it.
    fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }
    fn same(&self, group: &str, version: &str, plural: &str) -> bool {
        self.group == group && self.version == version && self.plural == plural
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ObjKey {
    group: String,
    version: String,
    plural: String,
    namespace: String,
    name: String,
}

impl ObjKey {
    fn new(rt: &ResourceType, ns: &str, name: &str) -> Self {
        ObjKey {
            group: rt.group.clone(),
            version: rt.version.clone(),
            plural: rt.plural.clone(),
            namespace: ns.into(),
            name: name.into(),
        }
    }
    fn of(&self, rt: &ResourceType) -> bool {
        rt.same(&self.group, &self.version, &self.plural)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventType {
    Added,
    Modified,
    Deleted,
}

#[derive(Clone, Debug)]
struct StoredEvent {
    rv: u64,
    key: ObjKey,
    etype: EventType,
    /// The object after the change (for a deletion: its last state, with the deletion's RV).
    object: Value,
    /// The object before the change.
    prev: Option<Value>,
}

// ---------------------------------------------------------------------------------------------
// Request log and injections

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    /// Raw query string (percent-encoded), "" when absent.
    pub query: String,
    pub content_type: Option<String>,
    pub body: String,
    /// The status code answered (a watch is logged with 200 as soon as its stream starts; 0
    /// only while a request is still being handled).
    pub status: u16,
}

impl LoggedRequest {
    /// A decoded query parameter.
    pub fn param(&self, name: &str) -> Option<String> {
        parse_query(&self.query).remove(name)
    }
    /// Anything but GET (and HEAD/OPTIONS).
    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }
    pub fn is_watch(&self) -> bool {
        matches!(self.param("watch").as_deref(), Some("true") | Some("1"))
    }
    /// The body as JSON (Null if it isn't).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Clone, Debug)]
struct Injection {
    verb: String,
    resource: String,
    namespace: Option<String>,
    code: u16,
    reason: String,
    message: Option<String>,
    remaining: Option<usize>,
}

type Validator = Arc<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

// ---------------------------------------------------------------------------------------------
// State

struct Store {
    types: Vec<ResourceType>,
    objects: BTreeMap<ObjKey, Value>,
    events: Vec<StoredEvent>,
    rv: u64,
    /// Events at or below this RV are forgotten: watching or continuing from before it is 410.
    floor: u64,
    /// Bumped by `expire_watches`: every open watch gets an ERROR 410 and ends.
    expire_epoch: u64,
    injections: Vec<Injection>,
    validators: Vec<(ResourceType, Validator)>,
    log: Vec<LoggedRequest>,
    token: Option<String>,
    bookmark_interval: Duration,
    open_watches: usize,
    uid_seq: u64,
    /// Ids handed to watches as they open.
    watch_seq: u64,
    /// Watches with an id below this go silent forever (a stalled connection).
    stall_below: u64,
}

struct Shared {
    store: Mutex<Store>,
    /// Ticks on every change so open watches wake up.
    tick: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Store> {
        match self.store.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
    fn notify(&self) {
        self.tick.send_modify(|t| *t = t.wrapping_add(1));
    }
}

/// The fake API server. Dropping it stops it.
pub struct KubeApiServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    runtime: Mutex<Option<Runtime>>,
}

/// A kubeconfig file in its own temp dir (removed on drop).
pub struct KubeconfigFile {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl KubeApiServer {
    /// Start on `127.0.0.1:<free port>` with the standard resource types registered.
    pub fn start() -> KubeApiServer {
        let (tick, _) = tokio::sync::watch::channel(0u64);
        let store = Store {
            types: vec![
                ResourceType::namespaces(),
                ResourceType::configmaps(),
                ResourceType::pods(),
                ResourceType::deployments(),
                ResourceType::hpas(),
                ResourceType::httproutes(),
                ResourceType::scaled_objects(),
                ResourceType::events(),
                ResourceType::nodes(),
                ResourceType::node_claims(),
            ],
            objects: BTreeMap::new(),
            events: Vec::new(),
            rv: 1000,
            floor: 1000,
            expire_epoch: 0,
            injections: Vec::new(),
            validators: Vec::new(),
            log: Vec::new(),
            token: Some(DEFAULT_TOKEN.to_string()),
            bookmark_interval: Duration::from_secs(1),
            open_watches: 0,
            uid_seq: 0,
            watch_seq: 0,
            stall_below: 0,
        };
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            tick,
        });
        let (rt, addr) = launch(shared.clone(), "127.0.0.1:0".parse().expect("addr"));
        KubeApiServer {
            shared,
            addr,
            runtime: Mutex::new(Some(rt)),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token the server accepts (None: no authentication required).
    pub fn set_token(&self, token: Option<&str>) {
        self.shared.lock().token = token.map(str::to_string);
    }

    /// A kubeconfig YAML with one cluster (this server), one context `name` (default namespace
    /// `namespace`) and the given user stanza (YAML lines indented under `user:`).
    pub fn kubeconfig_yaml(&self, context: &str, namespace: &str, user: &str) -> String {
        let user = user
            .lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n");
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test-cluster\n  cluster:\n    server: {url}\ncontexts:\n- name: {context}\n  context:\n    cluster: test-cluster\n    user: test-user\n    namespace: {namespace}\ncurrent-context: {context}\nusers:\n- name: test-user\n  user:\n{user}\n",
            url = self.url()
        )
    }

    /// A kubeconfig file pointing at this server: http, bearer token, context `test`, default
    /// namespace `agents`.
    pub fn kubeconfig(&self) -> KubeconfigFile {
        let token = self
            .shared
            .lock()
            .token
            .clone()
            .unwrap_or_else(|| DEFAULT_TOKEN.into());
        self.kubeconfig_file(&self.kubeconfig_yaml("test", "agents", &format!("token: {token}")))
    }

    /// Write `yaml` to a fresh temp dir as `config`.
    pub fn kubeconfig_file(&self, yaml: &str) -> KubeconfigFile {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config");
        std::fs::write(&path, yaml).expect("write kubeconfig");
        KubeconfigFile { dir, path }
    }

    /// Serve another resource type (a CRD, another version).
    pub fn register(&self, rt: ResourceType) {
        let mut s = self.shared.lock();
        if !s.types.contains(&rt) {
            s.types.push(rt);
        }
    }

    /// Stop serving a resource type (a CRD that is not installed): discovery and requests 404.
    pub fn unregister(&self, group: &str, plural: &str) {
        self.shared
            .lock()
            .types
            .retain(|t| !(t.group == group && t.plural == plural));
    }

    /// Extra validation run on create/update/patch (dry run included): Err → 422 Invalid.
    pub fn set_validator(
        &self,
        rt: &ResourceType,
        f: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) {
        self.shared
            .lock()
            .validators
            .push((rt.clone(), Arc::new(f)));
    }

    // ---- test-side mutation (watchers see it) ----

    /// Create an object (namespace from `metadata.namespace`); panics if it exists.
    pub fn create(&self, rt: &ResourceType, obj: Value) -> Value {
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let r = self.shared.lock().create(rt, &ns, obj, false);
        self.shared.notify();
        r.unwrap_or_else(|s| panic!("create failed: {s}"))
    }

    /// Replace an object (uid, creationTimestamp kept; resourceVersion bumped); panics if missing.
    pub fn update(&self, rt: &ResourceType, obj: Value) -> Value {
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        let r = {
            let mut s = self.shared.lock();
            let mut obj = obj;
            if let Some(m) = obj["metadata"].as_object_mut() {
                m.remove("resourceVersion");
            }
            s.replace(rt, &ns, &name, obj, false)
        };
        self.shared.notify();
        r.unwrap_or_else(|s| panic!("update failed: {s}"))
    }

    /// A merge patch from the test side (no precondition unless the patch carries one).
    pub fn patch(&self, rt: &ResourceType, ns: &str, name: &str, patch: Value) -> Value {
        let r = self.shared.lock().merge_patch(rt, ns, name, &patch, false);
        self.shared.notify();
        r.unwrap_or_else(|s| panic!("patch failed: {s}"))
    }

    /// Delete an object; returns it if it existed.
    pub fn delete(&self, rt: &ResourceType, ns: &str, name: &str) -> Option<Value> {
        let r = self.shared.lock().delete(rt, ns, name).ok();
        self.shared.notify();
        r
    }

    /// Bump an object's resourceVersion without changing it (a MODIFIED event).
    pub fn touch(&self, rt: &ResourceType, ns: &str, name: &str) -> Value {
        let r = {
            let mut s = self.shared.lock();
            let key = ObjKey::new(rt, ns, name);
            match s.objects.get(&key).cloned() {
                Some(o) => Ok(s.commit(key, o, EventType::Modified)),
                None => Err(format!("{} {ns}/{name} not found", rt.kind)),
            }
        };
        self.shared.notify();
        r.unwrap_or_else(|e| panic!("touch failed: {e}"))
    }

    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> Option<Value> {
        self.shared
            .lock()
            .objects
            .get(&ObjKey::new(rt, ns, name))
            .cloned()
    }

    /// Objects of a type (in `ns`, or all namespaces), sorted by namespace/name.
    pub fn list(&self, rt: &ResourceType, ns: Option<&str>) -> Vec<Value> {
        self.shared
            .lock()
            .objects
            .iter()
            .filter(|(k, _)| k.of(rt) && ns.is_none_or(|n| k.namespace == n))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The latest resourceVersion handed out.
    pub fn resource_version(&self) -> u64 {
        self.shared.lock().rv
    }

    // ---- faults ----

    /// Answer 403 Forbidden to `verb` (`get`, `list`, `watch`, `patch`, `update`, `create`,
    /// `delete`, `*`) on `resource` (`configmaps`, `httproutes.gateway.networking.k8s.io`, `*`).
    pub fn forbid(&self, verb: &str, resource: &str) {
        self.inject(verb, resource, None, 403, "Forbidden", None, None);
    }

    /// Like [`forbid`](Self::forbid), only in one namespace.
    pub fn forbid_in(&self, verb: &str, resource: &str, namespace: &str) {
        self.inject(
            verb,
            resource,
            Some(namespace),
            403,
            "Forbidden",
            None,
            None,
        );
    }

    /// Answer `code`/`reason` (a `Status`) to matching requests, `times` times (None: always).
    #[allow(clippy::too_many_arguments)]
    pub fn inject(
        &self,
        verb: &str,
        resource: &str,
        namespace: Option<&str>,
        code: u16,
        reason: &str,
        message: Option<&str>,
        times: Option<usize>,
    ) {
        self.shared.lock().injections.push(Injection {
            verb: verb.into(),
            resource: resource.into(),
            namespace: namespace.map(str::to_string),
            code,
            reason: reason.into(),
            message: message.map(str::to_string),
            remaining: times,
        });
    }

    pub fn clear_injections(&self) {
        self.shared.lock().injections.clear();
    }

    /// Forget the event history up to now: a watch or `continue` from an older
    /// resourceVersion gets 410 Expired.
    pub fn compact(&self) {
        let mut s = self.shared.lock();
        let rv = s.rv;
        s.floor = rv;
        s.events.retain(|e| e.rv > rv);
    }

    /// Compact, and end every open watch with an ERROR 410 Expired event (as when the watch
    /// cache falls too far behind): clients must relist.
    pub fn expire_watches(&self) {
        self.compact();
        self.shared.lock().expire_epoch += 1;
        self.shared.notify();
    }

    /// Every watch open right now stops sending anything — no events, no bookmarks, no end —
    /// while keeping its connection open, as a connection silently lost in a NAT or load
    /// balancer does. Watches opened afterwards work normally.
    pub fn stall_open_watches(&self) {
        let mut s = self.shared.lock();
        s.stall_below = s.watch_seq;
    }

    /// Watches currently streaming.
    pub fn open_watches(&self) -> usize {
        self.shared.lock().open_watches
    }

    /// How often an idle watch with `allowWatchBookmarks=true` gets a BOOKMARK (default 1 s).
    pub fn set_bookmark_interval(&self, d: Duration) {
        self.shared.lock().bookmark_interval = d;
    }

    // ---- request log ----

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.lock().log.clone()
    }

    /// Requests other than GET (patch, put, post, delete).
    pub fn writes(&self) -> Vec<LoggedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.is_write())
            .collect()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    // ---- lifecycle ----

    /// Stop listening and drop every connection (open watches end abruptly). Objects are kept.
    pub fn stop(&self) {
        let rt = match self.runtime.lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some(rt) = rt {
            // Shut the runtime down from a plain thread: allowed even when the caller is itself
            // inside a tokio runtime, and synchronous, so the port is closed on return.
            let _ = std::thread::spawn(move || rt.shutdown_timeout(Duration::from_secs(2))).join();
        }
    }

    /// Listen again on the same address.
    pub fn restart(&self) {
        self.stop();
        let (rt, _) = launch(self.shared.clone(), self.addr);
        match self.runtime.lock() {
            Ok(mut g) => *g = Some(rt),
            Err(p) => *p.into_inner() = Some(rt),
        }
    }

    pub fn is_running(&self) -> bool {
        self.runtime.lock().map(|g| g.is_some()).unwrap_or(false)
    }
}

impl Drop for KubeApiServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn launch(shared: Arc<Shared>, addr: SocketAddr) -> (Runtime, SocketAddr) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("kube-api-test")
        .enable_all()
        .build()
        .expect("test server runtime");
    let listener = {
        let _guard = rt.enter();
        let mut tries = 0;
        loop {
            let sock = TcpSocket::new_v4().expect("socket");
            sock.set_reuseaddr(true).expect("reuseaddr");
            match sock.bind(addr).and_then(|_| sock.listen(128)) {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("test server cannot listen on {addr}: {e}"),
            }
        }
    };
    let local = listener.local_addr().expect("local addr");
    rt.spawn(accept_loop(listener, shared));
    (rt, local)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(shared, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP handling

enum Reply {
    Json(u16, Value),
    Watch(Box<WatchState>),
}

fn status_obj(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut s = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(d) = details {
        s["details"] = d;
    }
    s
}

fn details(rt: &ResourceType, name: &str) -> Value {
    let mut d = json!({"name": name, "kind": rt.plural});
    if !rt.group.is_empty() {
        d["group"] = json!(rt.group);
    }
    d
}

fn not_found(rt: &ResourceType, name: &str) -> Value {
    status_obj(
        404,
        "NotFound",
        &format!("{} \"{name}\" not found", rt.group_resource()),
        Some(details(rt, name)),
    )
}

fn no_route() -> Value {
    status_obj(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

fn bad_request(msg: &str) -> Value {
    status_obj(400, "BadRequest", msg, None)
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type");
    let authorization = header("authorization");
    let wants_table = header("accept").is_some_and(|a| a.contains("as=Table"));
    let body = match req.into_body().collect().await {
        Ok(c) => String::from_utf8_lossy(&c.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let idx = {
        let mut s = shared.lock();
        s.log.push(LoggedRequest {
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            content_type: content_type.clone(),
            body: body.clone(),
            status: 0,
        });
        s.log.len() - 1
    };
    let params = parse_query(&query);
    let reply = route(
        &shared,
        &method,
        &path,
        &params,
        content_type.as_deref(),
        &body,
        authorization.as_deref(),
    );
    let (code, resp) = match reply {
        Reply::Json(code, v) => {
            let v = if wants_table && code == 200 {
                as_table(v)
            } else {
                v
            };
            let bytes = Bytes::from(v.to_string());
            let resp = Response::builder()
                .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
                .header("content-type", "application/json")
                .body(Full::new(bytes).boxed_unsync())
                .expect("response");
            (code, resp)
        }
        Reply::Watch(state) => {
            let stream = futures_util::stream::unfold(*state, watch_step)
                .map(|b| Ok::<_, Infallible>(Frame::data(b)));
            let resp = Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .header("transfer-encoding", "chunked")
                .body(StreamBody::new(stream).boxed_unsync())
                .expect("response");
            (200, resp)
        }
    };
    {
        let mut s = shared.lock();
        if let Some(l) = s.log.get_mut(idx) {
            l.status = code;
        }
    }
    resp
}

/// Server-side printing, as kubectl asks for it (`Accept: application/json;as=Table;…`): a list
/// becomes a `meta.k8s.io/v1` Table with the columns the API server prints (pods: name, ready,
/// status, restarts, age; everything else: name, age). Anything else passes unchanged.
fn as_table(v: Value) -> Value {
    let Some(items) = v["items"].as_array() else {
        return v;
    };
    let pods = v["kind"] == "PodList";
    let age = |o: &Value| {
        let created = o["metadata"]["creationTimestamp"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        match created {
            Some(t) => {
                let s = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
                    .num_seconds()
                    .max(0);
                match s {
                    0..120 => format!("{s}s"),
                    120..7200 => format!("{}m", s / 60),
                    7200..172_800 => format!("{}h", s / 3600),
                    _ => format!("{}d", s / 86_400),
                }
            }
            None => "<unknown>".into(),
        }
    };
    let col = |name: &str, ty: &str| json!({"name": name, "type": ty, "format": if name == "Name" { "name" } else { "" }, "description": "", "priority": 0});
    let columns = if pods {
        vec![
            col("Name", "string"),
            col("Ready", "string"),
            col("Status", "string"),
            col("Restarts", "string"),
            col("Age", "string"),
        ]
    } else {
        vec![col("Name", "string"), col("Age", "string")]
    };
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let name = o["metadata"]["name"].clone();
            let cells = if pods {
                let cs = o["status"]["containerStatuses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let ready = cs.iter().filter(|c| c["ready"] == true).count();
                let restarts: u64 = cs.iter().filter_map(|c| c["restartCount"].as_u64()).sum();
                vec![
                    name,
                    json!(format!("{ready}/{}", cs.len())),
                    o["status"]["phase"].clone(),
                    json!(restarts.to_string()),
                    json!(age(o)),
                ]
            } else {
                vec![name, json!(age(o))]
            };
            json!({"cells": cells, "object": {"kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"].clone()}})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1",
           "metadata": {"resourceVersion": v["metadata"]["resourceVersion"].clone()},
           "columnDefinitions": columns, "rows": rows})
}

/// The parts of a resource URL.
struct ResourcePath {
    rt: ResourceType,
    namespace: Option<String>,
    name: Option<String>,
}

fn route(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    params: &BTreeMap<String, String>,
    content_type: Option<&str>,
    body: &str,
    authorization: Option<&str>,
) -> Reply {
    // Authentication.
    {
        let s = shared.lock();
        if let Some(token) = &s.token {
            let expected = format!("Bearer {token}");
            if authorization != Some(expected.as_str()) {
                return Reply::Json(401, status_obj(401, "Unauthorized", "Unauthorized", None));
            }
        }
    }
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let s = shared.lock();
    // Discovery.
    match segs.as_slice() {
        ["version"] => {
            return Reply::Json(
                200,
                json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-hybridtop-test",
                       "gitCommit": "0000000", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                       "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64"}),
            )
        }
        ["api"] => {
            return Reply::Json(
                200,
                json!({"kind": "APIVersions", "versions": ["v1"],
                       "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
            )
        }
        ["apis"] => return Reply::Json(200, s.group_list()),
        ["api", "v1"] => return Reply::Json(200, s.resource_list("", "v1")),
        ["apis", g] => {
            return match s.group(g) {
                Some(v) => Reply::Json(200, v),
                None => Reply::Json(404, no_route()),
            }
        }
        ["apis", g, v] => {
            return if s.types.iter().any(|t| t.group == *g && t.version == *v) {
                Reply::Json(200, s.resource_list(g, v))
            } else {
                Reply::Json(404, no_route())
            }
        }
        _ => {}
    }
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => return Reply::Json(404, no_route()),
    };
    let (namespace, plural, name, sub) = match rest {
        ["namespaces", ns, plural, tail @ ..] => (
            Some(ns.to_string()),
            *plural,
            tail.first().map(|s| s.to_string()),
            tail.get(1),
        ),
        [plural, tail @ ..] => (
            None,
            *plural,
            tail.first().map(|s| s.to_string()),
            tail.get(1),
        ),
        [] => return Reply::Json(404, no_route()),
    };
    let Some(rt) = s
        .types
        .iter()
        .find(|t| t.same(group, version, plural))
        .cloned()
    else {
        return Reply::Json(404, no_route());
    };
    if sub.is_some() || (rt.namespaced && namespace.is_none() && name.is_some()) {
        return Reply::Json(404, no_route());
    }
    if !rt.namespaced && namespace.is_some() {
        return Reply::Json(404, no_route());
    }
    let rp = ResourcePath {
        rt,
        namespace,
        name,
    };
    let is_watch = matches!(
        params.get("watch").map(String::as_str),
        Some("true") | Some("1")
    );
    let verb = match (method, rp.name.is_some()) {
        (&Method::GET, true) => "get",
        (&Method::GET, false) if is_watch => "watch",
        (&Method::GET, false) => "list",
        (&Method::PATCH, true) => "patch",
        (&Method::PUT, true) => "update",
        (&Method::POST, false) => "create",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        _ => {
            return Reply::Json(
                405,
                status_obj(
                    405,
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                    None,
                ),
            )
        }
    };
    drop(s);
    if let Some(status) = shared.lock().injected(verb, &rp) {
        return Reply::Json(status["code"].as_u64().unwrap_or(500) as u16, status);
    }
    let dry_run = match params.get("dryRun").map(String::as_str) {
        None => false,
        Some("All") => true,
        Some(other) => {
            return Reply::Json(
                400,
                bad_request(&format!("Invalid dry run value: {other}; supported: All")),
            )
        }
    };
    let ns = rp.namespace.clone().unwrap_or_default();
    let result = match verb {
        "get" => {
            let name = rp.name.clone().unwrap_or_default();
            shared
                .lock()
                .objects
                .get(&ObjKey::new(&rp.rt, &ns, &name))
                .cloned()
                .ok_or_else(|| not_found(&rp.rt, &name))
        }
        "list" => shared.lock().list(&rp, params),
        "watch" => match WatchState::new(shared.clone(), &rp, params) {
            Ok(w) => return Reply::Watch(Box::new(w)),
            Err(e) => Err(e),
        },
        "patch" => {
            let name = rp.name.clone().unwrap_or_default();
            let ct = content_type
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim();
            match ct {
                "application/merge-patch+json" => {}
                "application/strategic-merge-patch+json" if !rp.rt.crd => {}
                _ => {
                    return Reply::Json(
                        415,
                        status_obj(
                            415,
                            "UnsupportedMediaType",
                            &format!("the body of the request was in an unknown format - accepted media types include: application/merge-patch+json (got {ct:?})"),
                            None,
                        ),
                    )
                }
            }
            match serde_json::from_str::<Value>(body) {
                Err(e) => Err(bad_request(&format!("error decoding patch: {e}"))),
                Ok(patch) => {
                    let r = shared
                        .lock()
                        .merge_patch(&rp.rt, &ns, &name, &patch, dry_run);
                    r
                }
            }
        }
        "update" => {
            let name = rp.name.clone().unwrap_or_default();
            match serde_json::from_str::<Value>(body) {
                Err(e) => Err(bad_request(&format!("error decoding body: {e}"))),
                Ok(obj) => {
                    let r = shared.lock().replace(&rp.rt, &ns, &name, obj, dry_run);
                    r.map_err(|e| e.status)
                }
            }
        }
        "create" => match serde_json::from_str::<Value>(body) {
            Err(e) => Err(bad_request(&format!("error decoding body: {e}"))),
            Ok(obj) => {
                let r = shared.lock().create(&rp.rt, &ns, obj, dry_run);
                r.map_err(|e| e.status)
            }
        },
        "delete" => {
            let name = rp.name.clone().unwrap_or_default();
            if dry_run {
                shared
                    .lock()
                    .objects
                    .get(&ObjKey::new(&rp.rt, &ns, &name))
                    .cloned()
                    .ok_or_else(|| not_found(&rp.rt, &name))
            } else {
                let r = shared.lock().delete(&rp.rt, &ns, &name);
                r
            }
        }
        _ => Err(status_obj(
            405,
            "MethodNotAllowed",
            "deletecollection is not supported by the test server",
            None,
        )),
    };
    shared.notify();
    match result {
        Ok(v) => Reply::Json(if verb == "create" { 201 } else { 200 }, v),
        Err(status) => Reply::Json(status["code"].as_u64().unwrap_or(500) as u16, status),
    }
}

/// An error that carries a Status (for create/replace, whose test-side callers want text).
struct StatusError {
    status: Value,
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status["message"].as_str().unwrap_or("error"))
    }
}

impl From<Value> for StatusError {
    fn from(status: Value) -> Self {
        StatusError { status }
    }
}

impl Store {
    fn group_list(&self) -> Value {
        let mut groups: Vec<String> = Vec::new();
        for t in &self.types {
            if !t.group.is_empty() && !groups.contains(&t.group) {
                groups.push(t.group.clone());
            }
        }
        let groups: Vec<Value> = groups.iter().filter_map(|g| self.group(g)).collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    fn group(&self, g: &str) -> Option<Value> {
        let mut versions: Vec<String> = Vec::new();
        for t in self.types.iter().filter(|t| t.group == g) {
            if !versions.contains(&t.version) {
                versions.push(t.version.clone());
            }
        }
        let first = versions.first()?;
        let gv = |v: &String| json!({"groupVersion": format!("{g}/{v}"), "version": v});
        Some(json!({
            "kind": "APIGroup", "apiVersion": "v1", "name": g,
            "versions": versions.iter().map(gv).collect::<Vec<_>>(),
            "preferredVersion": gv(first),
        }))
    }

    fn resource_list(&self, g: &str, v: &str) -> Value {
        let resources: Vec<Value> = self
            .types
            .iter()
            .filter(|t| t.group == g && t.version == v)
            .map(|t| {
                json!({
                    "name": t.plural,
                    "singularName": t.kind.to_lowercase(),
                    "namespaced": t.namespaced,
                    "kind": t.kind,
                    "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                    "shortNames": t.short_names,
                })
            })
            .collect();
        let gv = if g.is_empty() {
            v.to_string()
        } else {
            format!("{g}/{v}")
        };
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
    }

    fn injected(&mut self, verb: &str, rp: &ResourcePath) -> Option<Value> {
        let gr = rp.rt.group_resource();
        let ns = rp.namespace.clone();
        let i = self.injections.iter().position(|i| {
            (i.verb == "*" || i.verb == verb)
                && (i.resource == "*" || i.resource == gr)
                && (i.namespace.is_none() || i.namespace == ns)
                && i.remaining != Some(0)
        })?;
        let inj = &mut self.injections[i];
        if let Some(n) = inj.remaining.as_mut() {
            *n -= 1;
        }
        let name = rp.name.clone().unwrap_or_default();
        let message = inj.message.clone().unwrap_or_else(|| {
            if inj.code == 403 {
                let subject = if name.is_empty() {
                    gr.clone()
                } else {
                    format!("{gr} \"{name}\"")
                };
                let scope = match &ns {
                    Some(n) => format!("in the namespace \"{n}\""),
                    None => "at the cluster scope".to_string(),
                };
                format!(
                    "{subject} is forbidden: User \"{TEST_USER}\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
                    rp.rt.plural, rp.rt.group
                )
            } else {
                format!("injected {} {}", inj.code, inj.reason)
            }
        });
        Some(status_obj(
            inj.code,
            &inj.reason,
            &message,
            Some(details(&rp.rt, &name)),
        ))
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    /// Store `obj` under `key` with a new resourceVersion and record the event.
    fn commit(&mut self, key: ObjKey, mut obj: Value, etype: EventType) -> Value {
        let rv = self.next_rv();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let prev = self.objects.get(&key).cloned();
        if etype == EventType::Deleted {
            self.objects.remove(&key);
        } else {
            self.objects.insert(key.clone(), obj.clone());
        }
        self.events.push(StoredEvent {
            rv,
            key,
            etype,
            object: obj.clone(),
            prev,
        });
        obj
    }

    fn validate(&self, rt: &ResourceType, obj: &Value) -> Result<(), Value> {
        let name = obj["metadata"]["name"].as_str().unwrap_or("");
        let invalid = |field: &str, detail: &str| {
            let mut d = details(rt, name);
            d["kind"] = json!(rt.kind);
            d["causes"] =
                json!([{"reason": "FieldValueInvalid", "message": detail, "field": field}]);
            status_obj(
                422,
                "Invalid",
                &format!(
                    "{} \"{name}\" is invalid: {field}: {detail}",
                    rt.qualified_kind()
                ),
                Some(d),
            )
        };
        if name.is_empty() {
            return Err(invalid("metadata.name", "Required value: name is required"));
        }
        if rt.plural == "configmaps" {
            for section in ["data", "binaryData"] {
                if let Some(m) = obj.get(section).and_then(Value::as_object) {
                    for (k, v) in m {
                        if !v.is_string() {
                            return Err(invalid(
                                &format!("{section}.{k}"),
                                &format!("Invalid value: {v}: must be a string"),
                            ));
                        }
                    }
                }
            }
        }
        if rt.plural == "httproutes" && rt.group == "gateway.networking.k8s.io" {
            if let Some(rules) = obj["spec"]["rules"].as_array() {
                for (i, r) in rules.iter().enumerate() {
                    for (j, b) in r["backendRefs"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .enumerate()
                    {
                        if let Some(w) = b.get("weight") {
                            let field = format!("spec.rules[{i}].backendRefs[{j}].weight");
                            match w.as_i64() {
                                Some(n) if (0..=1_000_000).contains(&n) => {}
                                Some(n) if n < 0 => {
                                    return Err(invalid(&field, &format!("Invalid value: {n}: {field} in body should be greater than or equal to 0")))
                                }
                                Some(n) => {
                                    return Err(invalid(&field, &format!("Invalid value: {n}: {field} in body should be less than or equal to 1000000")))
                                }
                                None => {
                                    return Err(invalid(&field, &format!("Invalid value: {w}: {field} in body must be of type integer")))
                                }
                            }
                        }
                    }
                }
            }
        }
        for (t, f) in &self.validators {
            if t == rt {
                if let Err(e) = f(obj) {
                    return Err(invalid("spec", &e));
                }
            }
        }
        Ok(())
    }

    fn create(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        mut obj: Value,
        dry_run: bool,
    ) -> Result<Value, StatusError> {
        if !obj.is_object() {
            return Err(bad_request("the body must be a JSON object").into());
        }
        let ns = if rt.namespaced { ns } else { "" };
        if obj["metadata"]["name"].as_str().unwrap_or("").is_empty() {
            if let Some(prefix) = obj["metadata"]["generateName"].as_str() {
                self.uid_seq += 1;
                let name = format!("{prefix}{:05x}", self.uid_seq * 7919 % 0xfffff);
                obj["metadata"]["name"] = json!(name);
            }
        }
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        if rt.namespaced {
            obj["metadata"]["namespace"] = json!(ns);
        } else if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        self.validate(rt, &obj)?;
        let key = ObjKey::new(rt, ns, &name);
        if self.objects.contains_key(&key) {
            return Err(status_obj(
                409,
                "AlreadyExists",
                &format!("{} \"{name}\" already exists", rt.group_resource()),
                Some(details(rt, &name)),
            )
            .into());
        }
        self.uid_seq += 1;
        let meta = obj["metadata"]
            .as_object_mut()
            .ok_or_else(|| StatusError::from(bad_request("metadata must be an object")))?;
        meta.insert(
            "uid".into(),
            json!(format!("00000000-0000-4000-8000-{:012x}", self.uid_seq)),
        );
        meta.insert(
            "creationTimestamp".into(),
            json!(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        );
        if obj.get("spec").is_some() {
            obj["metadata"]["generation"] = json!(1);
        }
        if dry_run {
            return Ok(obj);
        }
        Ok(self.commit(key, obj, EventType::Added))
    }

    /// PUT semantics: a resourceVersion in the body is a precondition.
    fn replace(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        mut obj: Value,
        dry_run: bool,
    ) -> Result<Value, StatusError> {
        let ns = if rt.namespaced { ns } else { "" };
        let key = ObjKey::new(rt, ns, name);
        let Some(current) = self.objects.get(&key).cloned() else {
            return Err(not_found(rt, name).into());
        };
        if let Some(rv) = obj["metadata"]["resourceVersion"].as_str() {
            if Some(rv) != current["metadata"]["resourceVersion"].as_str() {
                return Err(conflict(rt, name).into());
            }
        }
        keep_identity(&mut obj, &current, rt);
        self.validate(rt, &obj)?;
        if dry_run {
            return Ok(obj);
        }
        bump_generation(&mut obj, &current);
        Ok(self.commit(key, obj, EventType::Modified))
    }

    fn merge_patch(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        patch: &Value,
        dry_run: bool,
    ) -> Result<Value, Value> {
        let ns = if rt.namespaced { ns } else { "" };
        let key = ObjKey::new(rt, ns, name);
        let Some(current) = self.objects.get(&key).cloned() else {
            return Err(not_found(rt, name));
        };
        if let Some(rv) = patch.get("metadata").and_then(|m| m.get("resourceVersion")) {
            if !rv.is_null() && rv.as_str() != current["metadata"]["resourceVersion"].as_str() {
                return Err(conflict(rt, name));
            }
        }
        let mut obj = merge(current.clone(), patch);
        if !obj.is_object() || !obj["metadata"].is_object() {
            return Err(bad_request("the patch would make the object invalid"));
        }
        keep_identity(&mut obj, &current, rt);
        self.validate(rt, &obj)?;
        if dry_run || obj == current {
            return Ok(obj);
        }
        bump_generation(&mut obj, &current);
        Ok(self.commit(key, obj, EventType::Modified))
    }

    fn delete(&mut self, rt: &ResourceType, ns: &str, name: &str) -> Result<Value, Value> {
        let ns = if rt.namespaced { ns } else { "" };
        let key = ObjKey::new(rt, ns, name);
        let Some(current) = self.objects.get(&key).cloned() else {
            return Err(not_found(rt, name));
        };
        Ok(self.commit(key, current, EventType::Deleted))
    }

    /// The objects of `rt` as they were at `rv` (undoing later events); None if compacted.
    fn snapshot_at(&self, rt: &ResourceType, rv: u64) -> Option<BTreeMap<ObjKey, Value>> {
        if rv < self.floor {
            return None;
        }
        let mut objs: BTreeMap<ObjKey, Value> = self
            .objects
            .iter()
            .filter(|(k, _)| k.of(rt))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for e in self
            .events
            .iter()
            .rev()
            .filter(|e| e.rv > rv && e.key.of(rt))
        {
            match &e.prev {
                Some(p) => {
                    objs.insert(e.key.clone(), p.clone());
                }
                None => {
                    objs.remove(&e.key);
                }
            }
        }
        Some(objs)
    }

    fn list(&self, rp: &ResourcePath, params: &BTreeMap<String, String>) -> Result<Value, Value> {
        let sel = Selectors::from_params(params)?;
        let limit: Option<usize> = match params.get("limit") {
            None => None,
            Some(l) => match l.parse::<usize>() {
                Ok(0) => None,
                Ok(n) => Some(n),
                Err(_) => return Err(bad_request(&format!("invalid limit: {l}"))),
            },
        };
        let expired = |rv: u64| {
            status_obj(
                410,
                "Expired",
                &format!("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. (resourceVersion {rv} is older than {})", self.floor),
                Some(json!({})),
            )
        };
        let (rv, after) = match params.get("continue").filter(|c| !c.is_empty()) {
            Some(token) => {
                let (rv, after) =
                    decode_continue(token).ok_or_else(|| bad_request("invalid continue token"))?;
                (rv, Some(after))
            }
            None => {
                let exact = params.get("resourceVersionMatch").map(String::as_str) == Some("Exact");
                match params
                    .get("resourceVersion")
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    Some(rv) if exact && rv > 0 => (rv, None),
                    _ => (self.rv, None),
                }
            }
        };
        let objs = self.snapshot_at(&rp.rt, rv).ok_or_else(|| expired(rv))?;
        let ns = rp.namespace.clone();
        let matching: Vec<(&ObjKey, &Value)> = objs
            .iter()
            .filter(|(k, v)| ns.as_ref().is_none_or(|n| &k.namespace == n) && sel.matches(v))
            .filter(|(k, _)| match &after {
                Some((ans, aname)) => (&k.namespace, &k.name) > (ans, aname),
                None => true,
            })
            .collect();
        let take = limit.unwrap_or(usize::MAX).min(matching.len());
        let remaining = matching.len() - take;
        let items: Vec<Value> = matching[..take]
            .iter()
            .map(|(_, v)| {
                let mut v = (*v).clone();
                if !rp.rt.crd {
                    if let Some(m) = v.as_object_mut() {
                        m.remove("apiVersion");
                        m.remove("kind");
                    }
                }
                v
            })
            .collect();
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if remaining > 0 {
            if let Some((k, _)) = matching.get(take.saturating_sub(1)) {
                meta["continue"] = json!(encode_continue(rv, &k.namespace, &k.name));
                meta["remainingItemCount"] = json!(remaining);
            }
        }
        Ok(json!({
            "kind": format!("{}List", rp.rt.kind),
            "apiVersion": rp.rt.api_version(),
            "metadata": meta,
            "items": items,
        }))
    }
}

fn conflict(rt: &ResourceType, name: &str) -> Value {
    status_obj(
        409,
        "Conflict",
        &format!("Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again", rt.group_resource()),
        Some(details(rt, name)),
    )
}

/// apiVersion, kind and identity metadata can't be changed by a write.
fn keep_identity(obj: &mut Value, current: &Value, rt: &ResourceType) {
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    for f in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "resourceVersion",
        "generation",
    ] {
        match current["metadata"].get(f) {
            Some(v) => obj["metadata"][f] = v.clone(),
            None => {
                if let Some(m) = obj["metadata"].as_object_mut() {
                    m.remove(f);
                }
            }
        }
    }
}

fn bump_generation(obj: &mut Value, current: &Value) {
    if obj.get("spec") != current.get("spec") {
        let g = current["metadata"]["generation"].as_i64().unwrap_or(0);
        obj["metadata"]["generation"] = json!(g + 1);
    }
}

/// RFC 7386 JSON merge patch.
pub fn merge(target: Value, patch: &Value) -> Value {
    match patch {
        Value::Object(p) => {
            let mut t = match target {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    let cur = t.remove(k).unwrap_or(Value::Null);
                    t.insert(k.clone(), merge(cur, v));
                }
            }
            Value::Object(t)
        }
        other => other.clone(),
    }
}

fn encode_continue(rv: u64, ns: &str, name: &str) -> String {
    let raw = json!({"rv": rv, "ns": ns, "name": name}).to_string();
    raw.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_continue(token: &str) -> Option<(u64, (String, String))> {
    if !token.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let v: Value = serde_json::from_slice(&bytes?).ok()?;
    Some((
        v["rv"].as_u64()?,
        (
            v["ns"].as_str()?.to_string(),
            v["name"].as_str()?.to_string(),
        ),
    ))
}

/// Decoded query parameters (last one wins).
pub fn parse_query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(c) => {
                        out.push(c);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Selectors

#[derive(Clone, Debug)]
enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

#[derive(Clone, Debug, Default)]
struct Selectors {
    labels: Vec<Requirement>,
    fields: Vec<Requirement>,
}

fn split_top_level(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c)
            }
            ')' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_set(s: &str) -> Option<Vec<String>> {
    let s = s.trim();
    let inner = s.strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

fn parse_selector(s: &str, what: &str) -> Result<Vec<Requirement>, Value> {
    let mut reqs = Vec::new();
    for term in split_top_level(s) {
        let bad = || {
            bad_request(&format!(
                "unable to parse requirement: invalid {what} selector term {term:?}"
            ))
        };
        let r = if let Some(k) = term.strip_prefix('!') {
            Requirement::NotExists(k.trim().to_string())
        } else if let Some((k, set)) = term.split_once(" notin ") {
            Requirement::NotIn(k.trim().into(), parse_set(set).ok_or_else(bad)?)
        } else if let Some((k, set)) = term.split_once(" in ") {
            Requirement::In(k.trim().into(), parse_set(set).ok_or_else(bad)?)
        } else if let Some((k, v)) = term.split_once("!=") {
            Requirement::NotEq(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = term.split_once("==") {
            Requirement::Eq(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = term.split_once('=') {
            Requirement::Eq(k.trim().into(), v.trim().into())
        } else if term
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        {
            Requirement::Exists(term.clone())
        } else {
            return Err(bad());
        };
        reqs.push(r);
    }
    Ok(reqs)
}

impl Selectors {
    fn from_params(params: &BTreeMap<String, String>) -> Result<Selectors, Value> {
        Ok(Selectors {
            labels: parse_selector(
                params
                    .get("labelSelector")
                    .map(String::as_str)
                    .unwrap_or(""),
                "label",
            )?,
            fields: parse_selector(
                params
                    .get("fieldSelector")
                    .map(String::as_str)
                    .unwrap_or(""),
                "field",
            )?,
        })
    }

    fn matches(&self, obj: &Value) -> bool {
        let labels = obj["metadata"]["labels"].as_object();
        let label = |k: &str| {
            labels
                .and_then(|l| l.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let field = |k: &str| {
            let mut v = obj;
            for part in k.split('.') {
                v = &v[part];
            }
            match v {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }
        };
        self.labels.iter().all(|r| eval(r, &label)) && self.fields.iter().all(|r| eval(r, &field))
    }
}

fn eval(r: &Requirement, get: &dyn Fn(&str) -> Option<String>) -> bool {
    match r {
        Requirement::Eq(k, v) => get(k).as_deref() == Some(v.as_str()),
        Requirement::NotEq(k, v) => get(k).as_deref() != Some(v.as_str()),
        Requirement::In(k, set) => get(k).is_some_and(|x| set.contains(&x)),
        Requirement::NotIn(k, set) => get(k).is_none_or(|x| !set.contains(&x)),
        Requirement::Exists(k) => get(k).is_some(),
        Requirement::NotExists(k) => get(k).is_none(),
    }
}

// ---------------------------------------------------------------------------------------------
// Watch

struct WatchGuard(Arc<Shared>);

impl Drop for WatchGuard {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.open_watches = s.open_watches.saturating_sub(1);
    }
}

struct WatchState {
    shared: Arc<Shared>,
    rx: tokio::sync::watch::Receiver<u64>,
    rt: ResourceType,
    namespace: Option<String>,
    sel: Selectors,
    last_rv: u64,
    queue: VecDeque<Bytes>,
    deadline: Instant,
    bookmarks: bool,
    next_bookmark: Instant,
    epoch: u64,
    done: bool,
    id: u64,
    _guard: WatchGuard,
}

fn line(etype: &str, object: &Value) -> Bytes {
    let mut s = json!({"type": etype, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

impl WatchState {
    fn new(
        shared: Arc<Shared>,
        rp: &ResourcePath,
        params: &BTreeMap<String, String>,
    ) -> Result<WatchState, Value> {
        let sel = Selectors::from_params(params)?;
        let timeout = params
            .get("timeoutSeconds")
            .and_then(|t| t.parse::<u64>().ok())
            .filter(|t| *t > 0)
            .unwrap_or(1800);
        let bookmarks = params.get("allowWatchBookmarks").map(String::as_str) == Some("true");
        let initial_events = params.get("sendInitialEvents").map(String::as_str) == Some("true");
        let rv_param = params.get("resourceVersion").cloned().unwrap_or_default();
        let mut rx = shared.tick.subscribe();
        rx.borrow_and_update();
        let mut s = shared.lock();
        s.open_watches += 1;
        s.watch_seq += 1;
        let id = s.watch_seq - 1;
        let mut st = WatchState {
            shared: shared.clone(),
            rx,
            rt: rp.rt.clone(),
            namespace: rp.namespace.clone(),
            sel,
            last_rv: s.rv,
            queue: VecDeque::new(),
            deadline: Instant::now() + Duration::from_secs(timeout),
            bookmarks,
            next_bookmark: Instant::now() + s.bookmark_interval,
            epoch: s.expire_epoch,
            done: false,
            id,
            _guard: WatchGuard(shared.clone()),
        };
        if rv_param.is_empty() || rv_param == "0" || initial_events {
            // Start with synthetic ADDED events for what exists now.
            for (k, v) in s.objects.iter() {
                if k.of(&st.rt) && st.in_scope(k) && st.sel.matches(v) {
                    st.queue.push_back(line("ADDED", v));
                }
            }
            if initial_events && bookmarks {
                let bm = st.bookmark(s.rv, true);
                st.queue.push_back(bm);
            }
        } else {
            let rv: u64 = rv_param
                .parse()
                .map_err(|_| bad_request(&format!("invalid resourceVersion {rv_param:?}")))?;
            if rv < s.floor {
                st.queue.push_back(line(
                    "ERROR",
                    &status_obj(
                        410,
                        "Expired",
                        &format!("too old resource version: {rv} ({})", s.floor),
                        None,
                    ),
                ));
                st.done = true;
            } else {
                st.last_rv = rv;
            }
        }
        drop(s);
        Ok(st)
    }

    fn in_scope(&self, k: &ObjKey) -> bool {
        self.namespace.as_ref().is_none_or(|n| &k.namespace == n)
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line(
            "BOOKMARK",
            &json!({"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": meta}),
        )
    }

    /// Queue the events after `last_rv` that this watch can see.
    fn scan(&mut self) {
        let shared = self.shared.clone();
        let s = shared.lock();
        if s.expire_epoch != self.epoch {
            self.queue.push_back(line(
                "ERROR",
                &status_obj(
                    410,
                    "Expired",
                    &format!("too old resource version: {} ({})", self.last_rv, s.floor),
                    None,
                ),
            ));
            self.done = true;
            return;
        }
        for e in s.events.iter().filter(|e| e.rv > self.last_rv) {
            if !e.key.of(&self.rt) || !self.in_scope(&e.key) {
                continue;
            }
            let before = e.prev.as_ref().is_some_and(|p| self.sel.matches(p));
            let after = e.etype != EventType::Deleted && self.sel.matches(&e.object);
            let etype = match (e.etype, before, after) {
                (EventType::Deleted, true, _) => "DELETED",
                (_, false, true) => "ADDED",
                (_, true, true) => "MODIFIED",
                (_, true, false) => "DELETED",
                _ => continue,
            };
            self.queue.push_back(line(etype, &e.object));
        }
        self.last_rv = s.rv;
        if self.bookmarks && Instant::now() >= self.next_bookmark {
            self.next_bookmark = Instant::now() + s.bookmark_interval;
            let bm = self.bookmark(self.last_rv, false);
            self.queue.push_back(bm);
        }
    }
}

async fn watch_step(mut st: WatchState) -> Option<(Bytes, WatchState)> {
    loop {
        if st.id < st.shared.lock().stall_below {
            // Stalled: hold the connection open and never say another word.
            std::future::pending::<()>().await;
        }
        if let Some(b) = st.queue.pop_front() {
            return Some((b, st));
        }
        if st.done {
            return None;
        }
        st.rx.borrow_and_update();
        st.scan();
        if !st.queue.is_empty() || st.done {
            continue;
        }
        if Instant::now() >= st.deadline {
            if st.bookmarks {
                let bm = st.bookmark(st.last_rv, false);
                st.queue.push_back(bm);
            }
            st.done = true;
            continue;
        }
        let wake = if st.bookmarks {
            st.deadline.min(st.next_bookmark)
        } else {
            st.deadline
        };
        tokio::select! {
            r = st.rx.changed() => {
                if r.is_err() {
                    st.done = true;
                }
            }
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_rfc7386() {
        let t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        let p = json!({"a": "z", "c": {"f": null}});
        assert_eq!(merge(t, &p), json!({"a": "z", "c": {"d": "e"}}));
        assert_eq!(
            merge(json!({"a": [1, 2]}), &json!({"a": [3]})),
            json!({"a": [3]})
        );
        assert_eq!(merge(json!("x"), &json!({"a": 1})), json!({"a": 1}));
    }

    #[test]
    fn query_and_selectors() {
        let q = parse_query("labelSelector=app%3Dvllm%2Ctier%21%3Dcanary&limit=2");
        assert_eq!(q["labelSelector"], "app=vllm,tier!=canary");
        let sel = Selectors::from_params(&q).unwrap();
        let o = |labels: Value| json!({"metadata": {"labels": labels}});
        assert!(sel.matches(&o(json!({"app": "vllm"}))));
        assert!(!sel.matches(&o(json!({"app": "vllm", "tier": "canary"}))));
        let reqs = parse_selector("env in (a, b),!gone,x notin (y)", "label").unwrap();
        let sel = Selectors {
            labels: reqs,
            fields: vec![],
        };
        assert!(sel.matches(&o(json!({"env": "b"}))));
        assert!(!sel.matches(&o(json!({"env": "c"}))));
        assert!(!sel.matches(&o(json!({"env": "a", "gone": "1"}))));
    }

    #[test]
    fn continue_tokens_round_trip() {
        let t = encode_continue(42, "agents", "x");
        assert_eq!(
            decode_continue(&t),
            Some((42, ("agents".into(), "x".into())))
        );
        assert_eq!(decode_continue("zz"), None);
    }
}
