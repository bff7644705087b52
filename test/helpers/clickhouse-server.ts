import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { tempDir } from "./paths.js";

/**
 * Real clickhouse-server processes on loopback, owned by the test (there is no systemd): each
 * with its own ports and data directory, all naming one cluster with a shard per server. (Servers
 * on 127.0.0.2... with the same ports do not work: each takes every loopback shard with its own
 * TCP port for itself.) Facts behind the config: ../shared/reference/clickhouse.md.
 */
export const CLICKHOUSE_SERVER = process.env.FLOWPOL_CLICKHOUSE_SERVER ?? "/usr/sbin/clickhouse-server";
export const CLICKHOUSE_AVAILABLE = existsSync(CLICKHOUSE_SERVER);
export const CLICKHOUSE_SKIP_MESSAGE = `${CLICKHOUSE_SERVER} is absent: ClickHouse tests skipped (apt-get install clickhouse-server; .ci/run does)`;
export const TEST_CLUSTER = "flowpol_test";

export interface ClickHouseNode {
  host: string;
  httpPort: number;
  tcpPort: number;
  /** http://127.0.0.1:PORT */
  url: string;
  child: ChildProcess;
}

export interface ClickHouseCluster {
  nodes: ClickHouseNode[];
  /** A --db URL through node `i` to `database`, with the test cluster when `cluster` is set. */
  dbUrl(database: string, options?: { node?: number; cluster?: boolean }): string;
  stop(): Promise<void>;
}

/**
 * `count` distinct free ports: all held open together while they are chosen (one closed before
 * the next was asked for could come back again), then released for the servers to take.
 */
async function freePorts(host: string, count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, host, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === "object" && address ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

const HOST = "127.0.0.1";

interface Ports {
  http: number;
  tcp: number;
  interserver: number;
}

function config(dir: string, ports: Ports, shards: Ports[]): string {
  const remote = shards
    .map((p) => `<shard><replica><host>${HOST}</host><port>${p.tcp}</port></replica></shard>`)
    .join("");
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog><console>0</console></logger>
  <listen_host>${HOST}</listen_host>
  <http_port>${ports.http}</http_port>
  <tcp_port>${ports.tcp}</tcp_port>
  <interserver_http_port>${ports.interserver}</interserver_http_port>
  <interserver_http_host>${HOST}</interserver_http_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <background_pool_size>2</background_pool_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <remote_servers><${TEST_CLUSTER}>${remote}</${TEST_CLUSTER}></remote_servers>
</yandex>
`;
}

const USERS = `<?xml version="1.0"?>
<yandex>
  <profiles><default><insert_distributed_sync>1</insert_distributed_sync><max_threads>2</max_threads></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

/** A server that exited before it answered: its port was likely taken meanwhile. */
class ServerExited extends Error {}

async function waitReady(url: string, child: ChildProcess, logDir: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new ServerExited(`clickhouse-server exited (${child.exitCode}); see ${logDir}`);
    try {
      const res = await fetch(`${url}/ping`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`clickhouse-server at ${url} not ready; see ${logDir}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts that exit at once, before answering, are retried on other ports this many times. */
const START_ATTEMPTS = 3;

/**
 * Starts `count` servers forming the test cluster (one shard each) and waits until each answers
 * /ping. A free port can be taken by another test between being chosen and the server binding
 * it (the server then exits at once, code 70): such a start is tried again on other ports.
 */
export async function startClickHouse(count = 2): Promise<ClickHouseCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(count);
    } catch (err) {
      if (!(err instanceof ServerExited) || attempt === START_ATTEMPTS) throw err;
    }
  }
}

async function startOnce(count: number): Promise<ClickHouseCluster> {
  const tmp = tempDir("flowpol-ch-");
  const free = await freePorts(HOST, 3 * count);
  const ports: Ports[] = Array.from({ length: count }, (_, i) => ({
    http: free[3 * i] as number,
    tcp: free[3 * i + 1] as number,
    interserver: free[3 * i + 2] as number,
  }));
  const nodes: ClickHouseNode[] = [];
  const stop = async () => {
    await Promise.all(
      nodes.map(
        (n) =>
          new Promise<void>((resolve) => {
            if (n.child.exitCode !== null || n.child.signalCode !== null) return resolve();
            n.child.once("exit", () => resolve());
            if (n.child.pid !== undefined) process.kill(n.child.pid, "SIGTERM");
          }),
      ),
    );
    tmp.cleanup();
  };
  try {
    for (const [i, p] of ports.entries()) {
      const dir = join(tmp.dir, `node${i}`);
      for (const sub of ["data", "tmp", "user_files", "format_schemas"]) mkdirSync(join(dir, sub), { recursive: true });
      writeFileSync(join(dir, "users.xml"), USERS);
      writeFileSync(join(dir, "config.xml"), config(dir, p, ports));
      const child = spawn(CLICKHOUSE_SERVER, [`--config-file=${join(dir, "config.xml")}`], {
        cwd: dir,
        stdio: "ignore",
      });
      nodes.push({ host: HOST, httpPort: p.http, tcpPort: p.tcp, url: `http://${HOST}:${p.http}`, child });
    }
    await Promise.all(nodes.map((n, i) => waitReady(n.url, n.child, join(tmp.dir, `node${i}`))));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes,
    dbUrl: (database, options = {}) => {
      const node = nodes[options.node ?? 0] as ClickHouseNode;
      return `clickhouse://${node.host}:${node.httpPort}/${database}${options.cluster ? `?cluster=${TEST_CLUSTER}` : ""}`;
    },
    stop,
  };
}
