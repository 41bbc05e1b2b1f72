#!/usr/bin/env bash
# BuildKit: buildkitd + buildctl compiled from the Go module proxy at $BUILDKIT_VERSION (plus the
# Dockerfile frontend binary, packed as a gateway image by 60-images), run rootful with Debian's
# runc, listening on a unix socket and on tcp://127.0.0.1:$BUILDKIT_TCP_PORT like the seed's
# `--addr tcp://buildkitd:1234`. Trusts the TLS registry's CA; the plain registry is http.
source "$(dirname "$0")/../lib.sh"
STATE="$STACK_DIR/buildkit"
BIN="$BIN_CACHE/buildkit-$BUILDKIT_VERSION"
SOCKET="$STATE/buildkitd.sock"

install() {
  [[ -x $BIN/buildkitd && -x $BIN/buildctl && -x $BIN/dockerfile-frontend ]] && return 0
  log "building buildkitd, buildctl and dockerfile-frontend $BUILDKIT_VERSION from the Go module proxy"
  # go.mod of buildkit has exclude directives, so `go install module@version` refuses: build inside
  # the downloaded module instead.
  go_build_module "github.com/moby/buildkit@$BUILDKIT_VERSION" "$BIN.tmp" \
    ./cmd/buildkitd ./cmd/buildctl ./frontend/dockerfile/cmd/dockerfile-frontend
  rm -rf "$BIN" && mv "$BIN.tmp" "$BIN"
}

write_config() {
  local registry_ca
  registry_ca="$(sed -n 's/^REGISTRY_CA=//p' "$ENV_DIR/registry.env" 2>/dev/null || true)"
  [[ -n $registry_ca ]] || die "the registry component must be up first (no REGISTRY_CA)"
  cat > "$STATE/buildkitd.toml" <<TOML
[grpc]
  address = ["unix://$SOCKET", "tcp://127.0.0.1:$BUILDKIT_TCP_PORT"]

[worker.oci]
  enabled = true
  binary = "$RUNC"
  snapshotter = "$(snapshotter)"
  gc = true
  gckeepstorage = "10GB"

[worker.containerd]
  enabled = false

# Loopback registries default to plain HTTP in BuildKit's resolver unless http = false is explicit.
[registry."127.0.0.1:$REGISTRY_TLS_PORT"]
  http = false
  ca = ["$registry_ca"]
[registry."localhost:$REGISTRY_TLS_PORT"]
  http = false
  ca = ["$registry_ca"]
[registry."127.0.0.1:$REGISTRY_PLAIN_PORT"]
  http = true
  insecure = true
[registry."localhost:$REGISTRY_PLAIN_PORT"]
  http = true
  insecure = true
TOML
}

# overlayfs is much faster, but some sandboxes (overlay-on-overlay roots) refuse the mount: probe.
snapshotter() {
  local probe="$STATE/overlay-probe"
  mkdir -p "$probe"/{lower,upper,work,merged}
  if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
    umount "$probe/merged"; rm -rf "$probe"; echo overlayfs
  else
    rm -rf "$probe"; echo native
  fi
}

buildctl_ok() { "$BIN/buildctl" --addr "$1" debug workers >/dev/null 2>&1; }

up() {
  [[ $(id -u) -eq 0 ]] || die "buildkitd runs rootful here (runc); run the stack as root"
  mkdir -p "$STATE/root"
  write_config
  start_daemon buildkitd "$LOG_DIR/buildkitd.log" "$BIN/buildkitd" --config "$STATE/buildkitd.toml" --root "$STATE/root"
  wait_for "buildkitd on unix://$SOCKET" 60 buildctl_ok "unix://$SOCKET"
  wait_for "buildkitd on tcp://127.0.0.1:$BUILDKIT_TCP_PORT" 30 buildctl_ok "tcp://127.0.0.1:$BUILDKIT_TCP_PORT"
  write_env buildkit \
    "BUILDKIT_HOST=unix://$SOCKET" \
    "BUILDKIT_TCP_ADDR=tcp://127.0.0.1:$BUILDKIT_TCP_PORT" \
    "BUILDCTL=$BIN/buildctl" \
    "BUILDKITD=$BIN/buildkitd" \
    "BUILDKIT_BIN_DIR=$BIN" \
    "BUILDKIT_VERSION=$BUILDKIT_VERSION"
}

down() { stop_daemon buildkitd; rm -f "$ENV_DIR/buildkit.env"; }

status() {
  buildctl_ok "unix://$SOCKET" && buildctl_ok "tcp://127.0.0.1:$BUILDKIT_TCP_PORT" &&
    echo "unix://$SOCKET, tcp://127.0.0.1:$BUILDKIT_TCP_PORT ($BUILDKIT_VERSION)"
}

"${1:?usage: $0 install|up|down|status}"
