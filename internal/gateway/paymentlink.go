package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/money"
)

// Payment link statuses.
const (
	LinkDraft     = "draft"
	LinkPublished = "published"
	LinkArchived  = "archived"
)

// LinkCurrency is a currency on a chain a payment link takes.
type LinkCurrency struct {
	Currency string `json:"currency" example:"USDT"`
	ChainID  string `json:"chainId" example:"ethereum-sepolia"`
}

// PaymentLink is a reusable checkout: each payer gets an order (PayIn's payment links).
type PaymentLink struct {
	ID             string
	ProjectID      string
	Mode           Mode
	Slug           string
	Title          string
	Description    string
	Amount         string // token units; "0": the payer chooses
	Currencies     []LinkCurrency
	InventoryTotal *int // nil: unlimited
	// ReservationMinutes is how long an unpaid checkout holds a unit of the inventory
	// (Order.HoldsUnit); a payer who pays later still completes the order.
	ReservationMinutes int
	// Sold counts the completed orders; Reserved, read at a moment, the orders holding a unit then.
	Sold, Reserved int
	Status         string
	ExpiresAt      *time.Time
	Metadata       json.RawMessage
	CreatedAt      time.Time
}

// Available reports whether the link takes a new payer now, and why not.
func (l *PaymentLink) Available(now time.Time) (bool, string) {
	switch {
	case l.Status == LinkDraft:
		return false, "This payment link is not published yet."
	case l.Status == LinkArchived:
		return false, "This payment link is no longer available."
	case l.ExpiresAt != nil && !now.Before(*l.ExpiresAt):
		return false, "This payment link has expired."
	case l.InventoryTotal != nil && l.Sold+l.Reserved >= *l.InventoryTotal:
		return false, "Sold out."
	}
	return true, ""
}

// DefaultReservationMinutes is how long an unpaid checkout holds a unit of a link's inventory when
// the link names no reservation: long enough to open a wallet and send, short enough that a few
// visitors who never pay cannot keep a link sold out.
const DefaultReservationMinutes = 5

// MaxReservationMinutes bounds a link's reservation (a day).
const MaxReservationMinutes = 1440

// HoldsUnit reports whether the order, checked out from a payment link whose reservation is the
// given one, holds a unit of the link's inventory at now: while it is unpaid, for the reservation
// after its creation; once a payment of its own is seen (confirming, underpaid), until it completes
// (the unit is sold) or expires. An expired order seen paid late holds one again.
func (o *Order) HoldsUnit(now time.Time, reservation time.Duration) bool {
	switch o.Status {
	case OrderConfirming, OrderUnderpaid:
		return true
	case OrderPending:
		return now.Before(o.CreatedAt.Add(reservation))
	}
	return false
}

// PaymentLinkStore keeps payment links; CreateOrder takes a unit of a link's inventory. A link read
// has Reserved counted at the moment given (the orders for which Order.HoldsUnit holds then).
type PaymentLinkStore interface {
	CreatePaymentLink(ctx context.Context, l *PaymentLink) error
	FindPaymentLink(ctx context.Context, projectID string, mode Mode, id string, at time.Time) (*PaymentLink, error)
	FindPaymentLinkBySlug(ctx context.Context, slug string, at time.Time) (*PaymentLink, error)
	// SetPaymentLinkStatus moves a link from one of the statuses to another, or reports ErrNotFound.
	SetPaymentLinkStatus(ctx context.Context, id string, from []string, to string) error
	ListPaymentLinks(ctx context.Context, projectID string, mode Mode, page, limit int, at time.Time) ([]*PaymentLink, int, error)
}

// ErrSoldOut is what CreateOrder returns when a payment link has no inventory left.
var ErrSoldOut = errors.New("sold out")

// PaymentLinkInput is what a merchant sends to create a payment link.
type PaymentLinkInput struct {
	Title, Description, Amount string
	Currencies                 []LinkCurrency
	InventoryTotal             *int
	ReservationMinutes         *int // nil: DefaultReservationMinutes
	ExpiresAt                  *time.Time
	Metadata                   json.RawMessage
}

// CreatePaymentLink validates and stores a draft payment link.
func (s *Service) CreatePaymentLink(ctx context.Context, pr *Principal, in PaymentLinkInput) (*PaymentLink, error) {
	if err := liveAllowed(pr); err != nil {
		return nil, err
	}
	title := strings.TrimSpace(in.Title)
	if title == "" || len(title) > 200 {
		return nil, Errorf(EInvalid, "title", "title is required (1 to 200 characters)")
	}
	if len(in.Description) > 2000 {
		return nil, Errorf(EInvalid, "description", "description must be at most 2000 characters")
	}
	if len(in.Currencies) == 0 || len(in.Currencies) > 20 {
		return nil, Errorf(EInvalid, "currencies", "currencies must list 1 to 20 {currency, chainId} pairs")
	}
	amount := in.Amount
	for _, c := range in.Currencies {
		_, tok, err := s.ResolveToken(pr.Mode, c.ChainID, c.Currency)
		if err != nil {
			err.Param = "currencies"
			return nil, err
		}
		if in.Amount != "0" {
			v, perr := money.ParsePositive(in.Amount, tok.Decimals)
			if perr != nil {
				return nil, Errorf(EInvalid, "amount", "amount must be \"0\" (the payer chooses) or a decimal string greater than 0 with at most %d decimals for %s on %s",
					tok.Decimals, c.Currency, c.ChainID)
			}
			// Amounts answer normalized, as orders' do: "24.90" is "24.9".
			amount = money.Format(v, tok.Decimals)
		}
	}
	if in.InventoryTotal != nil && (*in.InventoryTotal < 1 || *in.InventoryTotal > 1_000_000_000) {
		return nil, Errorf(EInvalid, "inventoryTotal", "inventoryTotal must be at least 1 (omit it for no limit)")
	}
	reservation := DefaultReservationMinutes
	if in.ReservationMinutes != nil {
		reservation = *in.ReservationMinutes
		if reservation < 1 || reservation > MaxReservationMinutes {
			return nil, Errorf(EInvalid, "reservationMinutes", "reservationMinutes must be 1 to %d (default %d)", MaxReservationMinutes, DefaultReservationMinutes)
		}
	}
	now := s.now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return nil, Errorf(EInvalid, "expiresAt", "expiresAt must be in the future")
	}
	meta, verr := compactMetadata(in.Metadata)
	if verr != nil {
		return nil, verr
	}
	l := &PaymentLink{ID: NewID("pl"), ProjectID: pr.Project.ID, Mode: pr.Mode, Slug: randomToken(10), Title: title,
		Description: in.Description, Amount: amount, Currencies: in.Currencies, InventoryTotal: in.InventoryTotal, ReservationMinutes: reservation, Status: LinkDraft,
		ExpiresAt: in.ExpiresAt, Metadata: meta, CreatedAt: now}
	if err := s.Store.CreatePaymentLink(ctx, l); err != nil {
		return nil, err
	}
	return l, nil
}

// GetPaymentLink returns one of the principal's payment links.
func (s *Service) GetPaymentLink(ctx context.Context, pr *Principal, id string) (*PaymentLink, error) {
	l, err := s.Store.FindPaymentLink(ctx, pr.Project.ID, pr.Mode, id, s.now())
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(ENotFound, "id", "No payment link %s", id)
	}
	return l, err
}

// PublishPaymentLink makes a draft link public; an archived link cannot come back.
func (s *Service) PublishPaymentLink(ctx context.Context, pr *Principal, id string) (*PaymentLink, error) {
	if err := liveAllowed(pr); err != nil {
		return nil, err
	}
	return s.moveLink(ctx, pr, id, []string{LinkDraft, LinkPublished}, LinkPublished)
}

// ArchivePaymentLink takes a link down for good; orders already created can still be paid.
func (s *Service) ArchivePaymentLink(ctx context.Context, pr *Principal, id string) (*PaymentLink, error) {
	return s.moveLink(ctx, pr, id, []string{LinkDraft, LinkPublished, LinkArchived}, LinkArchived)
}

func (s *Service) moveLink(ctx context.Context, pr *Principal, id string, from []string, to string) (*PaymentLink, error) {
	l, err := s.GetPaymentLink(ctx, pr, id)
	if err != nil {
		return nil, err
	}
	if err := s.Store.SetPaymentLinkStatus(ctx, l.ID, from, to); errors.Is(err, ErrNotFound) {
		return nil, Errorf(EConflict, "status", "A payment link that is %s cannot be %s", l.Status, to)
	} else if err != nil {
		return nil, err
	}
	return s.GetPaymentLink(ctx, pr, id)
}

// ListPaymentLinks lists the principal's payment links, newest first.
func (s *Service) ListPaymentLinks(ctx context.Context, pr *Principal, page, limit int) ([]*PaymentLink, int, error) {
	if err := checkPage(page, limit); err != nil {
		return nil, 0, err
	}
	return s.Store.ListPaymentLinks(ctx, pr.Project.ID, pr.Mode, page, limit, s.now())
}

// PublicPaymentLink returns a link by its slug, for its checkout page.
func (s *Service) PublicPaymentLink(ctx context.Context, slug string) (*PaymentLink, error) {
	return s.Store.FindPaymentLinkBySlug(ctx, slug, s.now())
}

// Checkout creates the order of one payer of a link: in a currency and on a chain the link takes,
// for the link's amount or, when that is "0", the payer's. The order holds a unit of inventory for
// the link's reservation (Order.HoldsUnit), so concurrent payers never take more than the link has.
func (s *Service) Checkout(ctx context.Context, l *PaymentLink, currency, chainID, amount string) (*Order, error) {
	if ok, why := l.Available(s.now()); !ok {
		return nil, Errorf(EConflict, "", "%s", why)
	}
	found := false
	for _, c := range l.Currencies {
		found = found || c.Currency == currency && c.ChainID == chainID
	}
	if !found {
		return nil, Errorf(EInvalid, "currency", "This link does not take %s on %s", currency, chainID)
	}
	if l.Amount != "0" {
		amount = l.Amount
	}
	p, err := s.Store.FindProject(ctx, l.ProjectID)
	if err != nil {
		return nil, err
	}
	if p.DisabledAt != nil {
		return nil, Errorf(EForbidden, "", "This merchant does not take payments at the moment.")
	}
	pr := &Principal{Project: p, Mode: l.Mode}
	if err := liveAllowed(pr); err != nil { // the website changed since the link was made
		return nil, err
	}
	o, c, verr := s.validateOrder(pr, OrderInput{Reference: NewID("chk"), Amount: amount, Currency: currency, ChainID: chainID,
		Metadata: l.Metadata})
	if verr != nil {
		return nil, verr
	}
	o.PaymentLinkID = l.ID
	req, err := s.orderAddress(ctx, pr, o, c)
	if err != nil {
		return nil, err
	}
	if _, err := s.Store.CreateOrder(ctx, o, req); errors.Is(err, ErrSoldOut) {
		return nil, Errorf(EConflict, "", "Sold out.")
	} else if err != nil {
		return nil, err
	}
	return o, nil
}
