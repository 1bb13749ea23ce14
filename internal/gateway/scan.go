package gateway

import (
	"context"
	"math/big"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
)

// Transfer is one token Transfer log to a watched address. (ChainID, TxHash, LogIndex) is its
// on-chain key: stored once, so never counted twice.
type Transfer struct {
	ChainID     string
	TxHash      string
	LogIndex    uint64
	BlockNumber uint64
	BlockHash   string
	Token       string // contract address
	Currency    string // registry symbol; empty for a token outside the registry (ignored)
	From, To    string
	Amount      *big.Int
	OrderID     string
	ProjectID   string
	Mode        Mode
	Confirmed   bool
	SeenAt      time.Time
	// DepositID is the deposit binding whose address received the transfer (OrderID is then empty).
	DepositID string
	// Ignored says the transfer is recorded but never counts: a payment on another chain than its
	// order's or in another token than the order's currency (WrongCurrency), or to a deposit
	// address on a chain of the other mode (testnet tokens to a live address). A token outside the
	// registry, with no Currency, never counts either.
	Ignored bool
	// WrongCurrency says the transfer is a registry token on the order's chain, but not the order's
	// currency: recorded against the order and reported (order.wrong_currency), never counted.
	WrongCurrency bool
}

// Credited reports whether the transfer counts: a registry token, on its order's chain.
func (t *Transfer) Credited() bool { return t.Currency != "" && !t.Ignored }

// Recipient is whom a watched address belongs to, as far as deciding what a transfer to it
// counts for: a deposit binding of a mode, or an order of a currency on a chain.
type Recipient struct {
	Deposit  bool
	Mode     Mode
	ChainID  string // an order's chain
	Currency string // an order's currency
}

// Classify decides what a transfer to a watched address is (DESIGN §2), given the chain it was
// seen on; t.Currency is the registry's symbol of its token, or empty for a token outside the
// registry. It reports false for what is no payment at all and is not recorded: a transfer of
// zero (anyone can send one, for the gas alone). Otherwise it sets t.Ignored and t.WrongCurrency:
// an order is paid only by its own token on its own chain; a deposit address takes every registry
// token on every chain of its mode, and nothing on a chain of the other mode.
func Classify(t *Transfer, r Recipient, on chain.Chain) bool {
	if t.Amount == nil || t.Amount.Sign() <= 0 {
		return false
	}
	t.Ignored, t.WrongCurrency = false, false
	switch {
	case t.Currency == "":
	case r.Deposit:
		t.Ignored = on.Testnet == r.Mode.Live()
	case r.ChainID != on.Slug:
		t.Ignored = true
	case t.Currency != r.Currency:
		t.Ignored, t.WrongCurrency = true, true
	}
	return true
}

// Watch is an address the scanner matches transfers against, and whom it belongs to.
type Watch struct {
	Protocol  chain.Protocol
	Address   string
	ProjectID string
	Mode      Mode
	OrderID   string
	ChainID   string    // the order's chain: a payment on another chain is not the order's
	Currency  string    // the order's currency: another token is not the order's either
	DepositID string    // for a deposit address: its binding (OrderID and ChainID are empty)
	CreatedAt time.Time // when the address was assigned to the order
	Deadline  time.Time // the order's expiresAt + grace
}

// BlockRef names a block.
type BlockRef struct {
	Number uint64
	Hash   string
}

// ScanBatch is what one scanner step applies in one transaction: the transfers found in blocks
// From..To, the new cursor (To, ToHash), and the head that confirmations count from.
type ScanBatch struct {
	ChainID  string
	From, To uint64 // From > To: no new blocks, only confirmations
	ToHash   string
	Head     uint64
	Required int
	// Final, when set, is the chain's finalized (or safe) block by tag: a payment also waits for
	// it, whatever its count of confirmations.
	Final     *uint64
	Transfers []*Transfer
	// Blocks are further blocks of the range to remember (those near the head), so that a reorg's
	// fork point is found without rescanning far.
	Blocks []BlockRef
	Now    time.Time
}

// ChainStore is what the chain scanner needs of storage.
type ChainStore interface {
	// AcquireLease takes or renews the named lease for the holder until now+ttl, and reports
	// whether the holder has it: a lease another holder renewed and whose time is not over is
	// refused.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	Cursor(ctx context.Context, chainID string) (BlockRef, bool, error)
	RecentBlocks(ctx context.Context, chainID string) ([]BlockRef, error)
	// WatchedAddresses returns the addresses of the protocol assigned to orders since the time, of
	// orders whose deadline is not before activeAfter.
	WatchedAddresses(ctx context.Context, p chain.Protocol, since, activeAfter time.Time) ([]Watch, error)
	// ApplyScan stores new transfers, marks confirmations, settles the orders they touch and
	// writes their events, and moves the cursor, all in one transaction.
	ApplyScan(ctx context.Context, b *ScanBatch) error
	// Rewind undoes everything above the block (a reorg): its transfers are removed and their
	// orders settled again, with order.reorged events.
	Rewind(ctx context.Context, chainID string, to BlockRef, now time.Time) (removed int, err error)
	// SimulatePayment stores a confirmed test-mode payment and settles its order (test mode
	// without a chain), provided the order is not completed and has paidAmount paidBefore still
	// (what the simulation was computed from); otherwise it changes nothing and returns ErrChanged.
	SimulatePayment(ctx context.Context, t *Transfer, paidBefore *big.Int, now time.Time) error
	// ExpireOrder expires one pending order now, or reports ErrNotFound.
	ExpireOrder(ctx context.Context, projectID string, mode Mode, id string, now time.Time) error
	// ExpireOrders moves pending orders past expiresAt + grace to expired.
	ExpireOrders(ctx context.Context, now time.Time) (int, error)
	OrderTransfers(ctx context.Context, orderID string) ([]*Transfer, error)
}
