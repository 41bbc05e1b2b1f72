#!/usr/bin/env bash
# A download mirror on loopback, standing in for GitHub release assets and get.helm.sh (or an
# air-gapped runner's internal mirror): serves real BuildKit and Helm release-style tarballs with
# their sha256 files, so setup-buildctl and helm-deploy-namespace install through the real
# download → verify → tool-cache path.
source "$(dirname "$0")/../lib.sh"
STATE="$STACK_DIR/mirror"
ROOT="$STATE/files"

install() { command -v python3 >/dev/null || die "python3 is needed for the mirror's static file server"; }


# get.helm.sh layout: helm-<v>-linux-amd64.tar.gz holding linux-amd64/helm, plus .sha256sum.
publish_helm() {
  local binary="$1" version="$2" staging archive
  archive="$ROOT/helm/helm-$version-linux-amd64.tar.gz"
  [[ -f $archive.sha256sum ]] && return 0
  staging="$(mktemp -d)" && mkdir -p "$staging/linux-amd64" "$ROOT/helm"
  cp "$binary" "$staging/linux-amd64/helm"
  tar --sort=name --mtime='2020-01-01 00:00Z' --owner=0 --group=0 --numeric-owner -czf "$archive" -C "$staging" linux-amd64
  (cd "$ROOT/helm" && sha256sum "$(basename "$archive")" > "$(basename "$archive").sha256sum")
  rm -rf "$staging"
}

publish_buildkit() {
  local tarball version="$BUILDKIT_VERSION"
  tarball="$(fact BUILDKIT_TARBALL)"
  [[ -f $tarball ]] || die "the images component must be up first (no BUILDKIT_TARBALL)"
  mkdir -p "$ROOT/buildkit/$version"
  ln -sf "$tarball" "$ROOT/buildkit/$version/$(basename "$tarball")"
  (cd "$ROOT/buildkit/$version" && sha256sum "$(basename "$tarball")" > "$(basename "$tarball").sha256")
}

up() {
  mkdir -p "$ROOT"
  publish_buildkit
  publish_helm "$(fact HELM3)" "$(fact HELM3_VERSION)"
  publish_helm "$(fact HELM4)" "$(fact HELM4_VERSION)"
  start_daemon mirror "$LOG_DIR/mirror.log" python3 -m http.server --bind "$LISTEN_ALL" --directory "$ROOT" "$MIRROR_PORT"
  wait_for "download mirror on :$MIRROR_PORT" 20 curl -fsS -o /dev/null "http://127.0.0.1:$MIRROR_PORT/buildkit/$BUILDKIT_VERSION/"
  local base="http://127.0.0.1:$MIRROR_PORT"
  write_env mirror \
    "MIRROR_URL=$base" \
    "BUILDKIT_DOWNLOAD_URL={base}/buildkit/{version}/buildkit-{version}.linux-{arch}.tar.gz" \
    "HELM_DOWNLOAD_URL=$base/helm/helm-{version}-linux-{arch}.tar.gz" \
    "MIRROR_URL_IN_CLUSTER=http://mirror.$STACK_DOMAIN:$MIRROR_PORT"
  sed -i "s|{base}|$base|" "$ENV_DIR/mirror.env"
}

down() { stop_daemon mirror; rm -f "$ENV_DIR/mirror.env"; }

status() {
  curl -fs -o /dev/null "http://127.0.0.1:$MIRROR_PORT/helm/" && echo "http://127.0.0.1:$MIRROR_PORT ($(cd "$ROOT" 2>/dev/null && find . -name '*.tar.gz' | wc -l) archives)"
}

"${1:?usage: $0 install|up|down|status}"
