package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Dashboard accounts: people who sign in to the merchant dashboard with an email and a password,
// each a member of one or more projects with a role. Passwords are kept as argon2id hashes;
// sessions as the SHA-256 of their token, so that a copy of the database signs nobody in.

// Role is what a member may do in a project.
type Role string

// The roles, from most to least.
const (
	RoleOwner     Role = "owner"     // everything: the team, keys, money, settings
	RoleAdmin     Role = "admin"     // everything but the team
	RoleDeveloper Role = "developer" // keys and webhooks, and reading
	RoleViewer    Role = "viewer"    // reading only
)

// Roles are the roles in order, for messages and forms.
var Roles = []Role{RoleOwner, RoleAdmin, RoleDeveloper, RoleViewer}

// ParseRole returns the role its name says, or an error naming the roles.
func ParseRole(s string) (Role, *Error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", Errorf(EInvalid, "role", "role must be one of owner, admin, developer, viewer")
}

// Permission is a kind of action in the dashboard.
type Permission string

// The permissions.
const (
	PermRead     Permission = "read"     // see the project's objects
	PermKeys     Permission = "keys"     // create and revoke API keys
	PermWebhooks Permission = "webhooks" // the webhook endpoint, its secret and deliveries
	PermSettings Permission = "settings" // the project's settings and withdrawal policy
	PermMoney    Permission = "money"    // approve withdrawals, payouts, sweeps, resolve orders
	PermTeam     Permission = "team"     // invite, change roles, remove members
)

// Can reports whether the role allows the permission.
func (r Role) Can(p Permission) bool {
	switch r {
	case RoleOwner:
		return true
	case RoleAdmin:
		return p != PermTeam
	case RoleDeveloper:
		return p == PermRead || p == PermKeys || p == PermWebhooks
	case RoleViewer:
		return p == PermRead
	}
	return false
}

// User is a dashboard account.
type User struct {
	ID           string
	Email        string // lower case
	PasswordHash string // argon2id, PHC string format
	// MustChangePassword says the password was generated (users create): the first sign-in sets
	// one of the user's own before anything else.
	MustChangePassword bool
	FailedSignIns      int
	LockedUntil        *time.Time
	// TOTPSecret is the two-factor secret, sealed (none: two-factor authentication is off);
	// TOTPPending the one being enrolled; TOTPStep the last time step a code was taken for.
	TOTPSecret  []byte
	TOTPPending []byte
	TOTPStep    int64
	CreatedAt   time.Time
}

// Membership is a user's role in a project.
type Membership struct {
	UserID    string
	ProjectID string
	Project   string // the project's name, when read for a user
	Role      Role
}

// Session is a signed-in browser. Its token is only in the browser's cookie; the store keeps its
// SHA-256 (ID).
type Session struct {
	ID         string
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	IP         string
	UserAgent  string
}

// Account limits and timeouts.
const (
	MinPasswordLength = 12
	MaxPasswordBytes  = 256
	MaxEmailLength    = 254
	// SignInAttempts failed sign-ins in a row lock an account for SignInLockout.
	SignInAttempts = 5
	SignInLockout  = 15 * time.Minute
	// A session ends after SessionIdle without a request, and SessionMaxAge after sign-in.
	SessionIdle   = 30 * time.Minute
	SessionMaxAge = 12 * time.Hour
	// sessionTouch is how stale a session's last-seen time may get before a request writes it.
	sessionTouch = time.Minute
)

// ErrSignIn is the one answer to a failed sign-in, whatever failed: an unknown email, a wrong
// password, a locked account. Telling them apart would tell an attacker which emails have accounts.
var ErrSignIn = Errorf(EUnauthorized, "", "Wrong email or password. After %d failed attempts an account waits %d minutes.",
	SignInAttempts, int(SignInLockout/time.Minute))

// ErrNoSession is what a missing, unknown or timed-out session gets: sign in again.
var ErrNoSession = errors.New("no session: sign in")

// AccountStore is what dashboard accounts need of storage.
type AccountStore interface {
	// CreateUser stores the user and its membership in one transaction; an email already used is
	// EConflict.
	CreateUser(ctx context.Context, u *User, m Membership) error
	FindUserByEmail(ctx context.Context, email string) (*User, error)
	FindUser(ctx context.Context, id string) (*User, error)
	// SignInFailed counts a failed sign-in of the user and returns the count, atomically;
	// LockUser refuses its sign-ins until the time; SignedIn clears the count and stores the session.
	SignInFailed(ctx context.Context, userID string) (int, error)
	LockUser(ctx context.Context, userID string, until time.Time) error
	SignedIn(ctx context.Context, s *Session) error
	SetPassword(ctx context.Context, userID, hash string) error
	Memberships(ctx context.Context, userID string) ([]Membership, error)
	FindSession(ctx context.Context, id string) (*Session, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	// DeleteSessions ends the user's sessions but keep (the one just made, or none).
	DeleteSessions(ctx context.Context, userID, keep string) error
	DeleteSession(ctx context.Context, id string) error
	TwoFactorStore
	TeamStore
}

// argon2id parameters: OWASP's first recommendation (19 MiB, two passes, one lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns the password's argon2id hash in the PHC string format.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// dummyHash is checked against when the email is unknown, so that the answer takes as long.
var dummyHash = HashPassword("not anybody's password")

// CheckPassword reports whether the password has the hash, in time independent of where they differ.
func CheckPassword(hash, password string) bool {
	var version, m, t, p int
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m < 1 || m > 1<<22 || t < 1 || t > 16 || p < 1 || p > 64 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 || len(key) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, uint32(t), uint32(m), uint8(p), uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// checkPasswordRule checks a new password: long enough, not too long for hashing, text.
func checkPasswordRule(password string) *Error {
	switch {
	case len(password) > MaxPasswordBytes:
		return Errorf(EInvalid, "password", "password must be at most %d bytes", MaxPasswordBytes)
	case !utf8.ValidString(password) || strings.ContainsRune(password, 0):
		return Errorf(EInvalid, "password", "password must be text")
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return Errorf(EInvalid, "password", "password must be at least %d characters", MinPasswordLength)
	}
	return nil
}

// NormalizeEmail returns the email as accounts keep it (trimmed, lower case), or an error.
func NormalizeEmail(email string) (string, *Error) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > MaxEmailLength || TextProblem(email) != "" {
		return "", Errorf(EInvalid, "email", "email must be an address such as ana@shop.example.com")
	}
	return email, nil
}

// sessionID is what the store keeps of a session token.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateUser makes a dashboard account, a member of the project with the role. An empty password
// generates one, returned to be shown once, that the first sign-in replaces.
func (s *Service) CreateUser(ctx context.Context, email, password, projectID string, role Role) (*User, string, error) {
	email, e := NormalizeEmail(email)
	if e != nil {
		return nil, "", e
	}
	if _, e := ParseRole(string(role)); e != nil {
		return nil, "", e
	}
	p, err := s.Store.FindProject(ctx, projectID)
	if errors.Is(err, ErrNotFound) {
		return nil, "", Errorf(ENotFound, "project", "project %s does not exist", projectID)
	} else if err != nil {
		return nil, "", err
	}
	generated := password == ""
	if generated {
		password = randomToken(15) // 24 characters, 120 bits
	} else if e := checkPasswordRule(password); e != nil {
		return nil, "", e
	}
	u := &User{ID: NewID("usr"), Email: email, PasswordHash: HashPassword(password), MustChangePassword: generated, CreatedAt: s.now()}
	if err := s.Store.CreateUser(ctx, u, Membership{UserID: u.ID, ProjectID: p.ID, Role: role}); err != nil {
		return nil, "", err
	}
	if !generated {
		password = ""
	}
	return u, password, nil
}

// SignIn checks an email and password — and the two-factor code of a user who has turned it on —
// and opens a session, returning its token (for the cookie). Every failure is ErrSignIn, after
// the same work; SignInAttempts failures in a row (a wrong code counts) lock the account for
// SignInLockout, during which even the right password fails. The sign-in is in the audit log of
// each of the user's projects.
func (s *Service) SignIn(ctx context.Context, email, password, code, ip, userAgent string) (token string, u *User, err error) {
	now := s.now()
	norm, _ := NormalizeEmail(email)
	u, err = s.Store.FindUserByEmail(ctx, norm)
	if errors.Is(err, ErrNotFound) || norm == "" || len(password) > MaxPasswordBytes {
		CheckPassword(dummyHash, password)
		return "", nil, ErrSignIn
	} else if err != nil {
		return "", nil, err
	}
	ok := CheckPassword(u.PasswordHash, password)
	if u.LockedUntil != nil && now.Before(*u.LockedUntil) {
		return "", nil, ErrSignIn
	}
	if ok && u.TwoFactor() {
		if ok, err = s.takeCode(ctx, u, code, now); err != nil {
			return "", nil, err
		}
	}
	if !ok {
		if err := s.signInFailed(ctx, u, now); err != nil {
			return "", nil, err
		}
		return "", nil, ErrSignIn
	}
	token = randomToken(32)
	sess := &Session{ID: sessionID(token), UserID: u.ID, CreatedAt: now, LastSeenAt: now, IP: ip, UserAgent: truncate(userAgent, 200)}
	members, err := s.Store.Memberships(ctx, u.ID)
	if err != nil {
		return "", nil, err
	}
	ctx = WithActor(ctx, Actor{Kind: ActorUser, ID: u.Email, Address: ip})
	ctx = Audited(ctx, s.userAudit(ctx, u, members, AuditSignedIn, map[string]any{"email": u.Email, "twoFactor": u.TwoFactor(),
		"userAgent": sess.UserAgent})...)
	if err := s.Store.SignedIn(ctx, sess); err != nil {
		return "", nil, err
	}
	return token, u, nil
}

// signInFailed counts a failed proof of the user (a password, a code) and locks the account at
// every SignInAttempts-th (lockIfDue reports whether this one locked it).
func (s *Service) signInFailed(ctx context.Context, u *User, now time.Time) error {
	_, err := s.lockIfDue(ctx, u, now)
	return err
}

func (s *Service) lockIfDue(ctx context.Context, u *User, now time.Time) (bool, error) {
	n, err := s.Store.SignInFailed(ctx, u.ID)
	if err != nil {
		return false, err
	}
	if n%SignInAttempts != 0 { // the count is the store's: of fifty at once, every fifth locks
		return false, nil
	}
	return true, s.Store.LockUser(ctx, u.ID, now.Add(SignInLockout))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// SessionLive reports whether a session may still be used at now: seen within SessionIdle, opened
// within SessionMaxAge.
func SessionLive(sess *Session, now time.Time) bool {
	return now.Sub(sess.LastSeenAt) < SessionIdle && now.Sub(sess.CreatedAt) < SessionMaxAge
}

// SessionOf returns the session of a token and its user, or ErrNoSession; a live session's
// last-seen time moves on (written at most once a minute). A timed-out session is deleted.
func (s *Service) SessionOf(ctx context.Context, token string) (*Session, *User, error) {
	if token == "" || len(token) > 128 {
		return nil, nil, ErrNoSession
	}
	id := sessionID(token)
	sess, err := s.Store.FindSession(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrNoSession
	} else if err != nil {
		return nil, nil, err
	}
	now := s.now()
	if !SessionLive(sess, now) {
		if err := s.Store.DeleteSession(ctx, id); err != nil {
			return nil, nil, err
		}
		return nil, nil, ErrNoSession
	}
	u, err := s.Store.FindUser(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrNoSession
	} else if err != nil {
		return nil, nil, err
	}
	if now.Sub(sess.LastSeenAt) >= sessionTouch {
		sess.LastSeenAt = now
		if err := s.Store.TouchSession(ctx, id, now); err != nil {
			return nil, nil, err
		}
	}
	return sess, u, nil
}

// SignOut ends the session of the token.
func (s *Service) SignOut(ctx context.Context, token string) error {
	return s.Store.DeleteSession(ctx, sessionID(token))
}

// ChangePassword replaces the signed-in user's password, given the current one, and ends every
// other session of the user.
func (s *Service) ChangePassword(ctx context.Context, u *User, sess *Session, current, next string) error {
	if !CheckPassword(u.PasswordHash, current) {
		return Errorf(EUnauthorized, "current", "The current password is wrong.")
	}
	if e := checkPasswordRule(next); e != nil {
		return e
	}
	if next == current {
		return Errorf(EInvalid, "password", "The new password must differ from the current one.")
	}
	if err := s.Store.SetPassword(ctx, u.ID, HashPassword(next)); err != nil {
		return err
	}
	return s.Store.DeleteSessions(ctx, u.ID, sess.ID)
}

// Memberships returns the projects the user belongs to, with the role in each.
func (s *Service) Memberships(ctx context.Context, u *User) ([]Membership, error) {
	return s.Store.Memberships(ctx, u.ID)
}

// MemberPrincipal is how a signed-in user acts on one of its projects in a mode: the principal the
// services take, and the user's role. The API secret is not proven: what needs it needs the
// user's two-factor code (ActingPrincipal). A project the user is no member of is ENotFound, as
// if it did not exist.
func (s *Service) MemberPrincipal(ctx context.Context, u *User, projectID string, mode Mode) (*Principal, Role, error) {
	ms, err := s.Store.Memberships(ctx, u.ID)
	if err != nil {
		return nil, "", err
	}
	return s.PrincipalIn(ctx, u, ms, projectID, mode)
}

// PrincipalIn is MemberPrincipal from the user's memberships as read already (a page that lists
// them reads them once).
func (s *Service) PrincipalIn(ctx context.Context, u *User, ms []Membership, projectID string, mode Mode) (*Principal, Role, error) {
	for _, m := range ms {
		if m.ProjectID != projectID || m.UserID != u.ID {
			continue
		}
		p, err := s.Store.FindProject(ctx, projectID)
		if err != nil {
			return nil, "", err
		}
		if mode != Live {
			mode = Test
		}
		return &Principal{Project: p, Mode: mode, User: u}, m.Role, nil
	}
	return nil, "", Errorf(ENotFound, "project", "Project not found")
}

// ActingPrincipal is how a signed-in user does what the API does only with the API secret (move
// money, decide where it goes): the role must allow the permission (EForbidden), and the user's
// two-factor code must be good — asked for every such action, each code good once. The principal
// it returns stands for the secret.
func (s *Service) ActingPrincipal(ctx context.Context, u *User, projectID string, mode Mode, perm Permission, code string) (*Principal, error) {
	pr, role, err := s.MemberPrincipal(ctx, u, projectID, mode)
	if err != nil {
		return nil, err
	}
	if !role.Can(perm) {
		return nil, Errorf(EForbidden, "", "Your role in this project (%s) does not allow this.", role)
	}
	if err := s.CheckCode(ctx, u, code); err != nil {
		return nil, err
	}
	pr.SecretProven = true
	return pr, nil
}
