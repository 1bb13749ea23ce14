package gateway

import (
	"context"
	"encoding/json"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
)

// Store is the persistence the domain needs. Every method is one transaction; a write whose
// context carries an audit entry (Audited) records it in that transaction. Implementations
// live in internal/store (SQLite and PostgreSQL) and pass one shared test suite.
type Store interface {
	// CreateProject stores a project with its credentials and webhook endpoints. A website host
	// already used by another project is an *Error with code EConflict.
	CreateProject(ctx context.Context, p *Project, creds []*Credential, webhooks []*WebhookEndpoint) error
	FindProject(ctx context.Context, id string) (*Project, error)
	// UpdateProject stores the project's settings: name, website, underpayment tolerance, payment
	// window, grace and DisabledAt (a website host another project has is EConflict).
	UpdateProject(ctx context.Context, p *Project) error
	ListProjects(ctx context.Context) ([]*Project, error)

	// FindCredential returns the credential with the key hash and its project, or ErrNotFound.
	FindCredential(ctx context.Context, keyHash string) (*Credential, *Project, error)
	// AddCredential stores another key pair of an existing project (ErrNotFound otherwise).
	AddCredential(ctx context.Context, c *Credential) error
	// ResealStored passes every stored sealed value of the kinds to reseal and, in the same
	// transaction, stores what it returns where it says so — unless the value changed meanwhile:
	// then the new value stays. It returns how many it changed. An error from reseal rolls back
	// every change; a transaction that changes nothing commits nothing (nor its audit line).
	ResealStored(ctx context.Context, kinds []SealedKind, reseal func(*SealedValue) ([]byte, bool, error)) (int, error)
	// ListCredentials returns a project's credentials, revoked ones included, oldest first.
	ListCredentials(ctx context.Context, projectID string) ([]*Credential, error)
	// FindCredentialByID returns the credential with the id, revoked or not, or ErrNotFound.
	FindCredentialByID(ctx context.Context, id string) (*Credential, error)
	RevokeCredential(ctx context.Context, id string, at time.Time) error

	// CreateOrder stores o with the address req says, or returns the order already stored under
	// o's reference and leaves o untouched.
	CreateOrder(ctx context.Context, o *Order, req AddressRequest) (existing *Order, err error)
	FindOrder(ctx context.Context, projectID string, mode Mode, id string) (*Order, error)
	// FindOrderByID returns an order by its id alone (the hosted payment page, whose link is the
	// order's unguessable id), or ErrNotFound.
	FindOrderByID(ctx context.Context, id string) (*Order, error)
	// FindOrderByReference returns the order with the merchant reference, or ErrNotFound.
	FindOrderByReference(ctx context.Context, projectID string, mode Mode, ref string) (*Order, error)
	// FindOrderByNumber returns one order of a project and mode by its Number, or ErrNotFound.
	FindOrderByNumber(ctx context.Context, projectID string, mode Mode, number int64) (*Order, error)
	// ReserveAddressIndex returns a derivation index of the project's protocol that was never
	// returned before. Indices are reserved from the database in blocks, so some may be skipped
	// (after a restart or a failed order), never repeated.
	ReserveAddressIndex(ctx context.Context, projectID string, p chain.Protocol) (uint32, error)
	// HasPool reports whether addresses were ever imported into the pool of the mode and protocol.
	HasPool(ctx context.Context, projectID string, mode Mode, p chain.Protocol) (bool, error)
	// SharedAddress returns the shared address of the project's mode and protocol, or ErrNotFound;
	// AddSharedAddress stores the derived one, or returns the one stored first.
	SharedAddress(ctx context.Context, projectID string, mode Mode, p chain.Protocol) (string, error)
	AddSharedAddress(ctx context.Context, projectID string, mode Mode, p chain.Protocol, d DerivedAddress, at time.Time) (string, error)
	ListOrders(ctx context.Context, f OrderFilter) ([]*Order, int, error)

	// ImportAddresses adds addresses to the project's pool for the mode and protocol; addresses
	// already known anywhere are skipped and counted.
	// importedBy is the id of the API key that imported them.
	ImportAddresses(ctx context.Context, projectID string, mode Mode, p chain.Protocol, addrs []string, importedBy string, at time.Time) (added, skipped int, err error)
	PoolStats(ctx context.Context, projectID string, mode Mode, p chain.Protocol) (available, total int, err error)

	IdempotencyStore
	ChainStore
	WebhookStore
	DepositStore
	LedgerStore
	PaymentLinkStore
	TreasuryStore
	OutgoingStore
	SweepStore
	WithdrawalStore
	AuditStore
	AccountStore

	Ping(ctx context.Context) error
	Close() error
}

// AddressRequest says where a new order's address comes from: a derived address, or (Derived
// nil) an unused address of the project's pool for the mode and protocol.
type AddressRequest struct {
	Protocol chain.Protocol
	Derived  *DerivedAddress
	// Shared gives the order the project's shared address and the first free pay amount among
	// the request's offsets (Order.PayOffset), or fails with EInsufficientAmounts.
	Shared *SharedRequest
}

// DerivedAddress is an address derived at a reserved index.
type DerivedAddress struct {
	Index   uint32
	Address string
}

// OrderFilter selects orders of one project and mode for listing.
type OrderFilter struct {
	ProjectID string
	Mode      Mode
	Status    OrderStatus
	ChainID   string
	Currency  string
	Reference string
	Page      int // from 1
	Limit     int
}

// IdempotencyRecord is a stored response to a POST carrying an Idempotency-Key.
type IdempotencyRecord struct {
	ProjectID   string
	Mode        Mode
	Key         string
	RequestHash string // of the request and the credential that sent it
	// SecretProven says the first request proved the API secret: a replay must prove it too.
	SecretProven bool
	Done         bool
	Status       int
	Body         json.RawMessage
	CreatedAt    time.Time
}

// IdempotencyStore keeps Idempotency-Key records.
type IdempotencyStore interface {
	// BeginIdempotent inserts r as running and returns nil, unless a record for the key exists
	// that is newer than staleBefore: then it returns that record. An older one is replaced.
	BeginIdempotent(ctx context.Context, r *IdempotencyRecord, staleBefore time.Time) (existing *IdempotencyRecord, err error)
	FinishIdempotent(ctx context.Context, r *IdempotencyRecord) error
	DeleteIdempotent(ctx context.Context, projectID string, mode Mode, key string) error
	PurgeIdempotent(ctx context.Context, before time.Time) (int, error)
}
