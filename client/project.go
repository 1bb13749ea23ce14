package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"
	"time"
)

// Project is the project of the key, with its settings.
type Project struct {
	ProjectID             string         `json:"projectId"`
	Name                  string         `json:"name"`
	Website               string         `json:"website"`
	LiveReady             bool           `json:"liveReady"`
	LiveMode              bool           `json:"liveMode"` // live keys are taken (projects go-live)
	WatchOnly             bool           `json:"watchOnly"`
	UnderpaymentTolerance string         `json:"underpaymentTolerance"` // percent
	PaymentWindowMinutes  int            `json:"paymentWindowMinutes"`
	GraceMinutes          int            `json:"graceMinutes"`
	AllowedOrigins        []string       `json:"allowedOrigins"`
	Confirmations         map[string]int `json:"confirmations"`
	// SharedAddress are the chains whose orders are paid to the project's shared address, told
	// apart by their payAmount.
	SharedAddress map[string]SharedAddressSetting `json:"sharedAddress"`
	CreatedAt     time.Time                       `json:"createdAt"`
	Livemode      bool                            `json:"livemode"` // the mode of the key used
}

// ProjectUpdate changes the project's settings (PATCH /api/v1/project; needs the secret): the
// fields that are set change, the others stay.
type ProjectUpdate struct {
	Name                  *string        `json:"name,omitempty"`
	Website               *string        `json:"website,omitempty"`
	UnderpaymentTolerance *string        `json:"underpaymentTolerance,omitempty"`
	PaymentWindowMinutes  *int           `json:"paymentWindowMinutes,omitempty"`
	GraceMinutes          *int           `json:"graceMinutes,omitempty"`
	AllowedOrigins        *[]string      `json:"allowedOrigins,omitempty"` // replaces the list; an empty one clears it
	Confirmations         map[string]int `json:"confirmations,omitempty"`  // merged; 0 drops a chain's entry
	// SharedAddress is merged; Enabled false drops a chain's setting.
	SharedAddress map[string]SharedAddressSetting `json:"sharedAddress,omitempty"`
}

// SharedAddressSetting is how a chain's orders are paid to the project's shared address: the
// amount plus a unique offset of Step to MaxOffset (decimal strings; empty takes the default).
type SharedAddressSetting struct {
	Enabled   bool   `json:"enabled"`
	Step      string `json:"step,omitempty"`
	MaxOffset string `json:"maxOffset,omitempty"`
}

// GetProject reads the project.
func (c *Client) GetProject(ctx context.Context) (*Project, error) {
	var p Project
	return &p, c.do(ctx, http.MethodGet, "/api/v1/project", nil, nil, &p, "")
}

// UpdateProject changes the project's settings.
func (c *Client) UpdateProject(ctx context.Context, in ProjectUpdate) (*Project, error) {
	var p Project
	return &p, c.do(ctx, http.MethodPatch, "/api/v1/project", nil, in, &p, "")
}

// AuditEntry is a change to the project: who did what, when.
type AuditEntry struct {
	ID        string         `json:"id"`
	Action    string         `json:"action"`
	Actor     AuditActor     `json:"actor"`
	Subject   string         `json:"subject,omitempty"`
	Mode      string         `json:"mode,omitempty"`
	Details   map[string]any `json:"details"`
	CreatedAt time.Time      `json:"createdAt"`
}

// AuditActor is who made a change: an API key, the operator, a dashboard user.
type AuditActor struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	Address   string `json:"address,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// ListAuditLog reads one page of the audit log, newest first, of one action or all (needs the
// secret).
func (c *Client) ListAuditLog(ctx context.Context, action string, limit, page int) ([]AuditEntry, Pagination, error) {
	var out struct {
		Entries    []AuditEntry `json:"entries"`
		Pagination Pagination   `json:"pagination"`
	}
	q := query("action", action)
	setPage(q, page, limit)
	err := c.do(ctx, http.MethodGet, "/api/v1/audit-log", q, nil, &out, "")
	return out.Entries, out.Pagination, err
}

// AuditLog iterates over the audit log, page after page.
func (c *Client) AuditLog(ctx context.Context, action string) iter.Seq2[AuditEntry, error] {
	return pages(func(page int) ([]AuditEntry, Pagination, error) { return c.ListAuditLog(ctx, action, 0, page) })
}

// Chain is a chain the gateway takes payments on in the key's mode, with its tokens.
type Chain struct {
	ChainID          string  `json:"chainId"`
	Name             string  `json:"name"`
	NetworkID        uint64  `json:"networkId"`
	Protocol         string  `json:"protocol"`
	Testnet          bool    `json:"testnet"`
	Confirmations    int     `json:"confirmations"`
	Finality         string  `json:"finality,omitempty"`
	BlockTimeSeconds float64 `json:"blockTimeSeconds"`
	ExplorerTxURL    string  `json:"explorerTxUrl,omitempty"`
	Tokens           []Token `json:"tokens"`
}

// Token is a token of the registry on a chain.
type Token struct {
	Currency string `json:"currency"`
	Address  string `json:"address"`
	Decimals int    `json:"decimals"`
	Bridged  bool   `json:"bridged,omitempty"`
}

// ListChains reads the chains and tokens of the key's mode.
func (c *Client) ListChains(ctx context.Context) ([]Chain, error) {
	var out struct {
		Chains []Chain `json:"chains"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/chains", nil, nil, &out, "")
	return out.Chains, err
}

// Health is the gateway's health (GET /health, no key needed).
type Health struct {
	Status    string         `json:"status"` // healthy, degraded, unhealthy
	Timestamp time.Time      `json:"timestamp"`
	Version   string         `json:"version"`
	Reasons   []string       `json:"reasons,omitempty"`
	Chains    []ChainHealth  `json:"chains,omitempty"`
	Webhooks  *WebhookHealth `json:"webhooks,omitempty"`
}

// ChainHealth is how a watched chain is followed.
type ChainHealth struct {
	Chain      string    `json:"chain"`
	Head       uint64    `json:"head"`
	Finalized  uint64    `json:"finalized,omitempty"`
	Scanned    uint64    `json:"scanned"`
	Lag        uint64    `json:"lag"`
	LastError  string    `json:"lastError,omitempty"`
	Standby    bool      `json:"standby,omitempty"`
	Subscribed bool      `json:"subscribed,omitempty"`
	UpdatedAt  time.Time `json:"updatedAt,omitzero"`
	Degraded   string    `json:"degraded,omitempty"`
	CatchUp    *struct {
		BlocksToGo      uint64  `json:"blocksToGo"`
		BlocksPerSecond float64 `json:"blocksPerSecond"`
		ETASeconds      int64   `json:"etaSeconds"`
	} `json:"catchUp,omitempty"`
}

// WebhookHealth is the state of webhook delivery.
type WebhookHealth struct {
	Pending           int        `json:"pending"`
	OldestPendingAt   *time.Time `json:"oldestPendingAt,omitempty"`
	DisabledEndpoints int        `json:"disabledEndpoints"`
}

// Health reads /health once, without retrying: an unhealthy gateway answers 503 with its reasons,
// which Health returns with no error.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/health", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "stablegate-go-client/1")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("stablegate: GET /health: %w", err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("stablegate: GET /health: %w", err)
	}
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusServiceUnavailable {
		return nil, decodeError(res.StatusCode, data)
	}
	var h Health
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("stablegate: GET /health: %w", err)
	}
	return &h, nil
}
