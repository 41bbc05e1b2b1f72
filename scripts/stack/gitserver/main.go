// gitserver serves the bare repositories under -root over git's smart HTTP protocol by running
// `git http-backend` as a CGI program: the same protocol Gogs, Gitea or GitHub speak, so BuildKit
// fetches git contexts from it exactly as it would from the seed's Gogs. Pushes are allowed
// (receive-pack) so tests can add commits. It listens on loopback only.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/cgi"
	"os/exec"
)

func main() {
	// The stack listens on every address so that pods on its node reach it (git.slipway.test).
	addr := flag.String("addr", "127.0.0.1:25080", "listen address")
	root := flag.String("root", "", "directory holding bare repositories (name.git)")
	flag.Parse()
	if *root == "" {
		log.Fatal("usage: gitserver -root DIR [-addr HOST:PORT]")
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		log.Fatal(err)
	}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + *root,
			"GIT_HTTP_EXPORT_ALL=1",
			// http-backend only accepts pushes from an authenticated user; tests are anonymous.
			"REMOTE_USER=slipway",
		},
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s", r.Method, r.URL.RequestURI())
		backend.ServeHTTP(w, r)
	})
	log.Printf("serving %s on http://%s", *root, *addr)
	log.Fatal(http.ListenAndServe(*addr, handler))
}
