package evm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/metrics"
	"github.com/stablegate/stablegate/internal/startstop"
)

// TransferTopic is topic0 of ERC-20 (and TRC-20) Transfer(address,address,uint256).
var TransferTopic = crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))

// Scanner follows one chain: it reads the registry tokens' Transfer logs block range by block
// range, matches their recipients against the watched addresses in memory, and hands what it
// finds — with the new cursor — to the gateway's payment story (gateway.Service.ApplyScan), applied
// in one transaction. It never skips a block, detects reorgs by block hash and rewinds, and counts
// confirmations from the canonical head.
type Scanner struct {
	// Chain is the chain as the gateway's registry has it: its tokens, and the rule a payment
	// counts by (its Confirmations and FinalityTag, with the operator's overrides).
	Chain   chain.Chain
	Client  *Client
	Gateway gateway.Chains // the Service: the payment story and the scan's cursor
	Log     *slog.Logger
	Now     func() time.Time
	// Interval between polls when caught up (default 1 s); MaxRange bounds the blocks of one
	// step (default 2000; a provider that refuses a range makes the scanner use less, and it probes
	// back up after a run of successes); StartBlock is where a chain without a cursor starts
	// (default: the head at first start).
	Interval   time.Duration
	MaxRange   uint64
	StartBlock *uint64
	// RegistryTokensOnly asks the node for the registry tokens' logs only. By default the scanner
	// reads every contract's Transfer logs, so that a transfer of another token to a watched
	// address is recorded (as ignored, never credited); on a busy chain that is many more logs.
	RegistryTokensOnly bool
	// Holder names this scanner's process for the chain's lease (default: random). Run scans only
	// while it holds the lease "scanner:<chain>", so that of several replicas one scans a chain,
	// and another takes over within LeaseTTL (default 15 s, at least 3 intervals) when it stops.
	Holder   string
	LeaseTTL time.Duration
	// MonitorWindow is how long after an order's deadline (expiresAt + grace) its address stays
	// watched, so that a late payment is still recorded and reported (default 24 h).
	MonitorWindow time.Duration
	// MaxLag is how many blocks behind the head the scanner may be before Health says degraded
	// (default: five minutes of the chain's blocks, at least 10).
	MaxLag uint64
	// ProgressEvery is how often a catch-up's pace is measured and logged (default 5 s).
	ProgressEvery time.Duration

	watched   map[[20]byte]watch
	owners    map[string]*owner // interned (project, mode) pairs
	loadedAt  time.Time
	prunedAt  time.Time
	contracts []common.Address
	tokens    map[common.Address]chain.Token

	next *prefetch // the following range's logs, read while a step is being applied
	// settledHead is the head whose block and confirmations the last step applied.
	settledHead uint64
	// span is the range the provider takes now (≤ MaxRange); fits counts calls in a row that
	// needed no halving, to probe a larger span again.
	span uint64
	fits int

	mu     sync.Mutex
	health Health
	loop   startstop.Loop
}

var _ startstop.Service = (*Scanner)(nil)

// DefaultMonitorWindow is the default of Scanner.MonitorWindow.
const DefaultMonitorWindow = 24 * time.Hour

// DefaultMaxRange is the default of Scanner.MaxRange.
const DefaultMaxRange = 2000

// ReorgWindow is how many blocks below the head have each hash remembered.
const ReorgWindow = 64

func (s *Scanner) init() error {
	if s.watched != nil {
		return nil
	}
	if s.Interval <= 0 {
		s.Interval = time.Second
	}
	if s.MaxRange == 0 {
		s.MaxRange = DefaultMaxRange
	}
	s.span = s.MaxRange
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.MonitorWindow <= 0 {
		s.MonitorWindow = DefaultMonitorWindow
	}
	if s.Holder == "" {
		s.Holder = gateway.NewID("scn")
	}
	if s.LeaseTTL <= 0 {
		s.LeaseTTL = max(15*time.Second, 3*s.Interval)
	}
	s.tokens = map[common.Address]chain.Token{}
	for _, t := range s.Chain.Tokens {
		b, err := chain.ParseAddress(s.Chain.Protocol, t.Address)
		if err != nil {
			return fmt.Errorf("scanner %s: token %s: %w", s.Chain.Slug, t.Symbol, err)
		}
		a := common.Address(b)
		s.tokens[a] = t
		s.contracts = append(s.contracts, a)
	}
	s.watched = map[[20]byte]watch{}
	s.owners = map[string]*owner{}
	return nil
}

// Rule is the rule this scanner applies before a payment counts: the chain's count of
// confirmations and, when it has one, its finality tag (a block tag the payment's block must also
// have reached, read with eth_getBlockByNumber each step).
func (s *Scanner) Rule() gateway.ChainRule { return gateway.RuleOf(s.Chain) }

// RunOnce applies one step: a reorg rewind, or the next range of blocks (and the confirmations
// that the head brings). It reports whether the scanner has reached the head.
func (s *Scanner) RunOnce(ctx context.Context) (caughtUp bool, err error) {
	if err := s.init(); err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			s.report(0, 0, err)
		}
	}()
	head, err := s.Client.BlockNumber(ctx)
	if err != nil {
		return false, err
	}
	cur, ok, err := s.Gateway.Cursor(ctx, s.Chain.Slug)
	if err != nil {
		return false, err
	}
	if ok && cur.Number == head && head == s.settledHead {
		// No new block since this head was applied, confirmations and all: nothing to do, and no
		// more calls (providers bill by the call; most polls find no new block). A sibling that
		// replaced the head block shows as the next block's different parent.
		s.report(head, cur.Number, nil)
		return true, nil
	}
	var from uint64
	if ok {
		h, err := s.header(ctx, cur.Number)
		if errors.Is(err, ErrNotFound) {
			if s.Chain.Ephemeral {
				return false, s.rewind(ctx) // a restarted devnet: a new, shorter chain
			}
			// On a real chain a block that is missing was most likely asked of a node behind the
			// others; a reorg to a shorter chain shows itself as a different hash a block later.
			return false, fmt.Errorf("block %d, the last scanned, is missing on the node (a node behind the others?); retrying", cur.Number)
		} else if err != nil {
			return false, err
		}
		if h.Hash.Hex() != cur.Hash {
			return false, s.rewind(ctx)
		}
		from = cur.Number + 1
	} else {
		from = head
		if s.StartBlock != nil {
			from = *s.StartBlock
		}
	}
	now := s.Now().UTC().Truncate(time.Millisecond)
	final, err := s.final(ctx)
	if err != nil {
		return false, err
	}
	if from > head {
		// Nothing new: the head may still have brought confirmations.
		err := s.Gateway.ApplyScan(ctx, &gateway.ScanBatch{ChainID: s.Chain.Slug, From: from, To: from - 1, Head: head, Required: s.Rule().Confirmations,
			Final: final, Now: now})
		s.report(head, cur.Number, err)
		if err == nil {
			s.settledHead = head
		}
		return true, err
	}
	var to uint64
	var end *Header
	var logs []Log
	var tip []*Header // the headers of the blocks read by hash
	p := s.takePrefetch(from)
	if p != nil && p.err == nil && p.to <= head {
		to, end, logs, tip = p.to, p.end, p.logs, p.tip
		// Read ahead, a while ago: the range must still end where its logs were read (so they are
		// of the canonical chain). A range read just now was checked by readRange.
		again, err := s.header(ctx, to)
		if err != nil {
			return false, err
		}
		if again.Hash != end.Hash {
			return false, errors.New("the chain changed while reading logs; retrying")
		}
	} else {
		to = min(head, from+s.span-1)
		if end, logs, tip, err = s.readRange(ctx, from, to, head); err != nil {
			return false, err
		}
	}
	if ok {
		// The range continues the stored chain: its first block's parent is the stored position.
		// (Providers bill by the call: near the head, that header was already read with its logs.)
		var first *Header
		if len(tip) > 0 && tip[0].Number == from {
			first = tip[0]
		} else if first, err = s.header(ctx, from); err != nil {
			return false, err
		}
		if first.ParentHash.Hex() != cur.Hash {
			return false, s.rewind(ctx)
		}
	}
	if to < head {
		s.startPrefetch(ctx, to+1, min(head, to+s.span), head)
	}
	// Addresses are read after the logs: an order's address is committed before anyone can pay
	// it, so every payment in these logs finds its address.
	if err := s.loadWatched(ctx); err != nil {
		return false, err
	}
	batch := &gateway.ScanBatch{ChainID: s.Chain.Slug, From: from, To: to, ToHash: end.Hash.Hex(), Head: head, Required: s.Rule().Confirmations,
		Final: final, Now: now}
	// Near the head, where reorgs happen, every block's hash is remembered: the blocks read by hash
	// (a head that moved since a read-ahead only moves the window up, within them).
	for _, h := range tip {
		if h.Number >= head-min(head, ReorgWindow)+1 && h.Number < to {
			batch.Blocks = append(batch.Blocks, gateway.BlockRef{Number: h.Number, Hash: h.Hash.Hex()})
		}
	}
	blockTimes := map[*gateway.Transfer]time.Time{}
	for _, l := range logs {
		// An ERC-20 Transfer has from and to indexed and the amount as 32 bytes of data; other
		// shapes (ERC-721's, a token's own) are not payments.
		if l.Removed || len(l.Topics) != 3 || len(l.Data) != 32 {
			continue
		}
		if uint64(l.BlockNumber) == to && l.BlockHash != end.Hash {
			return false, errors.New("a log of another branch; retrying")
		}
		var recipient [20]byte
		copy(recipient[:], l.Topics[2][12:])
		w, ok := s.watched[recipient]
		if !ok {
			continue
		}
		var sender [20]byte
		copy(sender[:], l.Topics[1][12:])
		tr := &gateway.Transfer{ChainID: s.Chain.Slug, TxHash: chain.FormatTxHash(s.Chain.Protocol, l.TxHash), LogIndex: uint64(l.LogIndex),
			BlockNumber: uint64(l.BlockNumber), BlockHash: l.BlockHash.Hex(), Token: chain.FormatAddress(s.Chain.Protocol, l.Address),
			From: chain.FormatAddress(s.Chain.Protocol, sender), To: chain.FormatAddress(s.Chain.Protocol, recipient),
			Amount: l.Amount(), ProjectID: w.owner.projectID, Mode: w.owner.Mode, SeenAt: now}
		switch {
		case w.shared:
			tr.Shared = true
		case w.deposit:
			tr.DepositID = w.id
		default:
			tr.OrderID = w.id
		}
		if t, ok := s.tokens[l.Address]; ok {
			tr.Currency = t.Symbol
		}
		// The same address exists on every chain of the protocol: what a transfer counts for is the
		// domain's rule (another chain's, another token's or a zero transfer does not pay an order).
		r := w.owner.Recipient
		r.Deposit, r.Shared = w.deposit, w.shared
		if !gateway.Classify(tr, r, s.Chain) {
			continue
		}
		switch {
		case tr.Currency == "":
			s.Log.Info("transfer of a token outside the registry: recorded as ignored", "chain", s.Chain.Slug,
				"token", tr.Token, "to", tr.To, "tx", tr.TxHash)
		case tr.WrongCurrency:
			s.Log.Warn("transfer in another currency than its order's: recorded, not counted", "chain", s.Chain.Slug,
				"currency", tr.Currency, "order_currency", r.Currency, "owner", w.id, "tx", tr.TxHash)
		case tr.Ignored:
			s.Log.Warn("transfer on a chain its address does not take: recorded as ignored", "chain", s.Chain.Slug,
				"order_chain", r.ChainID, "owner", w.id, "tx", tr.TxHash)
		}
		batch.Transfers = append(batch.Transfers, tr)
		if l.BlockTimestamp != nil {
			blockTimes[tr] = time.Unix(int64(*l.BlockTimestamp), 0)
		}
	}
	if err := s.sharedBlockTimes(ctx, batch.Transfers, blockTimes); err != nil {
		return false, err
	}
	if err := s.Gateway.ApplyScan(ctx, batch); err != nil {
		return false, err
	}
	for _, tr := range batch.Added {
		if tr.Unmatched {
			s.Log.Warn("transfer to a shared address that no order held the amount of: recorded, not credited (payment.unmatched)",
				"chain", s.Chain.Slug, "to", tr.To, "currency", tr.Currency, "amount_base_units", tr.Amount.String(), "tx", tr.TxHash)
		}
		if tr.Credited() {
			metrics.PaymentDetected(s.Chain.Slug, tr.Currency, tr.DepositID != "", blockTimes[tr], time.Now())
		}
	}
	s.report(head, to, nil)
	if to == head {
		s.settledHead = head
	}
	return to == head, nil
}

// final returns the number of the block the finality tag names, or nil without a tag.
func (s *Scanner) final(ctx context.Context) (*uint64, error) {
	if s.Chain.FinalityTag == "" {
		return nil, nil
	}
	h, err := s.Client.HeaderByTag(ctx, s.Chain.FinalityTag)
	if err != nil {
		return nil, fmt.Errorf("%s block: %w", s.Chain.FinalityTag, err)
	}
	s.mu.Lock()
	s.health.Final = h.Number
	s.mu.Unlock()
	return &h.Number, nil
}

// header reads the header of block n, which the head says exists. A provider's node behind the
// others of its load balancer answers a block it has not reached with null: a missing block is
// asked for again, a little later, before it counts as missing.
func (s *Scanner) header(ctx context.Context, n uint64) (*Header, error) {
	for attempt := 1; ; attempt++ {
		h, err := s.Client.HeaderByNumber(ctx, n)
		if !errors.Is(err, ErrNotFound) || attempt > 3 {
			return h, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
}

// sharedBlockTimes sets the block time of each transfer to a shared address (what matching its
// amount to an order goes by): from its log where the node gives it, otherwise from its block's
// header, read once per block.
func (s *Scanner) sharedBlockTimes(ctx context.Context, trs []*gateway.Transfer, known map[*gateway.Transfer]time.Time) error {
	headers := map[uint64]time.Time{}
	for _, tr := range trs {
		if !tr.Shared {
			continue
		}
		if t, ok := known[tr]; ok {
			tr.BlockTime = t
			continue
		}
		t, ok := headers[tr.BlockNumber]
		if !ok {
			h, err := s.header(ctx, tr.BlockNumber)
			if err != nil {
				return err
			}
			t = time.Unix(int64(h.Time), 0)
			headers[tr.BlockNumber] = t
		}
		tr.BlockTime = t
	}
	return nil
}
