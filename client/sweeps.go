package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// SweepInput plans (DryRun) or starts sweeps of a chain's addresses into the hot wallet
// (POST /api/v1/sweeps; needs the secret).
type SweepInput struct {
	ChainID           string   `json:"chainId"`
	Currency          string   `json:"currency,omitempty"`  // only this token
	Addresses         []string `json:"addresses,omitempty"` // only these addresses
	IncludeCollecting bool     `json:"includeCollecting,omitempty"`
	DryRun            bool     `json:"dryRun,omitempty"`
	// IdempotencyKey, when set, is sent instead of a generated one.
	IdempotencyKey string `json:"-"`
}

// SweepPlan is what a sweep request planned (and, unless a dry run, started).
type SweepPlan struct {
	DryRun      bool             `json:"dryRun"`
	Method      string           `json:"method"` // batch or topup
	Sweeps      []Sweep          `json:"sweeps"`
	Skipped     []SkippedAddress `json:"skipped"`
	Differences []HoldingDiff    `json:"differences"`
	Estimate    SweepEstimate    `json:"estimate"`
	Livemode    bool             `json:"livemode"`
}

// Sweep moves one token of a chain's addresses into the hot wallet.
type Sweep struct {
	SweepID               string      `json:"sweepId"`
	Status                string      `json:"status"`
	Method                string      `json:"method"`
	ChainID               string      `json:"chainId"`
	Currency              string      `json:"currency"`
	TokenAddress          string      `json:"tokenAddress"`
	To                    string      `json:"to"`
	Amount                string      `json:"amount"`
	Moved                 string      `json:"moved,omitempty"`
	Addresses             []SweepLeg  `json:"addresses"`
	OutgoingTransactionID string      `json:"outgoingTransactionId,omitempty"`
	TxHash                string      `json:"txHash,omitempty"`
	GasUsed               uint64      `json:"gasUsed,omitempty"`
	Fee                   *CoinAmount `json:"fee,omitempty"`
	Failure               string      `json:"failure,omitempty"`
	CreatedAt             time.Time   `json:"createdAt"`
	UpdatedAt             time.Time   `json:"updatedAt"`
	CompletedAt           *time.Time  `json:"completedAt,omitempty"`
	Livemode              bool        `json:"livemode"`
}

// SweepLeg is one address of a sweep.
type SweepLeg struct {
	Address   string `json:"address"`
	Amount    string `json:"amount"`
	OnChain   string `json:"onChain"`
	Moved     string `json:"moved,omitempty"`
	OrderID   string `json:"orderId,omitempty"`
	DepositID string `json:"depositId,omitempty"`
}

// SkippedAddress is an address with funds a sweep left alone, and why.
type SkippedAddress struct {
	Address  string `json:"address"`
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
	Reason   string `json:"reason"`
}

// HoldingDiff is an address whose on-chain balance is not what the ledger says.
type HoldingDiff struct {
	Address  string `json:"address"`
	Currency string `json:"currency"`
	Ledger   string `json:"ledger"`
	OnChain  string `json:"onChain"`
}

// SweepEstimate is the gas a sweep plan needs.
type SweepEstimate struct {
	Gas              uint64      `json:"gas"`
	Cost             CoinAmount  `json:"cost"`
	HotWalletBalance *CoinAmount `json:"hotWalletBalance,omitempty"`
	NeedsSweeper     bool        `json:"needsSweeper"`
}

// CreateSweep plans sweeps, and starts them unless in.DryRun.
func (c *Client) CreateSweep(ctx context.Context, in SweepInput) (*SweepPlan, error) {
	var p SweepPlan
	return &p, c.do(ctx, http.MethodPost, "/api/v1/sweeps", nil, in, &p, in.IdempotencyKey)
}

// GetSweep reads a sweep.
func (c *Client) GetSweep(ctx context.Context, sweepID string) (*Sweep, error) {
	var s Sweep
	return &s, c.do(ctx, http.MethodGet, "/api/v1/sweeps/"+url.PathEscape(sweepID), nil, nil, &s, "")
}

// ListSweeps reads the latest sweeps (limit: at most 100; 0: 20).
func (c *Client) ListSweeps(ctx context.Context, limit int) ([]Sweep, error) {
	var out struct {
		Sweeps []Sweep `json:"sweeps"`
	}
	q := url.Values{}
	setPage(q, 1, limit)
	err := c.do(ctx, http.MethodGet, "/api/v1/sweeps", q, nil, &out, "")
	return out.Sweeps, err
}

// OutgoingTx is a transaction stablegate signs and sends: a sweep, a withdrawal, a treasury send.
type OutgoingTx struct {
	ID          string           `json:"id"`
	ChainID     string           `json:"chainId"`
	Purpose     string           `json:"purpose"`
	PurposeID   string           `json:"purposeId,omitempty"`
	Status      string           `json:"status"` // queued, signed, broadcast, mined, confirmed, failed
	From        string           `json:"from"`
	To          string           `json:"to,omitempty"`
	Value       CoinAmount       `json:"value"`
	Nonce       *uint64          `json:"nonce,omitempty"`
	GasLimit    uint64           `json:"gasLimit,omitempty"`
	TxHash      string           `json:"txHash,omitempty"`
	BlockNumber uint64           `json:"blockNumber,omitempty"`
	GasUsed     uint64           `json:"gasUsed,omitempty"`
	Fee         *CoinAmount      `json:"fee,omitempty"`
	Failure     string           `json:"failure,omitempty"`
	Attempts    []TxAttempt      `json:"attempts"`
	History     []OutgoingChange `json:"history,omitempty"` // on GetOutgoingTransaction
	CreatedAt   time.Time        `json:"createdAt"`
	UpdatedAt   time.Time        `json:"updatedAt"`
	Livemode    bool             `json:"livemode"`
}

// TxAttempt is one signed version of an outgoing transaction.
type TxAttempt struct {
	Hash                 string     `json:"hash"`
	GasLimit             uint64     `json:"gasLimit"`
	MaxFeePerGas         string     `json:"maxFeePerGas"`         // wei
	MaxPriorityFeePerGas string     `json:"maxPriorityFeePerGas"` // wei
	SignedAt             time.Time  `json:"signedAt"`
	BroadcastAt          *time.Time `json:"broadcastAt,omitempty"`
	Error                string     `json:"error,omitempty"`
}

// OutgoingChange is a change of an outgoing transaction's status.
type OutgoingChange struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	Note   string    `json:"note,omitempty"`
}

// OutgoingFilter selects outgoing transactions; empty fields select all.
type OutgoingFilter struct {
	ChainID, Status, Purpose string
	Limit                    int
}

// ListOutgoingTransactions reads the latest outgoing transactions the filter selects.
func (c *Client) ListOutgoingTransactions(ctx context.Context, f OutgoingFilter) ([]OutgoingTx, error) {
	var out struct {
		Transactions []OutgoingTx `json:"transactions"`
	}
	q := query("chainId", f.ChainID, "status", f.Status, "purpose", f.Purpose)
	setPage(q, 1, f.Limit)
	err := c.do(ctx, http.MethodGet, "/api/v1/outgoing-transactions", q, nil, &out, "")
	return out.Transactions, err
}

// GetOutgoingTransaction reads an outgoing transaction with its attempts and history.
func (c *Client) GetOutgoingTransaction(ctx context.Context, id string) (*OutgoingTx, error) {
	var t OutgoingTx
	return &t, c.do(ctx, http.MethodGet, "/api/v1/outgoing-transactions/"+url.PathEscape(id), nil, nil, &t, "")
}

// Wallet is the project's hot wallet on a chain and what it holds there now.
type Wallet struct {
	ChainID        string        `json:"chainId"`
	Address        string        `json:"address"`
	DerivationPath string        `json:"derivationPath"`
	Native         *CoinAmount   `json:"native,omitempty"`
	Tokens         []TokenAmount `json:"tokens"`
	Treasury       string        `json:"treasury,omitempty"`
	BalanceError   string        `json:"balanceError,omitempty"`
}

// TokenAmount is what an address holds of a token.
type TokenAmount struct {
	Currency     string `json:"currency"`
	TokenAddress string `json:"tokenAddress"`
	Amount       string `json:"amount"`
}

// ListWallets reads the hot wallets of the key's mode.
func (c *Client) ListWallets(ctx context.Context) ([]Wallet, error) {
	var out struct {
		Wallets []Wallet `json:"wallets"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/wallets", nil, nil, &out, "")
	return out.Wallets, err
}

// Treasury is where a chain's hot wallet sends what it holds above its ceiling.
type Treasury struct {
	ChainID   string    `json:"chainId"`
	Address   string    `json:"address"`
	Ceiling   string    `json:"ceiling"`
	UpdatedAt time.Time `json:"updatedAt"`
	Livemode  bool      `json:"livemode"`
}

// ListTreasuries reads the treasury addresses.
func (c *Client) ListTreasuries(ctx context.Context) ([]Treasury, error) {
	var out struct {
		Treasuries []Treasury `json:"treasuries"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/treasury", nil, nil, &out, "")
	return out.Treasuries, err
}

// PutTreasury sets a chain's treasury address and ceiling (empty: 1000) (needs the secret).
func (c *Client) PutTreasury(ctx context.Context, chainID, address, ceiling string) (*Treasury, error) {
	var t Treasury
	body := struct {
		ChainID string `json:"chainId"`
		Address string `json:"address"`
		Ceiling string `json:"ceiling,omitempty"`
	}{chainID, address, ceiling}
	return &t, c.do(ctx, http.MethodPut, "/api/v1/treasury", nil, body, &t, "")
}

// DeleteTreasury removes a chain's treasury (needs the secret) and returns the ones left.
func (c *Client) DeleteTreasury(ctx context.Context, chainID string) ([]Treasury, error) {
	var out struct {
		Treasuries []Treasury `json:"treasuries"`
	}
	err := c.do(ctx, http.MethodDelete, "/api/v1/treasury/"+url.PathEscape(chainID), nil, nil, &out, "")
	return out.Treasuries, err
}

// AddressPool is a protocol's pool of imported addresses.
type AddressPool struct {
	Protocol  string `json:"protocol"`
	Total     int    `json:"total"`
	Assigned  int    `json:"assigned"`
	Available int    `json:"available"`
}

// PoolImport is what an import did.
type PoolImport struct {
	Protocol  string `json:"protocol"`
	Imported  int    `json:"imported"`
	Skipped   int    `json:"skipped"`
	Total     int    `json:"total"`
	Available int    `json:"available"`
	Livemode  bool   `json:"livemode"`
}

// GetAddressPool reads the address pools.
func (c *Client) GetAddressPool(ctx context.Context) ([]AddressPool, error) {
	var out struct {
		Pools []AddressPool `json:"pools"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/address-pool", nil, nil, &out, "")
	return out.Pools, err
}

// ImportAddressPool adds addresses you hold the keys of to a protocol's pool (needs the secret).
func (c *Client) ImportAddressPool(ctx context.Context, protocol string, addresses []string) (*PoolImport, error) {
	var p PoolImport
	body := struct {
		Protocol  string   `json:"protocol"`
		Addresses []string `json:"addresses"`
	}{protocol, addresses}
	return &p, c.do(ctx, http.MethodPost, "/api/v1/address-pool/import", nil, body, &p, "")
}

// TxCheck is what checking a transaction found and did.
type TxCheck struct {
	ChainID     string            `json:"chainId"`
	TxHash      string            `json:"txHash"`
	Outcome     string            `json:"outcome"`
	Message     string            `json:"message"`
	BlockNumber uint64            `json:"blockNumber,omitempty"`
	Transfers   []CheckedTransfer `json:"transfers"`
}

// CheckedTransfer is a transfer of the checked transaction to a watched address.
type CheckedTransfer struct {
	LogIndex  uint64 `json:"logIndex"`
	To        string `json:"to"`
	Currency  string `json:"currency,omitempty"`
	Amount    string `json:"amount"`
	OrderID   string `json:"orderId,omitempty"`
	DepositID string `json:"depositId,omitempty"`
	Recorded  bool   `json:"recorded"` // recorded and credited by this check
	Note      string `json:"note,omitempty"`
}

// CheckTransaction reads a transaction's receipt and records a payment to a watched address the
// scanner missed, exactly once (needs the secret).
func (c *Client) CheckTransaction(ctx context.Context, chainID, txHash string) (*TxCheck, error) {
	var r TxCheck
	body := struct {
		ChainID string `json:"chainId"`
		TxHash  string `json:"txHash"`
	}{chainID, txHash}
	return &r, c.do(ctx, http.MethodPost, "/api/v1/transactions/check", nil, body, &r, "")
}
