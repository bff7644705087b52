import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** PEM files for mutual TLS tests, made by `openssl` in a temporary folder. */
export interface MtlsFiles {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here: verifying with it must fail. */
  otherCaCert: string;
  /** A client certificate signed by the other CA: the server must refuse it. */
  strangerCert: string;
  strangerKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

function makeCa(dir: string, name: string): void {
  openssl(
    dir,
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"].concat([
      "-subj",
      `/CN=${name}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
    ]),
  );
}

function makeLeaf(dir: string, name: string, ca: string, ext: string): void {
  openssl(dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
  ]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(
    dir,
    ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial"].concat([
      "-days",
      "2",
      "-out",
      `${name}.crt`,
      "-extfile",
      `${name}.ext`,
    ]),
  );
}

/** A CA, a server certificate for `goldmane` (and 127.0.0.1) and a client certificate. */
export function makeMtlsFiles(dir: string): MtlsFiles {
  makeCa(dir, "ca");
  makeCa(dir, "other-ca");
  makeLeaf(
    dir,
    "server",
    "ca",
    "subjectAltName=DNS:goldmane,DNS:goldmane.calico-system.svc,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  makeLeaf(dir, "client", "ca", "extendedKeyUsage=clientAuth\n");
  makeLeaf(dir, "stranger", "other-ca", "extendedKeyUsage=clientAuth\n");
  const p = (f: string) => join(dir, f);
  return {
    caCert: p("ca.crt"),
    serverCert: p("server.crt"),
    serverKey: p("server.key"),
    clientCert: p("client.crt"),
    clientKey: p("client.key"),
    otherCaCert: p("other-ca.crt"),
    strangerCert: p("stranger.crt"),
    strangerKey: p("stranger.key"),
  };
}
