import type { Manifest } from "./manifests.js";

/**
 * How large an object the usual ways of applying it accept. Client-side `kubectl apply` (also
 * Argo CD's default sync) copies the whole object, as JSON, into the annotation
 * `kubectl.kubernetes.io/last-applied-configuration`, and an object's annotations together may
 * hold at most 262,144 bytes: a larger object is refused ("metadata.annotations: Too long").
 * Server-side apply keeps no such copy, but etcd refuses a request over 1.5 MiB by default
 * (`--max-request-bytes`), whichever way it is applied.
 */
export const ANNOTATIONS_BYTES = 262_144;
export const ETCD_REQUEST_BYTES = 1_572_864;
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
const SMALLER =
  "make it smaller: --cidr-prefix widens external addresses into blocks, --min-flows leaves out connections seen rarely (a port scan is a flow per port)";

const encoder = new TextEncoder();
const bytesOf = (text: string): number => encoder.encode(text).length;

/** What applying `manifest` runs into, said for the file at `path`; undefined when it fits both ways. */
export function applyLimitWarning(path: string, manifest: Manifest): string | undefined {
  const json = bytesOf(JSON.stringify(manifest));
  let annotations = bytesOf(LAST_APPLIED) + json + 1;
  for (const [key, value] of Object.entries(manifest.metadata.annotations))
    annotations += bytesOf(key) + bytesOf(value);
  const size = `${json.toLocaleString("en-US")} bytes as JSON`;
  if (json > ETCD_REQUEST_BYTES) {
    return `${path} is ${size}, over the 1.5 MiB etcd accepts by default: no way of applying it stores it; ${SMALLER}`;
  }
  if (annotations > ANNOTATIONS_BYTES) {
    return `${path} is ${size}: client-side \`kubectl apply\` (Argo CD's default sync) refuses it, since it copies the object into an annotation and an object's annotations hold at most 262,144 bytes; apply it server-side (\`kubectl apply --server-side\`, Flux, Argo CD's ServerSideApply=true), or ${SMALLER}`;
  }
  return undefined;
}
