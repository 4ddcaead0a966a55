#!/usr/bin/env bash
# The README's "Performance" table, measured side by side in one run with ttymeter: hybridtop's
# demo; hybridtop live against the fake kube-apiserver of the tests (Kubernetes source + router
# ConfigMap); what an engineer on a bastion would otherwise run against that same server,
# `watch -n 2 'kubectl get pods,scaledobjects,hpa -n agents'`; and `top -d 1` as a reference.
# Every program gets the same pty size and window.
#
#   bash scripts/perf.sh [SECONDS] [COLSxROWS]     (defaults: 60 120x40)
# Needs kubectl, watch (procps) and top on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
size=${2:-120x40}
ttymeter=${TTYMETER:-../shared/tools/ttymeter}
for t in kubectl watch top python3; do
  command -v "$t" >/dev/null || { echo "perf.sh: $t is not on PATH" >&2; exit 1; }
done

cargo build --release --locked --quiet --bin hybridtop --example kube_test_server
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

target/release/examples/kube_test_server "$work/kubeconfig" 8 5 >"$work/url" &
server=$!
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
[ -s "$work/url" ] || { echo "perf.sh: the kube test server did not start" >&2; exit 1; }

cat >"$work/config.toml" <<'TOML'
[general]
environment = "perf-kube-test-server"
[[paths]]
id = "eks-qwen3"
kind = "eks"
label = "EKS Qwen3-4B"
[paths.eks]
namespace = "agents"
pod_selector = "app=vllm-qwen3"
scaled_object = "vllm-qwen3"
[kubernetes]
namespaces = ["agents"]
[router]
backend = "configmap"
namespace = "agents"
name = "hybrid-router"
TOML

common=(--size "$size" --seconds "$seconds" --env LANG=C.UTF-8 --env "KUBECONFIG=$work/kubeconfig"
        --env "HOME=$work/home" --env "XDG_STATE_HOME=$work/state" --env "XDG_CONFIG_HOME=$work/cfg")
measure() { # NAME QUIT -- CMD...
  local name=$1 quit=$2; shift 3
  echo "perf.sh: measuring $name for ${seconds}s" >&2
  "$ttymeter" "${common[@]}" --quit "$quit" -- "$@" >"$work/$name.json"
}
measure hybridtop-demo q -- target/release/hybridtop demo
measure hybridtop-kube q -- target/release/hybridtop -c "$work/config.toml"
measure watch-kubectl '<C-c>' -- watch -n 2 'kubectl get pods,scaledobjects,hpa -n agents'
measure top q -- top -d 1

python3 - "$work" "$size" "$seconds" <<'PY'
import json, os, sys
work, size, seconds = sys.argv[1:]
rows = [("hybridtop-demo", "`hybridtop demo`"),
        ("hybridtop-kube", "`hybridtop` live, Kubernetes source (fake API server)"),
        ("watch-kubectl", "`watch -n 2 'kubectl get pods,scaledobjects,hpa -n agents'` (same server)"),
        ("top", "`top -d 1`")]
print(f"{size}, {seconds} s window, one run:\n")
print("| program | bytes/s to the terminal | CPU % of a core | peak RSS | first frame | terminal restored |")
print("|---|---|---|---|---|---|")
for key, label in rows:
    d = json.load(open(os.path.join(work, key + ".json")))
    restored = all(v for v in d.get("restored", {}).values() if isinstance(v, bool))
    ff = d.get("first_frame_ms")
    ff = f"{ff:.0f} ms" if isinstance(ff, (int, float)) else "—"
    print(f"| {label} | {d['bytes_per_s']:.0f} | {d['cpu_pct_window']:.2f} | "
          f"{d['peak_rss_kb'] / 1024:.1f} MB | {ff} | {'yes' if restored else 'no'} |")
PY
