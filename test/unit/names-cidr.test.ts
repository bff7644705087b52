import { describe, expect, it } from "vitest";
import { parseCatalog } from "../../src/graph/index.js";
import { NameAllocator, toDnsLabel, widenIp } from "../../src/synth/index.js";

describe("policy names", () => {
  it.each([
    ["keeps a valid name", "allow-frontend-to-cartservice", "allow-frontend-to-cartservice"],
    ["lower-cases and replaces invalid characters", "Allow_Front.End--x", "allow-front-end-x"],
    ["trims dashes at the ends", "-allow-", "allow"],
  ])("%s", (_name, raw, expected) => {
    expect(toDnsLabel(raw)).toBe(expected);
  });

  it("cuts long names to 63 characters ending in a hash, so two long names stay distinct", () => {
    const a = toDnsLabel(`allow-${"x".repeat(80)}-to-a`);
    const b = toDnsLabel(`allow-${"x".repeat(80)}-to-b`);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(a).toMatch(/-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
  });

  it("keeps the direction suffix of a name it cuts", () => {
    const long = `allow-${"checkout".repeat(6)}-to-${"payment".repeat(4)}-egress`;
    const name = toDnsLabel(long);
    expect(long.length).toBeGreaterThan(63);
    expect(name).toHaveLength(63);
    expect(name).toMatch(/^allow-checkout[-a-z]*-[0-9a-f]{8}-egress$/);
    expect(toDnsLabel(`${long.slice(0, -7)}-ingress`)).toMatch(/-[0-9a-f]{8}-ingress$/);
  });

  it("keeps the suffix when a long repeated name gets its identity's hash", () => {
    const names = new NameAllocator();
    const wanted = `allow-web-to-${"d".repeat(40)}-egress`;
    const first = names.allocate(wanted, "Deployment/web");
    const second = names.allocate(wanted, "StatefulSet/web");
    expect(first).toBe(wanted);
    expect(second).toHaveLength(63);
    expect(second).toMatch(/-[0-9a-f]{8}-egress$/);
  });

  it("gives a repeated name in one namespace a hash of its identity", () => {
    const names = new NameAllocator();
    const first = names.allocate("allow-web-to-db", "Deployment/web");
    const second = names.allocate("allow-web-to-db", "StatefulSet/web");
    expect(first).toBe("allow-web-to-db");
    expect(second).toMatch(/^allow-web-to-db-[0-9a-f]{8}$/);
  });
});

describe("widenIp", () => {
  it.each([
    ["10.1.2.3", 32, 128, "10.1.2.3/32"],
    ["10.1.2.3", 24, 128, "10.1.2.0/24"],
    ["10.1.2.3", 20, 128, "10.1.0.0/20"],
    ["2001:db8::1:2", 32, 128, "2001:db8::1:2/128"],
    ["2001:db8:aa:bb::1", 32, 48, "2001:db8:aa::/48"],
  ])("widens %s (v4 /%i, v6 /%i) to %s", (ip, v4, v6, expected) => {
    expect(widenIp(ip, v4, v6)).toBe(expected);
  });
});

describe("parseCatalog", () => {
  it.each([
    ["bad YAML", "sharedServices: [", /not valid YAML/],
    ["no list", "foo: 1", /sharedServices/],
    ["a bad name", "sharedServices:\n  - {name: Bad_Name, role: callee, match: {workloads: [a]}}", /DNS-1123/],
    ["an unknown role", "sharedServices:\n  - {name: a, role: boss, match: {workloads: [a]}}", /role/],
    ["no criterion", "sharedServices:\n  - {name: a, role: callee, match: {}}", /at least one criterion/],
    [
      "a bad port",
      "sharedServices:\n  - {name: a, role: callee, match: {workloads: [a]}, ports: [{protocol: TCP, port: 70000}]}",
      /1-65535/,
    ],
  ])("rejects %s naming the file", (_name, text, message) => {
    expect(() => parseCatalog(text, "my-catalog.yaml")).toThrow(message);
    expect(() => parseCatalog(text, "my-catalog.yaml")).toThrow(/my-catalog.yaml/);
  });
});
