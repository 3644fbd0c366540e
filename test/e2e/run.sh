#!/usr/bin/env bash
# End-to-end on kind: build the image, install the chart with one `helm install`,
# mount a Key Vault secret into a pod, rotate it, and check the pod sees the
# new value. Needs Docker, kind, kubectl and helm — none of which can run on
# this project's CI machine (no Docker engine), so CI does not run this; the
# workflow in .github/workflows/e2e.yaml does, on a machine with Docker.
#
# Key Vault is the bundled emulator, run on the kind node's host network next
# to the provider (both hostNetwork on one node), reached exactly as in the
# local tests: an AzureStackCloud environment file plus HTTPS_PROXY.
set -euo pipefail
cd "$(dirname "$0")/../.."

CLUSTER="${CLUSTER:-akv-csi-e2e}"
NODE_IMAGE="${NODE_IMAGE:-kindest/node:v1.34.0}"
IMAGE="akv-csi:e2e"
STATE=/var/lib/akv-emulator   # on the kind node

for t in docker kind kubectl helm; do
  command -v "$t" >/dev/null || { echo "e2e needs $t (this script runs only where Docker works)"; exit 2; }
done

cleanup() { [ "${KEEP:-}" = 1 ] || kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; }
trap cleanup EXIT

kind create cluster --name "$CLUSTER" --image "$NODE_IMAGE" --wait 120s
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

echo "--- emulator (host network on the node)"
kubectl apply -f test/e2e/emulator.yaml
kubectl -n akv-e2e rollout status deploy/emulator --timeout=120s
docker exec "$CLUSTER-control-plane" sh -c "until [ -f $STATE/ca.pem ]; do sleep 1; done"

echo "--- helm install (one command)"
helm install akv-csi charts/akv-csi -n kube-system --wait --timeout 5m \
  --set image.repository=akv-csi --set image.tag=e2e --set image.pullPolicy=Never \
  --set enableSecretRotation=true --set rotationPollInterval=10s --set syncSecret.enabled=true \
  --set-json 'providers.azure.env=[{"name":"HTTPS_PROXY","value":"http://127.0.0.1:8444"},{"name":"NO_PROXY","value":"localhost,127.0.0.1"},{"name":"NODE_EXTRA_CA_CERTS","value":"/emulator/ca.pem"}]' \
  --set-json 'providers.azure.volumes=[{"name":"emulator","hostPath":{"path":"/var/lib/akv-emulator"}}]' \
  --set-json 'providers.azure.volumeMounts=[{"name":"emulator","mountPath":"/emulator","readOnly":true}]'

echo "--- workload"
kubectl apply -f test/e2e/workload.yaml
kubectl -n akv-e2e wait pod/e2e-app --for=condition=Ready --timeout=180s
got=$(kubectl -n akv-e2e exec e2e-app -- cat /mnt/secrets-store/db-password)
[ "$got" = "demo-db-password-v1" ] || { echo "FAIL: mounted value is '$got'"; exit 1; }
echo "mounted: ok"

echo "--- rotation"
docker exec "$CLUSTER-control-plane" sh -c \
  "curl -fsS -X PUT -H 'content-type: application/json' -d '{\"value\":\"e2e-rotated\"}' http://127.0.0.1:8444/_emulator/vaults/demo-kv/secrets/db-password"
for _ in $(seq 1 60); do
  got=$(kubectl -n akv-e2e exec e2e-app -- cat /mnt/secrets-store/db-password)
  [ "$got" = "e2e-rotated" ] && break
  sleep 5
done
[ "$got" = "e2e-rotated" ] || { echo "FAIL: rotation not seen (still '$got')"; exit 1; }
echo "rotated: ok"
kubectl -n akv-e2e get secretproviderclasspodstatuses -o wide
echo "e2e: 2 passed, 0 failed"
