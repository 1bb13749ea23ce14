package gateway

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
)

// Receipt is a transaction's receipt as the node answers it: where it was mined, whether it
// succeeded, and its logs.
type Receipt struct {
	TxHash      string
	BlockNumber uint64
	BlockHash   string
	// BlockTime is the block's timestamp: when the payment happened, whatever when it is found.
	BlockTime time.Time
	Success   bool
	Logs      []ReceiptLog
	// GasUsed and EffectiveGasPrice are what the transaction cost: gas × wei per gas.
	GasUsed           uint64
	EffectiveGasPrice *big.Int
	// ContractAddress is the contract a creation made (EIP-55 hex; empty otherwise).
	ContractAddress string
}

// ReceiptLog is one log of a receipt, with the three topics and 32 bytes of data of an ERC-20
// Transfer when it is one.
type ReceiptLog struct {
	Index    uint64
	Contract [20]byte
	Topics   [][32]byte
	Data     []byte
}

// TransferTopic is topic 0 of an ERC-20 (and TRC-20) Transfer(address,address,uint256) log.
var TransferTopic = [32]byte{0xdd, 0xf2, 0x52, 0xad, 0x1b, 0xe2, 0xc8, 0x9b, 0x69, 0xc2, 0xb0, 0x68, 0xfc, 0x37, 0x8d, 0xaa,
	0x95, 0x2b, 0xa7, 0xf1, 0x63, 0xc4, 0xa1, 0x16, 0x28, 0xf5, 0x5a, 0x4d, 0xf5, 0x23, 0xb3, 0xef}

// CheckedTransfer is what a check found of one Transfer log to one of our addresses.
type CheckedTransfer struct {
	Transfer *Transfer
	// Recorded: the check recorded it now; otherwise Note says why not (it was recorded already).
	Recorded bool
	Note     string
}

// TxCheck is the answer of a transaction check.
type TxCheck struct {
	ChainID, TxHash string
	BlockNumber     uint64
	// Outcome says what the check did: "recorded", "already recorded", "nothing to record".
	Outcome   string
	Message   string
	Transfers []CheckedTransfer
}

// CheckTransaction is the recovery tool of a support engineer (`stablegate tx check`, and POST
// /api/v1/transactions/check for a project): it reads the transaction's receipt and, where it pays
// one of our addresses in a block the scanner has passed and the payment is not recorded,
// records and credits it exactly once, through the scanner's own path (ApplyScan). A pr limits the
// check to that project and mode (the API); nil is the operator's check of every project.
func (s *Service) CheckTransaction(ctx context.Context, pr *Principal, chainID, txHash string) (*TxCheck, error) {
	if pr != nil {
		if err := RequireSecret(pr); err != nil { // it writes payments: as much as setting where money goes
			return nil, err
		}
	}
	c, ok := s.ChainRegistry().Lookup(chainID)
	if !ok || !s.ChainEnabled(chainID) {
		return nil, Errorf(EInvalid, "chainId", "chainId %q is not a chain this gateway watches", chainID)
	}
	if pr != nil && c.Testnet == pr.Mode.Live() {
		return nil, Errorf(EInvalid, "chainId", "chainId %q is not a chain of %s mode", chainID, pr.Mode)
	}
	hash, perr := chain.ParseTxHash(c.Protocol, txHash)
	if perr != nil {
		return nil, Errorf(EInvalid, "txHash", "txHash: %v", perr)
	}
	if s.Nodes == nil {
		return nil, Errorf(EInvalid, "chainId", "no node of %s is configured here to read the transaction from", c.Slug)
	}
	out := &TxCheck{ChainID: c.Slug, TxHash: hash}
	rc, err := s.Nodes.Receipt(ctx, c.Slug, hash)
	if errors.Is(err, ErrNotFound) {
		out.Outcome, out.Message = "nothing to record", "the node knows no mined transaction "+hash+" on "+c.Slug
		return out, nil
	} else if err != nil {
		return nil, fmt.Errorf("read the receipt: %w", err)
	}
	out.BlockNumber = rc.BlockNumber
	if !rc.Success {
		out.Outcome, out.Message = "nothing to record", "the transaction failed (status 0): it moved no tokens"
		return out, nil
	}
	cursor, scanned, err := s.Store.Cursor(ctx, c.Slug)
	if err != nil {
		return nil, err
	}
	if !scanned || rc.BlockNumber > cursor.Number {
		out.Outcome = "nothing to record"
		out.Message = fmt.Sprintf("block %d is not scanned yet (the scanner is at %d): the scanner records the payment when it gets there", rc.BlockNumber, cursor.Number)
		return out, nil
	}
	now := s.now()
	var fresh []*Transfer
	for _, l := range rc.Logs {
		tr, err := s.checkedTransfer(ctx, pr, c, rc, l, now)
		if err != nil {
			return nil, err
		}
		if tr == nil {
			continue
		}
		note := ""
		if _, err := s.Store.FindTransfer(ctx, tr.ChainID, tr.TxHash, tr.LogIndex); err == nil {
			note = "recorded already"
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		out.Transfers = append(out.Transfers, CheckedTransfer{Transfer: tr, Recorded: note == "", Note: note})
		if note == "" {
			fresh = append(fresh, tr)
		}
	}
	if len(out.Transfers) == 0 {
		out.Outcome, out.Message = "nothing to record", "the transaction pays none of "+owner(pr)+" addresses"
		return out, nil
	}
	rule := RuleOf(c)
	batch := &ScanBatch{ChainID: c.Slug, From: cursor.Number + 1, To: cursor.Number, Head: cursor.Number, Required: rule.Confirmations,
		Transfers: fresh, Now: now}
	if rule.Finality != "" {
		final, err := s.Nodes.FinalizedBlock(ctx, c.Slug, rule.Finality)
		if err != nil {
			return nil, fmt.Errorf("read the %s block: %w", rule.Finality, err)
		}
		batch.Final = &final
	}
	if len(fresh) > 0 {
		if err := s.ApplyScan(ctx, batch); err != nil { // From > To: the cursor stays
			return nil, err
		}
	}
	out.Outcome, out.Message = "already recorded", "every payment of the transaction was recorded already"
	for _, t := range out.Transfers {
		if t.Recorded {
			out.Outcome, out.Message = "recorded", "recorded and credited what was missing, once"
		}
	}
	return out, nil
}

func owner(pr *Principal) string {
	if pr == nil {
		return "the gateway's"
	}
	return "this project's"
}

// checkedTransfer is the Transfer a receipt log makes to one of our addresses (of the principal's
// project and mode, when there is one), as the scanner makes it; nil when the log is none.
func (s *Service) checkedTransfer(ctx context.Context, pr *Principal, c chain.Chain, rc *Receipt, l ReceiptLog, now time.Time) (*Transfer, error) {
	if len(l.Topics) != 3 || l.Topics[0] != TransferTopic || len(l.Data) != 32 {
		return nil, nil
	}
	var from, to [20]byte
	copy(from[:], l.Topics[1][12:])
	copy(to[:], l.Topics[2][12:])
	w, err := s.Store.AddressOwner(ctx, c.Protocol, chain.FormatAddress(c.Protocol, to))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	tr := &Transfer{ChainID: c.Slug, TxHash: rc.TxHash, LogIndex: l.Index, BlockNumber: rc.BlockNumber, BlockHash: rc.BlockHash,
		Token: chain.FormatAddress(c.Protocol, l.Contract), From: chain.FormatAddress(c.Protocol, from), To: chain.FormatAddress(c.Protocol, to),
		Amount: new(big.Int).SetBytes(l.Data), ProjectID: w.ProjectID, Mode: w.Mode, OrderID: w.OrderID, DepositID: w.DepositID, SeenAt: now,
		Shared: w.Shared, BlockTime: rc.BlockTime}
	if !rc.BlockTime.IsZero() && rc.BlockTime.Before(now) {
		tr.SeenAt = rc.BlockTime // a lost log was paid when its block was made: on time is on time
	}
	if pr != nil && (w.ProjectID != pr.Project.ID || w.Mode != pr.Mode) {
		return nil, nil // another project's or mode's address: not this key's to see
	}
	if t, ok := c.TokenByAddress(tr.Token); ok {
		tr.Currency = t.Symbol
	}
	if !Classify(tr, Recipient{Deposit: w.DepositID != "", Shared: w.Shared, Mode: w.Mode, ChainID: w.ChainID, Currency: w.Currency}, c) {
		return nil, nil
	}
	return tr, nil
}
