#!/usr/bin/env bash
# A real worker node joined to the stack's control plane: containerd 2 (built from its Go module)
# with Debian's runc and CNI plugins, the kubelet and kube-proxy (built with the control plane by
# 50-kube), and CoreDNS as the cluster DNS (a host process, built from ../coredns). Pods pull the
# images the tests push, run them, and answer; they reach each other by Service name, the API
# server through the kubernetes Service, and the stack's registry, git server and mirror as
# registry/git/mirror.$STACK_DOMAIN. Their traffic cannot leave the machine.
source "$(dirname "$0")/../lib.sh"
STATE="$STACK_DIR/node"
KUBECONFIG_ADMIN="$STACK_DIR/kubeconfig"
KUBE_BIN="$BIN_CACHE/kubernetes-$KUBERNETES_VERSION"
CONTAINERD_VERSION="${CONTAINERD_VERSION:-v2.4.2}"
COREDNS_SRC="$STACK_ROOT/coredns"
CONTAINERD_BIN="$BIN_CACHE/containerd-$CONTAINERD_VERSION"
COREDNS_BIN="$BIN_CACHE/coredns-$(cat "$COREDNS_SRC"/go.mod "$COREDNS_SRC"/main.go | sha256sum | cut -c1-12)"
CNI_BIN_DIR=/usr/lib/cni
CONTAINERD_SOCKET="$STATE/containerd/containerd.sock"
KUBELET_PORT=25250
KUBELET_HEALTHZ_PORT=25248
KUBE_PROXY_HEALTHZ_PORT=25256
KUBE_PROXY_METRICS_PORT=25249
COREDNS_HEALTH_PORT=25181
COREDNS_READY_PORT=25182
FORWARD_CHAIN=SLIPWAY-POD-EGRESS

install() {
  [[ -x $CNI_BIN_DIR/bridge && -x $CNI_BIN_DIR/host-local && -x $CNI_BIN_DIR/loopback ]] ||
    die "CNI plugins are missing in $CNI_BIN_DIR: apt-get install containernetworking-plugins"
  command -v iptables >/dev/null || die "iptables is missing (kube-proxy needs it): apt-get install iptables"
  install_containerd
  install_coredns
  [[ -x $KUBE_BIN/kubelet && -x $KUBE_BIN/kube-proxy ]] || die "kubelet/kube-proxy are built by the kube component: run 'stack install'"
}

install_containerd() {
  [[ -x $CONTAINERD_BIN/containerd && -x $CONTAINERD_BIN/containerd-shim-runc-v2 && -x $CONTAINERD_BIN/ctr ]] && return 0
  log "building containerd $CONTAINERD_VERSION"
  local cmd
  GOBIN="$CONTAINERD_BIN.tmp" CGO_ENABLED=0 go install -trimpath -ldflags='-s -w' -tags no_btrfs \
    $(for cmd in containerd containerd-shim-runc-v2 ctr; do echo "github.com/containerd/containerd/v2/cmd/$cmd@$CONTAINERD_VERSION"; done)
  rm -rf "$CONTAINERD_BIN" && mv "$CONTAINERD_BIN.tmp" "$CONTAINERD_BIN"
}

install_coredns() {
  [[ -x $COREDNS_BIN/coredns ]] && return 0
  log "building CoreDNS (only the plugins a one-node cluster needs)"
  (cd "$COREDNS_SRC" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' -o "$COREDNS_BIN.tmp/coredns" .)
  rm -rf "$COREDNS_BIN" && mv "$COREDNS_BIN.tmp" "$COREDNS_BIN"
}

kube() { kubectl --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

# --- network ------------------------------------------------------------------------------------
# The bridge exists before any pod so that the kubelet, CoreDNS and the API server's endpoint have
# their address from the start; the CNI bridge plugin then attaches pods to it. Pods may talk to
# each other and to the host (the stack), never beyond: forwarding out of the bridge is dropped.
network_up() {
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 || ip link add "$NODE_BRIDGE" type bridge
  # (Not `ip … | grep -q`: under pipefail, grep's early exit can fail the pipeline with SIGPIPE.)
  [[ $(ip -4 addr show dev "$NODE_BRIDGE") == *" $NODE_IP/"* ]] || ip addr add "$NODE_IP/${POD_CIDR#*/}" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  # ClusterIP traffic between pods is routed through the host (kube-proxy's DNAT).
  sysctl -qw net.ipv4.ip_forward=1
  iptables -w -N "$FORWARD_CHAIN" 2>/dev/null || iptables -w -F "$FORWARD_CHAIN"
  iptables -w -A "$FORWARD_CHAIN" -i "$NODE_BRIDGE" -o "$NODE_BRIDGE" -j ACCEPT
  iptables -w -A "$FORWARD_CHAIN" -i "$NODE_BRIDGE" -j DROP
  iptables -w -A "$FORWARD_CHAIN" -o "$NODE_BRIDGE" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  iptables -w -A "$FORWARD_CHAIN" -o "$NODE_BRIDGE" -j DROP
  iptables -w -C FORWARD -j "$FORWARD_CHAIN" 2>/dev/null || iptables -w -I FORWARD 1 -j "$FORWARD_CHAIN"
}

network_down() {
  iptables -w -D FORWARD -j "$FORWARD_CHAIN" 2>/dev/null || true
  iptables -w -F "$FORWARD_CHAIN" 2>/dev/null || true
  iptables -w -X "$FORWARD_CHAIN" 2>/dev/null || true
  ip link del "$NODE_BRIDGE" 2>/dev/null || true
  # Pods' veth ends that CNI never tore down (killed stack) went with their namespaces.
}

write_cni_config() {
  mkdir -p "$STATE/cni/net.d"
  cat > "$STATE/cni/net.d/10-slipway.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "slipway",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
}

# --- containerd ---------------------------------------------------------------------------------
# certs.d: the TLS registry is trusted through the stack's CA, the plain one is spoken to in HTTP;
# under the runner-side address (what tests push to) and under the in-cluster name (what a builder
# pod pushes to), which containerd on the host reaches at the node's address: the name resolves
# only inside the cluster.
write_registry_hosts() {
  local certs="$STATE/certs.d"
  rm -rf "$certs"
  registry_host "$certs" "$(fact REGISTRY_TLS)" "https://$(fact REGISTRY_TLS)" "$(fact REGISTRY_CA)"
  registry_host "$certs" "$(fact REGISTRY_TLS_IN_CLUSTER)" "https://$NODE_IP:$REGISTRY_TLS_PORT" "$(fact REGISTRY_CA)"
  registry_host "$certs" "$(fact REGISTRY_PLAIN)" "http://$(fact REGISTRY_PLAIN)"
  registry_host "$certs" "$(fact REGISTRY_PLAIN_IN_CLUSTER)" "http://$NODE_IP:$REGISTRY_PLAIN_PORT"
}

registry_host() { # registry_host CERTS_DIR NAME URL [CA]
  mkdir -p "$1/$2"
  {
    printf 'server = "%s"\n\n[host."%s"]\n  capabilities = ["pull", "resolve"]\n' "$3" "$3"
    if [[ -n ${4:-} ]]; then printf '  ca = "%s"\n' "$4"; fi
  } > "$1/$2/hosts.toml"
}

write_containerd_config() {
  mkdir -p "$STATE/containerd"
  cat > "$STATE/containerd/config.toml" <<TOML
version = 3
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"

[grpc]
  address = "$CONTAINERD_SOCKET"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$(fact PAUSE_IMAGE)"
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = "$STATE/certs.d"

[plugins.'io.containerd.cri.v1.runtime']
  # The machine's sandbox lacks CAP_SYS_RESOURCE: without this every pod sandbox fails with
  # "can't get final child's PID from pipe: EOF" (oom_score_adj -998 refused).
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["$CNI_BIN_DIR"]
    conf_dir = "$STATE/cni/net.d"
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = "$RUNC"
      SystemdCgroup = false
TOML
}

containerd_ready() { "$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCKET" version; }

# --- kubelet, kube-proxy, CoreDNS ---------------------------------------------------------------

write_kubelet_config() {
  # Pods resolve through the cluster DNS only: the host's resolver is not theirs to use.
  printf 'nameserver %s\n' "$NODE_IP" > "$STATE/resolv.conf"
  cat > "$STATE/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$KUBE_PKI/ca.pem"}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$CONTAINERD_SOCKET
# cgroup v1 here: fatal by default since 1.35 (KEP-5573); cgroupfs, as no systemd runs.
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
clusterDNS: [$NODE_IP]
clusterDomain: cluster.local
resolvConf: $STATE/resolv.conf
podCIDR: $POD_CIDR
maxPods: 110
serializeImagePulls: false
# A shared test machine: never evict or collect images because another process filled the disk.
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusUpdateFrequency: 4s
syncFrequency: 10s
fileCheckFrequency: 60s
containerLogMaxSize: 1Mi
YAML
}

write_kube_proxy_config() {
  cat > "$STATE/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$STATE/kube-proxy.kubeconfig"}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$KUBE_PROXY_METRICS_PORT
# masqueradeAll: a pod reaching a Service backed by a pod on the same bridge gets its answer back
# through the host (no br_netfilter needed). No sysctl is changed: conntrack limits stay as they are.
iptables: {masqueradeAll: true, localhostNodePorts: false, syncPeriod: 10s, minSyncPeriod: 0s}
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
}

write_corefile() {
  cat > "$STATE/Corefile" <<COREFILE
.:53 {
  bind $NODE_IP
  errors
  health 127.0.0.1:$COREDNS_HEALTH_PORT
  ready 127.0.0.1:$COREDNS_READY_PORT
  hosts {
    $NODE_IP registry.$STACK_DOMAIN git.$STACK_DOMAIN mirror.$STACK_DOMAIN
    fallthrough
  }
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    kubeconfig $KUBECONFIG_ADMIN slipway
    pods insecure
    fallthrough in-addr.arpa ip6.arpa
  }
  cache 5
}
COREFILE
}

node_ready() {
  [[ $(kube get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}

# --- recovery from a killed stack ---------------------------------------------------------------
# When the stack's processes were killed (the end of a session does that), containers, their
# mounts, network namespaces and IP allocations outlive them, and the API still binds pods to the
# node. Start from a clean node instead: images are pulled again from the local registry in ms.
unmount_under() { # unmount_under DIR: every mount below DIR, deepest first
  local dir="$1"
  awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

clean_dead_node() {
  is_running containerd && return 0
  log "cleaning the state a stopped or killed node left behind"
  pkill -9 -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCKET" 2>/dev/null || true
  # Processes of containers whose shim died; runc's state says which.
  local id
  for id in $("$RUNC" --root "$STATE/containerd/state/runc/k8s.io" list -q 2>/dev/null || true); do
    "$RUNC" --root "$STATE/containerd/state/runc/k8s.io" kill "$id" KILL 2>/dev/null || true
    "$RUNC" --root "$STATE/containerd/state/runc/k8s.io" delete --force "$id" 2>/dev/null || true
  done
  unmount_under "$STATE"
  rm -rf "$STATE/containerd" "$STATE/kubelet" "$STATE/cni/ipam"
  # Pods the API still places here would wait for a kubelet that forgot them: their controllers
  # make new ones.
  kube delete pods --all-namespaces --field-selector "spec.nodeName=$NODE_NAME" --force --grace-period=0 --wait=false >/dev/null 2>&1 || true
}

# --- verbs --------------------------------------------------------------------------------------
up() {
  [[ $(id -u) -eq 0 ]] || die "the node runs containers as root (containerd, runc, iptables); run the stack as root"
  mkdir -p "$STATE"
  network_up
  clean_dead_node
  mkdir -p "$STATE/containerd" "$STATE/kubelet"
  write_cni_config
  write_registry_hosts
  write_containerd_config
  write_kubeconfig "$STATE/kubelet.kubeconfig" node
  write_kubeconfig "$STATE/kube-proxy.kubeconfig" kube-proxy
  write_kubelet_config
  write_kube_proxy_config
  write_corefile
  start_daemon containerd "$LOG_DIR/containerd.log" env "PATH=$CONTAINERD_BIN:$PATH" \
    "$CONTAINERD_BIN/containerd" --config "$STATE/containerd/config.toml"
  wait_for "containerd on $CONTAINERD_SOCKET" 30 containerd_ready
  start_daemon kubelet "$LOG_DIR/kubelet.log" "$KUBE_BIN/kubelet" --config "$STATE/kubelet.yaml" \
    --kubeconfig "$STATE/kubelet.kubeconfig" --root-dir "$STATE/kubelet" --cert-dir "$STATE/kubelet/pki" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --node-labels "slipway.dev/node=real"
  start_daemon kube-proxy "$LOG_DIR/kube-proxy.log" "$KUBE_BIN/kube-proxy" --config "$STATE/kube-proxy.yaml"
  start_daemon coredns "$LOG_DIR/coredns.log" "$COREDNS_BIN/coredns" -conf "$STATE/Corefile"
  wait_for "node $NODE_NAME Ready" 90 node_ready
  wait_for "CoreDNS on $NODE_IP:53" 30 curl -fsS "http://127.0.0.1:$COREDNS_READY_PORT/ready"
  wait_for "kube-proxy" 30 curl -fsS "http://127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT/healthz"
  write_env node \
    "NODE_NAME=$NODE_NAME" "NODE_IP=$NODE_IP" "POD_CIDR=$POD_CIDR" "CLUSTER_DNS=$NODE_IP" \
    "STACK_DOMAIN=$STACK_DOMAIN" "CONTAINERD_ADDRESS=$CONTAINERD_SOCKET" "CTR=$CONTAINERD_BIN/ctr"
}

down() {
  rm -f "$ENV_DIR/node.env"
  # Pods first, while the kubelet runs, so that CNI tears their network down.
  if is_running kubelet; then
    kube delete pods --all-namespaces --field-selector "spec.nodeName=$NODE_NAME" --grace-period=1 --wait=false >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 20))
    while ((SECONDS < deadline)) && [[ -n $("$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCKET" -n k8s.io tasks ls -q 2>/dev/null) ]]; do sleep 0.5; done
  fi
  stop_daemon coredns
  stop_daemon kube-proxy
  "$KUBE_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  stop_daemon kubelet
  stop_daemon containerd
  clean_dead_node
  network_down
}

status() {
  is_running containerd && is_running kubelet && is_running kube-proxy && is_running coredns && node_ready &&
    echo "$NODE_NAME ($NODE_IP, pods $POD_CIDR): containerd $CONTAINERD_VERSION, kubelet $KUBERNETES_VERSION, DNS $NODE_IP:53"
}

"${1:?usage: $0 install|up|down|status}"
