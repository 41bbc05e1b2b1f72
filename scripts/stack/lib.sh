#!/usr/bin/env bash
# Shared settings and helpers for the local real-peer stack. Sourced by `stack` and by every
# component script in components/. Fixed, uncommon ports.
set -euo pipefail

STACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT_ROOT="$(cd "$STACK_ROOT/../.." && pwd)"

# Built binaries, keyed by version: survive `stack down` so a second `up` starts in seconds.
SLIPWAY_CACHE="${SLIPWAY_CACHE:-$HOME/.cache/slipway}"
BIN_CACHE="$SLIPWAY_CACHE/bin"
# Runtime state (pids, logs, certs, data, kubeconfig, env). Removed by `stack down --purge`.
STACK_DIR="${SLIPWAY_STACK_DIR:-$SLIPWAY_CACHE/stack}"
LOG_DIR="$STACK_DIR/logs"
PID_DIR="$STACK_DIR/pids"
ENV_DIR="$STACK_DIR/env.d"
mkdir -p "$BIN_CACHE" "$LOG_DIR" "$PID_DIR" "$ENV_DIR"

# Pinned versions (bump here only).
BUILDKIT_VERSION="${BUILDKIT_VERSION:-v0.34.2}"
KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.37.2}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"   # must match scripts/stack/etcd/go.mod
ACT_VERSION="${ACT_VERSION:-v0.2.89}"
ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
ROOTLESSKIT_VERSION="${ROOTLESSKIT_VERSION:-v2.3.6}"

# Ports (the runner side reaches every one on 127.0.0.1).
REGISTRY_TLS_PORT=25000     # TLS + htpasswd (bcrypt) registry
REGISTRY_PLAIN_PORT=25001   # plain HTTP, no auth
BUILDKIT_TCP_PORT=25234     # buildkitd tcp://127.0.0.1:25234 (also unix socket)
GIT_HTTP_PORT=25080         # git smart-HTTP server
GIT_DAEMON_PORT=25418       # git:// daemon
ETCD_CLIENT_PORT=25379
ETCD_PEER_PORT=25380
KUBE_APISERVER_PORT=25443
MIRROR_PORT=25090          # static download mirror (release tarballs)

# The real node (components/80-node.sh) and its pod network: a host bridge whose address is the
# node's IP, the cluster DNS server and the address where pods reach the stack's services, under
# stable names (registry.$STACK_DOMAIN, git.$STACK_DOMAIN, mirror.$STACK_DOMAIN) like kind's
# kind-registry:5000. Services that pods use listen on every address; the runner side keeps 127.0.0.1.
NODE_NAME=slipway-node
NODE_BRIDGE=slipway0
NODE_IP=10.244.0.1
POD_CIDR=10.244.0.0/24
STACK_DOMAIN=slipway.test
LISTEN_ALL=0.0.0.0
# The repositories the stack itself pushes (components 60-images and 65-buildpacks). Everything
# else in the registries was pushed by a test or a demo and is pruned when a registry starts
# (components/20-registry.sh), so runs on one machine do not pile up repositories and blobs.
FRONTEND_REPO="slipway/dockerfile-frontend"
PAUSE_REPO="slipway/pause"
PROBE_REPO="slipway/probe"
BUILDKIT_REPO="slipway/buildkit"
SAMPLE_APP_REPO="slipway/sample-app"
BUILDER_REPO="slipway/cnb-builder"
RUN_REPO="slipway/cnb-run"
STACK_REPOSITORIES=("$FRONTEND_REPO" "$PAUSE_REPO" "$PROBE_REPO" "$BUILDKIT_REPO" "$SAMPLE_APP_REPO" "$BUILDER_REPO" "$RUN_REPO")
# Debian's runc: buildkitd's OCI worker, containerd's runtime, and the builder image's.
RUNC="$(command -v runc || echo /usr/sbin/runc)"

log()  { printf '[stack %s] %s\n' "${COMPONENT:-main}" "$*" >&2; }
die()  { printf '[stack %s] ERROR: %s\n' "${COMPONENT:-main}" "$*" >&2; exit 1; }

# wait_for DESCRIPTION TIMEOUT_SECONDS CMD [ARGS...]: polls CMD until it succeeds or times out.
wait_for() {
  local what="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS >= deadline )); then
      die "$what not ready after ${timeout}s (logs: $LOG_DIR)"
    fi
    sleep 0.5
  done
}

# start_daemon NAME LOGFILE CMD [ARGS...]: starts CMD in the background detached from this shell,
# records its pid in $PID_DIR/NAME.pid. No-op if already running.
start_daemon() {
  local name="$1" logfile="$2"; shift 2
  if is_running "$name"; then log "$name already running (pid $(cat "$PID_DIR/$name.pid"))"; return 0; fi
  # In the stack's own directory: a daemon (and what it spawns, e.g. buildkitd's git) must not
  # keep the caller's working directory, which may be a checkout that is later removed.
  (cd "$STACK_DIR" && exec setsid "$@") >>"$logfile" 2>&1 < /dev/null &
  echo $! > "$PID_DIR/$name.pid"
  # The program's name, so a pid file left by a dead stack never matches a recycled pid.
  local program
  for program in "$@"; do [[ $program == env || $program == *=* ]] || break; done
  basename "$program" > "$PID_DIR/$name.cmd"
}

is_running() {
  local f="$PID_DIR/$1.pid" pid
  [[ -f $f ]] || return 1
  pid="$(cat "$f")"
  kill -0 "$pid" 2>/dev/null || return 1
  # A captured string, not `tr … | grep -q`: under pipefail an early grep exit can fail the pipe.
  local cmdline program
  cmdline="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" || return 1
  program="$(cat "$PID_DIR/$1.cmd" 2>/dev/null || echo "$1")"
  [[ $cmdline == *"$program"* ]]
}

# stop_daemon NAME: SIGTERM, then SIGKILL after 10s.
stop_daemon() {
  local f="$PID_DIR/$1.pid" pid
  [[ -f $f ]] || return 0
  pid="$(cat "$f")"
  if is_running "$1"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f" "$PID_DIR/$1.cmd"
}

# write_env NAME KEY=VALUE...: facts this component exports to tests (merged into $STACK_DIR/stack.env).
write_env() { local name="$1"; shift; printf '%s\n' "$@" > "$ENV_DIR/$name.env"; }

# go_build_module MODULE@VERSION OUTDIR PKG...: builds packages of a module in its own downloaded
# source tree (needed when go.mod has exclude/replace lines that forbid `go install mod@ver`).
go_build_module() {
  local modver="$1" outdir="$2"; shift 2
  local dir
  dir="$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "$modver" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
  [[ -n $dir ]] || die "cannot download $modver"
  mkdir -p "$outdir"
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' -o "$outdir/" "$@")
}

# --- shared by components -----------------------------------------------------------------------
# Where the control plane (50-kube) keeps its certificates and listens; the node's kubelet and
# kube-proxy (80-node) get kubeconfigs from the same CA.
KUBE_PKI="$STACK_DIR/kube/pki"
KUBE_SERVER="https://127.0.0.1:$KUBE_APISERVER_PORT"
BUILDKIT_BIN="$BIN_CACHE/buildkit-$BUILDKIT_VERSION"

# write_kubeconfig FILE CERT_NAME: a private kubeconfig for the user of $KUBE_PKI/CERT_NAME.pem.
write_kubeconfig() {
  (umask 077 && cat > "$1" <<YAML
apiVersion: v1
kind: Config
clusters:
  - name: slipway
    cluster:
      server: $KUBE_SERVER
      certificate-authority: $KUBE_PKI/ca.pem
users:
  - name: $2
    user:
      client-certificate: $KUBE_PKI/$2.pem
      client-key: $KUBE_PKI/$2-key.pem
contexts:
  - name: slipway
    context:
      cluster: slipway
      user: $2
current-context: slipway
YAML
  )
}

# Images the stack builds FROM scratch and pushes to both registries (60-images, 65-buildpacks).
# fact KEY: a fact another component wrote with write_env (their values are known once they are up).
fact() { cat "$ENV_DIR"/*.env 2>/dev/null | sed -n "s/^$1=//p" | head -n 1; }

# A DOCKER_CONFIG for buildctl (it reads registry auth client-side), private and short-lived.
with_registry_auth() {
  local dir auth rc=0
  dir="$(mktemp -d)"
  auth="$(printf '%s:%s' "$(fact REGISTRY_USER)" "$(cat "$(fact REGISTRY_PASSWORD_FILE)")" | base64 -w0)"
  (umask 077 && printf '{"auths":{"%s":{"auth":"%s"}}}' "$(fact REGISTRY_TLS)" "$auth" > "$dir/config.json")
  # Removed even when the command fails (set -e would otherwise leave the credentials behind).
  DOCKER_CONFIG="$dir" "$@" || rc=$?
  rm -rf "$dir"
  return $rc
}

registry_url() { # registry_url REGISTRY: https for the TLS registry, http for the plain one
  if [[ $1 == "$(fact REGISTRY_TLS)" ]]; then echo "https://$1"; else echo "http://$1"; fi
}

# registry_curl REGISTRY CURL_ARGS...: curl with the TLS registry's CA and credentials (on stdin).
registry_curl() {
  local registry="$1" auth=(); shift
  [[ $registry == "$(fact REGISTRY_TLS)" ]] && auth=(--cacert "$(fact REGISTRY_CA)" -K -)
  curl -fs "${auth[@]}" -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' "$@" \
    <<<"user = \"$(fact REGISTRY_USER):$(cat "$(fact REGISTRY_PASSWORD_FILE)")\""
}

has_tag() { # has_tag REGISTRY REPO TAG (false before the registry's facts exist)
  [[ -n $1 ]] && registry_curl "$1" -o /dev/null "$(registry_url "$1")/v2/$2/manifests/$3"
}

# The digest the registry serves for REPO:TAG (what a kubelet pulling the tag gets).
tag_digest() { # tag_digest REGISTRY REPO TAG
  registry_curl "$1" -I "$(registry_url "$1")/v2/$2/manifests/$3" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'
}

# build_image CONTEXT NAME...: builds CONTEXT's Dockerfile (FROM scratch) and pushes every NAME.
build_image() {
  local context="$1" names; shift
  names="$(IFS=,; echo "$*")"
  with_registry_auth "$BUILDKIT_BIN/buildctl" --addr "$(fact BUILDKIT_HOST)" build --progress=quiet \
    --frontend dockerfile.v0 --local context="$context" --local dockerfile="$context" \
    --output "type=image,\"name=$names\",push=true"
}

# both_registries REPO TAG...: the names of REPO:TAG in the plain and in the TLS registry.
both_registries() {
  local repo="$1" registry tag; shift
  for registry in "$(fact REGISTRY_PLAIN)" "$(fact REGISTRY_TLS)"; do
    for tag in "$@"; do echo "$registry/$repo:$tag"; done
  done
}

on_both_registries() { # on_both_registries REPO TAG
  has_tag "$(fact REGISTRY_PLAIN)" "$1" "$2" && has_tag "$(fact REGISTRY_TLS)" "$1" "$2"
}

