package gateway

import (
	"time"

	"github.com/stablegate/stablegate/internal/chain"
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
	// SealedSeed is the project's BIP39 mnemonic sealed by the Keyring, or nil for a watch-only
	// project whose merchant keeps the seed.
	SealedSeed []byte
	CreatedAt  time.Time
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
	Project      *Project
	Credential   *Credential
	Mode         Mode
	SecretProven bool
}
