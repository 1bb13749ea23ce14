package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/api"
	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/evm"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/metrics"
	"github.com/stablegate/stablegate/internal/money"
	"github.com/stablegate/stablegate/internal/ratelimit"
	"github.com/stablegate/stablegate/internal/startstop"
	"github.com/stablegate/stablegate/internal/store"
	"github.com/stablegate/stablegate/internal/store/postgres"
	"github.com/stablegate/stablegate/internal/store/sqlite"
	"github.com/stablegate/stablegate/internal/web"
	"github.com/stablegate/stablegate/internal/web/dashboard"
	"github.com/stablegate/stablegate/internal/webhook"
)

// openStore opens the configured database and applies pending migrations.
// openStore loads the configuration and opens its database, applying pending migrations: how every
// command that only reads or changes the database begins.
func (cf *configFlags) openStore(ctx context.Context) (*store.Store, error) {
	c, err := cf.load()
	if err != nil {
		return nil, err
	}
	return openStore(ctx, c)
}

// printJSON writes v as indented JSON, what --json prints.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func openStore(ctx context.Context, c *Config) (*store.Store, error) {
	db := c.Database
	switch {
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return postgres.Open(ctx, db)
	case db == "" || strings.HasPrefix(db, "sqlite:"):
		path, _ := sqlitePath(c)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("database dir: %w", err)
		}
		return sqlite.Open(ctx, path)
	default:
		return nil, fmt.Errorf("database %q: want empty, sqlite:PATH or a postgres:// URL", redactDSN(db))
	}
}

// sqlitePath is the SQLite database file of the configuration, if its database is SQLite.
func sqlitePath(c *Config) (string, bool) {
	switch {
	case c.Database == "":
		return filepath.Join(c.DataDir, "stablegate.db"), true
	case strings.HasPrefix(c.Database, "sqlite:"):
		return strings.TrimPrefix(c.Database, "sqlite:"), true
	}
	return "", false
}

// redactDSN hides a password in a database URL.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			return dsn[:i+3] + "…@" + dsn[at+1:]
		}
	}
	return dsn
}

// decodeMasterKey accepts 32 bytes as hex (64 characters) or base64.
func decodeMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == gateway.MasterKeySize {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == gateway.MasterKeySize {
		return b, nil
	}
	return nil, errors.New("master key must be 32 bytes, written as 64 hex characters or base64")
}

// loadKeyring reads the master key from the environment or the key file. With generate, a missing
// key file is created with a fresh key (dev only).
// errNoMasterKey is loadKeyring's error when no master key is configured.
var errNoMasterKey = errors.New("no master key: set STABLEGATE_MASTER_KEY or --master-key-file (generate one with: openssl rand -hex 32)")

func loadKeyring(c *Config, generate bool) (*gateway.Keyring, error) {
	raw := c.MasterKey
	if raw == "" && c.MasterKeyFile != "" {
		data, err := os.ReadFile(c.MasterKeyFile)
		switch {
		case err == nil:
			raw = string(data)
		case errors.Is(err, os.ErrNotExist) && generate:
			key := make([]byte, gateway.MasterKeySize)
			if _, err := rand.Read(key); err != nil {
				return nil, err
			}
			raw = hex.EncodeToString(key)
			if err := os.WriteFile(c.MasterKeyFile, []byte(raw+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("write master key: %w", err)
			}
		default:
			return nil, fmt.Errorf("master key file: %w", err)
		}
	}
	if raw == "" {
		return nil, errNoMasterKey
	}
	key, err := decodeMasterKey(raw)
	if err != nil {
		return nil, err
	}
	// During a rotation the key being replaced opens what it sealed until `keys rotate-master` has
	// sealed it again.
	raw = c.PreviousMasterKey
	if raw == "" && c.PreviousMasterKeyFile != "" {
		data, err := os.ReadFile(c.PreviousMasterKeyFile)
		if err != nil {
			return nil, fmt.Errorf("previous master key file: %w", err)
		}
		raw = string(data)
	}
	if raw == "" {
		return gateway.NewKeyring(key)
	}
	previous, err := decodeMasterKey(raw)
	if err != nil {
		return nil, fmt.Errorf("previous %w", err)
	}
	return gateway.NewKeyring(key, previous)
}

// serveHTTP serves h on the listener until ctx ends, after reporting its real address: over TLS,
// with HSTS, when tlsConfig is set.
func serveHTTP(ctx context.Context, ln net.Listener, tlsConfig *tls.Config, h http.Handler, log *slog.Logger, ready func(net.Addr)) error {
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
		next := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
			next.ServeHTTP(w, r)
		})
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	ready(ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// newService returns the domain service with the configured webhook rules.
func newService(c *Config, st gateway.Store, kr *gateway.Keyring, log *slog.Logger) *gateway.Service {
	w, _ := c.Webhooks() // validated when the configuration was loaded
	return &gateway.Service{Store: st, Keyring: kr, Log: log, WebhookPolicy: webhook.NewPolicy(w.AllowPrivate), SecretOverlap: w.SecretOverlap}
}

// checkMasterKey runs before anything is served or written: it refuses a master key that does not
// open the database's API secrets (the wrong key would fail every request, and dev would mint new
// credentials under it), seals secret hashes stored in clear, and says when a rotation is under way.
func checkMasterKey(ctx context.Context, st *store.Store, kr *gateway.Keyring, log *slog.Logger) error {
	n, err := (&gateway.Service{Store: st, Keyring: kr}).SealStoredSecrets(ctx)
	if err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}
	if n > 0 {
		log.Info("api secret hashes sealed with the master key", "count", n)
	}
	if ids := kr.PreviousIDs(); len(ids) > 0 {
		log.Info("a previous master key is configured: it opens what it sealed, and new values are sealed under the master key; "+
			"run `stablegate keys rotate-master` to seal the rest again, then restart without it", "master_key_id", kr.ID(), "previous_key_id", ids[0])
	}
	return nil
}

// startGateway wires the store, the domain, the chain scanners, the webhook dispatcher and the API
// and serves until ctx ends.
func startGateway(ctx context.Context, c *Config, st *store.Store, kr *gateway.Keyring, log *slog.Logger, reg *chain.Registry,
	scanners []*evm.Scanner, dev *devHooks, ready func(baseURL string)) error {
	ctx, cancel := context.WithCancel(ctx)
	svc := newService(c, st, kr, log)
	svc.Registry, svc.Chains = reg, []string{}
	var devPay web.DevPay
	if dev != nil {
		devPay, svc.WebhookSecretRotated = dev.Pay, dev.WebhookSecretRotated
	}
	nodes := evm.Nodes{}
	for _, sc := range scanners {
		svc.Chains = append(svc.Chains, sc.Chain.Slug)
		nodes[sc.Chain.Slug] = sc.Client
	}
	svc.Nodes, svc.Encoder = nodes, evm.Encoder{}
	w, _ := c.Webhooks()
	dispatcher := &webhook.Dispatcher{Store: st, Keyring: kr, Log: log, Schedule: w.Schedule, Timeout: w.Timeout,
		Concurrency: w.Concurrency, Client: webhook.NewPolicy(w.AllowPrivate).Client(w.Timeout, w.Concurrency)}
	// The background services, started in this order and stopped in the reverse one — each waited
	// for — before the caller closes the store: the scanners' steps in flight commit or roll back
	// whole, and the dispatcher, stopped last, records the attempts in flight.
	services := startstop.Group{dispatcher, &gateway.Expirer{Service: svc, Log: log}, &gateway.IdempotencyPurger{Store: st, Log: log}}
	// A scanner holds its chain's lease under the name of this host and listen address, so that
	// this process restarted takes the lease back at once, and another replica (another host or
	// port) waits until the lease expires.
	host, _ := os.Hostname()
	for _, sc := range scanners {
		sc.Gateway, sc.Log, sc.Holder = svc, log, host+"/"+c.Addr
		services = append(services, sc)
	}
	// One sender per EVM chain signs and follows the transactions stablegate sends there, under
	// the leases of its sending addresses (named like the scanners'); the automatic sweeps of each
	// are made under the lease of the chain.
	auto := &gateway.AutoSweeper{Service: svc, Chains: map[string]gateway.AutoSweep{}, Holder: host + "/" + c.Addr, Log: log}
	// The withdrawer queues the transfers of approved withdrawals, under each chain's lease, as
	// often as the quickest scanner looks at its chain (and at once after an approval).
	withdrawer := &gateway.Withdrawer{Service: svc, Holder: host + "/" + c.Addr, Log: log, Interval: gateway.DefaultWithdrawalInterval}
	services = append(services, auto, withdrawer)
	for _, sc := range scanners {
		if sc.Chain.Protocol != chain.EVM {
			continue
		}
		withdrawer.Chains = append(withdrawer.Chains, sc.Chain.Slug)
		if sc.Interval > 0 && sc.Interval < withdrawer.Interval {
			withdrawer.Interval = sc.Interval
		}
		auto.Chains[sc.Chain.Slug] = c.Chains[sc.Chain.Slug].AutoSweep()
		cc := c.Chains[sc.Chain.Slug]
		replace, _ := time.ParseDuration(cc.ReplaceAfter) // validated by loadChains; 0 means the default
		services = append(services, &evm.Sender{Chain: sc.Chain, Client: sc.Client, Gateway: svc, Log: log, Holder: host + "/" + c.Addr,
			MaxFee: cc.MaxFee(), Policy: gateway.SendPolicy{ReplaceAfter: replace}, Interval: sc.Interval})
	}
	if err := services.Start(ctx); err != nil {
		cancel()
		return err
	}
	defer func() {
		cancel()
		services.Stop()
		log.Info("background services stopped")
	}()
	chains := func() []any {
		out := make([]any, len(scanners))
		for i, sc := range scanners {
			out[i] = sc.Health()
		}
		return out
	}
	rules, proxies, _ := c.Limits() // validated when the configuration was loaded
	var limiter *ratelimit.Limiter
	if rules != nil {
		limiter = ratelimit.New(rules, st.RateCounter())
	}
	var srv *api.Server
	pages := web.New(svc, web.Config{Log: log, DevPay: devPay, Limiter: limiter, Proxies: proxies})
	var board http.Handler
	if on, _ := strconv.ParseBool(c.Dashboard); on { // validated when the configuration was loaded
		// Secure cookies in serve: its browsers reach it over https (its own TLS or a proxy's); dev
		// is plain http on the loopback.
		twoFactor, _ := gateway.ParseTwoFactorPolicy(c.TwoFactor) // validated when the configuration was loaded
		board = dashboard.New(svc, dashboard.Config{Log: log, SecureCookies: dev == nil, Limiter: limiter, Proxies: proxies, TwoFactor: twoFactor,
			PublicURL: c.PublicURL, Chains: chains})
	}
	var handler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/pay/") || strings.HasPrefix(r.URL.Path, "/checkout/") || strings.HasPrefix(r.URL.Path, "/assets/") {
			pages.ServeHTTP(w, r)
			return
		}
		if board != nil && (r.URL.Path == "/dashboard" || strings.HasPrefix(r.URL.Path, "/dashboard/")) {
			board.ServeHTTP(w, r)
			return
		}
		srv.ServeHTTP(w, r)
	})
	// Beyond the bound a request is answered 503 at once; /health answers whatever the load, and
	// a live-status stream, open for minutes and capped per address, takes no slot.
	bound, _ := c.MaxConcurrentRequests() // validated when the configuration was loaded
	handler = ratelimit.Bound(bound, func(r *http.Request) bool {
		return r.URL.Path == "/health" || strings.HasPrefix(r.URL.Path, "/pay/") && strings.HasSuffix(r.URL.Path, "/events")
	}, handler)
	if c.MetricsAddr != "" {
		// Every request is counted, the 503s of the bound too; the metrics have their own listener,
		// off the public one.
		handler = metrics.HTTP(handler)
		reg, err := metrics.New(metrics.Sources{Stats: st.Stats, DBs: st.Pools(), Chains: func() []metrics.ChainState {
			out := make([]metrics.ChainState, len(scanners))
			for i, sc := range scanners {
				h := sc.Health()
				out[i] = metrics.ChainState{Chain: h.Chain, Head: h.Head, Scanned: h.Scanned, Scanning: !h.Standby, Degraded: h.Degraded != ""}
			}
			return out
		}, Wallets: func(ctx context.Context) ([]metrics.WalletGas, error) {
			ws, err := svc.HotWalletsGas(ctx)
			out := make([]metrics.WalletGas, 0, len(ws))
			for _, w := range ws {
				if w.Native == nil {
					continue
				}
				coins, _ := strconv.ParseFloat(money.Format(w.Native, w.Chain.NativeDecimals()), 64) // a gauge, not money
				out = append(out, metrics.WalletGas{Project: w.ProjectID, Mode: string(w.Mode), Chain: w.Chain.Slug, Address: w.Address, Coins: coins})
			}
			return out, err
		}})
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", reg.Handler())
		// Listening before serving anything: metrics asked for and not served is a refusal to start.
		ln, err := net.Listen("tcp", c.MetricsAddr)
		if err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		go func() {
			if err := serveHTTP(ctx, ln, nil, mux, log, func(a net.Addr) {
				log.Info("metrics listening", "url", "http://"+a.String()+"/metrics")
			}); err != nil {
				log.Error("metrics listener", "err", err)
			}
		}()
	}
	tlsConfig, err := c.TLS()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return serveHTTP(ctx, ln, tlsConfig, handler, log, func(a net.Addr) {
		base := c.PublicURL
		if base == "" && tlsConfig != nil {
			base = "https://" + a.String()
		} else if base == "" {
			base = "http://" + a.String()
		}
		docsUser, docsPassword, _ := c.DocsCredentials() // validated when the configuration was loaded
		moneyTools, _ := strconv.ParseBool(c.MCPMoneyTools)
		srv = api.New(svc, api.Config{PublicURL: base, Version: version, Log: log, Chains: chains, Limiter: limiter, Proxies: proxies,
			DocsUser: docsUser, DocsPassword: docsPassword, MCPMoneyTools: moneyTools})
		ready(strings.TrimRight(base, "/"))
	})
}

// chainsFor builds the gateway's registry — the built-in one with each configured chain's
// confirmations and finality — and one scanner per configured chain, on the registry's entry.
func chainsFor(chains map[string]ChainConfig) (*chain.Registry, []*evm.Scanner, error) {
	reg := chain.Builtin()
	for slug, cc := range chains {
		var err error
		if reg, err = reg.Configure(slug, cc.Confirmations, cc.Finality); err != nil {
			return nil, nil, err
		}
		if cc.NoSetCode {
			if reg, err = reg.WithoutSetCode(slug); err != nil {
				return nil, nil, err
			}
		}
	}
	var out []*evm.Scanner
	for slug, cc := range chains {
		ch, _ := reg.Lookup(slug) // TRON too: its nodes serve the Ethereum-style JSON-RPC the scanner reads
		client, err := evm.NewClient(cc.RPCURLs, evm.Config{Chain: slug})
		if err != nil {
			return nil, nil, err
		}
		poll, _ := time.ParseDuration(cc.PollInterval) // validated by loadChains; 0 means the default
		out = append(out, &evm.Scanner{Chain: ch, Client: client, StartBlock: cc.StartBlock, Interval: poll,
			RegistryTokensOnly: cc.RegistryTokensOnly, MaxLag: cc.MaxLag})
	}
	return reg, out, nil
}
