#!/usr/bin/env bash
# Builds the pinned third-party test peers from the Go module proxy into a cache
# outside the repo: ${AKV_CSI_PEER_CACHE:-$HOME/.cache/akv-csi/peers}/<name>-<version>/bin/.
# Usage: test/peers/build.sh [name...]   (default: all)
# Names: csi-sanity secrets-store-csi-driver azure-provider etcd kube-apiserver helm
# A finished build writes <dir>/.done holding its version; a matching stamp skips the build.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$HERE/versions.env"
# shellcheck source=lib/go-build.sh
. "$HERE/lib/go-build.sh"

CACHE=${AKV_CSI_PEER_CACHE:-$HOME/.cache/akv-csi/peers}
export GOFLAGS=-trimpath GOTOOLCHAIN=local
ALL=(csi-sanity secrets-store-csi-driver azure-provider etcd kube-apiserver helm)

peer_version() {
  case "$1" in
    csi-sanity) echo "$CSI_SANITY_VERSION" ;;
    secrets-store-csi-driver) echo "$SECRETS_STORE_CSI_DRIVER_VERSION" ;;
    azure-provider) echo "$AZURE_PROVIDER_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    kube-apiserver) echo "$KUBERNETES_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
    *) return 1 ;;
  esac
}

# build_<name> BIN_DIR VERSION — each leaves its binaries in BIN_DIR.
build_csi-sanity() { GOBIN=$1 go install "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity@$2"; }
# The driver and provider go through build_required (see lib/go-build.sh) with the
# version ldflags and CGO_ENABLED=0 of their Makefiles, as in the upstream images.
# The driver's logging module monis.app/mlog is refused by the proxy here (403),
# so our own lib/mlog-shim stands in for it (same calls, klog underneath).
build_secrets-store-csi-driver() {
  build_required sigs.k8s.io/secrets-store-csi-driver "$2" \
    sigs.k8s.io/secrets-store-csi-driver/cmd/secrets-store-csi-driver "$1/secrets-store-csi-driver" \
    "-X sigs.k8s.io/secrets-store-csi-driver/pkg/version.BuildVersion=$2" \
    "monis.app/mlog=$HERE/lib/mlog-shim"
}
build_azure-provider() {
  build_required github.com/Azure/secrets-store-csi-driver-provider-azure "$2" \
    github.com/Azure/secrets-store-csi-driver-provider-azure/cmd "$1/azure-provider" \
    "-X github.com/Azure/secrets-store-csi-driver-provider-azure/pkg/version.BuildVersion=$2"
}
build_etcd() { build_etcd_wrapper "$1" "$2"; }
build_kube-apiserver() { build_kubernetes_wrapper "$1" "$2"; }
# Helm's Makefile sets its version; without it `helm version` says only v4.3.
build_helm() { GOBIN=$1 go install -ldflags "-X helm.sh/helm/v4/internal/version.version=$2" "helm.sh/helm/v4/cmd/helm@$2"; }

build_one() {
  local name=$1 version dir start status=0 lock
  if ! version=$(peer_version "$name"); then
    echo "$name: unknown peer (known: ${ALL[*]})"; return 1
  fi
  dir="$CACHE/$name-$version"
  mkdir -p "$dir/bin"
  # A per-peer lock lets a background build and a foreground run share the cache.
  exec {lock}>"$dir/.lock"
  flock "$lock"
  start=$(date +%s)
  if [[ -f "$dir/.done" && "$(head -n1 "$dir/.done")" == "$version" ]]; then
    echo "$name $version: cached $(( $(date +%s) - start ))s"
  else
    rm -f "$dir/.done"
    local log="$dir/build.log"
    # Not inside `if`: that context would switch off the set -e the builders rely on.
    "build_$name" "$dir/bin" "$version" >"$log" 2>&1
    if [[ $? -eq 0 ]]; then
      local secs=$(( $(date +%s) - start ))
      { echo "$version"; echo "built $(date -u +%FT%TZ) in ${secs}s with $(go env GOVERSION)"; ls -l "$dir/bin"; } >"$dir/.done"
      echo "$name $version: cold ${secs}s ($(du -sh "$dir/bin" | cut -f1) in $dir/bin)"
    else
      status=1
      echo "$name $version: FAILED after $(( $(date +%s) - start ))s; last lines of $log:"
      tail -n 15 "$log" | sed 's/^/  /'
    fi
  fi
  flock -u "$lock"; exec {lock}>&-
  return $status
}

main() {
  command -v go >/dev/null || { echo "build.sh: go is not installed"; return 1; }
  local names=("$@") failed=0 n
  [[ ${#names[@]} -eq 0 ]] && names=("${ALL[@]}")
  for n in "${names[@]}"; do build_one "$n" || failed=1; done
  return $failed
}

# One line, so a running build is unaffected by edits to this file.
main "$@"; exit $?
