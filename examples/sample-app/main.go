// sample-app is the service Slipway's demo and tests build and deploy: a tiny HTTP server with a
// greeting and a health endpoint, compiled statically so its image can be FROM scratch.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

// version is set at build time (-ldflags "-X main.version=…") or falls back to "dev".
var version = "dev"

func main() {
	addr := os.Getenv("LISTEN_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	message := os.Getenv("MESSAGE")
	if message == "" {
		message = "Hello from Slipway"
	}
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%s (version %s)\n", message, version)
	})
	log.Printf("sample-app %s listening on %s", version, addr)
	log.Fatal(http.ListenAndServe(addr, nil))
}
