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
echo "== the discovery report (Markdown with a Mermaid graph, and a self-contained HTML page)"
flowpol report --db "$DB" -o "$OUT/REPORT.md"
flowpol report --db "$DB" --format html -o "$OUT/report.html"
echo "wrote $OUT/REPORT.md and $OUT/report.html"
echo
echo "== the staged rollout into a GitOps repository (a fresh local one here)"
rm -rf "$OUT/gitops"
git init --quiet -b main "$OUT/gitops"
git -C "$OUT/gitops" -c user.name=demo -c user.email=demo@example.com commit --quiet --allow-empty -m "empty GitOps repository"
flowpol rollout --db "$DB" --repo "$OUT/gitops" > "$OUT/PULL_REQUEST.md"
echo
echo "The store is $DB. Explore it with: node dist/cli/main.js stats --db $DB --json"
echo "Open $OUT/report.html in a browser; the pull request text is $OUT/PULL_REQUEST.md."
