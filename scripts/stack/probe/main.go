// Command probe is the in-cluster HTTP client of the stack's tests (no image with curl can be
// pulled here): `probe URL...` GETs each URL, retrying for up to 30 s while the name does not
// resolve or the connection is refused, and prints "URL STATUS BODY" per URL, one line each. It exits 1 when any
// URL never answered.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func get(url string) (string, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, readErr := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if readErr == nil {
				// One line per URL: the body's line breaks become spaces.
				oneLine := strings.ReplaceAll(strings.TrimSpace(string(body)), "\n", " ")
				return fmt.Sprintf("%d %s", resp.StatusCode, oneLine), nil
			}
			err = readErr
		}
		if time.Now().After(deadline) {
			return "", err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func main() {
	failed := false
	for _, url := range os.Args[1:] {
		answer, err := get(url)
		if err != nil {
			fmt.Printf("%s ERROR %v\n", url, err)
			failed = true
			continue
		}
		fmt.Printf("%s %s\n", url, answer)
	}
	if failed {
		os.Exit(1)
	}
}
