import { describe, expect, it } from "vitest";
import { chooseSelector } from "../../src/graph/index.js";

const w = (id: string, ...podLabelSets: Array<Record<string, string>>) => ({ id, podLabelSets });

describe("chooseSelector", () => {
  it.each([
    [
      "prefers app.kubernetes.io/name over other unique labels",
      w("web", { "app.kubernetes.io/name": "web", team: "a", app: "web" }),
      [w("db", { "app.kubernetes.io/name": "db", team: "a", app: "db" })],
      { "app.kubernetes.io/name": "web" },
    ],
    [
      "adds app.kubernetes.io/instance to the name when the name alone is shared",
      w("a", { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "a", zz: "1" }),
      [w("b", { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "b", zz: "1" })],
      { "app.kubernetes.io/instance": "a", "app.kubernetes.io/name": "redis" },
    ],
    [
      "never uses pod-template-hash even when it alone is unique",
      w("web", { app: "shop", "pod-template-hash": "abc", role: "web" }),
      [w("api", { app: "shop", "pod-template-hash": "def", role: "api" })],
      { app: "shop", role: "web" },
    ],
    [
      "ignores CronJob run labels and picks the jobTemplate label",
      w("report", { app: "report", "job-name": "report-29123456", "batch.kubernetes.io/job-name": "report-29123456" }),
      [w("cart", { app: "cart" })],
      { app: "report" },
    ],
    [
      "uses only labels every pod of the workload shares",
      w("web", { app: "web", version: "1" }, { app: "web", version: "2" }),
      [w("api", { app: "api", version: "1" })],
      { app: "web" },
    ],
    [
      "takes two labels when no single one tells the workload apart",
      w("reviews-v2", { app: "reviews", version: "v2", tier: "x" }),
      [w("reviews-v1", { app: "reviews", version: "v1", tier: "x" }), w("ratings", { app: "ratings", version: "v2" })],
      { app: "reviews", version: "v2" },
    ],
    [
      "keeps the identity label: reviews-v2 is never selected by version alone, which ratings-v2 also has",
      w("reviews-v2", { app: "reviews", version: "v2" }),
      [w("reviews-v1", { app: "reviews", version: "v1" }), w("ratings-v1", { app: "ratings", version: "v1" })],
      { app: "reviews", version: "v2" },
    ],
    [
      "keeps the identity label: a tenant's api is not selected by track alone",
      w("api", { app: "api", tenant: "acme", track: "stable" }),
      [w("web", { app: "web", tenant: "acme", track: "canary" })],
      { app: "api" },
    ],
    [
      "keeps k8s-app and adds the discriminator",
      w("coredns", { "k8s-app": "kube-dns", "app.kubernetes.io/version": "1.11" }),
      [w("kube-dns", { "k8s-app": "kube-dns", "app.kubernetes.io/version": "1.9" })],
      { "app.kubernetes.io/version": "1.11", "k8s-app": "kube-dns" },
    ],
    [
      "needs no identity label when the pods share none",
      w("web", { role: "web", team: "a" }),
      [w("api", { role: "api", team: "a" })],
      { role: "web" },
    ],
  ])("%s", (_name, subject, neighbours, expected) => {
    const s = chooseSelector(subject, neighbours);
    expect(s.matchLabels).toEqual(expected);
    expect(s.exact).toBe(true);
  });

  it("falls back to the shared labels and names the workloads they also select", () => {
    const s = chooseSelector(w("a", { app: "same" }), [w("b", { app: "same" })]);
    expect(s).toMatchObject({ matchLabels: { app: "same" }, exact: false, alsoSelects: ["b"] });
    expect(s.fallbackReason).toContain("b");
  });

  it("says so when the pods carry no stable label at all", () => {
    const s = chooseSelector(w("a", { "pod-template-hash": "x" }), []);
    expect(s.matchLabels).toEqual({});
    expect(s.exact).toBe(false);
    expect(s.fallbackReason).toContain("no stable label");
  });
});
