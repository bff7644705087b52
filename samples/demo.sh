#!/usr/bin/env bash
# The main job on the bundled samples: ingest, then summarise. Results go to ./out/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${FLOWPOL_DEMO_OUT:-out}"
mkdir -p "$OUT"
DB="$OUT/flowpol.db"
rm -f "$DB" "$DB-wal" "$DB-shm"
flowpol() { node dist/cli/main.js "$@"; }

echo "== ingest the simulated Online Boutique capture (Hubble JSON, gzip)"
flowpol ingest --db "$DB" samples/online-boutique/hubble.jsonl.gz
echo
echo "== what the store holds"
flowpol stats --db "$DB"
echo
echo "The store is $DB. Explore it with: node dist/cli/main.js stats --db $DB --json"
