#!/usr/bin/env bash
# Checks the Prometheus configuration of the monitoring profile and the alert
# rules it loads (ops/prometheus/), unit-tests the rules, and checks the PromQL
# of the Grafana dashboards' queries, with promtool. Uses promtool from PATH, else a copy cached under
# $PROMTOOL_CACHE, else takes promtool alone out of Debian's `prometheus`
# package (apt-get download + dpkg-deb: no server installed, nothing started,
# no dependencies pulled; about 20 MB fetched once). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."

cache="${PROMTOOL_CACHE:-/var/cache/execution-gateway-ci}"
promtool="$(command -v promtool || true)"
if [ -z "$promtool" ]; then
  promtool="$cache/promtool"
  if [ ! -x "$promtool" ]; then
    echo "promtool not found: extracting it from Debian's prometheus package into $cache"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get download prometheus; }; })
    mkdir -p "$cache"
    dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb | tar -xO ./usr/bin/promtool >"$work/promtool"
    chmod 0755 "$work/promtool"
    mv "$work/promtool" "$promtool"
  fi
fi

"$promtool" --version 2>&1 | head -1
"$promtool" check config ops/prometheus/prometheus.yml
"$promtool" test rules ops/prometheus/alerts.test.yml

# The dashboard's queries must be valid PromQL too.
queries="$(mktemp -d)/dashboard-queries.yml"
for dashboard in ops/grafana/dashboards/*.json; do
  node scripts/ops/dashboard-rules.mjs "$dashboard" >"$queries"
  echo "Dashboard queries of $dashboard:"
  "$promtool" check rules "$queries"
done
rm -rf "$(dirname "$queries")"
