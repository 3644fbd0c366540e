#!/usr/bin/env bash
# Fetches Lowkey Vault (an independent Key Vault implementation, Java) from
# Maven Central into the peer cache, idempotently:
#   ${AKV_CSI_PEER_CACHE:-$HOME/.cache/akv-csi/peers}/lowkey-vault-<ver>/lowkey-vault-app-<ver>.jar
# The version is LOWKEY_VAULT_VERSION, else the newest Central serves (LATEST).
# When Central serves no such artifact, <cache>/lowkey-vault.unavailable records
# why, and the peer test reports that instead of a missing build step.
set -uo pipefail

CACHE=${AKV_CSI_PEER_CACHE:-$HOME/.cache/akv-csi/peers}
GA=com.github.nagyesta.lowkey-vault:lowkey-vault-app
WANT=${LOWKEY_VAULT_VERSION:-LATEST}
start=$(date +%s)
mkdir -p "$CACHE"

if [[ "$WANT" != LATEST && -f "$CACHE/lowkey-vault-$WANT/.done" ]]; then
  echo "lowkey-vault $WANT: cached $(( $(date +%s) - start ))s"
  exit 0
fi
if ! command -v mvn >/dev/null; then
  echo "lowkey-vault: mvn not found" | tee "$CACHE/lowkey-vault.unavailable"
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log="$tmp/mvn.log"
if mvn -B -q dependency:copy -Dartifact="$GA:$WANT" -Dtransitive=false -DoutputDirectory="$tmp/out" >"$log" 2>&1; then
  jar=$(ls "$tmp"/out/lowkey-vault-app-*.jar 2>/dev/null | head -n1)
  ver=$(basename "$jar" .jar); ver=${ver#lowkey-vault-app-}
  dir="$CACHE/lowkey-vault-$ver"
  mkdir -p "$dir"
  mv -f "$jar" "$dir/"
  echo "$ver" >"$dir/.done"
  rm -f "$CACHE/lowkey-vault.unavailable"
  echo "lowkey-vault $ver: fetched $(( $(date +%s) - start ))s"
  exit 0
fi
cached=$(ls -d "$CACHE"/lowkey-vault-*/.done 2>/dev/null | sort -V | tail -n1)
if [[ "$WANT" == LATEST && -n "$cached" ]]; then
  echo "lowkey-vault $(head -n1 "$cached"): cached (newest not resolvable now) $(( $(date +%s) - start ))s"
  exit 0
fi
if grep -qE "Could not find (metadata|artifact)" "$log"; then
  echo "lowkey-vault: Maven Central does not serve $GA:$WANT here ($(date -u +%F))" | tee "$CACHE/lowkey-vault.unavailable"
else
  echo "lowkey-vault: mvn failed (see below)"; tail -n 20 "$log"
fi
echo "lowkey-vault: failed after $(( $(date +%s) - start ))s"
exit 1
