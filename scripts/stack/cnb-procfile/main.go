// cnb-procfile is the stack's own Cloud Native Buildpack (Buildpack API 0.10), so the builder
// image needs no download: one static binary that is bin/detect and bin/build (by its name).
//
// detect passes when the app has a Procfile; build turns each `type: command args…` line into a
// launch process (split on spaces: run images FROM scratch have no shell) and writes one launch
// layer describing them, so a rebuild of unchanged source reuses it from the previous image.
package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var processType = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func main() {
	var err error
	switch filepath.Base(os.Args[0]) {
	case "detect":
		if _, statErr := os.Stat("Procfile"); statErr != nil {
			fmt.Println("slipway/procfile: no Procfile in the app directory")
			os.Exit(100)
		}
		fmt.Println("slipway/procfile: Procfile found")
		return
	case "build":
		err = build(os.Getenv("CNB_LAYERS_DIR"))
	default:
		err = fmt.Errorf("run as bin/detect or bin/build, not %s", os.Args[0])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "slipway/procfile:", err)
		os.Exit(1)
	}
}

type process struct{ kind, command string }

func readProcfile() ([]process, error) {
	file, err := os.Open("Procfile")
	if err != nil {
		return nil, err
	}
	defer file.Close()
	var processes []process
	scanner := bufio.NewScanner(file)
	for line := 1; scanner.Scan(); line++ {
		text := strings.TrimSpace(scanner.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		kind, command, ok := strings.Cut(text, ":")
		kind, command = strings.TrimSpace(kind), strings.TrimSpace(command)
		if !ok || !processType.MatchString(kind) || command == "" {
			return nil, fmt.Errorf("Procfile line %d is not `type: command`", line)
		}
		processes = append(processes, process{kind, command})
	}
	if len(processes) == 0 {
		return nil, fmt.Errorf("the Procfile defines no process")
	}
	return processes, scanner.Err()
}

func quoteList(words []string) string {
	quoted := make([]string, len(words))
	for i, word := range words {
		quoted[i] = strconv.Quote(word)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func build(layers string) error {
	if layers == "" {
		return fmt.Errorf("CNB_LAYERS_DIR is not set (Buildpack API 0.8+)")
	}
	processes, err := readProcfile()
	if err != nil {
		return err
	}
	sort.SliceStable(processes, func(i, j int) bool { return processes[i].kind == "web" && processes[j].kind != "web" })
	var launch, summary strings.Builder
	for i, p := range processes {
		words := strings.Fields(p.command)
		if !filepath.IsAbs(words[0]) { // relative to the app directory (the working directory)
			wd, err := os.Getwd()
			if err != nil {
				return err
			}
			words[0] = filepath.Join(wd, words[0])
		}
		fmt.Fprintf(&launch, "[[processes]]\ntype = %q\ncommand = %s\nargs = %s\ndefault = %t\n\n",
			p.kind, quoteList(words[:1]), quoteList(words[1:]), i == 0)
		fmt.Fprintf(&summary, "%s: %s\n", p.kind, strings.Join(words, " "))
		fmt.Printf("slipway/procfile: process %s: %s\n", p.kind, strings.Join(words, " "))
	}
	layer := filepath.Join(layers, "processes")
	if err := os.MkdirAll(layer, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(layer, "processes.txt"), []byte(summary.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(layer+".toml", []byte("[types]\nlaunch = true\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(layers, "launch.toml"), []byte(launch.String()), 0o644)
}
