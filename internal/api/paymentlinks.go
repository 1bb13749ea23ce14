package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
)

// PaymentLink is a payment link as the API shows it.
type PaymentLink struct {
	ID             string                 `json:"id"`
	Slug           string                 `json:"slug"`
	Title          string                 `json:"title"`
	Description    string                 `json:"description,omitempty"`
	Amount         string                 `json:"amount" doc:"In token units; \"0\": the payer chooses" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	Currencies     []gateway.LinkCurrency `json:"currencies"`
	InventoryTotal *int                   `json:"inventoryTotal,omitempty"`
	Reservation    int                    `json:"reservationMinutes" doc:"How long an unpaid checkout holds a unit of the inventory"`
	Sold           int                    `json:"sold" doc:"Orders completed through the link"`
	Reserved       int                    `json:"reserved" doc:"Orders holding a unit now: unpaid ones within the reservation, and those with a payment seen until they complete or expire"`
	Status         string                 `json:"status" enum:"draft,published,archived"`
	CheckoutURL    string                 `json:"checkoutUrl"`
	ExpiresAt      *time.Time             `json:"expiresAt,omitempty"`
	Metadata       json.RawMessage        `json:"metadata,omitempty"`
	CreatedAt      time.Time              `json:"createdAt"`
	Livemode       bool                   `json:"livemode"`
}

func (s *Server) paymentLink(l *gateway.PaymentLink) PaymentLink {
	return PaymentLink{ID: l.ID, Slug: l.Slug, Title: l.Title, Description: l.Description, Amount: l.Amount, Currencies: l.Currencies,
		InventoryTotal: l.InventoryTotal, Reservation: l.ReservationMinutes, Sold: l.Sold, Reserved: l.Reserved, Status: l.Status, CheckoutURL: s.cfg.PublicURL + "/checkout/" + l.Slug,
		ExpiresAt: l.ExpiresAt, Metadata: l.Metadata, CreatedAt: l.CreatedAt, Livemode: l.Mode.Live()}
}

type createLinkInput struct {
	Body struct {
		Title          string                 `json:"title" maxLength:"200" example:"Donation"`
		Description    string                 `json:"description,omitempty" maxLength:"2000"`
		Amount         string                 `json:"amount" maxLength:"100" doc:"Decimal string in token units, or \"0\" to let the payer choose" example:"5.00" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
		Currencies     []gateway.LinkCurrency `json:"currencies" maxItems:"20"`
		InventoryTotal *int                   `json:"inventoryTotal,omitempty" doc:"How many payers may buy; omitted: no limit"`
		Reservation    *int                   `json:"reservationMinutes,omitempty" minimum:"1" maximum:"1440" doc:"How long an unpaid checkout holds a unit of the inventory (default 5); a payment seen holds it until the order completes or expires"`
		ExpiresAt      *time.Time             `json:"expiresAt,omitempty"`
		Metadata       json.RawMessage        `json:"metadata,omitempty"`
	}
}

type linkOutput struct {
	Status int
	Body   Envelope[PaymentLink]
}

type linkIDInput struct {
	ID string `path:"id" maxLength:"64" example:"pl_abcdefghijklmnopqrstuvwx"`
}

// PaymentLinkList is a page of payment links.
type PaymentLinkList struct {
	PaymentLinks []PaymentLink `json:"paymentLinks"`
	Pagination   Pagination    `json:"pagination"`
}

type listLinksInput struct {
	Page  int `query:"page" default:"1"`
	Limit int `query:"limit" default:"20" doc:"Results per page (default 20); above 100 it is capped at 100"`
}

type listLinksOutput struct {
	Body Envelope[PaymentLinkList]
}

func (s *Server) registerPaymentLinks() {
	tags := []string{"Payment links"}
	huma.Register(s.API, huma.Operation{OperationID: "createPaymentLink", Method: http.MethodPost, Path: "/api/v1/payment-links",
		Summary: "Create a payment link", Tags: tags, DefaultStatus: http.StatusCreated, Description: "Created as a draft: publish it to open its checkout page."}, s.createLink)
	huma.Register(s.API, huma.Operation{OperationID: "getPaymentLink", Method: http.MethodGet, Path: "/api/v1/payment-links/{id}",
		Summary: "Get a payment link", Tags: tags}, s.getLink)
	huma.Register(s.API, huma.Operation{OperationID: "listPaymentLinks", Method: http.MethodGet, Path: "/api/v1/payment-links",
		Summary: "List payment links", Tags: tags}, s.listLinks)
	huma.Register(s.API, huma.Operation{OperationID: "publishPaymentLink", Method: http.MethodPost, Path: "/api/v1/payment-links/{id}/publish",
		Summary: "Publish a payment link", Tags: tags, DefaultStatus: http.StatusOK, Description: "An archived link cannot be published again (409)."}, s.publishLink)
	huma.Register(s.API, huma.Operation{OperationID: "archivePaymentLink", Method: http.MethodPost, Path: "/api/v1/payment-links/{id}/archive",
		Summary: "Archive a payment link", Tags: tags, DefaultStatus: http.StatusOK, Description: "Its checkout page then says the link is no longer available; orders already created can still be paid."}, s.archiveLink)
}

func (s *Server) createLink(ctx context.Context, in *createLinkInput) (*linkOutput, error) {
	b := in.Body
	l, err := s.svc.CreatePaymentLink(ctx, principalFrom(ctx), gateway.PaymentLinkInput{Title: b.Title, Description: b.Description,
		Amount: b.Amount, Currencies: b.Currencies, InventoryTotal: b.InventoryTotal, ReservationMinutes: b.Reservation, ExpiresAt: b.ExpiresAt, Metadata: b.Metadata})
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &linkOutput{Status: http.StatusCreated, Body: ok(s.paymentLink(l), "Payment link created")}, nil
}

func (s *Server) getLink(ctx context.Context, in *linkIDInput) (*linkOutput, error) {
	l, err := s.svc.GetPaymentLink(ctx, principalFrom(ctx), in.ID)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &linkOutput{Status: http.StatusOK, Body: ok(s.paymentLink(l), "")}, nil
}

func (s *Server) publishLink(ctx context.Context, in *linkIDInput) (*linkOutput, error) {
	l, err := s.svc.PublishPaymentLink(ctx, principalFrom(ctx), in.ID)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &linkOutput{Status: http.StatusOK, Body: ok(s.paymentLink(l), "Payment link published")}, nil
}

func (s *Server) archiveLink(ctx context.Context, in *linkIDInput) (*linkOutput, error) {
	l, err := s.svc.ArchivePaymentLink(ctx, principalFrom(ctx), in.ID)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &linkOutput{Status: http.StatusOK, Body: ok(s.paymentLink(l), "Payment link archived")}, nil
}

func (s *Server) listLinks(ctx context.Context, in *listLinksInput) (*listLinksOutput, error) {
	in.Limit = gateway.PageLimit(in.Limit) // capped, as 3PAY caps pagination at 100
	links, total, err := s.svc.ListPaymentLinks(ctx, principalFrom(ctx), in.Page, in.Limit)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out := PaymentLinkList{PaymentLinks: make([]PaymentLink, len(links)), Pagination: paginate(in.Page, in.Limit, total)}
	for i, l := range links {
		out.PaymentLinks[i] = s.paymentLink(l)
	}
	return &listLinksOutput{Body: ok(out, "")}, nil
}
