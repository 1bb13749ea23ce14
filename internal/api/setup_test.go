package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/api"
	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/store"
	"github.com/stablegate/stablegate/internal/store/postgres"
	"github.com/stablegate/stablegate/internal/store/sqlite"
	"github.com/stablegate/stablegate/internal/testpg"
	"github.com/stablegate/stablegate/internal/webhook"
)

func TestMain(m *testing.M) { testpg.Main(m) }

const abandon = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"

// engines are the databases every API test runs on.
var engines = []string{"sqlite", "postgres"}

func openStore(t testing.TB, engine string) *store.Store {
	t.Helper()
	var s *store.Store
	var err error
	if engine == "postgres" {
		s, err = postgres.Open(context.Background(), testpg.DSN(t))
	} else {
		s, err = sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "api.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// env is a running gateway on loopback with one project.
type env struct {
	t       testing.TB
	url     string
	srv     *api.Server
	store   *store.Store
	svc     *gateway.Service
	project *gateway.CreatedProject
	test    gateway.KeyPair
	live    gateway.KeyPair
}

// setup starts the API on a real HTTP server over the engine's store, with a watch-only project
// on the "abandon … about" xpubs, so the first EVM address is the BIP44 vector.
func setup(t testing.TB, engine string, website string) *env {
	t.Helper()
	return setupWith(t, engine, website, func(*store.Store) api.Config { return api.Config{} })
}

// setupWith is setup with the API's configuration made by cfg from the store (its PublicURL and
// Version are set).
func setupWith(t testing.TB, engine string, website string, cfg func(*store.Store) api.Config) *env {
	t.Helper()
	st := openStore(t, engine)
	kr, _ := gateway.NewKeyring(make([]byte, 32))
	svc := &gateway.Service{Store: st, Keyring: kr, WebhookPolicy: webhook.NewPolicy(false), SecretOverlap: 24 * time.Hour}
	c := cfg(st)
	c.PublicURL, c.Version = "https://pay.example.com/", "test"
	srv := api.New(svc, c)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	evm, _ := chain.AccountXPub(abandon, chain.EVM)
	tron, _ := chain.AccountXPub(abandon, chain.TRON)
	cp, err := svc.CreateProject(context.Background(), gateway.CreateProjectParams{Live: true, Name: "Shop", Website: website,
		XPubs: map[chain.Protocol]string{chain.EVM: evm, chain.TRON: tron}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, url: hs.URL, srv: srv, store: st, svc: svc, project: cp}
	for _, k := range cp.Keys {
		if k.Mode == gateway.Live {
			e.live = k
		} else {
			e.test = k
		}
	}
	return e
}

// response is a decoded API answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r response) data() map[string]any {
	d, _ := r.body["data"].(map[string]any)
	return d
}

func (r response) str(key string) string {
	v, _ := r.body[key].(string)
	return v
}

// call sends a request with the given headers (pairs) and decodes the JSON answer.
func (e *env) call(method, path, body string, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	if e.srv != nil {
		req.Body = io.NopCloser(bytes.NewReader([]byte(body)))
		checkAnswer(e.t, e.srv, req, res.StatusCode, res.Header, raw)
	}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		e.t.Fatalf("%s %s: answer is not JSON (%d): %s", method, path, res.StatusCode, raw)
	}
	return out
}

// as calls with the test key as a Bearer token.
func (e *env) as(key gateway.KeyPair, method, path, body string, headers ...string) response {
	e.t.Helper()
	return e.call(method, path, body, append([]string{"Authorization", "Bearer " + key.Key}, headers...)...)
}

// orderCount counts the project's orders in a mode, straight from the database.
func (e *env) orderCount(mode gateway.Mode) int {
	e.t.Helper()
	_, total, err := e.store.ListOrders(context.Background(), gateway.OrderFilter{ProjectID: e.project.Project.ID, Mode: mode, Page: 1, Limit: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	return total
}

func forEachEngine(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			fn(t, engine)
		})
	}
}

// httptestServer serves h on loopback until the test ends and returns its URL.
func httptestServer(t testing.TB, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}
