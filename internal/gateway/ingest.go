package gateway

import (
	"context"
	"math/big"
	"time"
)

// This file is the payment story: what a scanner step, a reorg, the expiry worker and a simulated
// payment do to transfers, orders, the ledger, payment-link inventory and the outbox. Each runs in
// one store transaction (ChainStore.InTx) and decides everything itself; the store only carries out
// the single operations of PaymentTx, a whole step at a time (multi-row statements).

// Posting moves a transfer's amount from one ledger account to another.
type Posting struct {
	Transfer *Transfer
	From, To string // AccountExternal, AccountPending, AccountAvailable
	Reason   string // seen, confirmed, reversed
	At       time.Time
	// User is the deposit binding whose user balance moves with the posting (a deposit's
	// transfer into or out of available).
	User string
}

// ApplyScan applies one scanner step in one transaction: the new transfers are stored once each
// (their on-chain key decides), the chain's transfers deep enough are confirmed, the orders they
// touch are settled, the ledger is posted, deposit and order events are written, and the cursor
// moves on.
func (s *Service) ApplyScan(ctx context.Context, b *ScanBatch) error {
	confirmedUpTo := int64(b.Head) - int64(max(b.Required, 1)) + 1
	if b.Final != nil {
		confirmedUpTo = min(confirmedUpTo, int64(*b.Final))
	}
	if err := s.askedConfirmations(ctx, b); err != nil {
		return err
	}
	// A transfer already deep enough (catching up) is stored confirmed: no second write.
	for _, tr := range b.Transfers {
		tr.Confirmed = int64(tr.BlockNumber) <= confirmedUpTo && deepEnough(tr, b.Head)
	}
	var added []*Transfer
	err := s.Store.InTx(ctx, func(tx PaymentTx) error {
		st := s.newStep(b.Now, false)
		if err := matchShared(ctx, tx, b.Transfers); err != nil {
			return err
		}
		var err error
		if added, err = tx.InsertTransfers(ctx, b.Transfers); err != nil {
			return err
		}
		st.added(added)
		if confirmedUpTo >= 0 {
			confirmed, err := tx.ConfirmTransfers(ctx, b.ChainID, uint64(confirmedUpTo), b.Head)
			if err != nil {
				return err
			}
			st.confirmed(confirmed)
		}
		if err := st.commit(ctx, tx); err != nil {
			return err
		}
		if b.From > b.To { // no new blocks: the cursor stays
			return nil
		}
		return tx.MoveCursor(ctx, b.ChainID, BlockRef{Number: b.To, Hash: b.ToHash}, b.Blocks, b.Now)
	})
	if err != nil {
		return err
	}
	b.Added = added
	return nil
}

// Rewind undoes everything above the block (a reorg) in one transaction: its transfers are removed,
// what they credited is posted back (the ledger keeps its history), each deposit among them gets
// deposit.reorged, their orders are settled again from what remains (order.reorged), and the
// cursor goes back to the block.
func (s *Service) Rewind(ctx context.Context, chainID string, to BlockRef, now time.Time) (removed int, err error) {
	err = s.Store.InTx(ctx, func(tx PaymentTx) error {
		gone, err := tx.RemoveTransfersAbove(ctx, chainID, to.Number)
		if err != nil {
			return err
		}
		removed = len(gone)
		st := s.newStep(now, true)
		for _, tr := range gone {
			if tr.OrderID != "" {
				st.orders[tr.OrderID] = nil // no delta: summed again from the transfers that remain
			}
			if !counts(tr) {
				continue
			}
			from := AccountPending
			if tr.Confirmed {
				from = AccountAvailable
			}
			st.post(tr, from, AccountExternal, "reversed")
			if tr.DepositID != "" {
				st.deposits = append(st.deposits, depositEvent{tr, EventDepositReorged})
			}
		}
		if err := st.commit(ctx, tx); err != nil {
			return err
		}
		return tx.MoveCursor(ctx, chainID, to, nil, now)
	})
	return removed, err
}

// ExpireOrders settles, through the state machine, the orders that may expire at now (pending
// ones, and underpaid ones with every payment confirmed, whose deadline has passed), up to a
// thousand at a time, and returns how many expired.
func (s *Service) ExpireOrders(ctx context.Context, now time.Time) (expired int, err error) {
	err = s.Store.InTx(ctx, func(tx PaymentTx) error {
		expired = 0
		due, err := tx.ExpiringOrders(ctx, now, 1000)
		if err != nil {
			return err
		}
		st := s.newStep(now, false)
		for _, o := range due {
			st.orders[o.ID] = &orderDelta{}
		}
		if err := st.settle(ctx, tx, due); err != nil {
			return err
		}
		for _, o := range due {
			if o.Status == OrderExpired {
				expired++
			}
		}
		return st.write(ctx, tx)
	})
	return expired, err
}

// expireOrderNow expires one pending order of the project and mode before its deadline (a
// simulation of a payer who never pays), or reports ErrNotFound.
func (s *Service) expireOrderNow(ctx context.Context, projectID string, mode Mode, id string, now time.Time) error {
	return s.Store.InTx(ctx, func(tx PaymentTx) error {
		os, err := tx.LockOrders(ctx, []string{id})
		if err != nil {
			return err
		}
		if len(os) != 1 || os[0].ProjectID != projectID || os[0].Mode != mode {
			return ErrNotFound
		}
		o := os[0]
		s.resolve(o)
		before := *o
		events, ok := ExpireNow(o)
		if !ok { // paid or expired meanwhile
			return ErrNotFound
		}
		st := s.newStep(now, false)
		if err := st.save(ctx, tx, &before, o, events, nil); err != nil {
			return err
		}
		return st.write(ctx, tx)
	})
}

// simulatePayment stores a confirmed test-mode payment and settles its order, provided the order is
// not completed and has paidAmount paidBefore still (what the simulation was computed from);
// otherwise it changes nothing and returns ErrChanged.
func (s *Service) simulatePayment(ctx context.Context, t *Transfer, paidBefore *big.Int, now time.Time) error {
	t.Confirmed = true
	return s.Store.InTx(ctx, func(tx PaymentTx) error {
		// The order's lock is taken first: simulations of one order run one at a time, and one
		// computed from a state that has changed since is refused.
		orders, err := tx.LockOrders(ctx, []string{t.OrderID})
		if err != nil {
			return err
		}
		if len(orders) != 1 || orders[0].Status == OrderCompleted || orders[0].PaidAmount.Cmp(paidBefore) != 0 {
			return ErrChanged
		}
		st := s.newStep(now, false)
		added, err := tx.InsertTransfers(ctx, []*Transfer{t})
		if err != nil {
			return err
		}
		st.added(added)
		if err := st.settle(ctx, tx, orders); err != nil {
			return err
		}
		return st.write(ctx, tx)
	})
}
