// sample-app is the service Slipway's demo and tests build and deploy: a tiny HTTP server with a
// greeting and a health endpoint, compiled statically so its image can be FROM scratch.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
)

// version is set at build time (-ldflags "-X main.version=…") or falls back to "dev".
var version = "dev"

// ballast holds the memory ALLOCATE_MB asked for, so that it stays in use while the app runs.
var ballast []byte

func main() {
	addr := os.Getenv("LISTEN_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	message := os.Getenv("MESSAGE")
	if message == "" {
		message = "Hello from Slipway"
	}
	// ALLOCATE_MB (off by default) allocates and touches that many MiB at start: tests use it to
	// exceed a memory limit for real (the kernel OOM-kills the container).
	if mb, err := strconv.Atoi(os.Getenv("ALLOCATE_MB")); err == nil && mb > 0 {
		log.Printf("allocating %d MiB", mb)
		ballast = make([]byte, mb<<20)
		for i := 0; i < len(ballast); i += 4096 {
			ballast[i] = 1
		}
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
