#!/usr/bin/env bash
# Regenerates the README's screenshots from the built-in demo, reproducibly: fixed seeds and
# scenarios, the simulator's fixed start time, 120×40 cells. Each PNG is `hybridtop snapshot
# --format svg` (the exact screen the dashboard draws, in the theme's colours) rasterised by
# Debian's rsvg-convert with the DejaVu Sans Mono font; both are installed if missing.
#
#   bash screenshots/generate.sh
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
if ! need rsvg-convert || ! fc-list 2>/dev/null | grep -q "DejaVu Sans Mono"; then
    echo "installing librsvg2-bin and fonts-dejavu-core (rsvg-convert and its font)" >&2
    apt-get install -y librsvg2-bin fonts-dejavu-core >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y librsvg2-bin fonts-dejavu-core >/dev/null; }
fi

cargo build --release --locked --quiet
bin="${CARGO_TARGET_DIR:-target}/release/hybridtop"
out=screenshots
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# No user config, themes or NO_COLOR may change the pictures.
export HOME="$work/home" XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state" LANG=C.UTF-8
unset NO_COLOR HYBRIDTOP_CONFIG

shot() { # name, then snapshot arguments
    local name=$1
    shift
    "$bin" "$@" --width 120 --height 40 --format svg >"$work/$name.svg" || [ $? -eq 4 ]
    rsvg-convert --zoom 1.25 "$work/$name.svg" -o "$out/$name.png"
    echo "$out/$name.png"
}

# Overview and Fleet mid-incident: half the EKS GPU nodes lost 2 minutes ago.
shot overview snapshot --demo --seed 7 --scenario eks-node-loss --sim-seconds 480
shot fleet snapshot --demo --seed 7 --scenario eks-node-loss --sim-seconds 480 --view fleet

# A Traces waterfall: the first escalated hybrid session among the recent ones.
session=$("$bin" snapshot --demo --seed 7 --sim-seconds 600 --format json | python3 -c '
import json, sys
rows = json.load(sys.stdin)["sessions"]["recent"]
print(next(r["session_id"] for r in rows if r["escalated"] and len(r["sides"]) == 2))')
shot traces snapshot --demo --seed 7 --sim-seconds 600 --view traces --session "$session"

# The weights review dialog: what `w`, `-`, `-`, Enter show (two steps off EKS). The hidden
# `--weights-review` flag builds the same editor state the keys would; nothing is written.
shot weights-review snapshot --demo --seed 7 --sim-seconds 600 \
    --weights-review "eks-qwen3=60 agentcore-haiku=27 agentcore-sonnet=13"

# The light theme, during a traffic spike.
shot light --theme light snapshot --demo --seed 7 --scenario traffic-spike --sim-seconds 720

# Replay: a recorded traffic spike, 10 minutes in, with the timeline.
"$bin" --record "$work/spike.jsonl.zst" snapshot --demo --seed 7 --scenario traffic-spike \
    --sim-seconds 1800 --format json >/dev/null
shot replay snapshot --replay "$work/spike.jsonl.zst" --at 600
