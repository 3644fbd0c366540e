// The files of one fetched object version: conversion (secret-content, jwk,
// pem) then objectEncoding, in upstream order. Errors are wrapped with the
// object ("failed to get objectType:…") so they name it.
//
// Departure: upstream returns encoding errors (I10) unwrapped, so the message
// does not say which object failed; ours does.
import { createLogger } from "../../../util/logger.js";
import { wrapObjectError } from "../errors.js";
import type { FetchedCertificate, FetchedKey, FetchedSecret, KeyVaultObject, OutFile, ProviderDefaults } from "../plan.js";
import { applyObjectEncoding } from "./encoding.js";
import { jwkToPublicPem } from "./jwk.js";
import { encodePem } from "./pem.js";
import { secretContent } from "./secret-content.js";

let fallbackLog: ReturnType<typeof createLogger> | undefined;
function defaultWarn(msg: string): void {
  fallbackLog ??= createLogger({ name: "provider-azure" });
  fallbackLog.warn(msg);
}

export function secretFiles(
  obj: KeyVaultObject,
  fileName: string,
  s: FetchedSecret,
  defaults: ProviderDefaults,
  warn: (msg: string) => void = defaults.onWarning ?? defaultWarn,
): OutFile[] {
  try {
    const parts = secretContent(s, {
      objectFormat: obj.objectFormat,
      writeCertAndKeyInSeparateFiles: defaults.writeCertAndKeyInSeparateFiles,
      constructPemChain: defaults.constructPemChain,
      warn: (msg) => warn(`${msg} (objectType:${obj.objectType}, objectName:${obj.objectName})`),
    });
    return parts.map((p) => ({
      path: fileName + p.suffix,
      contents: applyObjectEncoding(p.content, obj.objectType, obj.objectEncoding),
    }));
  } catch (err) {
    throw wrapObjectError(obj, err);
  }
}

export function keyFiles(obj: KeyVaultObject, fileName: string, k: FetchedKey): OutFile[] {
  try {
    return [{ path: fileName, contents: Buffer.from(jwkToPublicPem(k.jwk), "utf8") }];
  } catch (err) {
    throw wrapObjectError(obj, err);
  }
}

export function certFiles(_obj: KeyVaultObject, fileName: string, c: FetchedCertificate): OutFile[] {
  return [{ path: fileName, contents: Buffer.from(encodePem("CERTIFICATE", c.cer), "utf8") }];
}
