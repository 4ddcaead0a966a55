#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this). It starts everything the
# tests need itself, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# moto_server (PyPI) is the Cost Explorer endpoint of tests/aws_sources.rs. Use one on PATH if
# it runs; otherwise install moto into a venv under target/ (once: ~1 minute; then instant).
# The tests start it themselves on free ports, and fail — never skip — without it.
if [ -z "${HYBRIDTOP_MOTO_SERVER:-}" ]; then
  if command -v moto_server >/dev/null 2>&1 && moto_server --help >/dev/null 2>&1; then
    HYBRIDTOP_MOTO_SERVER="$(command -v moto_server)"
  else
    venv=target/moto-venv
    if ! "$venv/bin/moto_server" --help >/dev/null 2>&1; then
      echo "tests/run.sh: installing moto[server] into $venv" >&2
      rm -rf "$venv"
      python3 -m venv "$venv"
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'moto[server]>=5.1,<6'
    fi
    HYBRIDTOP_MOTO_SERVER="$PWD/$venv/bin/moto_server"
  fi
fi
export HYBRIDTOP_MOTO_SERVER

# Prometheus (Debian's package) is the real query API of tests/it/prometheus_source.rs, which
# starts it on free ports with its own config and data directory. The package may start a
# system service too; the tests only need the binary. They fail — never skip — without it.
if [ -z "${HYBRIDTOP_PROMETHEUS:-}" ]; then
  if ! command -v prometheus >/dev/null 2>&1; then
    echo "tests/run.sh: installing prometheus (apt-get)" >&2
    sudo_=""
    if [ "$(id -u)" -ne 0 ]; then sudo_="sudo"; fi
    $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus
  fi
  HYBRIDTOP_PROMETHEUS="$(command -v prometheus)"
fi
export HYBRIDTOP_PROMETHEUS

# Redis (Debian's redis-server) is the real stream of the team-mode tests (tests/it/team.rs),
# started on free ports without persistence. Installed when missing; the tests fail without it.
if [ -z "${HYBRIDTOP_REDIS_SERVER:-}" ]; then
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "tests/run.sh: installing redis-server (apt-get)" >&2
    sudo_=""
    if [ "$(id -u)" -ne 0 ]; then sudo_="sudo"; fi
    $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
  fi
  HYBRIDTOP_REDIS_SERVER="$(command -v redis-server)"
fi
export HYBRIDTOP_REDIS_SERVER

# The OTLP tests (tests/it/otlp.rs) send spans with the OpenTelemetry Python SDK's own OTLP/HTTP
# exporter: installed into a venv under target/ (once; then instant).
if [ -z "${HYBRIDTOP_OTEL_PYTHON:-}" ]; then
  venv=target/otel-venv
  if ! "$venv/bin/python" -c 'import opentelemetry.exporter.otlp.proto.http.trace_exporter' >/dev/null 2>&1; then
    echo "tests/run.sh: installing the OpenTelemetry SDK into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      'opentelemetry-sdk>=1.27,<2' 'opentelemetry-exporter-otlp-proto-http>=1.27,<2'
  fi
  HYBRIDTOP_OTEL_PYTHON="$PWD/$venv/bin/python"
fi
export HYBRIDTOP_OTEL_PYTHON

# The TLS test makes its CA and server certificate with the openssl CLI.
if ! command -v openssl >/dev/null 2>&1; then
  echo "tests/run.sh: installing openssl (apt-get)" >&2
  sudo_=""
  if [ "$(id -u)" -ne 0 ]; then sudo_="sudo"; fi
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl
fi

# A one-shot CI build gains nothing from incremental artifacts, which double target/'s size.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
