import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { identifier, literal, literalList } from "../../src/store/clickhouse/sql.js";
import { isClickHouseUrl, parseClickHouseUrl, redactUrl } from "../../src/store/clickhouse/url.js";

describe("--db clickhouse:// URLs", () => {
  it("reads host, port, database and cluster", () => {
    const t = parseClickHouseUrl("clickhouse://ch1.example:8123/flows?cluster=prod", {});
    expect(t).toMatchObject({
      url: "http://ch1.example:8123",
      tls: false,
      database: "flows",
      cluster: "prod",
      username: "default",
      password: "",
    });
  });

  it("defaults the port by scheme; clickhouses:// is TLS", () => {
    expect(parseClickHouseUrl("clickhouse://h/db", {}).url).toBe("http://h:8123");
    expect(parseClickHouseUrl("clickhouses://h/db", {})).toMatchObject({ url: "https://h:8443", tls: true });
  });

  it("takes credentials from the URL first, then the environment", () => {
    const env = { FLOWPOL_CLICKHOUSE_USER: "envuser", FLOWPOL_CLICKHOUSE_PASSWORD: "envpass" };
    expect(parseClickHouseUrl("clickhouse://h/db", env)).toMatchObject({ username: "envuser", password: "envpass" });
    const t = parseClickHouseUrl("clickhouse://u%40x:p%2Fw@h/db", env);
    expect(t).toMatchObject({ username: "u@x", password: "p/w" });
    expect(t.display).toBe("clickhouse://u%40x:***@h/db");
  });

  it("never shows a password in a message", () => {
    expect(redactUrl("clickhouse://me:secret@h:8123/db")).toBe("clickhouse://me:***@h:8123/db");
    try {
      parseClickHouseUrl("clickhouse://me:secret@h:8123/bad-name", {});
    } catch (err) {
      expect((err as Error).message).not.toContain("secret");
    }
  });

  it.each([
    ["clickhouse://h:8123", /names no database/],
    ["clickhouse://h:8123/", /names no database/],
    ["clickhouse://h:8123/my-db", /not a plain name/],
    ["clickhouse://h:8123/db;DROP", /not a plain name/],
    ["clickhouse://h:8123/db?cluster=a%60b", /cluster name/],
    ["clickhouse://h:8123/db?shard=1", /unknown parameter/],
    ["clickhouse://h:8123/db#x", /fragment/],
    ["clickhouse://:8123/db", /not a valid URL|names no host/],
  ])("refuses %s with a usage error", (url, message) => {
    expect(() => parseClickHouseUrl(url, {})).toThrow(UsageError);
    expect(() => parseClickHouseUrl(url, {})).toThrow(message);
  });

  it("recognises its schemes only", () => {
    expect(isClickHouseUrl("clickhouse://h/db")).toBe(true);
    expect(isClickHouseUrl("ClickHouses://h/db")).toBe(true);
    expect(isClickHouseUrl("flowpol.db")).toBe(false);
    expect(isClickHouseUrl("./clickhouse:/x")).toBe(false);
  });
});

describe("SQL literals (the one escaping function)", () => {
  it("quotes strings with every backslash, quote and control byte escaped", () => {
    expect(literal("a'b")).toBe("'a\\'b'");
    expect(literal("a\\'b")).toBe("'a\\\\\\'b'");
    expect(literal("x\ny\u0000z\u007f")).toBe("'x\\x0ay\\x00z\\x7f'");
    expect(literal("é😀")).toBe("'é😀'");
  });

  it("takes numbers only as safe integers", () => {
    expect(literal(42)).toBe("42");
    expect(literal(-7)).toBe("-7");
    expect(() => literal(1.5)).toThrow(TypeError);
    expect(() => literal(Number.NaN)).toThrow(TypeError);
    expect(() => literal(2 ** 60)).toThrow(TypeError);
  });

  it("lists values for IN; an empty list matches nothing", () => {
    expect(literalList(["a", "b'"])).toBe("('a', 'b\\'')");
    expect(literalList([])).toBe("(NULL)");
  });

  it("accepts plain identifiers only", () => {
    expect(identifier("edges_local")).toBe("`edges_local`");
    expect(() => identifier("a`b")).toThrow(TypeError);
    expect(() => identifier("1x")).toThrow(TypeError);
  });
});
