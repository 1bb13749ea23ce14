package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

// errReferenceRace is returned inside a transaction that lost a race to insert the same
// reference; CreateOrder then reads the winner.
var errReferenceRace = errors.New("order reference inserted concurrently")

// CreateOrder stores o with its address, or returns the order stored under its reference. The
// reference's unique index decides a race between two requests with the same reference: the
// loser's transaction (its savepoint, under group commit) is rolled back and it reads the winner.
func (s *Store) CreateOrder(ctx context.Context, o *gateway.Order, req gateway.AddressRequest) (*gateway.Order, error) {
	owner := addressOwner{o.ProjectID, o.Mode, o.ID, "", o.CreatedAt}
	var err error
	if s.d.ModifyingCTE && req.Derived != nil && o.PaymentLinkID == "" {
		// The address and the order in one statement: one round trip to PostgreSQL, atomic on its
		// own, instead of four (begin, two inserts, commit).
		err = s.write.QueryRowContext(ctx, s.q(s.insertOrderWithAddress),
			append(derivedArgs(owner, req), orderArgs(o, req.Derived.Address)...)...).Scan(&o.Number)
		if err == nil {
			o.Address = req.Derived.Address
		} else if s.d.IsUniqueViolation(err) {
			err = errReferenceRace
		} else {
			err = fmt.Errorf("insert order: %w", err)
		}
	} else {
		err = s.inTx(ctx, func(t *tx) error {
			addr, err := s.orderAddress(ctx, t, o, owner, req)
			if err != nil {
				return err
			}
			if o.PaymentLinkID != "" {
				if err := s.takeUnit(ctx, t, o); err != nil {
					return err
				}
			}
			err = t.queryRow(ctx, s.insertOrder, orderArgs(o, addr)...).Scan(&o.Number)
			if err != nil && s.d.IsUniqueViolation(err) {
				return errReferenceRace
			} else if err != nil {
				return fmt.Errorf("insert order: %w", err)
			}
			o.Address = addr
			return nil
		})
	}
	if errors.Is(err, errReferenceRace) {
		existing, ferr := s.FindOrderByReference(ctx, o.ProjectID, o.Mode, o.Reference)
		if ferr != nil {
			return nil, fmt.Errorf("read the order that won the reference: %w", ferr)
		}
		return existing, nil
	}
	if err != nil {
		return nil, err
	}
	return nil, nil
}

// The inserts of a derived address and of an order, and their arguments.
const (
	insertDerived = `INSERT INTO addresses (protocol, address, project_id, mode, source, derivation_index, order_id, deposit_id, created_at, assigned_at)
		VALUES (?, ?, ?, ?, 'derived', ?, ?, ?, ?, ?)`
	insertOrder = `INSERT INTO orders (id, project_id, mode, order_reference, status, amount, currency, chain_id, address,
		success_url, cancel_url, metadata, payment_window_minutes, grace_minutes, underpayment_ppm, payment_link_id, expires_at, created_at, pay_offset, number)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, `
)

// orderInserts are the order's insert on the engine, which returns the order's number, alone and
// after its derived address's insert (one statement, on PostgreSQL): made once, in New.
func orderInserts(d Dialect) (alone, withAddress string) {
	alone = insertOrder + d.NextOrderNumber + `) RETURNING number`
	return alone, `WITH a AS (` + insertDerived + `) ` + alone
}

func derivedArgs(o addressOwner, req gateway.AddressRequest) []any {
	d := req.Derived
	return []any{string(req.Protocol), d.Address, o.projectID, string(o.mode), int64(d.Index), nullIfEmpty(o.orderID), nullIfEmpty(o.depositID),
		ms(o.at), ms(o.at)}
}

func orderArgs(o *gateway.Order, addr string) []any {
	return []any{o.ID, o.ProjectID, string(o.Mode), o.Reference, string(o.Status), o.Amount.String(), o.Currency, o.ChainID, addr,
		o.SuccessURL, o.CancelURL, nullString(o.Metadata), o.PaymentWindowMinutes, o.GraceMinutes, o.UnderpaymentPPM,
		nullIfEmpty(o.PaymentLinkID), ms(o.ExpiresAt), ms(o.CreatedAt), payOffset(o)}
}

func payOffset(o *gateway.Order) string {
	if o.PayOffset == nil {
		return "0"
	}
	return o.PayOffset.String()
}

// addressOwner is who an address is allocated to: an order or a deposit binding.
type addressOwner struct {
	projectID          string
	mode               gateway.Mode
	orderID, depositID string
	at                 time.Time
}

// allocateAddress records the derived address of req, or takes an unused address of the pool.
func (s *Store) allocateAddress(ctx context.Context, t *tx, o addressOwner, req gateway.AddressRequest) (string, error) {
	if d := req.Derived; d != nil {
		if _, err := t.exec(ctx, insertDerived, derivedArgs(o, req)...); err != nil {
			return "", fmt.Errorf("record derived address %d: %w", d.Index, err)
		}
		return d.Address, nil
	}
	var addr string
	err := t.queryRow(ctx, `UPDATE addresses SET order_id = ?, deposit_id = ?, assigned_at = ?
		WHERE protocol = ? AND address = (SELECT address FROM addresses
			WHERE project_id = ? AND mode = ? AND protocol = ? AND source = 'pool' AND order_id IS NULL AND deposit_id IS NULL
			ORDER BY created_at LIMIT 1 `+s.d.SkipLocked+`)
		RETURNING address`, nullIfEmpty(o.orderID), nullIfEmpty(o.depositID), ms(o.at), string(req.Protocol), o.projectID, string(o.mode),
		string(req.Protocol)).Scan(&addr)
	if errors.Is(err, sql.ErrNoRows) {
		return "", gateway.Errorf(gateway.EInsufficientAddresses, "", "No available addresses in pool for protocol: %s", req.Protocol)
	} else if err != nil {
		return "", fmt.Errorf("take pool address: %w", err)
	}
	return addr, nil
}

// indexBlockSize is how many derivation indices a process reserves from the database at once.
const indexBlockSize = 32

type indexBlock struct{ next, end int64 }

// ReserveAddressIndex hands out derivation indices from blocks reserved in the database, so that
// several processes never hand out the same index and a reservation is rarely a write.
func (s *Store) ReserveAddressIndex(ctx context.Context, projectID string, p chain.Protocol) (uint32, error) {
	s.blocksMu.Lock()
	defer s.blocksMu.Unlock()
	k := projectID + "/" + string(p)
	b := s.blocks[k]
	if b == nil || b.next >= b.end {
		var end int64
		err := s.inTx(ctx, func(t *tx) error {
			return t.queryRow(ctx, `INSERT INTO address_counters (project_id, protocol, next_index) VALUES (?, ?, ?)
				ON CONFLICT (project_id, protocol) DO UPDATE SET next_index = address_counters.next_index + ?
				RETURNING next_index`, projectID, string(p), int64(indexBlockSize), int64(indexBlockSize)).Scan(&end)
		})
		if err != nil {
			return 0, fmt.Errorf("reserve address indices: %w", err)
		}
		b = &indexBlock{next: end - indexBlockSize, end: end}
		s.blocks[k] = b
	}
	i := b.next
	b.next++
	if i >= 1<<31 {
		return 0, fmt.Errorf("reserve address index: the project has used all %d non-hardened indices", int64(1)<<31)
	}
	return uint32(i), nil
}

// HasPool reports whether the pool of a project's mode and protocol was ever filled.
func (s *Store) HasPool(ctx context.Context, projectID string, mode gateway.Mode, p chain.Protocol) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM addresses WHERE project_id = ? AND mode = ? AND protocol = ? AND source = 'pool' LIMIT 1) x`,
		projectID, string(mode), string(p)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check pool: %w", err)
	}
	return n > 0, nil
}

const orderColumns = `id, project_id, mode, order_reference, status, amount, currency, chain_id, address, success_url, cancel_url,
	metadata, payment_window_minutes, grace_minutes, expires_at, created_at, completed_at, tx_hash,
	paid_amount, overpaid, paid_late, multiple_payments, confirmed_amount, payment_count, first_block, first_log_index, underpayment_ppm,
	payment_link_id, wrong_currency, number, pay_offset, resolution, resolution_reason, resolved_by, resolved_at`

func scanOrder(sc interface{ Scan(...any) error }) (*gateway.Order, error) {
	var o gateway.Order
	var mode, status, amount string
	var meta sql.NullString
	var expires, created int64
	var completed sql.NullInt64
	var paid string
	var confirmed sql.NullString
	var overpaid, late, multiple, wrong int
	var firstBlock, firstLog int64
	var link sql.NullString
	var number sql.NullInt64
	var offset, resolution string
	var resolved sql.NullInt64
	if err := sc.Scan(&o.ID, &o.ProjectID, &mode, &o.Reference, &status, &amount, &o.Currency, &o.ChainID, &o.Address,
		&o.SuccessURL, &o.CancelURL, &meta, &o.PaymentWindowMinutes, &o.GraceMinutes, &expires, &created, &completed, &o.TxHash,
		&paid, &overpaid, &late, &multiple, &confirmed, &o.PaymentCount, &firstBlock, &firstLog, &o.UnderpaymentPPM, &link, &wrong, &number, &offset,
		&resolution, &o.ResolutionReason, &o.ResolvedBy, &resolved); err != nil {
		return nil, err
	}
	if confirmed.Valid {
		v, err := money.ParseBase(confirmed.String)
		if err != nil {
			return nil, err
		}
		o.ConfirmedAmount = v
	}
	o.FirstBlock, o.FirstLogIndex, o.PaymentLinkID, o.Number = uint64(firstBlock), uint64(firstLog), link.String, number.Int64
	v, err := money.ParseBase(amount)
	if err != nil {
		return nil, err
	}
	if o.PaidAmount, err = money.ParseBase(paid); err != nil {
		return nil, err
	}
	if offset != "0" {
		if o.PayOffset, err = money.ParseBase(offset); err != nil {
			return nil, err
		}
	}
	o.Overpaid, o.PaidLate, o.MultiplePayments, o.WrongCurrency = overpaid != 0, late != 0, multiple != 0, wrong != 0
	o.Mode, o.Status, o.Amount = gateway.Mode(mode), gateway.OrderStatus(status), v
	if meta.Valid {
		o.Metadata = []byte(meta.String)
	}
	o.ExpiresAt, o.CreatedAt, o.CompletedAt = fromMS(expires), fromMS(created), nullMS(completed)
	o.Resolution, o.ResolvedAt = gateway.OrderStatus(resolution), nullMS(resolved)
	return &o, nil
}

// FindOrderByID returns an order by its id alone, or gateway.ErrNotFound.
func (s *Store) FindOrderByID(ctx context.Context, id string) (*gateway.Order, error) {
	o, err := scanOrder(s.queryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find order: %w", err)
	}
	return o, nil
}

// FindOrderByReference returns the order with the merchant reference, or gateway.ErrNotFound.
func (s *Store) FindOrderByReference(ctx context.Context, projectID string, mode gateway.Mode, ref string) (*gateway.Order, error) {
	o, err := scanOrder(s.queryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE project_id = ? AND mode = ? AND order_reference = ?`,
		projectID, string(mode), ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find order by reference: %w", err)
	}
	return o, nil
}

// FindOrderByNumber returns one order of a project and mode by its number, or gateway.ErrNotFound.
func (s *Store) FindOrderByNumber(ctx context.Context, projectID string, mode gateway.Mode, number int64) (*gateway.Order, error) {
	o, err := scanOrder(s.queryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE number = ?`, number))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (o.ProjectID != projectID || o.Mode != mode)) {
		return nil, gateway.ErrNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find order by number: %w", err)
	}
	return o, nil
}

// FindOrder returns one order of a project and mode, or gateway.ErrNotFound.
//
// A read by id selects by the primary key alone and checks the owner here: with the owner in the
// WHERE clause PostgreSQL may pick an index that leads with (project_id, mode) and walk all of the
// project's orders — it did, on a table not yet analyzed, and reads fell from 12,000/s to 600/s.
func (s *Store) FindOrder(ctx context.Context, projectID string, mode gateway.Mode, id string) (*gateway.Order, error) {
	o, err := s.FindOrderByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if o.ProjectID != projectID || o.Mode != mode {
		return nil, gateway.ErrNotFound
	}
	return o, nil
}

// ListOrders returns a page of a project's orders in one mode, newest first, and the total count.
func (s *Store) ListOrders(ctx context.Context, f gateway.OrderFilter) ([]*gateway.Order, int, error) {
	where := []string{"project_id = ?", "mode = ?"}
	args := []any{f.ProjectID, string(f.Mode)}
	for _, c := range []struct{ col, v string }{{"status", string(f.Status)}, {"chain_id", f.ChainID}, {"currency", f.Currency}, {"order_reference", f.Reference}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM orders WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count orders: %w", err)
	}
	rows, err := s.query(ctx, `SELECT `+orderColumns+` FROM orders WHERE `+cond+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		append(args, f.Limit, (f.Page-1)*f.Limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list orders: %w", err)
	}
	defer rows.Close()
	out := []*gateway.Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list orders: %w", err)
		}
		out = append(out, o)
	}
	return out, total, rows.Err()
}

func nullString(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// takeUnit checks, in the transaction of a payment link's new order, that the link is published
// and has a unit the order can hold: its row is locked first, so that checkouts of one link are
// counted one after another (the count, a statement of its own, sees every order committed before
// the lock was granted).
func (s *Store) takeUnit(ctx context.Context, t *tx, o *gateway.Order) error {
	var total sql.NullInt64
	var sold int64
	err := t.queryRow(ctx, `SELECT inventory_total, sold FROM payment_links WHERE id = ? AND status = 'published' `+s.d.ForUpdate,
		o.PaymentLinkID).Scan(&total, &sold)
	if errors.Is(err, sql.ErrNoRows) {
		return gateway.ErrSoldOut
	} else if err != nil {
		return fmt.Errorf("lock payment link: %w", err)
	}
	if !total.Valid {
		return nil
	}
	var held int64
	if err := t.queryRow(ctx, `SELECT `+holdingOrders+` FROM payment_links l WHERE l.id = ?`, ms(o.CreatedAt), o.PaymentLinkID).Scan(&held); err != nil {
		return fmt.Errorf("count units held: %w", err)
	}
	if sold+held >= total.Int64 {
		return gateway.ErrSoldOut
	}
	return nil
}
