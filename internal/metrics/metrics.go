// Package metrics is what stablegate tells Prometheus: the counters the drivers move as things
// happen (HTTP requests, RPC calls, payments detected, webhook deliveries) and, read when scraped,
// what the database and the scanners hold (orders by status, the webhook queue, outgoing
// transactions, each chain's head and lag, the connection pools). docs/metrics.md lists them.
//
// The counters are the process's, registered into every Registry made here, so that the code that
// moves them needs no handle; what is read at scrape is each Registry's own.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "stablegate"

// Latency buckets, in seconds: from a cached API answer to a slow provider.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// The counters, moved by the drivers.
var (
	httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "http_requests_total",
		Help: "HTTP requests answered, by route (the endpoint's pattern, not the path), method and status."}, []string{"route", "method", "status"})
	httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "http_request_duration_seconds",
		Help: "Time to answer an HTTP request (a live-status stream: until it closed), by route and method.", Buckets: latencyBuckets},
		[]string{"route", "method"})
	rpcCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "rpc_requests_total",
		Help: "JSON-RPC requests sent to a chain's providers (each attempt, retries included), by chain, provider host and method."},
		[]string{"chain", "provider", "method"})
	rpcErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "rpc_errors_total",
		Help: "JSON-RPC attempts that failed for the provider's reason (timeout, connection, 5xx, 429, rate limit) and were retried elsewhere, by chain and provider host."},
		[]string{"chain", "provider"})
	paymentsDetected = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "payments_detected_total",
		Help: "Token transfers to an order's or a deposit's address that count for it, recorded once each, by chain, currency and kind (order, deposit)."},
		[]string{"chain", "currency", "kind"})
	detectionLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "payment_detection_seconds",
		Help:    "From a payment's block timestamp to its recording, by chain (where the provider gives logs their block timestamp).",
		Buckets: []float64{0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600}}, []string{"chain"})
	webhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "webhook_deliveries_total",
		Help: "Webhook delivery attempts, by result: delivered (2xx), retry (failed, another attempt is due), failed (the last attempt failed), disabled (410 Gone)."},
		[]string{"result"})
	webhookDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "webhook_delivery_duration_seconds",
		Help: "Time a webhook receiver took to answer (or to fail).", Buckets: latencyBuckets})
)

// counters are registered into every Registry.
var counters = []prometheus.Collector{httpRequests, httpDuration, rpcCalls, rpcErrors, paymentsDetected, detectionLatency,
	webhookDeliveries, webhookDuration}

// RPC counts one JSON-RPC attempt to a provider of a chain; failed says it failed for the
// provider's reason.
func RPC(chain, provider, method string, failed bool) {
	rpcCalls.WithLabelValues(chain, provider, method).Inc()
	if failed {
		rpcErrors.WithLabelValues(chain, provider).Inc()
	}
}

// PaymentDetected counts a transfer that counts for an order or a deposit, recorded for the first
// time; blockTime, when the provider gave it, is when its block was made.
func PaymentDetected(chain, currency string, deposit bool, blockTime, now time.Time) {
	kind := "order"
	if deposit {
		kind = "deposit"
	}
	paymentsDetected.WithLabelValues(chain, currency, kind).Inc()
	if !blockTime.IsZero() {
		detectionLatency.WithLabelValues(chain).Observe(max(now.Sub(blockTime).Seconds(), 0))
	}
}

// WebhookAttempt counts a delivery attempt with its result (delivered, retry, failed, disabled).
func WebhookAttempt(result string, took time.Duration) {
	webhookDeliveries.WithLabelValues(result).Inc()
	webhookDuration.Observe(took.Seconds())
}

// Route names the endpoint a request reached, for the request's metrics: the API sets its
// operation's pattern, the pages theirs. It needs the context HTTP gave the handler.
func Route(ctx context.Context, route string) {
	if r, ok := ctx.Value(routeKey{}).(*string); ok {
		*r = route
	}
}

// Counting reports whether the request of ctx is counted (HTTP wraps it), so that a handler only
// looks up a route name when someone will read it.
func Counting(ctx context.Context) bool {
	_, ok := ctx.Value(routeKey{}).(*string)
	return ok
}

type routeKey struct{}

// HTTP counts every request that next answers, with its latency, under the route the handler
// named (Route); a request no handler named (an unknown path) is counted as "other", so that
// paths do not become labels.
func HTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := "other"
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), routeKey{}, &route)))
		httpRequests.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Inc()
		httpDuration.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushing a live-status stream).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Stats is what the database holds, read at each scrape.
type Stats struct {
	Orders   []Count // by mode and status
	Outgoing []Count // by chain and status
	// WebhooksPending is how many deliveries wait (their first attempt or a retry); the oldest's
	// age says how late the queue is.
	WebhooksPending      int
	OldestPendingWebhook time.Time
}

// Count is a number of rows under their labels.
type Count struct {
	Labels []string
	N      int
}

// ChainState is what a scanner knows of its chain.
type ChainState struct {
	Chain         string
	Head, Scanned uint64
	Scanning      bool // this process holds the chain's lease and scans it
	Degraded      bool // payments on the chain may not be seen now (/health says why)
}

// WalletGas is what a hot wallet holds of its chain's coin, in coins (ETH, not wei): a figure to
// watch, never one that money is counted with.
type WalletGas struct {
	Project, Mode, Chain, Address string
	Coins                         float64
}

// Sources are what a Registry reads at each scrape; a nil one is left out.
type Sources struct {
	Stats  func(context.Context) (Stats, error)
	Chains func() []ChainState
	// Wallets reads the hot wallets' gas from the chains' nodes (a wallet whose node did not
	// answer is left out).
	Wallets func(context.Context) ([]WalletGas, error)
	// DBs are the connection pools, by name ("write", "read").
	DBs map[string]*sql.DB
}

// Registry is one process's metrics, served by Handler.
type Registry struct{ reg *prometheus.Registry }

// New returns a registry with the process's counters, the Go runtime's and the process's own
// metrics, and what the sources hold.
func New(src Sources) (*Registry, error) {
	reg := prometheus.NewRegistry()
	cs := append([]prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})},
		counters...)
	if src.Stats != nil || src.Chains != nil || src.Wallets != nil {
		cs = append(cs, &scrape{src: src})
	}
	for name, db := range src.DBs {
		cs = append(cs, prometheus.WrapCollectorWith(prometheus.Labels{"pool": name}, collectors.NewDBStatsCollector(db, namespace)))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return &Registry{reg: reg}, nil
}

// Handler serves the metrics in Prometheus's text format (or OpenMetrics, when asked for).
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{Registry: r.reg, EnableOpenMetrics: true})
}

var (
	ordersDesc = prometheus.NewDesc(namespace+"_orders", "Orders stored, by mode and status (their sum, per mode, is every order ever created).",
		[]string{"mode", "status"}, nil)
	outgoingDesc = prometheus.NewDesc(namespace+"_outgoing_transactions", "Transactions stablegate signs (sweeps, withdrawals, gas top-ups), by chain and status.",
		[]string{"chain", "status"}, nil)
	webhookQueueDesc = prometheus.NewDesc(namespace+"_webhook_queue_depth", "Webhook deliveries waiting for their first attempt or a retry.", nil, nil)
	webhookAgeDesc   = prometheus.NewDesc(namespace+"_webhook_queue_oldest_seconds", "Age of the oldest delivery waiting (0: none).", nil, nil)
	headDesc         = prometheus.NewDesc(namespace+"_chain_head_block", "The chain's newest block, as its node answered.", []string{"chain"}, nil)
	scannedDesc      = prometheus.NewDesc(namespace+"_chain_scanned_block", "The newest block scanned for payments.", []string{"chain"}, nil)
	lagDesc          = prometheus.NewDesc(namespace+"_chain_lag_blocks", "Blocks between the head and the newest block scanned.", []string{"chain"}, nil)
	scanningDesc     = prometheus.NewDesc(namespace+"_chain_scanning", "1 if this process holds the chain's lease and scans it, 0 if another replica does.",
		[]string{"chain"}, nil)
	degradedDesc = prometheus.NewDesc(namespace+"_chain_degraded", "1 if payments on the chain may not be seen now: its node fails or the scan lags (/health says why).",
		[]string{"chain"}, nil)
	gasDesc = prometheus.NewDesc(namespace+"_hot_wallet_gas", "What a hot wallet holds of its chain's coin (ETH, BNB, POL…), which pays its sweeps' and payouts' gas.",
		[]string{"project", "mode", "chain", "address"}, nil)
	scrapeErrorDesc = prometheus.NewDesc(namespace+"_scrape_errors", "1 if the database could not be read for this scrape.", nil, nil)
)

// scrape reads the sources when Prometheus asks.
type scrape struct{ src Sources }

func (s *scrape) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(s, ch) }

func (s *scrape) Collect(ch chan<- prometheus.Metric) {
	if s.src.Chains != nil {
		for _, c := range s.src.Chains() {
			ch <- prometheus.MustNewConstMetric(headDesc, prometheus.GaugeValue, float64(c.Head), c.Chain)
			ch <- prometheus.MustNewConstMetric(scannedDesc, prometheus.GaugeValue, float64(c.Scanned), c.Chain)
			lag := 0.0
			if c.Head > c.Scanned {
				lag = float64(c.Head - c.Scanned)
			}
			ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, lag, c.Chain)
			scanning := 0.0
			if c.Scanning {
				scanning = 1
			}
			ch <- prometheus.MustNewConstMetric(scanningDesc, prometheus.GaugeValue, scanning, c.Chain)
			degraded := 0.0
			if c.Degraded {
				degraded = 1
			}
			ch <- prometheus.MustNewConstMetric(degradedDesc, prometheus.GaugeValue, degraded, c.Chain)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.src.Wallets != nil {
		ws, _ := s.src.Wallets(ctx) // what was read; a store that failed shows in scrape_errors below
		for _, w := range ws {
			ch <- prometheus.MustNewConstMetric(gasDesc, prometheus.GaugeValue, w.Coins, w.Project, w.Mode, w.Chain, w.Address)
		}
	}
	if s.src.Stats == nil {
		return
	}
	st, err := s.src.Stats(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, 0)
	for _, c := range st.Orders {
		ch <- prometheus.MustNewConstMetric(ordersDesc, prometheus.GaugeValue, float64(c.N), c.Labels...)
	}
	for _, c := range st.Outgoing {
		ch <- prometheus.MustNewConstMetric(outgoingDesc, prometheus.GaugeValue, float64(c.N), c.Labels...)
	}
	ch <- prometheus.MustNewConstMetric(webhookQueueDesc, prometheus.GaugeValue, float64(st.WebhooksPending))
	age := 0.0
	if !st.OldestPendingWebhook.IsZero() {
		age = max(time.Since(st.OldestPendingWebhook).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(webhookAgeDesc, prometheus.GaugeValue, age)
}
