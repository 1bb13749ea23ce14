package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// What changes from run to run — ids, times, a link's random slug — is replaced by a placeholder;
// everything else a merchant receives is compared byte for byte.
var (
	goldenID   = regexp.MustCompile(`\b(ord|dep|lnk|pl|chk|ref|evt|req|key|prj)_[a-z2-7]{20,32}\b`)
	goldenTime = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
	goldenSlug = regexp.MustCompile(`/checkout/[A-Za-z0-9_-]+|"slug": "[A-Za-z0-9_-]+"`)
)

func goldenAnswer(t *testing.T, name string, raw []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		t.Fatalf("%s: %v: %s", name, err, raw)
	}
	got := goldenID.ReplaceAll(buf.Bytes(), []byte("${1}_<id>"))
	got = goldenTime.ReplaceAll(got, []byte("<time>"))
	got = goldenSlug.ReplaceAllFunc(got, func(m []byte) []byte {
		if bytes.HasPrefix(m, []byte("/checkout/")) {
			return []byte("/checkout/<slug>")
		}
		return []byte(`"slug": "<slug>"`)
	})
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update creates it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed (go test -update rewrites it; review what merchants will receive):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// The API's answers for orders, deposits and payment links, as merchants' code reads them.
func TestAnswersGolden(t *testing.T) {
	e := setup(t, "sqlite", "https://shop.example.com")
	sec := []string{"x-api-secret", e.test.Secret}
	created := e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"order_1","amount":"10.50","currency":"USDT","chainId":"devnet",`+
		`"successUrl":"https://shop.example.com/thanks","metadata":{"cart":7}}`)
	goldenAnswer(t, "order.created.json", created.raw)
	id, _ := created.data()["orderId"].(string)
	e.as(e.test, "POST", "/api/v1/orders/"+id+"/simulate", `{"outcome":"completed"}`)
	paid := e.as(e.test, "GET", "/api/v1/orders/"+id, "")
	paid.raw = regexp.MustCompile(`0x[0-9a-f]{64}`).ReplaceAll(paid.raw, []byte("0x<tx>")) // a simulated payment's random hash
	goldenAnswer(t, "order.completed.json", paid.raw)
	goldenAnswer(t, "deposit.bound.json", e.as(e.test, "POST", "/api/v1/deposits/bind", `{"depositReference":"player_42","protocol":"evm"}`).raw)
	goldenAnswer(t, "deposit.reference.json", e.as(e.test, "GET", "/api/v1/deposits/references/player_42", "").raw)
	goldenAnswer(t, "paymentlink.created.json", e.as(e.test, "POST", "/api/v1/payment-links",
		`{"title":"Logo design","description":"Invoice 7","amount":"25","currencies":[{"currency":"USDT","chainId":"devnet"}],"inventoryTotal":5}`, sec...).raw)
	goldenAnswer(t, "error.validation.json", e.as(e.test, "POST", "/api/v1/orders", `{"orderReference":"x","amount":"1","amount":"2","currency":"USDT","chainId":"devnet"}`).raw)
}
