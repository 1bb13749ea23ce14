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
	// Two requests whose bodies arrive slowly hold both slots, each on a connection of its own; one
	// refused because a probe held a slot at that moment is sent again.
	var slow sync.WaitGroup
	releaseAll := make(chan struct{})
	slowStatus := make([]int, 2)
	for i := range slowStatus {
		slow.Add(1)
		go func() {
			defer slow.Done()
			for {
				body := &slowBody{first: []byte(fmt.Sprintf(`{"orderReference":"slow-%d",`, i)),
					rest: []byte(`"amount":"5","currency":"USDT","chainId":"devnet"}`), release: releaseAll}
				req, _ := http.NewRequest("POST", creds.BaseURL+"/api/v1/orders", body)
				req.Header.Set("apikey", creds.APIKey)
				req.Header.Set("Content-Type", "application/json")
				res, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
				if err != nil {
					t.Errorf("slow request %d: %v", i, err)
					return
				}
				raw, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 503 && res.StatusCode != 201 {
					t.Logf("slow request %d: %d %s", i, res.StatusCode, raw)
				}
				if res.StatusCode == 503 {
					continue // at once: the probes below hold a slot only now and then
				}
				slowStatus[i] = res.StatusCode
				return
			}
		}()
	}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(releaseAll) }) }
	t.Cleanup(release) // a failed test still lets the gateway stop
	created := map[string]bool{}
	var mu sync.Mutex
	var seen []int
	// Probes a fifth of a second apart (each holds a slot while it runs), for less than the server's
	// 30 s read timeout, which would end the slow requests.
	for deadline := time.Now().Add(25 * time.Second); ; {
		req, _ := http.NewRequest("GET", creds.BaseURL+"/api/v1/orders?limit=1", nil)
		req.Header.Set("apikey", creds.APIKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode == 503 {
			if body["error"] != "Overloaded" || body["success"] != false || res.Header.Get("Retry-After") != "1" {
				t.Fatalf("503 answer: %v %v", body, res.Header)
			}
			break
		}
		if seen = append(seen, res.StatusCode); time.Now().After(deadline) {
			t.Fatalf("the slow requests never filled the bound: answers %v, slow requests %v", seen[max(len(seen)-10, 0):], slowStatus)
		}
		time.Sleep(200 * time.Millisecond)
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
	release()
	created["slow-0"], created["slow-1"] = true, true
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

// slowBody is a request body whose first part arrives at once and the rest only once released.
type slowBody struct {
	first, rest []byte
	release     chan struct{}
	waited      bool
}

func (b *slowBody) Read(p []byte) (int, error) {
	if len(b.first) > 0 {
		n := copy(p, b.first)
		b.first = b.first[n:]
		return n, nil
	}
	if !b.waited {
		<-b.release
		b.waited = true
	}
	if len(b.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	return n, nil
}
