package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/store"
	"github.com/stablegate/stablegate/internal/store/postgres"
	"github.com/stablegate/stablegate/internal/store/sqlite"
	"github.com/stablegate/stablegate/internal/testpg"
	"github.com/stablegate/stablegate/internal/web"
)

const abandon = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"

func TestMain(m *testing.M) { testpg.Main(m) }

func setup(t testing.TB) (*gateway.Service, *httptest.Server, map[gateway.Mode]*gateway.Principal) {
	return setupOn(t, "sqlite")
}

// fuzzEngine is the database the fuzz targets run on: SQLite, or PostgreSQL when
// STABLEGATE_FUZZ_ENGINE=postgres (CI runs a short pass of each).
func fuzzEngine() string {
	if os.Getenv("STABLEGATE_FUZZ_ENGINE") == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

func setupOn(t testing.TB, engine string) (*gateway.Service, *httptest.Server, map[gateway.Mode]*gateway.Principal) {
	t.Helper()
	var st *store.Store
	var err error
	if engine == "postgres" {
		st, err = postgres.Open(context.Background(), testpg.DSN(t))
	} else {
		st, err = sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kr, _ := gateway.NewKeyring(make([]byte, gateway.MasterKeySize))
	svc := &gateway.Service{Store: st, Keyring: kr}
	evm, _ := chain.AccountXPub(abandon, chain.EVM)
	tron, _ := chain.AccountXPub(abandon, chain.TRON)
	cp, err := svc.CreateProject(context.Background(), gateway.CreateProjectParams{Live: true, Name: "Shop", Website: "https://shop.example.com",
		XPubs: map[chain.Protocol]string{chain.EVM: evm, chain.TRON: tron}})
	if err != nil {
		t.Fatal(err)
	}
	prs := map[gateway.Mode]*gateway.Principal{}
	for _, k := range cp.Keys {
		pr, err := svc.Authenticate(context.Background(), k.Key)
		if err != nil {
			t.Fatal(err)
		}
		prs[k.Mode] = pr
	}
	srv := httptest.NewServer(web.New(svc, web.Config{}))
	t.Cleanup(srv.Close)
	return svc, srv, prs
}

func order(t testing.TB, svc *gateway.Service, pr *gateway.Principal, chainID, currency string) *gateway.Order {
	t.Helper()
	o, _, err := svc.CreateOrder(context.Background(), pr, gateway.OrderInput{Reference: gateway.NewID("ref"), Amount: "12.5",
		Currency: currency, ChainID: chainID, SuccessURL: "https://shop.example.com/thanks"})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func get(t *testing.T, u string) (int, string, http.Header) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func TestPaymentPage(t *testing.T) {
	svc, srv, prs := setup(t)
	o := order(t, svc, prs[gateway.Test], "devnet", "USDT")
	code, body, hdr := get(t, srv.URL+"/pay/"+o.ID)
	for _, want := range []string{"12.5 USDT", o.Address, "stablegate devnet", "TEST", "Send only USDT on stablegate devnet",
		"0x5FbDB2315678afecb367f032d93F642f64180aa3", "/pay/" + o.ID + "/qr.png", "Waiting for your payment", `name="outcome" value="completed"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if code != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("page: %d, CSP %q", code, hdr.Get("Content-Security-Policy"))
	}
	if strings.Contains(body, "Pay with the dev wallet") {
		t.Error("the dev wallet button without a dev wallet")
	}
	// No external resources: every src and href is on this server.
	for _, attr := range []string{`src="http`, `href="http`} {
		if strings.Contains(body, attr) {
			t.Errorf("the page loads something from elsewhere: %s", attr)
		}
	}

	// Open in wallet (issue 11, item 23): the QR code's EIP-681 request as a link, on EVM chains
	// (a TRON order's page, below, has none).
	if want := `href="ethereum:0x5FbDB2315678afecb367f032d93F642f64180aa3@1337/transfer?address=` + o.Address + `&amp;uint256=12500000"`; !strings.Contains(body, want) ||
		!strings.Contains(body, "Open in wallet") {
		t.Errorf("page lacks the wallet link %s", want)
	}
	if code, body, hdr := get(t, srv.URL+"/pay/"+o.ID+"/qr.png"); code != 200 || hdr.Get("Content-Type") != "image/png" || !strings.HasPrefix(body, "\x89PNG") {
		t.Fatalf("qr: %d %s", code, hdr.Get("Content-Type"))
	}
	// A payer who follows a wrong link gets a page that says so, in the payment page's style; a
	// script reading the status gets plain text.
	if code, body, hdr := get(t, srv.URL+"/pay/ord_nope"); code != 404 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "This payment does not exist") || !strings.Contains(body, "/assets/pay.css") {
		t.Fatalf("unknown order: %d %s %s", code, hdr.Get("Content-Type"), body)
	}
	if code, _, hdr := get(t, srv.URL+"/pay/ord_nope/status"); code != 404 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("status of an unknown order: %d %s", code, hdr.Get("Content-Type"))
	}
	if code, body, _ := get(t, srv.URL+"/checkout/nope"); code != 404 || !strings.Contains(body, "This payment link does not exist") ||
		!strings.Contains(body, "<h1") {
		t.Fatalf("unknown payment link: %d %s", code, body)
	}
	if code, _, _ := get(t, srv.URL+"/assets/pay.css"); code != 200 {
		t.Fatalf("css: %d", code)
	}
	// Only the stylesheet and the script are served: no templates, no listing, no 500 on odd names.
	for _, p := range []string{"/assets/pay.html", "/assets/", "/assets/%B0.css", "/assets/nope.js"} {
		if code, _, _ := get(t, srv.URL+p); code != 404 {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}

	// The live status stream: the current status, then the change, then it ends (completed).
	res, err := http.Get(srv.URL + "/pay/" + o.ID + "/events")
	if err != nil || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %v %v", err, res)
	}
	defer res.Body.Close()
	lines := bufio.NewScanner(res.Body)
	next := func() web.Status {
		t.Helper()
		for lines.Scan() {
			if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				var st web.Status
				json.Unmarshal([]byte(data), &st)
				return st
			}
		}
		t.Fatal("the stream ended")
		return web.Status{}
	}
	if st := next(); st.Status != "pending" || st.Due != "12.5" {
		t.Fatalf("first status %+v", st)
	}
	form := url.Values{"outcome": {"completed"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if r, err := noRedirect.PostForm(srv.URL+"/pay/"+o.ID+"/simulate", form); err != nil || r.StatusCode != http.StatusSeeOther {
		t.Fatalf("simulate: %v %v", err, r)
	}
	if st := next(); st.Status != "completed" || !st.Final || st.Redirect != "https://shop.example.com/thanks" {
		t.Fatalf("after paying: %+v", st)
	}
	if lines.Scan() && strings.HasPrefix(lines.Text(), "data: ") {
		t.Fatal("the stream goes on after the order is final")
	}

	// Live orders: no simulation, no TEST badge; the dev wallet pays devnet orders only.
	live := order(t, svc, prs[gateway.Live], "ethereum", "USDC")
	_, body, _ = get(t, srv.URL+"/pay/"+live.ID)
	if strings.Contains(body, "TEST") || strings.Contains(body, "Simulate") || !strings.Contains(body, "Ethereum") {
		t.Fatal("the live page shows test tools")
	}
	if r, _ := noRedirect.PostForm(srv.URL+"/pay/"+live.ID+"/simulate", form); r.StatusCode != http.StatusForbidden {
		t.Fatalf("simulate live: %d", r.StatusCode)
	}
	if r, _ := noRedirect.PostForm(srv.URL+"/pay/"+live.ID+"/devpay", nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("devpay live: %d", r.StatusCode)
	}
	// TRON: the QR code holds the plain address, the page the T… address.
	tron := order(t, svc, prs[gateway.Test], "tron-nile", "USDT")
	if _, body, _ := get(t, srv.URL+"/pay/"+tron.ID); !strings.Contains(body, tron.Address) || !strings.HasPrefix(tron.Address, "T") ||
		strings.Contains(body, "Open in wallet") {
		t.Fatal("TRON page: its address, and no EIP-681 wallet link")
	}
}

// An id or slug with NUL or invalid UTF-8 is a page not found on both engines (PostgreSQL answered
// 500: it cannot compare such text).
func TestBadIDsAreNotFound(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			_, srv, _ := setupOn(t, engine)
			for _, c := range []struct{ method, path string }{{"GET", "/pay/%ff/status"}, {"GET", "/pay/ord_%00"}, {"GET", "/pay/%c3/qr.png"},
				{"GET", "/checkout/%00"}, {"POST", "/checkout/%00"}, {"POST", "/pay/%ff/simulate"}} {
				req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusNotFound {
					t.Errorf("%s %s: %d", c.method, c.path, res.StatusCode)
				}
			}
		})
	}
}

// The page shows only the messages it chose itself: text in its URL is never shown (a real order's
// page must not tell the payer to send the money elsewhere).
func TestPageShowsNoTextFromItsURL(t *testing.T) {
	t.Parallel()
	svc, srv, prs := setup(t)
	o := order(t, svc, prs[gateway.Live], "ethereum", "USDT")
	for q, want := range map[string]string{"Send+the+250+USDT+to+0xBAD+instead": "", "simulated-completed": "Simulated: completed."} {
		res, err := http.Get(srv.URL + "/pay/" + o.ID + "?msg=" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(body), "0xBAD") || (want != "" && !strings.Contains(string(body), want)) {
			t.Errorf("?msg=%s: the page shows %q", q, body)
		}
	}
}

// The pages say who is being paid, and a completed order's page is a receipt: "Paid", what was
// received, the transaction (linked to the chain's explorer) and when.
func TestPagesNameTheMerchantAndGiveAReceipt(t *testing.T) {
	t.Parallel()
	svc, srv, prs := setup(t)
	get := func(path string) string {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	o := order(t, svc, prs[gateway.Test], "ethereum-sepolia", "USDC")
	if body := get("/pay/" + o.ID); !strings.Contains(body, "Payment to <strong>Shop</strong> · shop.example.com") || strings.Contains(body, "Paid") {
		t.Errorf("pending page:\n%s", body)
	}
	done, err := svc.SimulateOrder(context.Background(), prs[gateway.Test], o.ID, gateway.SimulateCompleted, "")
	if err != nil {
		t.Fatal(err)
	}
	body := get("/pay/" + o.ID)
	for _, want := range []string{"Paid <span class=\"amount\">12.5 USDC</span>", "Received 12.5 USDC of 12.5 USDC.",
		`<time datetime="2026-`, "Completed "} {
		if !strings.Contains(body, want) {
			t.Errorf("the receipt lacks %q:\n%s", want, body)
		}
	}
	if want := string(web.Groups(done.TxHash)); !strings.Contains(body, want) {
		t.Errorf("the receipt lacks the transaction %q:\n%s", want, body)
	}
	// A simulated payment is on no chain: its hash links to no explorer.
	if strings.Contains(body, "etherscan.io") {
		t.Errorf("a simulated payment linked to an explorer:\n%s", body)
	}
	if strings.Contains(body, "Send to this address") {
		t.Error("a completed order's page still asks for the payment")
	}
	three := 3
	l, err := svc.CreatePaymentLink(context.Background(), prs[gateway.Test], gateway.PaymentLinkInput{Title: "Ticket", Amount: "5",
		Currencies: []gateway.LinkCurrency{{Currency: "USDT", ChainID: "devnet"}}, InventoryTotal: &three})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PublishPaymentLink(context.Background(), prs[gateway.Test], l.ID); err != nil {
		t.Fatal(err)
	}
	// The checkout says who sells, every amount with its currency, and the stock left (issue 11, item 8).
	body = get("/checkout/" + l.Slug)
	for _, want := range []string{"Sold by <strong>Shop</strong> · shop.example.com", "5 USDT on stablegate devnet", "3 left"} {
		if !strings.Contains(body, want) {
			t.Errorf("checkout page lacks %q:\n%s", want, body)
		}
	}
	// In the payer's language too (issue 11, item 22).
	req, _ := http.NewRequest("GET", srv.URL+"/checkout/"+l.Slug, nil)
	req.Header.Set("Accept-Language", "es-ES")
	if res, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for _, want := range []string{`<html lang="es">`, "Vendido por <strong>Shop</strong>", "5 USDT en stablegate devnet", "Quedan 3", "Continuar al pago"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("the Spanish checkout page lacks %q", want)
			}
		}
	}
	// A payer who types a bad amount is told what to type, not the API's wording.
	custom, err := svc.CreatePaymentLink(context.Background(), prs[gateway.Test], gateway.PaymentLinkInput{Title: "Tip", Amount: "0",
		Currencies: []gateway.LinkCurrency{{Currency: "USDT", ChainID: "devnet"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PublishPaymentLink(context.Background(), prs[gateway.Test], custom.ID); err != nil {
		t.Fatal(err)
	}
	for _, amount := range []string{"abc", "0", "1.1234567"} {
		res, err := http.PostForm(srv.URL+"/checkout/"+custom.Slug, url.Values{"option": {"USDT@devnet"}, "amount": {amount}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), "Enter an amount like 10.50: a number greater than 0, with at most 6 decimals.") ||
			strings.Contains(string(b), "decimal string") {
			t.Errorf("amount %q: %d\n%s", amount, res.StatusCode, b)
		}
	}
}

// Long values break only between groups of four (issue 11, item 7): "0x" stays with the first
// group, a short tail joins the last, and the text is the value itself.
func TestGroups(t *testing.T) {
	t.Parallel()
	tags := regexp.MustCompile(`<[^>]*>`)
	for _, c := range []struct {
		in    string
		first string
		last  string
		n     int
	}{
		{"0x5FbDB2315678afecb367f032d93F642f64180aa3", "0x5FbD", "0aa3", 10},
		{"0xc5c1d92589cc1e1cf7a29b522611a8827636d7a017844304eba13578dce17fdc", "0xc5c1", "7fdc", 16},
		{"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "TR7N", "gjLj6t", 8},
		{"abcdef", "abcdef", "abcdef", 1},
		{"abc", "abc", "abc", 1},
	} {
		html := string(web.Groups(c.in))
		if got := tags.ReplaceAllString(html, ""); got != c.in {
			t.Errorf("%s shows as %q", c.in, got)
		}
		groups := regexp.MustCompile(`<span class="g">([^<]*)</span>`).FindAllStringSubmatch(html, -1)
		if len(groups) != c.n || groups[0][1] != c.first || groups[len(groups)-1][1] != c.last {
			t.Errorf("%s: %d groups from %q: %s", c.in, len(groups), groups[0][1], html)
		}
		for _, g := range groups[1:] {
			if len(g[1]) < 4 {
				t.Errorf("%s: a stray group %q", c.in, g[1])
			}
		}
	}
}

// Every catalog has the English keys, no others, and the same arguments in each message (issue
// 11, item 22): a translator's slip fails here, not on a payer's screen.
func TestCatalogsComplete(t *testing.T) {
	t.Parallel()
	verbs := regexp.MustCompile(`%\[\d\][a-z]`)
	count := func(m string) map[string]int {
		out := map[string]int{}
		for _, v := range verbs.FindAllString(m, -1) {
			out[v]++
		}
		return out
	}
	en := web.English()
	if len(web.Locales()) != 5 {
		t.Fatalf("%d locales, want en, zh, es, ru, pt", len(web.Locales()))
	}
	for _, l := range web.Locales() {
		keys := web.CatalogKeys(l)
		if len(keys) != len(web.CatalogKeys(en)) {
			t.Errorf("%s has %d messages, English %d", l.Tag, len(keys), len(web.CatalogKeys(en)))
		}
		for _, k := range web.CatalogKeys(en) {
			m, ok := web.Message(l, k)
			if !ok || m == "" {
				t.Errorf("%s lacks %q", l.Tag, k)
				continue
			}
			enm, _ := web.Message(en, k)
			if fmt.Sprint(count(m)) != fmt.Sprint(count(enm)) {
				t.Errorf("%s %q has the arguments %v, English %v", l.Tag, k, count(m), count(enm))
			}
		}
	}
}

// Amounts read the locale's way; the amount to send never changes.
func TestLocaleAmounts(t *testing.T) {
	t.Parallel()
	byTag := map[string]*web.Locale{}
	for _, l := range web.Locales() {
		byTag[l.Tag] = l
	}
	for _, c := range []struct{ tag, in, want string }{
		{"en", "1234567.5", "1,234,567.5"}, {"es", "1234567.5", "1.234.567,5"}, {"ru", "1234567.5", "1\u00a0234\u00a0567,5"},
		{"pt", "0.000001", "0,000001"}, {"zh", "10", "10"}, {"en", "123", "123"}, {"es", "1000", "1.000"}, {"en", "x1", "x1"},
	} {
		if got := byTag[c.tag].Amount(c.in); got != c.want {
			t.Errorf("%s %s = %q, want %q", c.tag, c.in, got, c.want)
		}
	}
}

// The payer pages follow Accept-Language, a switch (remembered in a cookie) overrides it, and
// the script's status texts come in the page's language.
func TestPayerLanguage(t *testing.T) {
	t.Parallel()
	svc, srv, prs := setup(t)
	o := order(t, svc, prs[gateway.Test], "ethereum-sepolia", "USDC")
	fetch := func(path, acceptLanguage, cookie string) (string, *http.Response) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if acceptLanguage != "" {
			req.Header.Set("Accept-Language", acceptLanguage)
		}
		if cookie != "" {
			req.Header.Set("Cookie", "lang="+cookie)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b), res
	}
	for _, c := range []struct {
		accept, cookie, query string
		want                  []string
	}{
		{"zh-CN,zh;q=0.9,en;q=0.5", "", "", []string{`<html lang="zh">`, "等待您的付款。", "支付 <span class=\"amount\">12.5 USDC</span>", "发送到此地址"}},
		{"es-MX,es;q=0.8", "", "", []string{`<html lang="es">`, "Esperando tu pago.", "Pagar <span class=\"amount\">12,5 USDC</span>", "Envía solo USDC en"}},
		{"ru", "", "", []string{`<html lang="ru">`, "Ожидаем ваш платёж.", "12,5 USDC", "Отправьте на этот адрес"}},
		{"pt-BR", "", "", []string{`<html lang="pt">`, "Aguardando o seu pagamento.", "Envie para este endereço"}},
		{"de-DE,fr;q=0.8", "", "", []string{`<html lang="en">`, "Waiting for your payment.", "Pay <span class=\"amount\">12.5 USDC</span>"}},
		{"zh", "", "?lang=ru", []string{`<html lang="ru">`, "Ожидаем ваш платёж."}},
		{"zh", "es", "", []string{`<html lang="es">`}},
		{"", "", "", []string{`<html lang="en">`, `href="/pay/` + o.ID + `?lang=zh"`, ">中文</a>", `aria-current="true">English</a>`}},
	} {
		body, res := fetch("/pay/"+o.ID+c.query, c.accept, c.cookie)
		for _, want := range c.want {
			if !strings.Contains(body, want) {
				t.Errorf("Accept-Language %q, cookie %q, %q: the page lacks %q", c.accept, c.cookie, c.query, want)
			}
		}
		// The amount to send is exact in every language.
		if !strings.Contains(body, `id="amount-exact" class="address" aria-labelledby="amount-label">12.5</code>`) {
			t.Errorf("Accept-Language %q: the amount to copy is not 12.5", c.accept)
		}
		if c.query == "?lang=ru" && !strings.Contains(res.Header.Get("Set-Cookie"), "lang=ru") {
			t.Errorf("the switch is not remembered: Set-Cookie %q", res.Header.Get("Set-Cookie"))
		}
	}
	if body, _ := fetch("/pay/"+o.ID+"/status?lang=pt", "zh", ""); !strings.Contains(body, `"text":"Aguardando o seu pagamento."`) {
		t.Errorf("/status?lang=pt: %s", body)
	}
	if body, res := fetch("/pay/ord_missing", "ru", ""); res.StatusCode != 404 || !strings.Contains(body, "Платёж не найден") {
		t.Errorf("the not-found page in Russian: %d %s", res.StatusCode, body)
	}
}

// The live status outlives the server's write timeout (stablegate's is 60 s, a payment window is
// minutes): each event extends the stream's own deadline, so a change long after the page opened
// still reaches it.
func TestLiveStatusOutlivesTheWriteTimeout(t *testing.T) {
	t.Parallel()
	svc, _, prs := setup(t)
	hs := httptest.NewUnstartedServer(web.New(svc, web.Config{Poll: 50 * time.Millisecond}))
	hs.Config.WriteTimeout = 300 * time.Millisecond
	hs.Start()
	t.Cleanup(hs.Close)
	o := order(t, svc, prs[gateway.Test], "ethereum-sepolia", "USDC")
	res, err := http.Get(hs.URL + "/pay/" + o.ID + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	events := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				events <- sc.Text()
			}
		}
		close(events)
	}()
	if ev := <-events; !strings.Contains(ev, `"status":"pending"`) {
		t.Fatalf("first event %q", ev)
	}
	time.Sleep(time.Second) // past the server's write timeout
	if _, err := svc.SimulateOrder(context.Background(), prs[gateway.Test], o.ID, gateway.SimulateCompleted, ""); err != nil {
		t.Fatal(err)
	}
	select {
	case ev, ok := <-events:
		if !ok || !strings.Contains(ev, `"status":"completed"`) {
			t.Fatalf("after the write timeout the stream gave %q (open: %v)", ev, ok)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event after the write timeout")
	}
}
