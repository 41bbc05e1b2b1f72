// The stack's etcd: etcd v3.6 built from go.etcd.io/etcd/server/v3 (Debian ships 3.4, which lacks
// RequestWatchProgress; the API server then refuses watch streams and events arrive late).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
