#!/usr/bin/env bash
# Images and artefacts the tests need, made here because no image registry can be reached:
#   - BuildKit's Dockerfile frontend packed FROM scratch and pushed to both local registries, so
#     the seed's `--frontend gateway.v0 --opt source=<image>` path runs for real;
#   - the pod sandbox (pause) image, an in-cluster HTTP client (probe), a BuildKit image (what
#     moby/buildkit holds, for builder pods) and the sample app (1.0.0 = latest, 2.0.0) for the real node;
#   - a release-style buildkit-<version>.linux-amd64.tar.gz (bin/buildctl, bin/buildkitd) with its
#     sha256, for setup-buildctl's download/verify/cache tests.
source "$(dirname "$0")/../lib.sh"
STATE="$STACK_DIR/images"
BIN="$BUILDKIT_BIN"
TARBALL="$SLIPWAY_CACHE/dist/buildkit-$BUILDKIT_VERSION.linux-amd64.tar.gz"

install() { :; }

# Images are rebuilt when their sources change: each carries a tag named after a hash of them.
source_tag() { echo "src-$(cat "$@" | sha256sum | cut -c1-12)"; }

push_frontend_image() {
  on_both_registries "$FRONTEND_REPO" "$BUILDKIT_VERSION" && return 0
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
  # shellcheck disable=SC2046 # one name per line
  build_image "$context" $(both_registries "$FRONTEND_REPO" "$BUILDKIT_VERSION")
}

# The pod sandbox image containerd starts for every pod (components/80-node.sh), and the tests'
# in-cluster HTTP client.
push_node_images() {
  build_tool_image "$PAUSE_REPO" "$STACK_ROOT/pause" pause 65535:65535
  build_tool_image "$PROBE_REPO" "$STACK_ROOT/probe" probe 65532:65532
}

# build_tool_image REPO SOURCE_DIR BINARY USER: a Go program of this directory, FROM scratch.
build_tool_image() {
  local repo="$1" src="$2" binary="$3" user="$4" tag context
  tag="$(source_tag "$src"/*)"
  on_both_registries "$repo" "$tag" && return 0
  log "building $repo FROM scratch"
  context="$STATE/$(basename "$repo")-context"
  rm -rf "$context" && mkdir -p "$context"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w -buildid=' -o "$context/$binary" .)
  printf 'FROM scratch\nCOPY %s /%s\nUSER %s\nENTRYPOINT ["/%s"]\n' "$binary" "$binary" "$user" "$binary" > "$context/Dockerfile"
  # shellcheck disable=SC2046 # one name per line
  build_image "$context" $(both_registries "$repo" latest "$tag")
}

# copy_with_libs ROOTFS BINARY...: the binaries and every shared library they load, at their paths.
copy_with_libs() {
  local rootfs="$1" binary lib; shift
  for binary in "$@"; do
    cp --parents -L "$binary" "$rootfs"
    for lib in $(ldd "$binary" 2>/dev/null | grep -o '/[^ ]*' | sort -u); do
      [[ -e $rootfs$lib ]] || cp --parents -L "$lib" "$rootfs"
    done
  done
}

# What moby/buildkit:<version> holds, made from the stack's binaries (that image cannot be pulled
# here): buildkitd, buildctl, runc and git (Debian's, with their libraries; buildkitd enables git
# contexts only when it finds git, an http(s) remote needs git-remote-http, and the submodule update
# BuildKit runs after every fetch is Debian's shell script, so /bin/sh and the few tools it calls
# come too), for `addr: kubernetes` builder pods on the real node. Users get moby/buildkit.
GIT_BINARIES=(/usr/bin/git /usr/lib/git-core/git-remote-http /usr/lib/git-core/git-remote-https
  /usr/lib/git-core/git-submodule /usr/lib/git-core/git-sh-setup /usr/lib/git-core/git-sh-i18n
  /bin/sh /usr/bin/sed /usr/bin/basename /usr/bin/cat /usr/bin/expr)
push_buildkit_image() {
  local tag context
  tag="$BUILDKIT_VERSION-$(cat "$BIN/buildkitd" "$BIN/buildctl" "$RUNC" "${GIT_BINARIES[@]}" | sha256sum | cut -c1-12)"
  on_both_registries "$BUILDKIT_REPO" "$tag" && return 0
  log "building $BUILDKIT_REPO:$BUILDKIT_VERSION FROM scratch (buildkitd, buildctl, runc, git)"
  context="$STATE/buildkit-context"
  rm -rf "$context" && mkdir -p "$context/rootfs/usr/bin" "$context/rootfs/tmp" "$context/rootfs/var/lib/buildkit" "$context/rootfs/run/buildkit"
  cp "$BIN/buildkitd" "$BIN/buildctl" "$context/rootfs/usr/bin/"
  copy_with_libs "$context/rootfs" "$RUNC" "${GIT_BINARIES[@]}"
  printf '%s\n' 'FROM scratch' 'COPY rootfs/ /' \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'VOLUME /var/lib/buildkit' 'ENTRYPOINT ["buildkitd"]' > "$context/Dockerfile"
  # shellcheck disable=SC2046 # one name per line
  build_image "$context" $(both_registries "$BUILDKIT_REPO" "$BUILDKIT_VERSION" "$tag")
}

# The sample app as a user's pipeline builds it (examples/sample-app), in two versions whose
# answers differ, so deploy tests run real images: 1.0.0 (also latest) and 2.0.0.
push_sample_app_images() {
  local tag version context tags
  tag="$(source_tag "$PROJECT_ROOT"/examples/sample-app/{main.go,go.mod,Dockerfile})"
  for version in 1.0.0 2.0.0; do
    on_both_registries "$SAMPLE_APP_REPO" "$version-$tag" && continue
    log "building the sample app $version FROM scratch"
    context="$STATE/sample-app-$version"
    rm -rf "$context" && mkdir -p "$context"
    cp "$PROJECT_ROOT/examples/sample-app/Dockerfile" "$context/"
    (cd "$PROJECT_ROOT/examples/sample-app" &&
      CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -buildid= -X main.version=$version" -o "$context/sample-app" .)
    tags=("$version" "$version-$tag")
    [[ $version == 1.0.0 ]] && tags+=(latest)
    # shellcheck disable=SC2046 # one name per line
    build_image "$context" $(both_registries "$SAMPLE_APP_REPO" "${tags[@]}")
  done
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
  push_frontend_image
  push_node_images
  push_buildkit_image
  push_sample_app_images
  make_tarball
  local tls plain
  tls="$(fact REGISTRY_TLS)" plain="$(fact REGISTRY_PLAIN)"
  # The builder image by digest: the node keeps an older image under the same tag (IfNotPresent).
  write_env images \
    "FRONTEND_IMAGE_TLS=$tls/$FRONTEND_REPO:$BUILDKIT_VERSION" \
    "FRONTEND_IMAGE_PLAIN=$plain/$FRONTEND_REPO:$BUILDKIT_VERSION" \
    "BUILDKIT_TARBALL=$TARBALL" \
    "BUILDKIT_TARBALL_SHA256=$(cat "$TARBALL.sha256")" \
    "PAUSE_IMAGE=$plain/$PAUSE_REPO:latest" \
    "PROBE_IMAGE=$plain/$PROBE_REPO:latest" \
    "BUILDKIT_IMAGE=$plain/$BUILDKIT_REPO@$(tag_digest "$plain" "$BUILDKIT_REPO" "$BUILDKIT_VERSION")" \
    "SAMPLE_APP_IMAGE_TLS=$tls/$SAMPLE_APP_REPO" \
    "SAMPLE_APP_IMAGE_PLAIN=$plain/$SAMPLE_APP_REPO" \
    "SAMPLE_APP_V1_DIGEST=$(tag_digest "$tls" "$SAMPLE_APP_REPO" 1.0.0)" \
    "SAMPLE_APP_V2_DIGEST=$(tag_digest "$tls" "$SAMPLE_APP_REPO" 2.0.0)"
}

down() { rm -f "$ENV_DIR/images.env"; }

status() {
  has_tag "$(fact REGISTRY_PLAIN)" "$FRONTEND_REPO" "$BUILDKIT_VERSION" && has_tag "$(fact REGISTRY_PLAIN)" "$PAUSE_REPO" latest &&
    has_tag "$(fact REGISTRY_TLS)" "$SAMPLE_APP_REPO" 2.0.0 && [[ -f $TARBALL ]] &&
    echo "$(fact REGISTRY_PLAIN)/{$FRONTEND_REPO:$BUILDKIT_VERSION,$PAUSE_REPO,$PROBE_REPO,$SAMPLE_APP_REPO:1.0.0+2.0.0}, $(basename "$TARBALL")"
}

"${1:?usage: $0 install|up|down|status}"
