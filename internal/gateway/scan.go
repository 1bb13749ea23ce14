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
	// MinConfirmations is what the transfer's project asks for above the chain's rule when it
	// was seen (0: the rule alone).
	MinConfirmations int
	SeenAt           time.Time
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
	// Shared says the transfer went to a project's shared address: its order is the one holding
	// its amount (matchShared); Unmatched, that none did, and it is recorded and reported only.
	// BlockTime is when its block was made (what matching a shared address's transfer goes by).
	Shared, Unmatched bool
	BlockTime         time.Time
}

// Credited reports whether the transfer counts: a registry token, on its order's chain.
func (t *Transfer) Credited() bool { return t.Currency != "" && !t.Ignored }

// Recipient is whom a watched address belongs to, as far as deciding what a transfer to it
// counts for: a deposit binding of a mode, or an order of a currency on a chain.
type Recipient struct {
	Deposit  bool
	Shared   bool // a shared address: which order a transfer pays is decided by its amount (matchShared)
	Mode     Mode
	ChainID  string // an order's chain
	Currency string // an order's currency
}

// Classify decides what a transfer to a watched address is (DESIGN §2), given the chain it was
// seen on; t.Currency is the registry's symbol of its token, or empty for a token outside the
// registry. It reports false for what is no payment at all and is not recorded: a transfer of
// zero (anyone can send one, for the gas alone). Otherwise it sets t.Ignored and t.WrongCurrency:
// an order is paid only by its own token on its own chain; a deposit address takes every registry
// token on every chain of its mode, and nothing on a chain of the other mode; so does a shared
// address, until matchShared finds the order its amount is held for.
func Classify(t *Transfer, r Recipient, on chain.Chain) bool {
	if t.Amount == nil || t.Amount.Sign() <= 0 {
		return false
	}
	t.Ignored, t.WrongCurrency = false, false
	switch {
	case t.Currency == "":
	case r.Deposit || r.Shared:
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
	Shared    bool      // a project's shared address: its orders are told apart by amount
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
	// Added is set by ApplyScan once the step committed: the transfers of Transfers that were new
	// (the others were stored before, by an earlier pass over the same blocks).
	Added []*Transfer
}

// ChainStore is what the chain scanner and the payment story need of storage.
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
	OrderTransfers(ctx context.Context, orderID string) ([]*Transfer, error)
	// FindTransfer returns the transfer stored under its on-chain key, or ErrNotFound.
	FindTransfer(ctx context.Context, chainID, txHash string, logIndex uint64) (*Transfer, error)
	// AddressOwner returns whom an address of the protocol was given to (an order or a deposit
	// binding, whatever its window), or ErrNotFound.
	AddressOwner(ctx context.Context, p chain.Protocol, address string) (*Watch, error)
	// InTx runs fn in one write transaction, committed when fn returns nil and rolled back
	// otherwise (fn may run again when the database asks for a retry).
	InTx(ctx context.Context, fn func(PaymentTx) error) error
}

// PaymentTx is the single operations a transaction of the payment story is made of (ingest.go
// decides what they are; river's driver interface is the model). Each takes a whole step's rows.
type PaymentTx interface {
	// InsertTransfers stores the transfers whose on-chain key (chain, tx hash, log index) is not
	// stored yet and returns those; a transfer stored before is left as it is.
	InsertTransfers(ctx context.Context, ts []*Transfer) ([]*Transfer, error)
	// Reservations returns the pay amounts held (whatever their window) on the chain, address,
	// currency and amount of each transfer.
	Reservations(ctx context.Context, ts []*Transfer) ([]*Reservation, error)
	// ConfirmTransfers marks confirmed, and returns, the chain's unconfirmed transfers in blocks up
	// to upTo that also have their MinConfirmations with the chain at head.
	ConfirmTransfers(ctx context.Context, chainID string, upTo, head uint64) ([]*Transfer, error)
	// RemoveTransfersAbove deletes the chain's transfers, and the blocks remembered, above the
	// block, and returns the transfers.
	RemoveTransfersAbove(ctx context.Context, chainID string, block uint64) ([]*Transfer, error)
	// LockOrders reads the orders with the ids (those that exist) and locks them until the
	// transaction ends; ids come sorted, and are locked in that order.
	LockOrders(ctx context.Context, ids []string) ([]*Order, error)
	// ExpiringOrders reads and locks up to limit orders in a status that may expire (pending,
	// underpaid) whose deadline (Order.Deadline) is before now.
	ExpiringOrders(ctx context.Context, now time.Time, limit int) ([]*Order, error)
	// TransfersOf reads every transfer of the orders.
	TransfersOf(ctx context.Context, orderIDs []string) ([]*Transfer, error)
	// SaveOrder stores an order's status and payment totals.
	SaveOrder(ctx context.Context, o *Order) error
	// MoveInventory adds to a payment link's units sold (what a unit holds is Order.HoldsUnit's).
	MoveInventory(ctx context.Context, linkID string, sold int) error
	// Post writes the postings and changes each balance once, by their sum; a pending or
	// available balance that would go below zero fails the transaction.
	Post(ctx context.Context, ps []Posting) error
	// DepositBindings returns the deposit bindings with the ids (their reference and metadata).
	DepositBindings(ctx context.Context, ids []string) (map[string]*DepositBinding, error)
	// AddEvents writes events and their webhook deliveries (the outbox).
	AddEvents(ctx context.Context, es []*Event) error
	// MoveCursor remembers the blocks (for finding a reorg's fork point) and moves the chain's
	// cursor to the block.
	MoveCursor(ctx context.Context, chainID string, to BlockRef, remember []BlockRef, now time.Time) error
}

// Chains is what a chain scanner needs of the gateway (the Service is one): its lease, its
// cursor and recent blocks, the watched addresses, and the two steps of the payment story.
type Chains interface {
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	Cursor(ctx context.Context, chainID string) (BlockRef, bool, error)
	RecentBlocks(ctx context.Context, chainID string) ([]BlockRef, error)
	WatchedAddresses(ctx context.Context, p chain.Protocol, since, activeAfter time.Time) ([]Watch, error)
	ApplyScan(ctx context.Context, b *ScanBatch) error
	Rewind(ctx context.Context, chainID string, to BlockRef, now time.Time) (removed int, err error)
}

var _ Chains = (*Service)(nil)

// AcquireLease takes or renews a scanner's lease (ChainStore.AcquireLease).
func (s *Service) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	return s.Store.AcquireLease(ctx, name, holder, now, ttl)
}

// Cursor returns the block a chain's scan has reached.
func (s *Service) Cursor(ctx context.Context, chainID string) (BlockRef, bool, error) {
	return s.Store.Cursor(ctx, chainID)
}

// RecentBlocks returns the blocks near a chain's cursor that the scan remembered.
func (s *Service) RecentBlocks(ctx context.Context, chainID string) ([]BlockRef, error) {
	return s.Store.RecentBlocks(ctx, chainID)
}

// WatchedAddresses returns the addresses a scanner of the protocol watches (ChainStore.WatchedAddresses).
func (s *Service) WatchedAddresses(ctx context.Context, p chain.Protocol, since, activeAfter time.Time) ([]Watch, error) {
	return s.Store.WatchedAddresses(ctx, p, since, activeAfter)
}
