#!/usr/bin/env bash
# A real Kubernetes control plane on loopback, no Docker, no kind: etcd v3.6 (built from its Go
# module through ../etcd, since Debian's 3.4 lacks RequestWatchProgress), kube-apiserver,
# kube-controller-manager and kube-scheduler compiled from k8s.io/kubernetes (through the wrapper
# module in ../kube/wrapper), RBAC on, and kwok faking two nodes so that Deployments schedule and
# become Ready (kwok sets pod status; no container runs and no image is pulled).
source "$(dirname "$0")/../lib.sh"
STATE="$STACK_DIR/kube"
PKI="$KUBE_PKI"
KUBE_BIN="$BIN_CACHE/kubernetes-$KUBERNETES_VERSION"
KWOK_BIN="$BIN_CACHE/kwok-$KWOK_VERSION"
ETCD_BIN="$BIN_CACHE/etcd-$ETCD_VERSION"
KUBECONFIG_ADMIN="$STACK_DIR/kubeconfig"
SERVER="$KUBE_SERVER"
CONTROLLER_MANAGER_PORT=25257
SCHEDULER_PORT=25259
KWOK_PORT=25247
NODES=(kwok-node-0 kwok-node-1)
KWOK_TAINT_KEY=kwok.x-k8s.io/node

install() {
  install_etcd
  install_control_plane
  install_kwok
}

install_etcd() {
  [[ -x $ETCD_BIN/etcd ]] && return 0
  log "building etcd $ETCD_VERSION"
  (cd "$STACK_ROOT/etcd" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags '-s -w' -o "$ETCD_BIN.tmp/etcd" .)
  rm -rf "$ETCD_BIN" && mv "$ETCD_BIN.tmp" "$ETCD_BIN"
}

# The control plane and the real node's kubelet and kube-proxy (components/80-node.sh) come from
# one go build, so the packages they share compile once.
KUBE_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

install_control_plane() {
  local cmd missing=0
  for cmd in "${KUBE_COMMANDS[@]}"; do [[ -x $KUBE_BIN/$cmd ]] || missing=1; done
  (( missing )) || return 0
  local minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
  log "building ${KUBE_COMMANDS[*]} $KUBERNETES_VERSION (the slow one)"
  (cd "$STACK_ROOT/kube/wrapper" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
    -o "$KUBE_BIN.tmp/" "${KUBE_COMMANDS[@]/#/k8s.io/kubernetes/cmd/}")
  rm -rf "$KUBE_BIN" && mv "$KUBE_BIN.tmp" "$KUBE_BIN"
}

# kwok standalone needs its Stage objects: take kwok's own defaults (the ones kwokctl applies)
# from the same module version.
install_kwok() {
  [[ -x $KWOK_BIN/kwok && -f $KWOK_BIN/stages.yaml ]] && return 0
  log "building kwok $KWOK_VERSION"
  GOBIN="$KWOK_BIN" CGO_ENABLED=0 go install -trimpath -ldflags='-s -w' "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  local dir
  dir="$(cd /tmp && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
  local stage
  for stage in node/fast/node-initialize node/heartbeat/node-heartbeat pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    printf -- '---\n'; cat "$dir/kustomize/stage/$stage.yaml"
  done > "$KWOK_BIN/stages.yaml"
}

# --- certificates -------------------------------------------------------------------------------
sign() { # sign NAME SUBJECT EXTENSIONS
  local name="$1" subject="$2" ext="$3"
  openssl req -newkey rsa:2048 -nodes -subj "$subject" -keyout "$PKI/$name-key.pem" -out "$PKI/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" > "$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca-key.pem" -CAcreateserial \
    -days 3650 -extfile "$PKI/$name.ext" -out "$PKI/$name.pem" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

# Bump when the set of certificates or their names change: a stack state made by an older script
# (kept across sessions in ~/.cache) is then re-issued instead of silently lacking a name.
PKI_GENERATION=2

make_pki() {
  [[ -f $PKI/sa.pub && $(cat "$PKI/generation" 2>/dev/null) == "$PKI_GENERATION" ]] && return 0
  rm -rf "$PKI" && mkdir -p "$PKI" && chmod 700 "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=slipway-kube-ca' \
    -keyout "$PKI/ca-key.pem" -out "$PKI/ca.pem" 2>/dev/null
  # NODE_IP: pods reach the API server there (the kubernetes Service's endpoint).
  sign apiserver '/CN=kube-apiserver' "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,IP:$NODE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
  sign admin '/O=system:masters/CN=slipway-admin' 'extendedKeyUsage=clientAuth'
  sign controller-manager '/CN=system:kube-controller-manager' 'extendedKeyUsage=clientAuth'
  sign scheduler '/CN=system:kube-scheduler' 'extendedKeyUsage=clientAuth'
  # The real node (components/80-node.sh): the Node authorizer knows a kubelet by this subject.
  sign node "/O=system:nodes/CN=system:node:$NODE_NAME" 'extendedKeyUsage=clientAuth'
  sign kube-proxy '/CN=system:kube-proxy' 'extendedKeyUsage=clientAuth'
  # The API server's identity towards kubelets (logs, exec, port-forward).
  sign apiserver-kubelet-client '/O=system:masters/CN=kube-apiserver-kubelet-client' 'extendedKeyUsage=clientAuth'
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  chmod 600 "$PKI"/*-key.pem "$PKI/sa.key"
  echo "$PKI_GENERATION" > "$PKI/generation"
}


# --- daemons ------------------------------------------------------------------------------------
start_etcd() {
  start_daemon etcd "$LOG_DIR/etcd.log" "$ETCD_BIN/etcd" --name slipway --data-dir "$STATE/etcd-$ETCD_VERSION" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "slipway=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls '' --quota-backend-bytes 2147483648
  wait_for "etcd on :$ETCD_CLIENT_PORT" 30 curl -fsS "http://127.0.0.1:$ETCD_CLIENT_PORT/health"
}

start_apiserver() {
  # Listens on every address so that pods reach it on NODE_IP (the kubernetes Service's endpoint,
  # published by the endpoint reconciler); the runner side keeps using 127.0.0.1. Kubelets are
  # dialled by InternalIP: their Hostname does not resolve here.
  start_daemon kube-apiserver "$LOG_DIR/kube-apiserver.log" "$KUBE_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address 0.0.0.0 --advertise-address "$NODE_IP" --secure-port "$KUBE_APISERVER_PORT" \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.pem" --kubelet-client-key "$PKI/apiserver-kubelet-client-key.pem" \
    --tls-cert-file "$PKI/apiserver.pem" --tls-private-key-file "$PKI/apiserver-key.pem" \
    --client-ca-file "$PKI/ca.pem" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 --authorization-mode Node,RBAC \
    --allow-privileged=true --profiling=false
  wait_for "kube-apiserver on $SERVER" 90 kubectl --kubeconfig "$KUBECONFIG_ADMIN" get --raw /readyz
}

# Plain list+watch for the control plane's clients: watch-list streams need RequestWatchProgress
# from etcd (3.4 lacked it and clients retried in a loop); kept off so a slower etcd cannot stall
# events again.
CLIENT_ENV=(env KUBE_FEATURE_WatchListClient=false)

start_controllers() {
  start_daemon kube-controller-manager "$LOG_DIR/kube-controller-manager.log" "${CLIENT_ENV[@]}" "$KUBE_BIN/kube-controller-manager" \
    --kubeconfig "$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$CONTROLLER_MANAGER_PORT" --leader-elect=false \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.pem" \
    --use-service-account-credentials=true --controllers '*,-node-ipam-controller' \
    --cluster-signing-cert-file "$PKI/ca.pem" --cluster-signing-key-file "$PKI/ca-key.pem"
  start_daemon kube-scheduler "$LOG_DIR/kube-scheduler.log" "${CLIENT_ENV[@]}" "$KUBE_BIN/kube-scheduler" \
    --kubeconfig "$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig "$STATE/scheduler.kubeconfig" --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --leader-elect=false
  start_daemon kwok "$LOG_DIR/kwok.log" "${CLIENT_ENV[@]}" "$KWOK_BIN/kwok" --config "$KWOK_BIN/stages.yaml" \
    --kubeconfig "$KUBECONFIG_ADMIN" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr 10.0.0.1/24 --node-ip 10.0.0.1 --server-address "127.0.0.1:$KWOK_PORT"
}

# Fake nodes that kwok keeps Ready, tainted so that ordinary pods land on the real node
# (components/80-node.sh); a test that wants many nodes or fast fake pods tolerates the taint.
create_nodes() {
  local node
  for node in "${NODES[@]}"; do
    kubectl --kubeconfig "$KUBECONFIG_ADMIN" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata:
  name: $node
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: $node
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
spec:
  taints:
    - {key: $KWOK_TAINT_KEY, value: fake, effect: NoSchedule}
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
YAML
  done
}

nodes_ready() {
  [[ $(kubectl --kubeconfig "$KUBECONFIG_ADMIN" get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True) -ge ${#NODES[@]} ]]
}

up() {
  mkdir -p "$STATE"
  make_pki
  write_kubeconfig "$KUBECONFIG_ADMIN" admin
  write_kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager
  write_kubeconfig "$STATE/scheduler.kubeconfig" scheduler
  start_etcd
  start_apiserver
  start_controllers
  create_nodes
  wait_for "kwok nodes Ready" 60 nodes_ready
  wait_for "the default ServiceAccount (controller-manager)" 60 kubectl --kubeconfig "$KUBECONFIG_ADMIN" -n default get serviceaccount default
  write_env kube "KUBECONFIG=$KUBECONFIG_ADMIN" "KUBE_APISERVER=$SERVER" "KUBE_CA=$PKI/ca.pem" \
    "KWOK_NODES=${NODES[*]}" "KWOK_TAINT=$KWOK_TAINT_KEY=fake:NoSchedule"
}

down() {
  local name
  for name in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do stop_daemon "$name"; done
  rm -f "$ENV_DIR/kube.env"
}

status() {
  kubectl --kubeconfig "$KUBECONFIG_ADMIN" get --raw /readyz >/dev/null 2>&1 && nodes_ready &&
    echo "$SERVER ($KUBERNETES_VERSION), nodes: ${NODES[*]}"
}

"${1:?usage: $0 install|up|down|status}"
