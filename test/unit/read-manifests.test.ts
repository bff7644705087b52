import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTopology } from "../../src/policy-io/load-topology.js";
import { readManifests } from "../../src/policy-io/read-manifests.js";
import { tempDir } from "../helpers/paths.js";

let tmp: ReturnType<typeof tempDir>;
const np = (name: string, ns = "a") =>
  `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  podSelector: {}\n`;

beforeAll(() => {
  tmp = tempDir();
  mkdirSync(join(tmp.dir, "tree/sub/deeper"), { recursive: true });
  writeFileSync(join(tmp.dir, "tree/one.yaml"), `${np("one")}---\n${np("two")}`);
  writeFileSync(
    join(tmp.dir, "tree/sub/list.json"),
    JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        JSON.parse(
          JSON.stringify({
            apiVersion: "networking.k8s.io/v1",
            kind: "NetworkPolicy",
            metadata: { name: "three", namespace: "b" },
            spec: { podSelector: {} },
          }),
        ),
      ],
    }),
  );
  writeFileSync(
    join(tmp.dir, "tree/sub/deeper/pods.yml"),
    "kind: PodList\napiVersion: v1\nitems:\n- metadata:\n    name: p-1\n    namespace: b\n    labels: {app: p}\n",
  );
  writeFileSync(join(tmp.dir, "tree/sub/notes.txt"), "not a manifest");
  writeFileSync(join(tmp.dir, "stray.json"), '[{"src": "a", "dst": "b"}, {"src": "c", "dst": "d"}]');
  writeFileSync(
    join(tmp.dir, "broken.yaml"),
    `${np("ok")}---\nkind: NetworkPolicy\nmetadata: {name: [\n---\n${np("after")}`,
  );
});
afterAll(() => tmp.cleanup());

describe("reading manifests", () => {
  it("reads folders recursively in name order, only .yaml/.yml/.json, flattening List and PodList", () => {
    const m = readManifests([join(tmp.dir, "tree")]);
    expect(m.files.map((f) => f.slice(tmp.dir.length + 1))).toEqual([
      "tree/one.yaml",
      "tree/sub/deeper/pods.yml",
      "tree/sub/list.json",
    ]);
    expect(
      m.objects.map((o) => `${o.value.kind}/${(o.value.metadata as { name: string }).name}@${o.source.document}`),
    ).toEqual(["NetworkPolicy/one@0", "NetworkPolicy/two@1", "Pod/p-1@0", "NetworkPolicy/three@0"]);
  });

  it("reads stdin for -", () => {
    const m = readManifests(["-"], { stdin: () => np("from-stdin") });
    expect(m.objects[0]!.source.file).toBe("<stdin>");
  });

  it("warns once per document about items that are not Kubernetes objects", () => {
    const m = readManifests([join(tmp.dir, "stray.json")]);
    expect(m.objects).toEqual([]);
    expect(m.warnings.map((w) => w.message)).toEqual(["not a Kubernetes object (no kind) (2 items): skipped"]);
  });

  it("reports a YAML syntax error with its document and line, and reads nothing after it in that file", () => {
    const m = readManifests([join(tmp.dir, "broken.yaml")]);
    expect(m.objects.map((o) => (o.value.metadata as { name: string }).name)).toEqual(["ok"]);
    expect(m.syntaxErrors).toHaveLength(1);
    expect(m.syntaxErrors[0]).toMatchObject({ document: 1 });
    expect(m.syntaxErrors[0]!.line).toBeGreaterThanOrEqual(10);
    expect(m.syntaxErrors[0]!.message).toMatch(/YAML syntax error: .*\(the 1 documents after it were not read\)/);
  });

  it("fails on a syntax error unless lenient, and on a duplicate policy name always", () => {
    expect(() => loadTopology([join(tmp.dir, "broken.yaml")])).toThrow(
      /broken\.yaml \(document 1, line \d+\): YAML syntax error/,
    );
    expect(loadTopology([join(tmp.dir, "broken.yaml")], { lenient: true }).topology.policies).toHaveLength(1);
    writeFileSync(join(tmp.dir, "dup.yaml"), `${np("same")}---\n${np("same")}`);
    expect(() => loadTopology([join(tmp.dir, "dup.yaml")], { lenient: true })).toThrow(
      /dup\.yaml \(document 1, line \d+\): NetworkPolicy "same": metadata\.name: NetworkPolicy "a\/same" already exists/,
    );
  });

  it("reads a tab inside a flow sequence as kubectl does, keeping line numbers; a tab in block indentation stays an error", () => {
    const pod = (args: string) =>
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\nspec:\n  containers:\n    - name: c\n      args:\n        [\n${args}\n        ]\n      image: x\n`;
    writeFileSync(join(tmp.dir, "tab-flow.yaml"), `${np("before")}---\n${pod('          "-a",\n\t    "-b",')}`);
    const m = readManifests([join(tmp.dir, "tab-flow.yaml")]);
    expect(m.syntaxErrors).toEqual([]);
    const podObject = m.objects[1]!;
    expect((podObject.value.spec as { containers: { args: string[] }[] }).containers[0]!.args).toEqual(["-a", "-b"]);
    expect(podObject.source.line).toBe(9);
    expect(podObject.lineOf?.("spec.containers[0].image")).toBe(22);
    writeFileSync(join(tmp.dir, "tab-block.yaml"), "kind: Pod\nmetadata:\n\tname: p\n");
    expect(readManifests([join(tmp.dir, "tab-block.yaml")]).syntaxErrors).toHaveLength(1);
  });

  it("names a missing path", () => {
    expect(() => readManifests([join(tmp.dir, "nope")])).toThrow(/no such file or folder: .*nope/);
  });
});
