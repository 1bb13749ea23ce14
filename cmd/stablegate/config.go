package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
	"github.com/stablegate/stablegate/internal/ratelimit"
)

// Config is every option of stablegate. Each has a flag, an environment variable and a key in the
// JSON config file; a flag beats the environment, the environment beats the file, the file beats
// the default. docs/configuration.md lists them all (a test keeps it in step).
type Config struct {
	Addr          string
	DataDir       string
	Database      string
	PublicURL     string
	MasterKey     string
	MasterKeyFile string
	// PreviousMasterKey(File) is the key a rotation replaces: it opens, never seals.
	PreviousMasterKey     string
	PreviousMasterKeyFile string
	LogLevel              string
	LogFormat             string
	// Webhook options as given; Webhooks() parses them.
	WebhookTimeout       string
	WebhookRetries       string
	WebhookConcurrency   string
	WebhookAllowPrivate  string
	WebhookSecretOverlap string
	// Rate limits as given; Limits() parses them.
	RateLimits     string
	MaxConcurrent  string
	TLSCert        string
	DocsAuth       string
	TLSKey         string
	RateLimitTiers map[ratelimit.Tier]*string
	TrustedProxies string
	MetricsAddr    string
	MCPMoneyTools  string
	Dashboard      string
	TwoFactor      string
	// Chains are the chains to watch, by registry slug.
	Chains map[string]ChainConfig
}

// ChainConfig is how to reach and trust one chain.
type ChainConfig struct {
	// RPCURLs are JSON-RPC endpoints, tried in order with failover.
	RPCURLs []string `json:"rpcUrls"`
	// Confirmations overrides the registry's default when > 0.
	Confirmations int `json:"confirmations,omitempty"`
	// StartBlock is where the scanner starts on its first run (default: the head then).
	StartBlock *uint64 `json:"startBlock,omitempty"`
	// PollInterval is how often the head is polled, a Go duration such as "500ms" (default 1s).
	PollInterval string `json:"pollInterval,omitempty"`
	// Finality is "finalized" or "safe" (a payment's block must reach that tag too) or "none" (the
	// count alone); empty: the registry's default for the chain.
	Finality string `json:"finality,omitempty"`
	// RegistryTokensOnly reads the registry tokens' logs only (unknown tokens go unrecorded).
	RegistryTokensOnly bool `json:"registryTokensOnly,omitempty"`
	// MaxLag is how many blocks behind the head the scanner may fall before /health says
	// degraded (default: five minutes of the chain's blocks, at least 10).
	MaxLag uint64 `json:"maxLag,omitempty"`
	// MaxFeeGwei caps the max fee per gas of every transaction stablegate signs on the chain, a
	// decimal number of gwei ("150", "0.5"); empty: no cap.
	MaxFeeGwei string `json:"maxFeeGwei,omitempty"`
	// ReplaceAfter is how long a sent transaction may stay unmined before it is replaced with
	// higher fees, a Go duration (default "3m").
	ReplaceAfter string `json:"replaceAfter,omitempty"`
	// NoSetCode turns EIP-7702 off on the chain: sweeps top up each address's gas instead.
	NoSetCode bool `json:"noSetCode,omitempty"`
	// SweepThreshold is what an address must hold of a token, in token units, to be swept
	// automatically (default "100"); SweepInterval how often the gateway looks, a Go duration
	// (default "10m"; "0" turns automatic sweeps off on the chain).
	SweepThreshold string `json:"sweepThreshold,omitempty"`
	SweepInterval  string `json:"sweepInterval,omitempty"`
}

// AutoSweep is the chain's automatic sweeps (validated by loadChains).
func (cc ChainConfig) AutoSweep() gateway.AutoSweep {
	a := gateway.AutoSweep{Interval: gateway.DefaultSweepInterval, Threshold: gateway.DefaultSweepThreshold}
	if cc.SweepInterval != "" {
		a.Interval, _ = time.ParseDuration(cc.SweepInterval)
	}
	if cc.SweepThreshold != "" {
		a.Threshold = cc.SweepThreshold
	}
	return a
}

// MaxFee is MaxFeeGwei in wei (nil: no cap).
func (cc ChainConfig) MaxFee() *big.Int {
	if cc.MaxFeeGwei == "" {
		return nil
	}
	v, _ := money.ParsePositive(cc.MaxFeeGwei, 9) // validated by loadChains
	return v
}

// option describes one configuration option.
type option struct {
	key    string // in the config file
	flag   string
	env    string
	def    string
	help   string
	secret bool // never printed
	server bool // used only by the commands that run the gateway (serve, dev): no flag elsewhere
	// kind types the flag ("duration", "int", "bool"; empty: a string): --help says it, and the
	// flag refuses what is not one.
	kind string
	ptr  func(*Config) *string
}

var options = []option{
	{key: "addr", server: true, flag: "addr", env: "STABLEGATE_ADDR", def: "127.0.0.1:8080",
		help: "address to listen on (host:port; port 0 picks a free one)", ptr: func(c *Config) *string { return &c.Addr }},
	{key: "dataDir", flag: "data", env: "STABLEGATE_DATA_DIR", def: "./.stablegate",
		help: "directory for the SQLite database and generated files", ptr: func(c *Config) *string { return &c.DataDir }},
	{key: "database", flag: "database", env: "STABLEGATE_DATABASE", def: "",
		help: "database: empty for SQLite at <data>/stablegate.db, sqlite:PATH, or a postgres:// URL", ptr: func(c *Config) *string { return &c.Database }},
	{key: "publicUrl", server: true, flag: "public-url", env: "STABLEGATE_PUBLIC_URL", def: "",
		help: "base URL payers reach stablegate at (paymentUrl is built on it); default http://<addr>", ptr: func(c *Config) *string { return &c.PublicURL }},
	{key: "masterKey", flag: "", env: "STABLEGATE_MASTER_KEY", def: "", secret: true,
		help: "32-byte master key, hex or base64, that seals seeds, secrets and stored answers (environment or file only, never a flag)", ptr: func(c *Config) *string { return &c.MasterKey }},
	{key: "masterKeyFile", flag: "master-key-file", env: "STABLEGATE_MASTER_KEY_FILE", def: "",
		help: "file holding the master key (hex or base64)", ptr: func(c *Config) *string { return &c.MasterKeyFile }},
	{key: "previousMasterKey", flag: "", env: "STABLEGATE_PREVIOUS_MASTER_KEY", def: "", secret: true,
		help: "during a master-key rotation, the master key being replaced: it only opens what it sealed (environment or file only)",
		ptr:  func(c *Config) *string { return &c.PreviousMasterKey }},
	{key: "previousMasterKeyFile", flag: "previous-master-key-file", env: "STABLEGATE_PREVIOUS_MASTER_KEY_FILE", def: "",
		help: "file holding the previous master key, during a rotation", ptr: func(c *Config) *string { return &c.PreviousMasterKeyFile }},
	{key: "logLevel", server: true, flag: "log-level", env: "STABLEGATE_LOG_LEVEL", def: "info",
		help: "debug, info, warn or error", ptr: func(c *Config) *string { return &c.LogLevel }},
	{key: "logFormat", server: true, flag: "log-format", env: "STABLEGATE_LOG_FORMAT", def: "",
		help: "json or text (default: json for serve, text for dev)", ptr: func(c *Config) *string { return &c.LogFormat }},
	{key: "webhookTimeout", server: true, flag: "webhook-timeout", env: "STABLEGATE_WEBHOOK_TIMEOUT", def: "15s", kind: "duration",
		help: "how long a webhook receiver has to answer", ptr: func(c *Config) *string { return &c.WebhookTimeout }},
	{key: "webhookRetrySchedule", server: true, flag: "webhook-retry-schedule", env: "STABLEGATE_WEBHOOK_RETRY_SCHEDULE", def: "1m,5m,30m,2h,12h",
		help: "delays before each retry of a failed webhook, comma-separated; after the last the event is failed", ptr: func(c *Config) *string { return &c.WebhookRetries }},
	{key: "webhookConcurrency", server: true, flag: "webhook-concurrency", env: "STABLEGATE_WEBHOOK_CONCURRENCY", def: "64", kind: "int",
		help: "webhook requests in flight at once", ptr: func(c *Config) *string { return &c.WebhookConcurrency }},
	{key: "webhookAllowPrivate", server: true, flag: "webhook-allow-private", env: "STABLEGATE_WEBHOOK_ALLOW_PRIVATE", def: "false", kind: "bool",
		help: "let webhook URLs reach loopback, private and link-local addresses (true in dev)", ptr: func(c *Config) *string { return &c.WebhookAllowPrivate }},
	{key: "webhookSecretOverlap", server: true, flag: "webhook-secret-overlap", env: "STABLEGATE_WEBHOOK_SECRET_OVERLAP", def: "24h", kind: "duration",
		help: "after a webhook secret rotation, how long deliveries are also signed with the old secret", ptr: func(c *Config) *string { return &c.WebhookSecretOverlap }},
	{key: "rateLimits", server: true, flag: "rate-limits", env: "STABLEGATE_RATE_LIMITS", def: "default",
		help: "rate-limit profile: default, 3pay (3PAY v2's exact tiers) or off", ptr: func(c *Config) *string { return &c.RateLimits }},
	tierOption(ratelimit.Auth, "failed API-key, secret or signature proofs (and sign-ins) per client address"),
	tierOption(ratelimit.Financial, "calls that move money or decide where it goes, per API key"),
	tierOption(ratelimit.WalletGeneration, "deposit bindings, per API key"),
	tierOption(ratelimit.Standard, "every other API call, per API key"),
	tierOption(ratelimit.Dashboard, "dashboard requests, per user"),
	tierOption(ratelimit.Public, "payment-page loads and checkouts, per client address"),
	{key: "maxConcurrentRequests", server: true, flag: "max-concurrent-requests", env: "STABLEGATE_MAX_CONCURRENT_REQUESTS", def: "512", kind: "int",
		help: "requests served at once; one more is answered 503 with Retry-After (health checks and live-status streams are not counted)", ptr: func(c *Config) *string { return &c.MaxConcurrent }},
	{key: "tlsCert", server: true, flag: "tls-cert", env: "STABLEGATE_TLS_CERT", def: "",
		help: "PEM certificate chain file: serve HTTPS (with HSTS) instead of HTTP; needs tlsKey", ptr: func(c *Config) *string { return &c.TLSCert }},
	{key: "tlsKey", server: true, flag: "tls-key", env: "STABLEGATE_TLS_KEY", def: "",
		help: "PEM private key file of tlsCert", ptr: func(c *Config) *string { return &c.TLSKey }},
	{key: "docsAuth", server: true, flag: "", env: "STABLEGATE_DOCS_AUTH", def: "", secret: true,
		help: "USER:PASSWORD that /docs and the OpenAPI document ask for (HTTP basic authentication; environment or file only)", ptr: func(c *Config) *string { return &c.DocsAuth }},
	{key: "mcpMoneyTools", server: true, flag: "mcp-money-tools", env: "STABLEGATE_MCP_MONEY_TOOLS", def: "false", kind: "bool",
		help: "offer the withdrawal and sweep tools on /mcp (each still needs the API secret)", ptr: func(c *Config) *string { return &c.MCPMoneyTools }},
	{key: "dashboard", server: true, flag: "dashboard", env: "STABLEGATE_DASHBOARD", def: "false", kind: "bool",
		help: "serve the merchant dashboard at /dashboard/ (true in dev; accounts: stablegate users create)", ptr: func(c *Config) *string { return &c.Dashboard }},
	{key: "dashboardTwoFactor", server: true, flag: "dashboard-two-factor", env: "STABLEGATE_DASHBOARD_TWO_FACTOR", def: "admins",
		help: "who must turn on two-factor authentication before using the dashboard: admins (owners and admins), everyone or optional; moving money always asks for a code",
		ptr:  func(c *Config) *string { return &c.TwoFactor }},
	{key: "metricsAddr", server: true, flag: "metrics-addr", env: "STABLEGATE_METRICS_ADDR", def: "",
		help: "address (host:port) of a separate listener serving Prometheus metrics at /metrics; empty: none", ptr: func(c *Config) *string { return &c.MetricsAddr }},
	{key: "trustedProxies", server: true, flag: "trusted-proxies", env: "STABLEGATE_TRUSTED_PROXIES", def: "",
		help: "comma-separated addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For names the client", ptr: func(c *Config) *string { return &c.TrustedProxies }},
}

// tierOption is the option that overrides one rate-limit tier of the profile.
func tierOption(t ratelimit.Tier, what string) option {
	name := string(t)
	upper := strings.ToUpper(name[:1]) + name[1:]
	var kebab, env strings.Builder
	for _, r := range name {
		if r >= 'A' && r <= 'Z' {
			kebab.WriteByte('-')
			env.WriteByte('_')
		}
		kebab.WriteRune(unicode.ToLower(r))
		env.WriteRune(unicode.ToUpper(r))
	}
	return option{key: "rateLimit" + upper, server: true, flag: "rate-limit-" + kebab.String(), env: "STABLEGATE_RATE_LIMIT_" + env.String(), def: "",
		help: "LIMIT/WINDOW of the " + name + " tier, " + what + ` (such as "100/15m"; "0": none; empty: the profile's)`,
		ptr: func(c *Config) *string {
			if c.RateLimitTiers == nil {
				c.RateLimitTiers = map[ratelimit.Tier]*string{}
			}
			if c.RateLimitTiers[t] == nil {
				c.RateLimitTiers[t] = new(string)
			}
			return c.RateLimitTiers[t]
		}}
}

// DocsCredentials are the user and password of docsAuth (empty: /docs is open).
func (c *Config) DocsCredentials() (user, password string, err error) {
	if c.DocsAuth == "" {
		return "", "", nil
	}
	user, password, ok := strings.Cut(c.DocsAuth, ":")
	if !ok || user == "" || password == "" {
		return "", "", fmt.Errorf("docsAuth must be USER:PASSWORD, both non-empty")
	}
	return user, password, nil
}

// TLS loads the certificate and key when both are set (nil: plain HTTP).
func (c *Config) TLS() (*tls.Config, error) {
	if c.TLSCert == "" && c.TLSKey == "" {
		return nil, nil
	}
	if c.TLSCert == "" || c.TLSKey == "" {
		return nil, fmt.Errorf("tlsCert and tlsKey go together: set both, or neither")
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("tlsCert/tlsKey: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// MaxConcurrentRequests parses maxConcurrentRequests.
func (c *Config) MaxConcurrentRequests() (int, error) {
	n, err := strconv.Atoi(c.MaxConcurrent)
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, fmt.Errorf("maxConcurrentRequests must be a number from 1 to 1000000")
	}
	return n, nil
}

// Limits parses the rate-limit options: the profile's rules with each tier given overriding its
// own (nil rules: off), and the trusted proxies.
func (c *Config) Limits() (ratelimit.Rules, ratelimit.Proxies, error) {
	proxies, err := ratelimit.ParseProxies(c.TrustedProxies)
	if err != nil {
		return nil, nil, fmt.Errorf("trustedProxies: want comma-separated addresses or CIDR prefixes, such as \"10.0.0.0/8, 127.0.0.1\"")
	}
	if c.RateLimits == "off" {
		return nil, proxies, nil
	}
	rules, err := ratelimit.Profile(c.RateLimits)
	if err != nil {
		return nil, nil, fmt.Errorf("rateLimits %q: want default, 3pay or off", c.RateLimits)
	}
	for _, t := range ratelimit.Tiers {
		v := c.RateLimitTiers[t]
		if v == nil || *v == "" {
			continue
		}
		r, err := ratelimit.ParseRule(*v)
		if err != nil {
			name := string(t)
			return nil, nil, fmt.Errorf("rateLimit%s %w", strings.ToUpper(name[:1])+name[1:], err)
		}
		rules[t] = r
	}
	return rules, proxies, nil
}

// WebhookSettings are the parsed webhook options.
type WebhookSettings struct {
	Timeout       time.Duration
	Schedule      []time.Duration
	Concurrency   int
	AllowPrivate  bool
	SecretOverlap time.Duration
}

// Webhooks parses the webhook options.
func (c *Config) Webhooks() (WebhookSettings, error) {
	var w WebhookSettings
	var err error
	if w.Timeout, err = time.ParseDuration(c.WebhookTimeout); err != nil || w.Timeout < 100*time.Millisecond || w.Timeout > 5*time.Minute {
		return w, fmt.Errorf("webhookTimeout must be a duration from 100ms to 5m, such as \"15s\"")
	}
	for _, part := range strings.Split(c.WebhookRetries, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		d, err := time.ParseDuration(part)
		if err != nil || d <= 0 {
			return w, fmt.Errorf("webhookRetrySchedule must be comma-separated durations such as \"1m,5m,30m,2h,12h\"")
		}
		w.Schedule = append(w.Schedule, d)
	}
	if w.Schedule == nil {
		w.Schedule = []time.Duration{} // no retries
	}
	if w.Concurrency, err = strconv.Atoi(c.WebhookConcurrency); err != nil || w.Concurrency < 1 || w.Concurrency > 4096 {
		return w, fmt.Errorf("webhookConcurrency must be a number from 1 to 4096")
	}
	if w.AllowPrivate, err = strconv.ParseBool(c.WebhookAllowPrivate); err != nil {
		return w, fmt.Errorf("webhookAllowPrivate must be true or false")
	}
	if w.SecretOverlap, err = time.ParseDuration(c.WebhookSecretOverlap); err != nil || w.SecretOverlap < 0 {
		return w, fmt.Errorf("webhookSecretOverlap must be a duration such as \"24h\" (0: none)")
	}
	return w, nil
}

// configFlags registers the options on fs, plus --config; defaults override option defaults per
// command (dev's log format, for one). Commands that do not run the gateway (migrate, projects,
// ledger) get flags for the storage and key options only; they still read every option from the
// file and the environment, so one config file serves every command.
type configFlags struct {
	fs         *flag.FlagSet
	configFile *string
	values     map[string]*string
	defaults   map[string]string
}

func newConfigFlags(fs *flag.FlagSet, server bool, defaults map[string]string) *configFlags {
	cf := &configFlags{fs: fs, values: map[string]*string{}, defaults: defaults}
	cf.configFile = fs.String("config", "", "JSON config file (env STABLEGATE_CONFIG)")
	for _, o := range options {
		if o.flag == "" || o.server && !server {
			continue
		}
		def := o.def
		if d, ok := defaults[o.key]; ok {
			def = d
		}
		if o.kind == "" {
			cf.values[o.key] = fs.String(o.flag, def, o.help+" (env "+o.env+")")
			continue
		}
		v := &typedFlag{s: def, kind: o.kind}
		usage := o.help + ", " + article(o.kind) + " `" + o.kind + "`"
		if o.kind == "bool" {
			usage = o.help
		}
		fs.Var(v, o.flag, usage+" (env "+o.env+")")
		cf.values[o.key] = &v.s
	}
	return cf
}

// typedFlag is a configuration option's flag of a type: it keeps the text (the option is parsed
// with the file's and the environment's), and refuses text that is not of the type.
type typedFlag struct {
	s, kind string
}

func (f *typedFlag) String() string {
	if f == nil {
		return ""
	}
	return f.s
}

func (f *typedFlag) Set(v string) error {
	var err error
	switch f.kind {
	case "duration":
		_, err = time.ParseDuration(v)
	case "int":
		_, err = strconv.Atoi(v)
	case "bool":
		var b bool
		b, err = strconv.ParseBool(v)
		v = strconv.FormatBool(b)
	}
	if err != nil {
		return fmt.Errorf("not %s %s", article(f.kind), f.kind)
	}
	f.s = v
	return nil
}

func article(kind string) string {
	if kind == "int" {
		return "an"
	}
	return "a"
}

// IsBoolFlag lets a bool option be given alone (--webhook-allow-private).
func (f *typedFlag) IsBoolFlag() bool { return f.kind == "bool" }

// load resolves the configuration after fs.Parse.
func (cf *configFlags) load() (*Config, error) {
	set := map[string]bool{}
	cf.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	file := map[string]string{}
	var fileChains map[string]ChainConfig
	path := *cf.configFile
	if path == "" {
		path = os.Getenv("STABLEGATE_CONFIG")
	}
	var err error
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		var raw map[string]any
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
		if chains, ok := raw["chains"]; ok {
			delete(raw, "chains")
			b, _ := json.Marshal(chains)
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&fileChains); err != nil {
				return nil, fmt.Errorf("config file %s: chains: %w", path, err)
			}
		}
		for k, v := range raw {
			if !knownKey(k) {
				return nil, fmt.Errorf("config file %s: unknown option %q", path, k)
			}
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("config file %s: option %q must be a string", path, k)
			}
			file[k] = s
		}
	}
	c := &Config{}
	for _, o := range options {
		v := o.def
		if d, ok := cf.defaults[o.key]; ok {
			v = d
		}
		if fv, ok := file[o.key]; ok {
			v = fv
		}
		if ev, ok := os.LookupEnv(o.env); ok {
			v = ev
		}
		if o.flag != "" && set[o.flag] {
			v = *cf.values[o.key]
		}
		*o.ptr(c) = v
	}
	if c.Chains, err = loadChains(fileChains); err != nil {
		return nil, err
	}
	if _, err := c.Webhooks(); err != nil {
		return nil, err
	}
	if _, _, err := c.Limits(); err != nil {
		return nil, err
	}
	if _, err := c.MaxConcurrentRequests(); err != nil {
		return nil, err
	}
	if _, err := c.TLS(); err != nil {
		return nil, err
	}
	if _, _, err := c.DocsCredentials(); err != nil {
		return nil, err
	}
	if _, err := strconv.ParseBool(c.Dashboard); err != nil {
		return nil, fmt.Errorf("dashboard %q: want true or false", c.Dashboard)
	}
	if _, err := gateway.ParseTwoFactorPolicy(c.TwoFactor); err != nil {
		return nil, err
	}
	if _, err := strconv.ParseBool(c.MCPMoneyTools); err != nil {
		return nil, fmt.Errorf("mcpMoneyTools %q: want true or false", c.MCPMoneyTools)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return nil, fmt.Errorf("metricsAddr %q: want host:port, e.g. 127.0.0.1:9464", c.MetricsAddr)
		}
		if c.MetricsAddr == c.Addr {
			return nil, fmt.Errorf("metricsAddr %q is addr itself: metrics are served on a listener of their own", c.MetricsAddr)
		}
	}
	switch strings.ToLower(c.LogLevel) {
	case "", "debug", "info", "warn", "error":
	default:
		return nil, fmt.Errorf("logLevel %q: want debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "", "json", "text":
	default:
		return nil, fmt.Errorf("logFormat %q: want json or text", c.LogFormat)
	}
	return c, nil
}

// loadChains merges the file's chains with STABLEGATE_RPC_<SLUG> variables (comma-separated URLs,
// slug upper-cased with - as _), which replace the file's URLs, and validates them.
func loadChains(file map[string]ChainConfig) (map[string]ChainConfig, error) {
	out := map[string]ChainConfig{}
	for slug, cc := range file {
		out[slug] = cc
	}
	bySuffix := map[string]string{}
	for _, ch := range chain.Builtin().All() {
		bySuffix[strings.ToUpper(strings.ReplaceAll(ch.Slug, "-", "_"))] = ch.Slug
	}
	for _, kv := range os.Environ() {
		name, v, _ := strings.Cut(kv, "=")
		suffix, ok := strings.CutPrefix(name, "STABLEGATE_RPC_")
		if !ok || v == "" {
			continue
		}
		slug, known := bySuffix[suffix]
		if !known {
			return nil, fmt.Errorf("chains: %s names no chain of the registry (docs/chains.md lists the slugs)", name)
		}
		cc := out[slug]
		cc.RPCURLs = strings.Split(v, ",")
		out[slug] = cc
	}
	for slug, cc := range out {
		if _, ok := chain.Builtin().Lookup(slug); !ok {
			return nil, fmt.Errorf("chains: unknown chain %q", slug)
		}
		if len(cc.RPCURLs) == 0 {
			return nil, fmt.Errorf("chains: %s has no rpcUrls", slug)
		}
		for i, u := range cc.RPCURLs {
			u = strings.TrimSpace(u)
			parsed, err := url.Parse(u)
			switch {
			case err != nil || parsed.Host == "":
				return nil, fmt.Errorf("chains: %s rpcUrls[%d] must be an http(s) or ws(s) URL", slug, i)
			case parsed.Scheme != "http" && parsed.Scheme != "https" && parsed.Scheme != "ws" && parsed.Scheme != "wss":
				return nil, fmt.Errorf("chains: %s rpcUrls[%d] must be an http(s) or ws(s) URL", slug, i)
			}
			cc.RPCURLs[i] = u
		}
		if cc.Confirmations < 0 {
			return nil, fmt.Errorf("chains: %s confirmations must be positive", slug)
		}
		switch cc.Finality {
		case "", "none", "finalized", "safe":
		default:
			return nil, fmt.Errorf("chains: %s finality must be \"finalized\", \"safe\" or \"none\"", slug)
		}
		if cc.PollInterval != "" {
			if d, err := time.ParseDuration(cc.PollInterval); err != nil || d < 10*time.Millisecond {
				return nil, fmt.Errorf("chains: %s pollInterval must be a duration of at least 10ms, such as \"500ms\"", slug)
			}
		}
		if cc.MaxFeeGwei != "" {
			if _, err := money.ParsePositive(cc.MaxFeeGwei, 9); err != nil {
				return nil, fmt.Errorf("chains: %s maxFeeGwei must be a positive number of gwei with at most 9 decimals, such as \"150\"", slug)
			}
		}
		if cc.SweepInterval != "" {
			if d, err := time.ParseDuration(cc.SweepInterval); err != nil || d < 0 || d > 0 && d < time.Second {
				return nil, fmt.Errorf("chains: %s sweepInterval must be a duration of at least 1s, such as \"10m\", or \"0\" for no automatic sweeps", slug)
			}
		}
		if cc.SweepThreshold != "" {
			if _, err := money.ParsePositive(cc.SweepThreshold, 18); err != nil {
				return nil, fmt.Errorf("chains: %s sweepThreshold must be a positive number of token units, such as \"100\"", slug)
			}
		}
		if cc.ReplaceAfter != "" {
			if d, err := time.ParseDuration(cc.ReplaceAfter); err != nil || d < time.Second {
				return nil, fmt.Errorf("chains: %s replaceAfter must be a duration of at least 1s, such as \"3m\"", slug)
			}
		}
	}
	return out, nil
}

func knownKey(k string) bool {
	for _, o := range options {
		if o.key == k {
			return true
		}
	}
	return false
}
