{{/* Chart name, overridable. */}}
{{- define "akv-csi.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped base name; the release name alone when it already contains the chart name. */}}
{{- define "akv-csi.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "akv-csi.driverName" -}}secrets-store.csi.k8s.io{{- end -}}

{{- define "akv-csi.driver.fullname" -}}
{{- printf "%s-driver" (include "akv-csi.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "akv-csi.providerAzure.fullname" -}}
{{- printf "%s-provider-azure" (include "akv-csi.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "akv-csi.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "akv-csi.labels" -}}
helm.sh/chart: {{ include "akv-csi.chart" . }}
app.kubernetes.io/name: {{ include "akv-csi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: akv-csi
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component (driver or provider-azure); never change across upgrades. */}}
{{- define "akv-csi.selectorLabels" -}}
app.kubernetes.io/name: {{ include "akv-csi.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "akv-csi.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
Old-generation heap cap in MiB for NODE_OPTIONS: half of the container's memory
limit, so the rest covers new space, code, buffers and the gRPC/TLS native side
before the kernel OOM-kills the pod. Takes a Kubernetes quantity; empty when no limit.
*/}}
{{- define "akv-csi.heapMiB" -}}
{{- $q := toString . -}}
{{- $mib := 0 -}}
{{- if regexMatch "^[0-9]+Gi$" $q -}}{{- $mib = mul (trimSuffix "Gi" $q | atoi) 1024 -}}
{{- else if regexMatch "^[0-9]+Mi$" $q -}}{{- $mib = trimSuffix "Mi" $q | atoi -}}
{{- else if regexMatch "^[0-9]+Ki$" $q -}}{{- $mib = div (trimSuffix "Ki" $q | atoi) 1024 -}}
{{- else if regexMatch "^[0-9]+G$" $q -}}{{- $mib = div (mul (trimSuffix "G" $q | atoi) 1000000000) 1048576 -}}
{{- else if regexMatch "^[0-9]+M$" $q -}}{{- $mib = div (mul (trimSuffix "M" $q | atoi) 1000000) 1048576 -}}
{{- else if regexMatch "^[0-9]+$" $q -}}{{- $mib = div ($q | atoi) 1048576 -}}
{{- else -}}{{- fail (printf "memory limit %q: use an integer quantity such as 200Mi or 1Gi" $q) -}}
{{- end -}}
{{- $heap := div $mib 2 -}}
{{- if lt $heap 32 -}}{{- fail (printf "memory limit %q leaves under 32Mi of heap; Node needs at least 64Mi" $q) -}}{{- end -}}
{{- $heap -}}
{{- end -}}

{{/* NODE_OPTIONS env entry for a resources block, or nothing without a memory limit. */}}
{{- define "akv-csi.nodeOptionsEnv" -}}
{{- $limit := "" -}}
{{- with .limits }}{{ $limit = .memory | default "" }}{{ end -}}
{{- if $limit -}}
- name: NODE_OPTIONS
  value: "--max-old-space-size={{ include "akv-csi.heapMiB" $limit }}"
{{- end -}}
{{- end -}}
