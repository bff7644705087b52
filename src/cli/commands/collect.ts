import { Command } from "commander";
import type { Output } from "../output.js";
import * as goldmane from "./collect-goldmane.js";
import * as hubble from "./collect-hubble.js";

/** `flowpol collect hubble|goldmane`: the live sources. */
export function define(out: Output): Command {
  return new Command("collect")
    .description("stream flows from a live source (Hubble Relay, Calico Goldmane) into the store")
    .addCommand(hubble.define(out))
    .addCommand(goldmane.define(out));
}
