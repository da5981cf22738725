{{/*
Names and labels.
*/}}
{{- define "keyplane.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "keyplane.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "keyplane.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The server's pods. The component label keeps the migration Job's pod out of
the Service, the PodDisruptionBudget and the spreading rules.
*/}}
{{- define "keyplane.selectorLabels" -}}
{{ include "keyplane.instanceLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "keyplane.instanceLabels" -}}
app.kubernetes.io/name: {{ include "keyplane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Common labels (without the component: each object adds its own).
*/}}
{{- define "keyplane.labels" -}}
helm.sh/chart: {{ include "keyplane.chart" . }}
{{ include "keyplane.instanceLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: keyplane
{{- end }}

{{- define "keyplane.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "keyplane.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "keyplane.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The Secret the pods read their KEYPLANE_* secrets from.
*/}}
{{- define "keyplane.secretName" -}}
{{- default (include "keyplane.fullname" .) .Values.existingSecret }}
{{- end }}

{{/*
Ports of the settings (the server's defaults when absent).
*/}}
{{- define "keyplane.httpPort" -}}
{{- dig "serve" "port" 4000 .Values.config | int }}
{{- end }}

{{- define "keyplane.grpcPort" -}}
{{- dig "serve" "grpc_port" 4001 .Values.config | int }}
{{- end }}

{{- define "keyplane.shutdownTimeout" -}}
{{- dig "serve" "shutdown_timeout_secs" 30 .Values.config | int }}
{{- end }}

{{- define "keyplane.baseDomain" -}}
{{- dig "base_domain" "projects.localhost" .Values.config }}
{{- end }}

{{- define "keyplane.mailDir" -}}
{{- dig "courier" "file_dir" "./data/mail" .Values.config }}
{{- end }}

{{- define "keyplane.sqlite" -}}
{{- if eq .Values.database.driver "sqlite" }}true{{ end }}
{{- end }}

{{/*
Whether a Redis URL reaches the pods.
*/}}
{{- define "keyplane.redis" -}}
{{- if or .Values.redis.enabled (and (not .Values.existingSecret) .Values.secrets.redisUrl) }}true{{ end }}
{{- end }}

{{/*
Whether the migration Job runs (and so the pods start with --no-migrate).
*/}}
{{- define "keyplane.migrationJob" -}}
{{- if and .Values.migrations.enabled (not (include "keyplane.sqlite" .)) }}true{{ end }}
{{- end }}

{{/*
The settings file: .Values.config plus what the chart decides.
*/}}
{{- define "keyplane.settings" -}}
{{- $cfg := deepCopy .Values.config }}
{{- if include "keyplane.sqlite" . }}
{{- $db := deepCopy (default dict (get $cfg "database")) }}
{{- $_ := set $db "url" (printf "sqlite://%s/keyplane.db" (trimSuffix "/" .Values.persistence.mountPath)) }}
{{- $_ := set $cfg "database" $db }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/*
The Secret's data: each non-empty secret as its KEYPLANE_* variable.
*/}}
{{- define "keyplane.secretData" -}}
{{- $s := .Values.secrets }}
{{- $env := dict }}
{{- if $s.databaseUrl }}{{ $_ := set $env "KEYPLANE_DATABASE__URL" $s.databaseUrl }}{{ end }}
{{- if $s.redisUrl }}{{ $_ := set $env "KEYPLANE_REDIS__URL" $s.redisUrl }}{{ end }}
{{- if $s.smtpUrl }}{{ $_ := set $env "KEYPLANE_COURIER__SMTP_URL" $s.smtpUrl }}{{ end }}
{{- if $s.encryptionKeys }}{{ $_ := set $env "KEYPLANE_ENCRYPTION__KEYS" (printf "[%s]" (join "," $s.encryptionKeys)) }}{{ end }}
{{- if $s.stripeSecretKey }}{{ $_ := set $env "KEYPLANE_BILLING__STRIPE_SECRET_KEY" $s.stripeSecretKey }}{{ end }}
{{- if $s.stripeWebhookSecret }}{{ $_ := set $env "KEYPLANE_BILLING__STRIPE_WEBHOOK_SECRET" $s.stripeWebhookSecret }}{{ end }}
{{- range $k, $v := $s.extra }}{{ $_ := set $env $k $v }}{{ end }}
{{- range $k := keys $env | sortAlpha }}
{{ $k }}: {{ get $env $k | toString | b64enc | quote }}
{{- end }}
{{- end }}

{{/*
Where the pods mount the settings file. It is passed with `--config`;
a KEYPLANE_CONFIG_FILE variable (which the CLI also reads) would be ignored
beside it, so extraEnv and secrets.extra may not set one.
*/}}
{{- define "keyplane.configFile" -}}
/etc/keyplane/keyplane.yaml
{{- end }}

{{/*
Shared by the Deployment and the migration Job: the secrets (.secret names
the Secret) and the extra environment.
*/}}
{{- define "keyplane.env" -}}
{{- with .root.Values.extraEnv }}
env:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "keyplane.envFrom" -}}
envFrom:
  - secretRef:
      name: {{ .secret }}
  {{- with .root.Values.extraEnvFrom }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/*
Checks of combinations the schema cannot express. They stop `helm install`
and `helm template` with the reason.
*/}}
{{- define "keyplane.validate" -}}
{{- $sqlite := include "keyplane.sqlite" . }}
{{- $redis := include "keyplane.redis" . }}
{{- $several := or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled }}
{{- if and $several $sqlite }}
{{- fail "keyplane: replicaCount > 1 or autoscaling needs database.driver=postgres: SQLite is a file of one pod (docs/helm.md)" }}
{{- end }}
{{- if and $several (not $redis) }}
{{- fail "keyplane: replicaCount > 1 or autoscaling needs Redis (redis.enabled=true with secrets.redisUrl or existingSecret's KEYPLANE_REDIS__URL): without it caches and rate limits are per replica (docs/operations.md)" }}
{{- end }}
{{- if not .Values.existingSecret }}
{{- $db := .Values.secrets.databaseUrl }}
{{- if and (not $sqlite) (not $db) }}
{{- fail "keyplane: database.driver=postgres needs secrets.databaseUrl or existingSecret" }}
{{- end }}
{{- if and $db (not $sqlite) (not (or (hasPrefix "postgres://" $db) (hasPrefix "postgresql://" $db))) }}
{{- fail "keyplane: secrets.databaseUrl must start with postgres:// or postgresql:// when database.driver=postgres" }}
{{- end }}
{{- if and (not $sqlite) (not .Values.secrets.encryptionKeys) }}
{{- fail "keyplane: database.driver=postgres needs secrets.encryptionKeys (or existingSecret with KEYPLANE_ENCRYPTION__KEYS): every replica must seal project secrets with the same key; make one with `keyplane encryption generate-key` (docs/security.md)" }}
{{- end }}
{{- if and $db $sqlite }}
{{- fail "keyplane: secrets.databaseUrl is set but database.driver=sqlite (the chart sets the SQLite URL); use database.driver=postgres" }}
{{- end }}
{{- if and .Values.redis.enabled (not .Values.secrets.redisUrl) }}
{{- fail "keyplane: redis.enabled=true needs secrets.redisUrl (or existingSecret)" }}
{{- end }}
{{- if and .Values.secrets.stripeSecretKey (not .Values.secrets.stripeWebhookSecret) }}
{{- fail "keyplane: secrets.stripeSecretKey needs secrets.stripeWebhookSecret (the server refuses to start without it)" }}
{{- end }}
{{- end }}
{{- range .Values.extraEnv }}
{{- if eq .name "KEYPLANE_CONFIG_FILE" }}
{{- fail "keyplane: extraEnv must not set KEYPLANE_CONFIG_FILE: the chart passes --config, which wins over it" }}
{{- end }}
{{- end }}
{{- if hasKey .Values.secrets.extra "KEYPLANE_CONFIG_FILE" }}
{{- fail "keyplane: secrets.extra must not set KEYPLANE_CONFIG_FILE: the chart passes --config, which wins over it" }}
{{- end }}
{{- if .Values.terminationGracePeriodSeconds }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int (include "keyplane.shutdownTimeout" .)) }}
{{- fail "keyplane: terminationGracePeriodSeconds must be larger than config.serve.shutdown_timeout_secs" }}
{{- end }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (not (kindIs "invalid" .Values.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" .Values.podDisruptionBudget.maxUnavailable)) }}
{{- fail "keyplane: podDisruptionBudget takes minAvailable or maxUnavailable, not both" }}
{{- end }}
{{- with .Values.ingress.controlPlaneHost }}
{{- $base := include "keyplane.baseDomain" $ }}
{{- if and (hasSuffix (printf ".%s" $base) .) (not (contains "." (trimSuffix (printf ".%s" $base) .))) }}
{{- fail (printf "keyplane: ingress.controlPlaneHost %s is <slug>.%s, a tenant host; pick a host outside *.%s" . $base $base) }}
{{- end }}
{{- end }}
{{- end }}
