import { describe, expect, it } from "vitest";
import { emptyEndpoint, type Flow } from "../../src/model/flow.js";
import { flowRole } from "../../src/model/initiator.js";

function flow(overrides: Partial<Flow>): Flow {
  return {
    time: 0,
    verdict: "forwarded",
    direction: "unknown",
    isReply: undefined,
    protocol: "TCP",
    source: emptyEndpoint(),
    destination: emptyEndpoint(),
    sourceSystem: "hubble",
    count: 1,
    ...overrides,
  };
}

describe("flowRole", () => {
  it.each([
    ["is_reply true is a reply", flow({ isReply: true, tcpFlags: { SYN: true } }), "reply"],
    ["is_reply false is a request", flow({ isReply: false, sourcePort: 80, destinationPort: 40000 }), "request"],
    ["trace_reason NEW is a request", flow({ traceReason: "NEW" }), "request"],
    ["trace_reason REPLY is a reply", flow({ traceReason: "REPLY" }), "reply"],
    ["SYN without ACK is a request", flow({ tcpFlags: { SYN: true } }), "request"],
    ["SYN with ACK is a reply", flow({ tcpFlags: { SYN: true, ACK: true } }), "reply"],
    ["ICMP echo reply is a reply", flow({ protocol: "ICMPv4", icmpType: 0 }), "reply"],
    ["ICMP echo request is a request", flow({ protocol: "ICMPv4", icmpType: 8 }), "request"],
    ["service port to ephemeral port is a reply", flow({ sourcePort: 8080, destinationPort: 51234 }), "reply"],
    ["ephemeral port to service port is a request", flow({ sourcePort: 51234, destinationPort: 8080 }), "request"],
    ["two low ports default to a request", flow({ sourcePort: 53, destinationPort: 53 }), "request"],
  ])("%s", (_name, f, role) => {
    expect(flowRole(f)).toBe(role);
  });
});
