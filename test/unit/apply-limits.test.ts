import { describe, expect, it } from "vitest";
import { ANNOTATIONS_BYTES, applyLimitWarning, ETCD_REQUEST_BYTES } from "../../src/synth/apply-limits.js";
import type { Manifest } from "../../src/synth/manifests.js";

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

function policy(blocks: number, description = "shop/Deployment/frontend may connect to external addresses"): Manifest {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: {
      name: "allow-frontend-to-external-egress",
      namespace: "shop",
      labels: { "app.kubernetes.io/managed-by": "flowpol" },
      annotations: { "flowpol.io/description": description },
    },
    spec: {
      podSelector: { matchLabels: { app: "frontend" } },
      policyTypes: ["Egress"],
      egress: [
        { to: Array.from({ length: blocks }, (_, i) => ({ ipBlock: { cidr: `11.${i >> 8}.${i & 255}.7/32` } })) },
      ],
    },
  };
}

/** What client-side apply puts into the annotations: the object's own, and itself as JSON under one key. */
function annotationBytes(m: Manifest): number {
  const own = Object.entries(m.metadata.annotations).reduce((n, [k, v]) => n + k.length + v.length, 0);
  return own + LAST_APPLIED.length + JSON.stringify(m).length + 1;
}

describe("applyLimitWarning", () => {
  it("says nothing of a policy that fits", () => {
    expect(applyLimitWarning("shop/p.yaml", policy(100))).toBeUndefined();
  });

  it("names the file, its size and the fixes when client-side apply would refuse it, to the byte", () => {
    const near = policy(7000);
    const pad = ANNOTATIONS_BYTES - annotationBytes(near);
    expect(pad).toBeGreaterThan(0);
    // Each character of the description counts twice: in its annotation and in the copy.
    const exact = policy(
      7000,
      `${near.metadata.annotations["flowpol.io/description"]}${"x".repeat(Math.floor(pad / 2))}`,
    );
    const fits = annotationBytes(exact) <= ANNOTATIONS_BYTES;
    expect(fits).toBe(true);
    expect(applyLimitWarning("shop/p.yaml", exact)).toBeUndefined();
    const over = policy(7000, `${exact.metadata.annotations["flowpol.io/description"]}x`);
    expect(annotationBytes(over)).toBeGreaterThan(ANNOTATIONS_BYTES);
    const warning = applyLimitWarning("shop/p.yaml", over);
    expect(warning).toMatch(/^shop\/p\.yaml is [0-9,]+ bytes as JSON: client-side `kubectl apply`/);
    expect(warning).toContain("kubectl apply --server-side");
    expect(warning).toContain("--cidr-prefix");
  });

  it("says when no way of applying stores it (etcd's request limit)", () => {
    const huge = policy(48_000);
    expect(JSON.stringify(huge).length).toBeGreaterThan(ETCD_REQUEST_BYTES);
    expect(applyLimitWarning("shop/p.yaml", huge)).toMatch(/over the 1\.5 MiB etcd accepts by default/);
  });

  it("counts bytes, not characters", () => {
    const near = policy(7000);
    const pad = ANNOTATIONS_BYTES - annotationBytes(near);
    // "é" is two bytes in UTF-8: half as many characters as "x" reach the limit.
    const wide = policy(
      7000,
      `${near.metadata.annotations["flowpol.io/description"]}${"é".repeat(Math.ceil(pad / 4) + 1)}`,
    );
    expect(applyLimitWarning("shop/p.yaml", wide)).toBeDefined();
  });
});
