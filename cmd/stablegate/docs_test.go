package main

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// referenceExamples reads the examples of each operation from the rendered /docs page: what a
// developer copies.
func referenceExamples(t *testing.T, baseURL string) map[string]map[string]string {
	t.Helper()
	res, err := http.Get(baseURL + "/docs")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs answered %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	sections := regexp.MustCompile(`(?s)<section class="op" id="op-([A-Za-z]+)">(.*?)</section>`).FindAllStringSubmatch(string(page), -1)
	code := regexp.MustCompile(`(?s)<code class="lang-([a-z]+)">(.*?)</code>`)
	out := map[string]map[string]string{}
	for _, s := range sections {
		out[s[1]] = map[string]string{}
		for _, c := range code.FindAllStringSubmatch(s[2], -1) {
			out[s[1]][c[1]] = html.UnescapeString(c[2])
		}
	}
	return out
}

// The reference's examples, copied from the page and run as they are in curl, Node, Python and
// PHP against a live gateway: each creates the order, reads the project, reads the audit log with
// the secret, binds a deposit address (the order's example chain is swapped for the devnet, the
// one chain dev watches).
func TestReferenceExamplesRun(t *testing.T) {
	runners := map[string][]string{"curl": {tool(t, "bash", "apt-get install bash")}, "node": {tool(t, "node", "apt-get install nodejs")},
		"python": {tool(t, "python3", "apt-get install python3")}, "php": {tool(t, "php", "apt-get install php-cli php-curl")}}
	creds, _ := startDev(t)
	examples := referenceExamples(t, creds.BaseURL)
	if len(examples) < 48 {
		t.Fatalf("the page shows %d operations", len(examples))
	}
	for id, langs := range examples {
		for _, lang := range []string{"curl", "node", "python", "php"} {
			if !strings.Contains(langs[lang], creds.BaseURL) {
				t.Errorf("%s has no %s example sent to %s", id, lang, creds.BaseURL)
			}
		}
	}
	want := map[string]string{"createOrder": "order_123", "getProject": creds.ProjectID, "getAuditLog": "entries", "bindDeposit": "user_42"}
	dir := t.TempDir()
	var wg sync.WaitGroup
	for id, marker := range want {
		for lang, runner := range runners {
			wg.Add(1)
			go func() {
				defer wg.Done()
				src := strings.ReplaceAll(examples[id][lang], "ethereum-sepolia", "devnet")
				file := filepath.Join(dir, id+"."+map[string]string{"curl": "sh", "node": "mjs", "python": "py", "php": "php"}[lang])
				if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
					t.Error(err)
					return
				}
				cmd := exec.Command(runner[0], file)
				cmd.Env = append(os.Environ(), "STABLEGATE_API_KEY="+creds.APIKey, "STABLEGATE_API_SECRET="+creds.APISecret)
				out, err := cmd.CombinedOutput()
				if err != nil || !strings.Contains(string(out), marker) {
					t.Errorf("the %s example of %s: %v\n%s\n--- its output:\n%s", lang, id, err, src, out)
				}
			}()
		}
	}
	wg.Wait()
	// The one order all four created (one orderReference), with the body as the examples sent it.
	req, _ := http.NewRequest("GET", creds.BaseURL+"/api/v1/orders?orderReference=order_123", nil)
	req.Header.Set("Authorization", "Bearer "+creds.APIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list struct {
		Data struct {
			Orders []struct{ Amount, Currency, ChainID string } `json:"orders"`
		}
	}
	json.NewDecoder(res.Body).Decode(&list)
	if len(list.Data.Orders) != 1 || list.Data.Orders[0].Amount != "49.99" || list.Data.Orders[0].ChainID != "devnet" {
		t.Errorf("the examples made the orders %+v", list.Data.Orders)
	}
}

// /docs in a real browser: the reference renders every operation, a search narrows it, and
// nothing the page loads comes from another origin (no CDN, no font, no script).
func TestReferenceInBrowser(t *testing.T) {
	ctx := browser(t)
	creds, _ := startDev(t)
	base, _ := url.Parse(creds.BaseURL)
	var mu sync.Mutex
	var elsewhere []string
	requests := 0
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			u, err := url.Parse(e.Request.URL)
			mu.Lock()
			requests++
			if err != nil || (u.Scheme != "data" && u.Host != base.Host) {
				elsewhere = append(elsewhere, e.Request.URL)
			}
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(creds.BaseURL+"/docs"), chromedp.WaitVisible(chromedp.ID("op-createOrder"))); err != nil {
		t.Fatal(err)
	}
	count, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('section.op').length`))
	curl, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#op-createOrder .lang-curl').textContent`))
	if count < 48 || !strings.Contains(curl, creds.BaseURL+"/api/v1/orders") {
		t.Fatalf("the reference shows %d operations; createOrder's curl: %q", count, curl)
	}
	// A developer looks for how to approve a withdrawal: the operation that does it comes first.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.SendKeys(chromedp.CSS(`input[name="q"]`), "approve withdrawal"),
		chromedp.Submit(chromedp.CSS(`input[name="q"]`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.getElementById('results') !== null`, 10*time.Second)
	found, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('section.op')).map(function (s) { return s.id; })`))
	if len(found) == 0 || len(found) > count/3 || found[0] != "op-approveWithdrawal" {
		t.Errorf("searching for approve withdrawal found %v", found)
	}
	// A search that matches nothing says so.
	if err := chromedp.Do(ctx, chromedp.Navigate(creds.BaseURL+"/docs?q=kangaroo"), chromedp.WaitVisible(chromedp.ID("results-none"))); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if requests < 3 || len(elsewhere) > 0 {
		t.Errorf("of %d requests the page made, these left the gateway: %v", requests, elsewhere)
	}
}
