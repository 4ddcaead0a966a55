#!/usr/bin/env bash
# Soak: the demo at 50x speed in a 120x40 pseudo-terminal for 10 minutes (about 8 simulated
# hours), its resident set sampled every 10 s. Passes when the RSS after warm-up grows by at
# most 10 % (memory must be bounded by configuration, never by uptime). Not part of the test
# run: it takes 10 minutes.
#
#   bash scripts/soak.sh [SECONDS] [SPEED]      (defaults: 600 50; warm-up: the first 20 %)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
speed=${2:-50}
warmup=$((seconds / 5))
ttymeter=${TTYMETER:-../shared/tools/ttymeter}
bin=target/release/hybridtop

cargo build --release --locked --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# ttymeter keeps the pty drained (a real terminal reads everything) and checks the terminal
# is restored at the end; this script samples the child's VmRSS beside it.
"$ttymeter" --size 120x40 --warmup 0 --seconds "$seconds" --env LANG=C.UTF-8 \
  -- "$bin" demo --speed "$speed" >"$out/ttymeter.json" &
meter=$!
pid=""
for _ in $(seq 50); do
  pid=$(pgrep -n -f "^$bin demo --speed $speed\$" || true)
  [ -n "$pid" ] && break
  sleep 0.1
done
[ -n "$pid" ] || { echo "soak: the demo did not start" >&2; exit 1; }

echo "t_s,rss_kb"
samples=()
for ((t = 0; t <= seconds - 10; t += 10)); do
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [ -n "$rss" ] || { echo "soak: the demo exited at ${t}s" >&2; exit 1; }
  echo "$t,$rss"
  samples+=("$t:$rss")
  sleep 10
done
wait "$meter"

printf '%s\n' "${samples[@]}" | awk -F: -v w="$warmup" -v speed="$speed" -v s="$seconds" '
  $1 >= w && base == "" { base = $2 }
  $1 >= w { if ($2 > max) max = $2; last = $2 }
  END {
    growth = (max - base) * 100 / base
    printf "soak: %d s at %sx; RSS at warm-up end (%d s) %.1f MB, max after %.1f MB, last %.1f MB: growth %.1f %% (limit 10 %%)\n",
      s, speed, w, base / 1024, max / 1024, last / 1024, growth
    exit (growth > 10)
  }'
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d["restored"]; print("soak: terminal restored:", all(v for v in r.values() if isinstance(v,bool)), "| peak RSS", d["peak_rss_kb"], "kB | CPU", round(d["cpu_pct_window"],2), "% | bytes/s", round(d["bytes_per_s"]))' "$out/ttymeter.json"
