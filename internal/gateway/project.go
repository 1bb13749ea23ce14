package gateway

import (
	"math/big"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/money"
)

// Mode separates test data from live data. Every object carries it; nothing crosses modes.
type Mode string

// The two modes.
const (
	Test Mode = "test"
	Live Mode = "live"
)

// Live reports whether m is live mode.
func (m Mode) Live() bool { return m == Live }

// Project is a merchant's store. Its website's host is unique across projects; success and cancel
// URLs must stay on that domain.
type Project struct {
	ID      string
	Name    string
	Website string
	// XPubs are the account-level extended public keys per protocol; empty for a protocol the
	// project cannot derive addresses for (then only an imported pool serves it).
	XPubs map[chain.Protocol]string
	// UnderpaymentPPM is how far short of its amount (in parts per million) a fully confirmed
	// payment may be and still complete an order; new orders take it (default 0).
	UnderpaymentPPM int
	// SealedSeed is the project's BIP39 mnemonic sealed by the Keyring, or nil for a watch-only
	// project whose merchant keeps the seed.
	SealedSeed []byte
	// PaymentWindowMinutes and GraceMinutes are what new orders take when they name none
	// (DefaultPaymentWindowMinutes, DefaultGraceMinutes unless changed).
	PaymentWindowMinutes int
	GraceMinutes         int
	// Confirmations asks, per chain slug, for more confirmations than the chain's rule before a
	// payment counts (RequiredConfirmations); payments seen from then on need them.
	Confirmations map[string]int
	// SharedAmounts are the chains, by slug, whose orders are paid to the project's shared
	// address with a unique pay amount instead of to a fresh address each (shared.go).
	SharedAmounts map[string]SharedAmounts
	// AllowedOrigins are the browser origins whose pages may call the API with the project's keys
	// (CORS); empty, no browser page may. Calls without an Origin header are not concerned.
	AllowedOrigins []string
	// DisabledAt is when the operator disabled the project (`projects disable`): its keys are
	// refused, its payment links take no new payer; what is already paying is still watched.
	DisabledAt *time.Time
	// LiveAt is when the operator switched the project to live mode (`projects go-live`); nil, it
	// is in test mode, as every project starts: its live keys are refused (ErrTestModeMessage).
	LiveAt    *time.Time
	CreatedAt time.Time
}

// WatchOnly reports whether stablegate lacks the project's seed (sweeps and payouts need it).
func (p *Project) WatchOnly() bool { return len(p.SealedSeed) == 0 }

// Credential is one API key pair of a project in one mode. Only hashes are kept.
type Credential struct {
	ID         string
	ProjectID  string
	Mode       Mode
	KeyHash    string
	SecretHash []byte
	KeyHint    string
	CreatedAt  time.Time
	RevokedAt  *time.Time
}

// Principal is who a request acts for: a project, in one mode, and whether the request proved
// knowledge of the API secret (x-api-secret or X-Signature).
type Principal struct {
	Project    *Project
	Credential *Credential // the API key; nil for a dashboard user
	// User is the dashboard user acting (nil for an API key): SecretProven then says the user
	// gave a good two-factor code for this action.
	User         *User
	Mode         Mode
	SecretProven bool
}

// ActorID is who acts, as withdrawals record it: the API key's id or the dashboard user's.
func (pr *Principal) ActorID() string {
	if pr.User != nil {
		return pr.User.ID
	}
	if pr.Credential != nil {
		return pr.Credential.ID
	}
	return ""
}

// Who names who acts, for a history note: "key cred_…" or "user ana@…".
func (pr *Principal) Who() string {
	if pr.User != nil {
		return "user " + pr.User.Email
	}
	return "key " + pr.ActorID()
}

// actorKind is what acts: "key" or "user".
func (pr *Principal) actorKind() string {
	if pr.User != nil {
		return "user"
	}
	return "key"
}

// MaxUnderpaymentPPM bounds the underpayment tolerance: 10 %.
const MaxUnderpaymentPPM = 100_000

// ParseTolerance reads an underpayment tolerance given in percent ("0.5" is half a percent, at most
// four decimals, from 0 to 10) as parts per million.
func ParseTolerance(percent string) (int, *Error) {
	v, err := money.Parse(percent, 4)
	if err != nil || v.Sign() < 0 || v.Cmp(big.NewInt(MaxUnderpaymentPPM)) > 0 {
		return 0, Errorf(EInvalid, "underpaymentTolerance", "underpaymentTolerance must be a percentage from 0 to 10 with at most 4 decimals, such as \"0.5\"")
	}
	return int(v.Int64()), nil
}

// FormatTolerance writes parts per million as a percentage.
func FormatTolerance(ppm int) string { return money.Format(big.NewInt(int64(ppm)), 4) }
