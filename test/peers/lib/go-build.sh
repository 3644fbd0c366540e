# Wrapper-module builds for peers whose own go.mod has replace lines, which
# `go install mod/cmd@version` refuses. A throwaway module that requires them is
# built instead: a dependency's replace lines are ignored. Sourced by build.sh.

# go_mod_file MODULE@VERSION — path of that version's go.mod in the module cache.
go_mod_file() {
  go mod download -json "$1" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p'
}

# in_temp_module NAME FUNCTION ARGS... — runs FUNCTION inside a fresh module in a
# temp dir (removed afterwards), failing on the first failing command.
in_temp_module() {
  local name=$1 fn=$2 work status
  shift 2
  work=$(mktemp -d "${TMPDIR:-/tmp}/akv-csi-peer-$name.XXXXXX")
  ( set -euo pipefail; cd "$work"; go mod init "local/akv-csi-peer-$name" >/dev/null 2>&1; "$fn" "$@" )
  status=$?
  rm -rf "$work"
  return $status
}

_etcd_in_module() {
  local bin=$1 v=$2
  go get "go.etcd.io/etcd/server/v3@$v" "go.etcd.io/etcd/etcdctl/v3@$v"
  go build -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3
  go build -ldflags "-s -w" -o "$bin/etcdctl" go.etcd.io/etcd/etcdctl/v3
}

# build_etcd_wrapper BIN_DIR VERSION — etcd and etcdctl.
build_etcd_wrapper() { in_temp_module etcd _etcd_in_module "$@"; }

_kubernetes_in_module() {
  local bin=$1 v=$2 mod minor staging ldflags m
  mod=$(go_mod_file "k8s.io/kubernetes@$v")
  [[ -n "$mod" ]]
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with
  # ./staging paths; each is published as v0.X.Y for release v1.X.Y (kubernetes#79384).
  staging=v0.${v#v1.}
  for m in $(awk '$2=="v0.0.0"{print $1}' "$mod"); do
    go mod edit "-replace=$m=$m@$staging"
  done
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$v" "k8s.io/kubernetes/cmd/kubectl@$v"
  minor=${v#v1.}; minor=${minor%%.*}
  # Without these /version reports v0.0.0-master, which helm's kubeVersion checks
  # and kubectl's version skew logic both read.
  ldflags="-s -w"
  for m in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $m.gitVersion=$v -X $m.gitMajor=1 -X $m.gitMinor=$minor"
    ldflags+=" -X $m.gitTreeState=clean -X $m.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  go build -ldflags "$ldflags" -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  go build -ldflags "$ldflags" -o "$bin/kubectl" k8s.io/kubernetes/cmd/kubectl
}

# build_kubernetes_wrapper BIN_DIR VERSION — kube-apiserver and kubectl.
build_kubernetes_wrapper() { in_temp_module kubernetes _kubernetes_in_module "$@"; }

_require_in_module() {
  local module=$1 v=$2 pkg=$3 out=$4 ldflags=$5 replace=$6 theirs
  go mod edit "-require=$module@$v"
  # Their go line, as `go install pkg@v` would use: it sets the binary's GODEBUG defaults.
  theirs=$(awk '$1=="go"{print $2; exit}' "$(go_mod_file "$module@$v")")
  [[ -n "$theirs" ]] && go mod edit "-go=$theirs"
  [[ -n "$replace" ]] && go mod edit "-replace=$replace"
  # Their go.sum, as `go install pkg@v` uses it: the checksum database here has no
  # entry for some pseudo-versions they pin (404), and their sums are the ones to trust.
  cat "$(go mod download -json "$module@$v" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')/go.sum" >>go.sum
  # -mod=mod fills go.sum from the one requirement. Unlike `go install pkg@v` or
  # `go get`, `go build` makes no deprecation lookup, which needs the module's
  # version list, and the proxy here answers 403 for some lists.
  CGO_ENABLED=0 go build -mod=mod -ldflags "$ldflags" -o "$out" "$pkg"
}

# build_required MODULE VERSION PACKAGE OUTFILE [LDFLAGS] [OLD=NEW replace] — the
# same build list as `go install PACKAGE@VERSION` (a module with no replace lines),
# through a wrapper module.
build_required() {
  local name
  name=$(basename "$4")
  in_temp_module "$name" _require_in_module "$1" "$2" "$3" "$4" "${5:-}" "${6:-}"
}
