package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Two-factor authentication of dashboard users: TOTP (RFC 6238: six digits, 30 seconds, SHA-1,
// what every authenticator app reads from a QR code) and ten recovery codes. The secret is sealed
// with the master key, bound to the user; a code is good once (the store keeps the last time step
// accepted, and takes a step only when it is later); recovery codes are kept as their SHA-256
// and used once. A wrong code counts as a failed sign-in: five in a row lock the account.

// TwoFactorPolicy says who must enrol two-factor authentication before using the dashboard.
type TwoFactorPolicy string

// The policies. Whatever the policy, a money-moving action asks for a code, so a user without
// two-factor authentication cannot move money.
const (
	TwoFactorAdmins   TwoFactorPolicy = "admins"   // owners and admins of any project (the default)
	TwoFactorEveryone TwoFactorPolicy = "everyone" // every user
	TwoFactorOptional TwoFactorPolicy = "optional" // nobody is sent to enrol
)

// ParseTwoFactorPolicy returns the policy its name says (empty: admins).
func ParseTwoFactorPolicy(s string) (TwoFactorPolicy, error) {
	switch p := TwoFactorPolicy(s); p {
	case "":
		return TwoFactorAdmins, nil
	case TwoFactorAdmins, TwoFactorEveryone, TwoFactorOptional:
		return p, nil
	}
	return "", fmt.Errorf("dashboardTwoFactor must be admins, everyone or optional, not %q", s)
}

// TOTP parameters.
const (
	totpPeriod = 30 * time.Second
	// totpSkew is how many periods before and after now a code is still taken: a phone's clock a
	// little off, a code typed as it changed.
	totpSkew          = 1
	RecoveryCodeCount = 10
	totpIssuer        = "stablegate"
)

// ErrCode is the answer to a wrong, reused or missing two-factor code.
var ErrCode = Errorf(EUnauthorized, "code", "The two-factor code is wrong or was used already: enter the code your app shows now (or a recovery code).")

// errCodeLocked is the answer to a code while the account is locked.
var errCodeLocked = Errorf(EUnauthorized, "code", "Too many wrong codes: the account waits %d minutes before it takes another.", int(SignInLockout/time.Minute))

// TwoFactorStore is what two-factor authentication needs of storage.
type TwoFactorStore interface {
	// SetTOTPPending stores the sealed secret being enrolled (replacing any earlier one).
	SetTOTPPending(ctx context.Context, userID string, sealed []byte) error
	// EnableTOTP makes the pending secret the user's, with step as the last one used, and
	// replaces the user's recovery codes with the hashes, in one transaction; ErrChanged when the
	// pending secret is not pending any more (another browser confirmed or restarted it).
	EnableTOTP(ctx context.Context, userID string, pending []byte, step int64, codeHashes []string, at time.Time) error
	// UseTOTPStep records that a code of the step was used, and reports false (nothing changed)
	// when a code of that step or a later one was used already.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// UseRecoveryCode marks the user's unused code with the hash used and reports whether there was one.
	UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) (bool, error)
	// ResetTOTP deletes the user's two-factor secret (and one pending), its recovery codes and its
	// sessions, in one transaction.
	ResetTOTP(ctx context.Context, userID string) error
	// ClearSignInFailures sets the user's count of failed sign-ins back to zero.
	ClearSignInFailures(ctx context.Context, userID string) error
	// RecoveryCodesLeft is how many of the user's recovery codes are unused.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)
}

// TwoFactor reports whether the user has enrolled two-factor authentication.
func (u *User) TwoFactor() bool { return len(u.TOTPSecret) > 0 }

// TwoFactorDue reports whether the policy sends the user to enrol before anything else.
func TwoFactorDue(policy TwoFactorPolicy, u *User, members []Membership) bool {
	if u.TwoFactor() {
		return false
	}
	switch policy {
	case TwoFactorEveryone:
		return true
	case TwoFactorOptional:
		return false
	}
	for _, m := range members {
		if m.Role == RoleOwner || m.Role == RoleAdmin {
			return true
		}
	}
	return false
}

// Enrolment is a two-factor secret being enrolled: shown as a QR code of URL and as Secret.
type Enrolment struct {
	Secret string // base32, as an app takes it typed in
	URL    string // otpauth://totp/stablegate:ana@…?secret=…&issuer=stablegate
	key    *otp.Key
}

// QR is the enrolment's QR code as an image of the size.
func (e *Enrolment) QR(size int) ([]byte, error) {
	img, err := e.key.Image(size, size)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func totpAAD(userID string) []byte { return []byte("totp\x00" + userID) }

// BeginTwoFactor makes a new secret for the user to enrol and keeps it pending until a code of
// it confirms it. A user who has two-factor authentication keeps it: EConflict.
func (s *Service) BeginTwoFactor(ctx context.Context, u *User) (*Enrolment, error) {
	if u.TwoFactor() {
		return nil, Errorf(EConflict, "", "Two-factor authentication is on already.")
	}
	if s.Keyring == nil {
		return nil, errors.New("two-factor: no master key to seal the secret with")
	}
	raw := make([]byte, 20)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	key, err := totpKey(u.Email, raw)
	if err != nil {
		return nil, err
	}
	sealed := s.Keyring.Seal([]byte(key.Secret()), totpAAD(u.ID))
	if err := s.Store.SetTOTPPending(ctx, u.ID, sealed); err != nil {
		return nil, err
	}
	u.TOTPPending = sealed
	return &Enrolment{Secret: key.Secret(), URL: key.URL(), key: key}, nil
}

// PendingTwoFactor is the enrolment the user began and has not confirmed, or nil.
func (s *Service) PendingTwoFactor(u *User) (*Enrolment, error) {
	if u.TwoFactor() || len(u.TOTPPending) == 0 || s.Keyring == nil {
		return nil, nil
	}
	secret, err := s.Keyring.Open(u.TOTPPending, totpAAD(u.ID))
	if err != nil {
		return nil, fmt.Errorf("two-factor: the pending secret: %w", err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(secret))
	if err != nil {
		return nil, fmt.Errorf("two-factor: the pending secret: %w", err)
	}
	key, err := totpKey(u.Email, raw)
	if err != nil {
		return nil, err
	}
	return &Enrolment{Secret: key.Secret(), URL: key.URL(), key: key}, nil
}

// totpKey is the key of a secret for the account, as an app reads it: the otp library writes its
// otpauth:// URL (the email escaped in it, whatever characters it has).
func totpKey(email string, secret []byte) (*otp.Key, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: email, Secret: secret})
	if err != nil {
		return nil, fmt.Errorf("two-factor: %w", err)
	}
	return key, nil
}

// ConfirmTwoFactor turns two-factor authentication on with a code of the pending secret, and
// returns the ten recovery codes, to be shown once.
func (s *Service) ConfirmTwoFactor(ctx context.Context, u *User, code string) ([]string, error) {
	if u.TwoFactor() {
		return nil, Errorf(EConflict, "", "Two-factor authentication is on already.")
	}
	if len(u.TOTPPending) == 0 {
		return nil, Errorf(EConflict, "", "Start the enrolment first: there is no secret to confirm.")
	}
	secret, err := s.Keyring.Open(u.TOTPPending, totpAAD(u.ID))
	if err != nil {
		return nil, fmt.Errorf("two-factor: the pending secret: %w", err)
	}
	step, ok := totpStep(string(secret), code, s.now())
	if !ok {
		return nil, ErrCode
	}
	codes := make([]string, RecoveryCodeCount)
	hashes := make([]string, RecoveryCodeCount)
	for i := range codes {
		codes[i] = newRecoveryCode()
		hashes[i] = recoveryHash(codes[i])
	}
	members, err := s.Store.Memberships(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	ctx = Audited(ctx, s.userAudit(ctx, u, members, AuditTwoFactorEnabled, map[string]any{"email": u.Email})...)
	if err := s.Store.EnableTOTP(ctx, u.ID, u.TOTPPending, step, hashes, s.now()); errors.Is(err, ErrChanged) {
		return nil, Errorf(EConflict, "", "The enrolment changed in another window: start again.")
	} else if err != nil {
		return nil, err
	}
	u.TOTPSecret, u.TOTPPending, u.TOTPStep = u.TOTPPending, nil, step
	return codes, nil
}

// userAudit is one audit line per project of the user: each project's owners see who signed in
// to it or changed their account.
func (s *Service) userAudit(ctx context.Context, u *User, members []Membership, action AuditAction, details map[string]any) []*AuditEntry {
	out := make([]*AuditEntry, 0, len(members))
	for _, m := range members {
		out = append(out, &AuditEntry{ID: NewID("aud"), ProjectID: m.ProjectID, Actor: ActorFrom(ctx), Action: action, Subject: u.ID,
			Details: details, CreatedAt: s.now()})
	}
	return out
}

// CheckCode takes a two-factor code of the user once: a TOTP code of now (± one period) not
// used before, or an unused recovery code, which is used up. A wrong code counts as a failed
// sign-in (a good one clears the count, as a sign-in does); while the account is locked no code
// is taken.
func (s *Service) CheckCode(ctx context.Context, u *User, code string) error {
	if !u.TwoFactor() {
		return Errorf(EForbidden, "code", "Turn two-factor authentication on first (Security): moving money needs a code.")
	}
	now := s.now()
	if u.LockedUntil != nil && now.Before(*u.LockedUntil) {
		return errCodeLocked
	}
	if strings.TrimSpace(code) == "" {
		return ErrCode // no guess: not counted
	}
	ok, err := s.takeCode(ctx, u, code, now)
	if err != nil {
		return err
	}
	if ok && u.FailedSignIns > 0 {
		return s.Store.ClearSignInFailures(ctx, u.ID)
	}
	if !ok {
		locked, err := s.lockIfDue(ctx, u, now)
		if err != nil {
			return err
		}
		if locked {
			return errCodeLocked
		}
		return ErrCode
	}
	return nil
}

// takeCode reports whether the code is the user's, using it up.
func (s *Service) takeCode(ctx context.Context, u *User, code string, now time.Time) (bool, error) {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 64 {
		return false, nil
	}
	if !isDigits(code) {
		return s.Store.UseRecoveryCode(ctx, u.ID, recoveryHash(code), now)
	}
	secret, err := s.Keyring.Open(u.TOTPSecret, totpAAD(u.ID))
	if err != nil {
		return false, fmt.Errorf("two-factor: the secret: %w", err)
	}
	step, ok := totpStep(string(secret), code, now)
	if !ok || step <= u.TOTPStep {
		return false, nil
	}
	return s.Store.UseTOTPStep(ctx, u.ID, step)
}

// RecoveryCodesLeft is how many unused recovery codes the user has.
func (s *Service) RecoveryCodesLeft(ctx context.Context, u *User) (int, error) {
	return s.Store.RecoveryCodesLeft(ctx, u.ID)
}

// totpStep returns the time step whose code the code is, among now's and its neighbours'.
func totpStep(secret, code string, now time.Time) (int64, bool) {
	if len(code) != 6 || !isDigits(code) {
		return 0, false
	}
	opts := totp.ValidateOpts{Period: uint(totpPeriod / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	step := now.Unix() / int64(totpPeriod/time.Second)
	found := int64(0)
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*int64(totpPeriod/time.Second), 0), opts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && found == 0 {
			found = step + d
		}
	}
	return found, found != 0
}

// TOTPCode is the code of the secret at the time (for tests and the command line).
func TOTPCode(secret string, at time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: uint(totpPeriod / time.Second), Digits: otp.DigitsSix,
		Algorithm: otp.AlgorithmSHA1})
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// newRecoveryCode is 80 random bits, as four groups of four: "k3m9-x2pq-…".
func newRecoveryCode() string {
	t := randomToken(10) // 16 characters
	return t[0:4] + "-" + t[4:8] + "-" + t[8:12] + "-" + t[12:16]
}

// recoveryHash is what the store keeps of a recovery code: the SHA-256 of its characters in
// lower case without the dashes or spaces a person may type.
func recoveryHash(code string) string {
	code = strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(code))
	sum := sha256.Sum256([]byte("recovery\x00" + code))
	return hex.EncodeToString(sum[:])
}

// ResetTwoFactor turns a user's two-factor authentication off (the operator, for a person who lost
// both the phone and the recovery codes): the secret and the codes are deleted and every session
// of the user ends. It is in the audit log of each of the user's projects.
func (s *Service) ResetTwoFactor(ctx context.Context, email string) (*User, error) {
	norm, e := NormalizeEmail(email)
	if e != nil {
		return nil, e
	}
	u, err := s.Store.FindUserByEmail(ctx, norm)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(ENotFound, "email", "No dashboard user %s", norm)
	} else if err != nil {
		return nil, err
	}
	members, err := s.Store.Memberships(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	ctx = Audited(ctx, s.userAudit(ctx, u, members, AuditTwoFactorReset, map[string]any{"email": u.Email})...)
	if err := s.Store.ResetTOTP(ctx, u.ID); err != nil {
		return nil, err
	}
	return u, nil
}
