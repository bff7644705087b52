#!/usr/bin/env bash
# The main job on the bundled samples: ingest, graph, generate. Results go to ./out/.
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
echo "== the dependency graph"
flowpol graph --db "$DB"
flowpol graph --db "$DB" -o html --out "$OUT/graph.html"
flowpol graph --db "$DB" -o mermaid --out "$OUT/graph.mmd"
echo
echo "== least-privilege NetworkPolicies, with the proof"
flowpol generate --db "$DB" --out "$OUT/policies"
flowpol generate --db "$DB" --out "$OUT/policies-cilium" --flavor cilium >/dev/null 2>&1
flowpol generate --db "$DB" --out "$OUT/policies-calico-staged" --flavor calico-staged >/dev/null 2>&1
echo
echo "== the discovery report (Markdown with a Mermaid graph, and a self-contained HTML page)"
flowpol report --db "$DB" --out "$OUT/REPORT.md"
flowpol report --db "$DB" -o html --out "$OUT/report.html"
echo "wrote $OUT/REPORT.md and $OUT/report.html"
echo
echo "== the staged rollout into a GitOps repository (a fresh local one here)"
rm -rf "$OUT/gitops"
git init --quiet -b main "$OUT/gitops"
git -C "$OUT/gitops" -c user.name=demo -c user.email=demo@example.com commit --quiet --allow-empty -m "empty GitOps repository"
flowpol rollout --db "$DB" --repo "$OUT/gitops" --out "$OUT/PULL_REQUEST.md"
echo
echo "Results in $OUT/:"
echo "  $OUT/flowpol.db                 the store (flowpol stats --db $OUT/flowpol.db)"
echo "  $OUT/graph.html                 the dependency graph, one self-contained page"
echo "  $OUT/policies/                  NetworkPolicies per namespace, with kustomization.yaml and EVIDENCE.md"
echo "  $OUT/policies-cilium/           the same as CiliumNetworkPolicy"
echo "  $OUT/policies-calico-staged/    the same as Calico StagedKubernetesNetworkPolicy (non-enforcing)"
echo "  $OUT/REPORT.md, $OUT/report.html   the discovery report"
echo "  $OUT/gitops/                   a GitOps repository with the staged rollout branch"
echo "  $OUT/PULL_REQUEST.md           the pull request text"
