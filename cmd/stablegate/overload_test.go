package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// More load than the bound: every answer is a success or a clean 503 with Retry-After, /health
// keeps answering, and every order that was answered created is there — and only those.
func TestOverloadAnswersCleanly(t *testing.T) {
	t.Parallel()
	creds, _ := startDev(t, "--max-concurrent-requests", "2")
	create := func(ref string, body io.Reader) (int, map[string]any, http.Header) {
		if body == nil {
			body = strings.NewReader(fmt.Sprintf(`{"orderReference":%q,"amount":"5","currency":"USDT","chainId":"devnet"}`, ref))
		}
		req, _ := http.NewRequest("POST", creds.BaseURL+"/api/v1/orders", body)
		req.Header.Set("apikey", creds.APIKey)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, nil, nil
		}
		defer res.Body.Close()
		var out map[string]any
		raw, _ := io.ReadAll(res.Body)
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Errorf("%s: answer %d is not JSON: %s", ref, res.StatusCode, raw)
		}
		return res.StatusCode, out, res.Header
	}
	// Two requests whose bodies arrive slowly hold both slots.
	var slow sync.WaitGroup
	writers := make([]*io.PipeWriter, 2)
	slowStatus := make([]int, 2)
	for i := range writers {
		pr, pw := io.Pipe()
		writers[i] = pw
		slow.Add(1)
		go func() {
			defer slow.Done()
			slowStatus[i], _, _ = create("", pr)
		}()
		if _, err := fmt.Fprintf(pw, `{"orderReference":"slow-%d",`, i); err != nil {
			t.Fatal(err)
		}
	}
	created := map[string]bool{}
	var mu sync.Mutex
	for deadline := time.Now().Add(20 * time.Second); ; {
		status, body, h := create(fmt.Sprint("probe-", time.Now().UnixNano()), nil)
		if status == 201 {
			mu.Lock()
			created[body["data"].(map[string]any)["orderReference"].(string)] = true
			mu.Unlock()
		}
		if status == 503 {
			if body["error"] != "Overloaded" || body["success"] != false || h.Get("Retry-After") != "1" {
				t.Fatalf("503 answer: %v %v", body, h)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow requests never filled the bound")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// While the bound is full: every creation is refused, and /health answers.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, _, _ := create(fmt.Sprint("refused-", i), nil); status != 503 {
				t.Errorf("a creation while the bound is full: %d", status)
			}
		}()
	}
	wg.Wait()
	res, err := http.Get(creds.BaseURL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/health under overload: %d", res.StatusCode)
	}
	for i, pw := range writers {
		fmt.Fprint(pw, `"amount":"5","currency":"USDT","chainId":"devnet"}`)
		pw.Close()
		created[fmt.Sprint("slow-", i)] = true
	}
	slow.Wait()
	if slowStatus[0] != 201 || slowStatus[1] != 201 {
		t.Fatalf("the slow requests: %v", slowStatus)
	}
	// 40 at once against a bound of 2: successes and clean refusals only.
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref := fmt.Sprint("burst-", i)
			switch status, body, h := create(ref, nil); status {
			case 201:
				mu.Lock()
				created[ref] = true
				mu.Unlock()
			case 503:
				if body["error"] != "Overloaded" || h.Get("Retry-After") == "" {
					t.Errorf("%s: unclean 503 %v", ref, body)
				}
			default:
				t.Errorf("%s: %d %v", ref, status, body)
			}
		}()
	}
	wg.Wait()
	// The orders that exist are exactly those answered 201.
	req, _ := http.NewRequest("GET", creds.BaseURL+"/api/v1/orders?limit=100", nil)
	req.Header.Set("apikey", creds.APIKey)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list struct {
		Data struct {
			Orders []struct {
				OrderReference string `json:"orderReference"`
			} `json:"orders"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, o := range list.Data.Orders {
		if strings.HasPrefix(o.OrderReference, "demo") {
			continue
		}
		got[o.OrderReference] = true
	}
	for ref := range created {
		if !got[ref] {
			t.Errorf("order %s was answered 201 and is not there", ref)
		}
	}
	for ref := range got {
		if !created[ref] {
			t.Errorf("order %s is there but was refused", ref)
		}
	}
}

// A client that never finishes its request headers (slowloris) is cut off by the server.
func TestSlowClientCutOff(t *testing.T) {
	t.Parallel()
	creds, _ := startDev(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(creds.BaseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprint(conn, "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second)) // the server's header timeout is 10 s
	_, err = io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server kept a connection whose headers never ended for 30 s")
	}
}
