package gateway

import (
	"context"
	"math/big"
)

// Ledger accounts: external is the chain (the other side of every credit), pending holds payments
// seen but not yet confirmed, available those confirmed.
const (
	AccountExternal  = "external"
	AccountPending   = "pending"
	AccountAvailable = "available"
)

// UserAccount is the account name a difference of a deposit binding's user balance is reported
// under (LedgerDifference).
func UserAccount(depositID string) string { return "user:" + depositID }

// Balance is a project's balance on one chain in one currency, in base units.
type Balance struct {
	ChainID, Currency        string
	Pending, Available, Held *big.Int
}

// LedgerDifference is a balance whose stored value disagrees with its postings or with the
// credited transfers.
type LedgerDifference struct {
	ProjectID, ChainID, Currency, Account string
	Mode                                  Mode
	Stored, Posted, OnChain               *big.Int
}

// LedgerStore keeps the ledger; postings are written by the store with the changes that cause them.
type LedgerStore interface {
	Balances(ctx context.Context, projectID string, mode Mode) ([]Balance, error)
	VerifyLedger(ctx context.Context) ([]LedgerDifference, error)
}

// Balances returns the principal's balances per chain and currency.
func (s *Service) Balances(ctx context.Context, pr *Principal) ([]Balance, error) {
	return s.Store.Balances(ctx, pr.Project.ID, pr.Mode)
}
