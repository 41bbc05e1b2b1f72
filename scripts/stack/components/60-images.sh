#!/usr/bin/env bash
# Images and artefacts the tests need, made here because no image registry can be reached:
#   - BuildKit's Dockerfile frontend packed FROM scratch and pushed to both local registries, so
#     the seed's `--frontend gateway.v0 --opt source=<image>` path runs for real;
#   - a release-style buildkit-<version>.linux-amd64.tar.gz (bin/buildctl, bin/buildkitd) with its
#     sha256, for setup-buildctl's download/verify/cache tests.
source "$(dirname "$0")/../lib.sh"
STATE="$STACK_DIR/images"
BIN="$BIN_CACHE/buildkit-$BUILDKIT_VERSION"
FRONTEND_REPO="slipway/dockerfile-frontend"
TARBALL="$SLIPWAY_CACHE/dist/buildkit-$BUILDKIT_VERSION.linux-amd64.tar.gz"

install() { :; }

fact() { sed -n "s/^$1=//p" "$ENV_DIR"/*.env | head -n 1; }

# A DOCKER_CONFIG for buildctl (it reads registry auth client-side), private and short-lived.
with_registry_auth() {
  local dir auth
  dir="$(mktemp -d)"
  auth="$(printf '%s:%s' "$(fact REGISTRY_USER)" "$(cat "$(fact REGISTRY_PASSWORD_FILE)")" | base64 -w0)"
  (umask 077 && printf '{"auths":{"%s":{"auth":"%s"}}}' "$(fact REGISTRY_TLS)" "$auth" > "$dir/config.json")
  DOCKER_CONFIG="$dir" "$@"
  local rc=$?
  rm -rf "$dir"
  return $rc
}

has_tag() {
  local registry="$1" tag="$2" auth=()
  [[ $registry == "$(fact REGISTRY_TLS)" ]] && auth=(--cacert "$(fact REGISTRY_CA)" -K -)
  curl -fs -o /dev/null "${auth[@]}" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "$([[ $registry == "$(fact REGISTRY_TLS)" ]] && echo https || echo http)://$registry/v2/$FRONTEND_REPO/manifests/$tag" \
    <<<"user = \"$(fact REGISTRY_USER):$(cat "$(fact REGISTRY_PASSWORD_FILE)")\""
}

push_frontend_image() {
  local context="$STATE/frontend-context"
  mkdir -p "$context"
  cp "$BIN/dockerfile-frontend" "$context/dockerfile-frontend"
  cat > "$context/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY dockerfile-frontend /bin/dockerfile-frontend
LABEL moby.buildkit.frontend.network.none="true"
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts"
ENTRYPOINT ["/bin/dockerfile-frontend"]
DOCKERFILE
  log "packing the Dockerfile frontend FROM scratch and pushing it to both registries"
  with_registry_auth "$BIN/buildctl" --addr "$(fact BUILDKIT_HOST)" build --progress=quiet \
    --frontend dockerfile.v0 --local context="$context" --local dockerfile="$context" \
    --output "type=image,\"name=$(fact REGISTRY_TLS)/$FRONTEND_REPO:$BUILDKIT_VERSION,$(fact REGISTRY_PLAIN)/$FRONTEND_REPO:$BUILDKIT_VERSION\",push=true"
}

# Deterministic tar (sorted, fixed mtime/owner) so the checksum is stable across re-creation.
make_tarball() {
  [[ -f $TARBALL && -f $TARBALL.sha256 ]] && return 0
  local staging="$STATE/tarball"
  rm -rf "$staging" && mkdir -p "$staging/bin" "$(dirname "$TARBALL")"
  cp "$BIN/buildctl" "$BIN/buildkitd" "$staging/bin/"
  tar --sort=name --mtime='2020-01-01 00:00Z' --owner=0 --group=0 --numeric-owner \
    -czf "$TARBALL.tmp" -C "$staging" bin
  mv "$TARBALL.tmp" "$TARBALL"
  sha256sum "$TARBALL" | cut -d' ' -f1 > "$TARBALL.sha256"
  rm -rf "$staging"
}

up() {
  mkdir -p "$STATE"
  if ! has_tag "$(fact REGISTRY_TLS)" "$BUILDKIT_VERSION" || ! has_tag "$(fact REGISTRY_PLAIN)" "$BUILDKIT_VERSION"; then
    push_frontend_image
  fi
  make_tarball
  write_env images \
    "FRONTEND_IMAGE_TLS=$(fact REGISTRY_TLS)/$FRONTEND_REPO:$BUILDKIT_VERSION" \
    "FRONTEND_IMAGE_PLAIN=$(fact REGISTRY_PLAIN)/$FRONTEND_REPO:$BUILDKIT_VERSION" \
    "BUILDKIT_TARBALL=$TARBALL" \
    "BUILDKIT_TARBALL_SHA256=$(cat "$TARBALL.sha256")"
}

down() { rm -f "$ENV_DIR/images.env"; }

status() {
  has_tag "$(fact REGISTRY_PLAIN)" "$BUILDKIT_VERSION" && [[ -f $TARBALL ]] &&
    echo "$(fact REGISTRY_PLAIN)/$FRONTEND_REPO:$BUILDKIT_VERSION, $(basename "$TARBALL")"
}

"${1:?usage: $0 install|up|down|status}"
