package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
)

// Service is the domain's entry point: what the API, the CLI and the pages call.
type Service struct {
	Store   Store
	Keyring *Keyring // seals generated seeds and webhook secrets; projects cannot be created without it
	// Nodes reads what addresses hold on the chains this gateway watches (hot wallet balances).
	Nodes Nodes
	// Encoder encodes the contract calls of sweeps (internal/evm).
	Encoder Encoder
	Now     func() time.Time
	Log     *slog.Logger
	// WebhookPolicy vets webhook URLs (nil: only their form is checked).
	WebhookPolicy WebhookPolicy
	// SecretOverlap is how long a rotated-out webhook secret still signs deliveries.
	SecretOverlap time.Duration
	// Chains are the chains this gateway follows — an RPC endpoint and a running scanner (nil:
	// every chain of the registry, for tests). Orders, payment links and checkouts may name only
	// these, and a deposit address is monitored on these.
	Chains []string
	// WebhookSecretRotated, when set, is told each new webhook secret after its rotation is stored
	// (stablegate dev keeps dev-credentials.json true with it).
	WebhookSecretRotated func(projectID string, mode Mode, secret string)
	// Registry is the chains this gateway knows, with the confirmation rules the scanners apply
	// (nil: chain.Builtin()).
	Registry *chain.Registry

	accounts sync.Map // "protocol:xpub" → *chain.Account
	keys     sync.Map // key hash → cachedKey
	hotAddrs sync.Map // "project/mode/chain" → hot wallet address: derived once (HotWalletAddress)
	projects sync.Map // project id → cachedProject, for the scanner's steps
	shared   sync.Map // "project/mode/protocol" → the project's shared address
	pools    sync.Map // "project/mode/protocol" → time.Time until which "no pool" holds; true once filled
	// withdrawals wakes the Withdrawer when a withdrawal is approved.
	withdrawals signal
}

// CacheTTL bounds how long a process trusts what it cached of the database: a key revoked through
// another replica stops working there within this time (at once through this one), and a pool
// imported through another replica is used within it.
const CacheTTL = 2 * time.Second

type cachedKey struct {
	cred    *Credential
	project *Project
	until   time.Time
}

// now returns the service clock's time in UTC, truncated to the millisecond that storage keeps.
func (s *Service) now() time.Time {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return now().UTC().Truncate(time.Millisecond)
}

// CreateProjectParams are the inputs of project creation.
type CreateProjectParams struct {
	Name    string
	Website string
	// WebhookURL, when set, becomes the webhook endpoint of test mode and, if it is https, of
	// live mode.
	WebhookURL string
	// XPubs make a watch-only project; with none, stablegate generates and seals a seed.
	XPubs map[chain.Protocol]string
	// UnderpaymentTolerance is a percentage ("0.5"); empty: 0.
	UnderpaymentTolerance string
	// Live switches the project to live mode at once; without it the project starts in test mode
	// and its live keys are refused until SetProjectLive.
	Live bool
}

// KeyPair is a freshly created API key and secret, shown once.
type KeyPair struct {
	Mode   Mode
	Key    string
	Secret string
}

// CreatedProject is what project creation shows once: the credentials, the webhook secrets and,
// when stablegate made the seed, its mnemonic for backup.
type CreatedProject struct {
	Project        *Project
	Keys           []KeyPair
	Mnemonic       string
	Webhooks       []*WebhookEndpoint
	WebhookSecrets map[Mode]string
	// WebhookNote says why the webhook URL was set for test mode only.
	WebhookNote string
}

// CreateProject validates and stores a new project with a test and a live key pair.
func (s *Service) CreateProject(ctx context.Context, in CreateProjectParams) (*CreatedProject, error) {
	name, verr := projectName(in.Name)
	if verr != nil {
		return nil, verr
	}
	if _, err := WebsiteHost(in.Website); err != nil {
		return nil, err
	}
	if s.Keyring == nil {
		return nil, errors.New("create project: no master key configured to seal its secrets")
	}
	p := &Project{ID: NewID("prj"), Name: name, Website: in.Website, XPubs: map[chain.Protocol]string{},
		PaymentWindowMinutes: DefaultPaymentWindowMinutes, GraceMinutes: DefaultGraceMinutes, CreatedAt: s.now()}
	if in.Live {
		p.LiveAt = &p.CreatedAt
	}
	if in.UnderpaymentTolerance != "" {
		ppm, err := ParseTolerance(in.UnderpaymentTolerance)
		if err != nil {
			return nil, err
		}
		p.UnderpaymentPPM = ppm
	}
	out := &CreatedProject{Project: p, WebhookSecrets: map[Mode]string{}}
	if in.WebhookURL != "" {
		if err := s.checkWebhookURL(ctx, in.WebhookURL, Test, "webhookUrl"); err != nil {
			return nil, err
		}
	}
	for _, m := range []Mode{Test, Live} {
		url := in.WebhookURL
		if m == Live && url != "" {
			if err := s.checkWebhookURL(ctx, url, Live, "webhookUrl"); err != nil {
				out.WebhookNote = "the webhook URL is set for test mode only: " + err.Message
				url = ""
			}
		}
		e, secret, err := s.newEndpoint(p.ID, m, url, p.CreatedAt)
		if err != nil {
			return nil, err
		}
		out.Webhooks = append(out.Webhooks, e)
		out.WebhookSecrets[m] = secret
	}
	if len(in.XPubs) > 0 {
		for proto, xpub := range in.XPubs {
			if !proto.Valid() {
				return nil, Errorf(EInvalid, "xpub", "unknown protocol %q", proto)
			}
			if err := chain.ValidateXPub(xpub); err != nil {
				return nil, Errorf(EInvalid, "xpub-"+string(proto), "%v", err)
			}
			p.XPubs[proto] = xpub
		}
	} else {
		mnemonic, err := chain.NewMnemonic()
		if err != nil {
			return nil, fmt.Errorf("create project: %w", err)
		}
		for _, proto := range []chain.Protocol{chain.EVM, chain.TRON} {
			if p.XPubs[proto], err = chain.AccountXPub(mnemonic, proto); err != nil {
				return nil, fmt.Errorf("create project: %w", err)
			}
		}
		p.SealedSeed = s.Keyring.SealSeed(p.ID, mnemonic)
		out.Mnemonic = mnemonic
	}
	var creds []*Credential
	for _, m := range []Mode{Test, Live} {
		key, secret := NewKeyPair(m)
		creds = append(creds, &Credential{ID: NewID("key"), ProjectID: p.ID, Mode: m, KeyHash: HashKey(key),
			SecretHash: HashSecret(secret), KeyHint: KeyHint(key), CreatedAt: p.CreatedAt})
		s.sealSecret(creds[len(creds)-1])
		out.Keys = append(out.Keys, KeyPair{Mode: m, Key: key, Secret: secret})
	}
	keys := make([]string, len(creds))
	for i, c := range creds {
		keys[i] = c.ID
	}
	ctx = s.audited(ctx, p.ID, "", AuditProjectCreated, p.ID, map[string]any{"name": p.Name, "website": p.Website, "keys": keys,
		"watchOnly": out.Mnemonic == ""})
	if err := s.Store.CreateProject(ctx, p, creds, out.Webhooks); err != nil {
		return nil, err
	}
	return out, nil
}

// Authenticate resolves an API key to the principal it acts for. Any failure is EUnauthorized, with
// no hint whether the key exists.
func (s *Service) Authenticate(ctx context.Context, key string) (*Principal, error) {
	var mode Mode
	switch {
	case strings.HasPrefix(key, "pk_test_"):
		mode = Test
	case strings.HasPrefix(key, "pk_live_"):
		mode = Live
	case key == "":
		return nil, Errorf(EUnauthorized, "", "Missing API key: send Authorization: Bearer pk_…, apikey or X-API-Key")
	default:
		return nil, Errorf(EUnauthorized, "", "Invalid API key")
	}
	cred, p, err := s.credential(ctx, HashKey(key))
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(EUnauthorized, "", "Invalid API key")
	} else if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if cred.RevokedAt != nil {
		return nil, Errorf(EUnauthorized, "", "API key has been revoked")
	}
	if cred.Mode != mode {
		return nil, Errorf(EUnauthorized, "", "Invalid API key")
	}
	if p.DisabledAt != nil {
		return nil, Errorf(EForbidden, "", "Project %s is disabled: its operator can enable it again (stablegate projects enable)", p.ID)
	}
	if mode.Live() && p.LiveAt == nil {
		return nil, Errorf(EForbidden, "", "%s", TestModeMessage)
	}
	return &Principal{Project: p, Credential: cred, Mode: mode}, nil
}

// credential returns the credential and project of a key hash, from a short-lived cache: every
// API request authenticates, and most would otherwise read the same row.
func (s *Service) credential(ctx context.Context, hash string) (*Credential, *Project, error) {
	now := time.Now()
	if v, ok := s.keys.Load(hash); ok {
		if c := v.(cachedKey); now.Before(c.until) {
			return c.cred, c.project, nil
		}
	}
	cred, p, err := s.Store.FindCredential(ctx, hash)
	if err != nil {
		return nil, nil, err
	}
	if s.Keyring != nil {
		if cred.SecretHash, err = s.Keyring.OpenSecretHash(cred.ID, cred.SecretHash); err != nil {
			return nil, nil, fmt.Errorf("api secret of %s: %w", cred.ID, err)
		}
	}
	s.keys.Store(hash, cachedKey{cred: cred, project: p, until: now.Add(CacheTTL)})
	return cred, p, nil
}

// sealSecret seals a new credential's secret hash for storage. Without a keyring (tests and
// benchmarks that build a Service by hand) the hash is stored as it is.
func (s *Service) sealSecret(c *Credential) {
	if s.Keyring != nil {
		c.SecretHash = s.Keyring.SealSecretHash(c.ID, c.SecretHash)
	}
}

// NewCredential gives a project another key pair in the mode, returned once; the project's other
// keys keep working until they are revoked, so a key is replaced without downtime.
func (s *Service) NewCredential(ctx context.Context, projectID string, mode Mode) (KeyPair, *Credential, error) {
	if mode != Test && mode != Live {
		return KeyPair{}, nil, Errorf(EInvalid, "mode", "mode must be test or live")
	}
	key, secret := NewKeyPair(mode)
	c := &Credential{ID: NewID("key"), ProjectID: projectID, Mode: mode, KeyHash: HashKey(key), SecretHash: HashSecret(secret),
		KeyHint: KeyHint(key), CreatedAt: s.now()}
	s.sealSecret(c)
	ctx = s.audited(ctx, projectID, mode, AuditCredentialCreated, c.ID, map[string]any{"keyHint": c.KeyHint})
	if err := s.Store.AddCredential(ctx, c); err != nil {
		if errors.Is(err, ErrNotFound) {
			return KeyPair{}, nil, Errorf(ENotFound, "project", "No project %s", projectID)
		}
		return KeyPair{}, nil, err
	}
	return KeyPair{Mode: mode, Key: key, Secret: secret}, c, nil
}

// FindCredentialByKey returns the credential of an API key (pk_…), revoked or not.
func (s *Service) FindCredentialByKey(ctx context.Context, key string) (*Credential, error) {
	c, _, err := s.Store.FindCredential(ctx, HashKey(key))
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(ENotFound, "key", "No API key %s", KeyHint(key))
	}
	return c, err
}

// RevokeCredential revokes an API key; this process refuses it at once, other processes (a running
// server, when the command line revokes) within CacheTTL.
func (s *Service) RevokeCredential(ctx context.Context, id string) error {
	c, err := s.Store.FindCredentialByID(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && c.RevokedAt != nil {
		return Errorf(ENotFound, "id", "No active API key %s", id)
	} else if err != nil {
		return err
	}
	ctx = s.audited(ctx, c.ProjectID, c.Mode, AuditCredentialRevoked, c.ID, map[string]any{"keyHint": c.KeyHint})
	if err := s.Store.RevokeCredential(ctx, id, s.now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Errorf(ENotFound, "id", "No active API key %s", id)
		}
		return err
	}
	s.keys.Range(func(k, v any) bool {
		if v.(cachedKey).cred.ID == id {
			s.keys.Delete(k)
		}
		return true
	})
	return nil
}

// ProveSecret checks an x-api-secret header value; a wrong secret is EUnauthorized.
func (pr *Principal) ProveSecret(secret string) error {
	if !SecretMatches(secret, pr.Credential.SecretHash) {
		return Errorf(EUnauthorized, "", "Invalid API secret")
	}
	pr.SecretProven = true
	return nil
}

// ProveSignature checks an X-Signature header: hex HMAC-SHA256 of the raw body with the secret.
func (pr *Principal) ProveSignature(signature string, body []byte) error {
	if !SignatureMatches(signature, body, pr.Credential.SecretHash) {
		return Errorf(EUnauthorized, "", "Invalid signature")
	}
	pr.SecretProven = true
	return nil
}

// ListProjects returns every project.
func (s *Service) ListProjects(ctx context.Context) ([]*Project, error) {
	return s.Store.ListProjects(ctx)
}

// ProjectKeys lists the principal's project's API keys of its mode, revoked ones included,
// oldest first (their hints only: a key is shown once, when made).
func (s *Service) ProjectKeys(ctx context.Context, pr *Principal) ([]*Credential, error) {
	all, err := s.Store.ListCredentials(ctx, pr.Project.ID)
	if err != nil {
		return nil, err
	}
	out := make([]*Credential, 0, len(all))
	for _, c := range all {
		if c.Mode == pr.Mode {
			out = append(out, c)
		}
	}
	return out, nil
}

// CreateKey gives the principal's project another key pair in its mode, shown once. It needs the
// API secret (a dashboard user's two-factor code): a key pair can move money.
func (s *Service) CreateKey(ctx context.Context, pr *Principal) (KeyPair, *Credential, error) {
	if err := RequireSecret(pr); err != nil {
		return KeyPair{}, nil, err
	}
	return s.NewCredential(ctx, pr.Project.ID, pr.Mode)
}

// RevokeKey revokes one of the principal's project's keys of its mode (another project's or
// mode's is not found), with the API secret (a dashboard user's two-factor code).
func (s *Service) RevokeKey(ctx context.Context, pr *Principal, id string) error {
	if err := RequireSecret(pr); err != nil {
		return err
	}
	c, err := s.Store.FindCredentialByID(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && (c.ProjectID != pr.Project.ID || c.Mode != pr.Mode) {
		return Errorf(ENotFound, "id", "No active API key %s", id)
	} else if err != nil {
		return err
	}
	return s.RevokeCredential(ctx, id)
}
