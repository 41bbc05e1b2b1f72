// Command coredns is the local stack's cluster DNS: CoreDNS with only the plugins a one-node
// cluster needs, so the build pulls in no cloud SDKs (route53, azure, clouddns) and compiles in a
// fraction of the full server's time.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

// directives keeps the order of CoreDNS's plugin.cfg: it is the order of the plugin chain.
var directives = []string{"bind", "ready", "health", "errors", "log", "cache", "hosts", "kubernetes", "forward"}

func init() { dnsserver.Directives = directives }

func main() { coremain.Run() }
