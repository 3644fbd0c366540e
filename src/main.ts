#!/usr/bin/env node
// akv-csi: one binary, four commands. This file only dispatches; each
// command's composition root lives beside the code it wires.
import { FlagError } from "./config/flags.js";

const HELP = `akv-csi — Secrets Store CSI driver and Azure Key Vault provider

Usage:
  akv-csi driver [flags]            CSI node plugin (drop-in for secrets-store-csi-driver v1.6)
  akv-csi provider azure [flags]    Azure Key Vault provider (drop-in for provider-azure v1.8)
  akv-csi emulator [flags]          local Key Vault + Entra ID + IMDS stand-in (development only)
  akv-csi demo                      the whole flow on one machine
  akv-csi <command> --help          flags of a command
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "driver":
        return await (await import("./driver/main.js")).runDriver(rest);
      case "provider": {
        const [name, ...flags] = rest;
        if (name !== "azure") {
          process.stderr.write(`unknown provider ${JSON.stringify(name ?? "")}; supported: azure\n`);
          return 2;
        }
        return await (await import("./provider/main.js")).runProvider(flags);
      }
      case "emulator":
        return await (await import("./emulator/main.js")).runEmulator(rest);
      case "demo":
        return await (await import("./demo/main.js")).runDemo(rest);
      case undefined:
      case "-h":
      case "--help":
      case "help":
        process.stdout.write(HELP);
        return cmd === undefined ? 2 : 0;
      default:
        process.stderr.write(`unknown command ${JSON.stringify(cmd)}\n\n${HELP}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof FlagError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      // Servers keep the loop alive and exit through their own signal handlers.
      if (code !== undefined && code !== -1) process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
