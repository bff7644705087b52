#!/usr/bin/env bash
# Regenerates the bundled samples with the simulator (byte-identical for the same seeds).
set -euo pipefail
cd "$(dirname "$0")/.."
flowpol() { node dist/cli/main.js "$@"; }
flowpol simulate --flows 6000 --out samples/online-boutique/hubble.jsonl.gz
flowpol simulate --format calico --flows 3000 --out samples/online-boutique/calico-flows.log.gz
flowpol simulate --format goldmane --flows 3000 --out samples/online-boutique/goldmane.jsonl.gz
