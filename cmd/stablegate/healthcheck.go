package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// runHealthcheck asks a running gateway's /health and fails unless it answers 200 (healthy, or
// degraded: a chain's node failing is no reason to restart the gateway). It is the container's
// HEALTHCHECK, where no curl exists.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck", "healthcheck [--url URL] [--timeout D]", stderr)
	cf := newConfigFlags(fs, false, nil)
	url := fs.String("url", "", "the gateway's base URL (default: its addr from the configuration, on loopback)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := parse(fs, args); err != nil {
		return err
	}
	client := &http.Client{Timeout: *timeout}
	if *url == "" {
		c, err := cf.load()
		if err != nil {
			return err
		}
		host, port, err := net.SplitHostPort(c.Addr)
		if err != nil {
			return fmt.Errorf("addr %q: %w", c.Addr, err)
		}
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1" // listening on every interface: loopback is one of them
		}
		scheme := "http"
		if c.TLSCert != "" {
			// The certificate names the public host, not loopback; the probe only reads /health.
			scheme = "https"
			client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec
		}
		*url = scheme + "://" + net.JoinHostPort(host, port)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(*url, "/")+"/health", nil)
	if err != nil {
		return usageError{fmt.Sprintf("--url: %v", err)}
	}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer res.Body.Close()
	var h struct {
		Status  string   `json:"status"`
		Reasons []string `json:"reasons"`
	}
	_ = json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&h)
	line := h.Status
	if len(h.Reasons) > 0 {
		line += ": " + strings.Join(h.Reasons, "; ")
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %d %s", res.StatusCode, line)
	}
	fmt.Fprintln(stdout, line)
	return nil
}
