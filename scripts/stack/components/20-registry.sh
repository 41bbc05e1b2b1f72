#!/usr/bin/env bash
# Container registries: Debian's docker-registry (CNCF distribution 2.8), twice (127.0.0.1 for the
# runner side, registry.$STACK_DOMAIN for pods):
#   - TLS (self-signed CA) + htpasswd bcrypt auth on $REGISTRY_TLS_PORT, like a real private registry;
#   - plain HTTP without auth on $REGISTRY_PLAIN_PORT, for the simple cases.
# Before a registry starts, what tests and demos pushed is pruned (prune_pushed): only the stack's
# own repositories (STACK_REPOSITORIES in lib.sh) are kept, and their blobs.
source "$(dirname "$0")/../lib.sh"
STATE="$STACK_DIR/registry"
CERTS="$STATE/certs"
REGISTRY_USER=slipway
PASSWORD_FILE="$STATE/password"

install() { command -v docker-registry >/dev/null || die "docker-registry is missing: apt-get install docker-registry"; }

# A CA and a server certificate for 127.0.0.1/localhost (the runner side) and for the name and
# address pods use; kept across restarts so trust stays valid, re-issued when the names change.
CERT_NAMES="IP:127.0.0.1,DNS:localhost,IP:$NODE_IP,DNS:registry.$STACK_DOMAIN"

make_certs() {
  [[ -f $CERTS/server.pem && $(cat "$CERTS/names" 2>/dev/null) == "$CERT_NAMES" ]] && return 0
  rm -rf "$CERTS" && mkdir -p "$CERTS"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=Slipway local CA' \
    -keyout "$CERTS/ca-key.pem" -out "$CERTS/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj '/CN=127.0.0.1' \
    -keyout "$CERTS/server-key.pem" -out "$CERTS/server.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$CERT_NAMES" > "$CERTS/server.ext"
  openssl x509 -req -in "$CERTS/server.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca-key.pem" -CAcreateserial \
    -days 3650 -extfile "$CERTS/server.ext" -out "$CERTS/server.pem" 2>/dev/null
  chmod 600 "$CERTS"/*-key.pem
  echo "$CERT_NAMES" > "$CERTS/names"
}

# The password is generated once per stack state and read from stdin by htpasswd (never argv).
make_htpasswd() {
  [[ -f $STATE/htpasswd ]] && return 0
  (umask 077 && openssl rand -hex 16 > "$PASSWORD_FILE")
  htpasswd -B -i -c "$STATE/htpasswd" "$REGISTRY_USER" < "$PASSWORD_FILE" 2>/dev/null
}

write_config() {
  local name="$1" port="$2" extra="$3"
  mkdir -p "$STATE/data-$name"
  cat > "$STATE/$name.yml" <<YAML
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $STATE/data-$name
  delete:
    enabled: true
http:
  addr: $LISTEN_ALL:$port
  secret: $(openssl rand -hex 16)
$extra
YAML
}

# prune_pushed NAME: removes every repository of the stopped registry NAME but the stack's own,
# then the blobs no remaining manifest references. Tests push under unique names; kept across runs
# on one machine they grow without bound (1363 repositories and 4.7 GB after a day of runs), and a
# catalog past one page hid a test's push from a reader of the first page.
prune_pushed() {
  local name="$1" root="$STATE/data-$1/docker/registry/v2/repositories" keep manifests repository pruned=0
  [[ -d $root ]] || return 0
  is_running "registry-$name" && return 0
  while IFS= read -r -d '' manifests; do
    repository="${manifests%/_manifests}"; repository="${repository#"$root"/}"
    for keep in "${STACK_REPOSITORIES[@]}"; do [[ $repository == "$keep" ]] && continue 2; done
    rm -rf "${root:?}/$repository"
    pruned=$((pruned + 1))
  done < <(find "$root" -type d -name _manifests -prune -print0)
  (( pruned > 0 )) || return 0
  find "$root" -mindepth 1 -type d -empty -delete
  log "pruning $pruned pushed repositories from the $name registry"
  docker-registry garbage-collect "$STATE/$name.yml" >>"$LOG_DIR/registry-$name-gc.log" 2>&1 ||
    die "garbage collection of the $name registry failed (log: $LOG_DIR/registry-$name-gc.log)"
}

up() {
  mkdir -p "$STATE"
  make_certs
  make_htpasswd
  write_config tls "$REGISTRY_TLS_PORT" "  tls:
    certificate: $CERTS/server.pem
    key: $CERTS/server-key.pem
auth:
  htpasswd:
    realm: slipway
    path: $STATE/htpasswd"
  write_config plain "$REGISTRY_PLAIN_PORT" ""
  prune_pushed tls
  prune_pushed plain
  start_daemon registry-tls "$LOG_DIR/registry-tls.log" docker-registry serve "$STATE/tls.yml"
  start_daemon registry-plain "$LOG_DIR/registry-plain.log" docker-registry serve "$STATE/plain.yml"
  wait_for "TLS registry on :$REGISTRY_TLS_PORT" 30 tls_ready
  wait_for "plain registry on :$REGISTRY_PLAIN_PORT" 30 curl -fsS "http://127.0.0.1:$REGISTRY_PLAIN_PORT/v2/"
  write_env registry \
    "REGISTRY_TLS=127.0.0.1:$REGISTRY_TLS_PORT" \
    "REGISTRY_PLAIN=127.0.0.1:$REGISTRY_PLAIN_PORT" \
    "REGISTRY_USER=$REGISTRY_USER" \
    "REGISTRY_PASSWORD_FILE=$PASSWORD_FILE" \
    "REGISTRY_CA=$CERTS/ca.pem" \
    "REGISTRY_TLS_IN_CLUSTER=registry.$STACK_DOMAIN:$REGISTRY_TLS_PORT" \
    "REGISTRY_PLAIN_IN_CLUSTER=registry.$STACK_DOMAIN:$REGISTRY_PLAIN_PORT"
}

# Ready means: anonymous access is refused (401) and the user's credentials are accepted (200).
tls_ready() {
  local url="https://127.0.0.1:$REGISTRY_TLS_PORT/v2/"
  [[ $(curl -s -o /dev/null -w '%{http_code}' --cacert "$CERTS/ca.pem" "$url") == 401 ]] || return 1
  curl -fsS -o /dev/null --cacert "$CERTS/ca.pem" -K - <<<"user = \"$REGISTRY_USER:$(cat "$PASSWORD_FILE")\"" "$url"
}

down() { stop_daemon registry-tls; stop_daemon registry-plain; rm -f "$ENV_DIR/registry.env"; }

status() {
  tls_ready && curl -fsS -o /dev/null "http://127.0.0.1:$REGISTRY_PLAIN_PORT/v2/" &&
    echo "tls 127.0.0.1:$REGISTRY_TLS_PORT (auth), plain 127.0.0.1:$REGISTRY_PLAIN_PORT"
}

"${1:?usage: $0 install|up|down|status|prune_pushed tls|plain}" "${@:2}"
