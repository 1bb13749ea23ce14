package gateway

import (
	"context"
	"os"
	"os/user"
	"slices"
	"time"
)

// Actor is who makes a change: an API key from a client address, the operator on the command
// line, a dashboard user, or stablegate itself.
type Actor struct {
	Kind ActorKind
	// ID is the API key's id, the dashboard user, or the operator's "user@host".
	ID string
	// Address is the client address of an API or dashboard request (empty on the command line).
	Address string
	// RequestID is the API request's id, as its answer said.
	RequestID string
}

// ActorKind says what kind of actor an Actor is.
type ActorKind string

// The kinds of actor.
const (
	ActorKey      ActorKind = "api_key"
	ActorOperator ActorKind = "operator"
	ActorUser     ActorKind = "user"
	ActorSystem   ActorKind = "system"
)

type actorKey struct{}

// WithActor says who makes the changes done with the context: the API does it for each
// authenticated request, the command line for its run.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom is the context's actor, or stablegate itself when none was set.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{Kind: ActorSystem, ID: "stablegate"}
}

// Operator is the actor of a command run on this host: the OS user at the host name.
func Operator() Actor {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		name += "@" + h
	}
	return Actor{Kind: ActorOperator, ID: name}
}

// AuditEntry is one line of the audit log: who changed what, when, from where. The log is
// append-only (the database refuses to change or delete a line) and every line is written in the
// transaction of its change, so a change the log does not show did not happen.
type AuditEntry struct {
	ID        string
	ProjectID string
	// Mode is the mode of what changed; empty for what both modes share (the project's settings).
	Mode   Mode
	Actor  Actor
	Action AuditAction
	// Subject is the id (or address) of what changed.
	Subject string
	// Details say what changed; never a secret.
	Details   map[string]any
	CreatedAt time.Time
}

// AuditAction names a kind of change.
type AuditAction string

// The changes the audit log records.
const (
	AuditProjectCreated      AuditAction = "project.created"
	AuditProjectUpdated      AuditAction = "project.updated"
	AuditProjectDisabled     AuditAction = "project.disabled"
	AuditProjectEnabled      AuditAction = "project.enabled"
	AuditProjectWentLive     AuditAction = "project.went_live"
	AuditProjectBackToTest   AuditAction = "project.back_to_test"
	AuditCredentialCreated   AuditAction = "credential.created"
	AuditCredentialRevoked   AuditAction = "credential.revoked"
	AuditSecretsResealed     AuditAction = "secrets.resealed"
	AuditMasterKeyRotated    AuditAction = "master_key.rotated"
	AuditWebhookURLSet       AuditAction = "webhook.url_set"
	AuditWebhookURLRemoved   AuditAction = "webhook.url_removed"
	AuditWebhookSecret       AuditAction = "webhook.secret_rotated"
	AuditPoolImported        AuditAction = "pool.imported"
	AuditPolicyChanged       AuditAction = "withdrawal_policy.changed"
	AuditDestinationAdded    AuditAction = "destination.added"
	AuditDestinationRemoved  AuditAction = "destination.removed"
	AuditTreasurySet         AuditAction = "treasury.set"
	AuditTreasuryRemoved     AuditAction = "treasury.removed"
	AuditSweepRequested      AuditAction = "sweep.requested"
	AuditWithdrawalRequested AuditAction = "withdrawal.requested"
	AuditWithdrawalApproved  AuditAction = "withdrawal.approved"
	AuditWithdrawalRejected  AuditAction = "withdrawal.rejected"
	AuditSignedIn            AuditAction = "dashboard.signed_in"
	AuditTwoFactorEnabled    AuditAction = "dashboard.two_factor_enabled"
	AuditTwoFactorReset      AuditAction = "dashboard.two_factor_reset"
	AuditOrderResolved       AuditAction = "order.resolved"
	AuditMemberInvited       AuditAction = "team.invited"
	AuditMemberJoined        AuditAction = "team.joined"
	AuditMemberRoleChanged   AuditAction = "team.role_changed"
	AuditMemberRemoved       AuditAction = "team.removed"
)

// AuditActions are the actions the audit log records, in the order of the constants.
var AuditActions = []AuditAction{AuditProjectCreated, AuditProjectUpdated, AuditProjectDisabled, AuditProjectEnabled, AuditProjectWentLive,
	AuditProjectBackToTest, AuditCredentialCreated,
	AuditCredentialRevoked, AuditSecretsResealed, AuditMasterKeyRotated, AuditWebhookURLSet, AuditWebhookURLRemoved, AuditWebhookSecret, AuditPoolImported,
	AuditPolicyChanged, AuditDestinationAdded, AuditDestinationRemoved, AuditTreasurySet, AuditTreasuryRemoved, AuditSweepRequested,
	AuditWithdrawalRequested, AuditWithdrawalApproved, AuditWithdrawalRejected, AuditSignedIn, AuditTwoFactorEnabled, AuditTwoFactorReset, AuditOrderResolved,
	AuditMemberInvited, AuditMemberJoined, AuditMemberRoleChanged, AuditMemberRemoved}

// AuditFilter selects lines of the audit log, newest first. An empty ProjectID selects every
// project's (the command line); a Mode selects that mode's lines and the project-wide ones.
type AuditFilter struct {
	ProjectID string
	Mode      Mode
	Action    AuditAction
	Page      int // from 1
	Limit     int
}

// AuditStore reads the audit log. Lines are written by the changes themselves: a write of the
// Store whose context carries an entry (Audited) stores it in the same transaction.
type AuditStore interface {
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, int, error)
}

type auditKey struct{}

// Audited returns a context under which the Store's next write records e in its transaction,
// after the change: a change made in a function (InWithdrawalTx) may still fill in e's details.
// Use it for one write only: every write under it records e.
func Audited(ctx context.Context, e ...*AuditEntry) context.Context {
	return context.WithValue(ctx, auditKey{}, e)
}

// AuditOf are the entries a write under ctx must record (several when one change concerns
// several projects: a user's sign-in), or none.
func AuditOf(ctx context.Context) []*AuditEntry {
	e, _ := ctx.Value(auditKey{}).([]*AuditEntry)
	return e
}

// audited returns a context under which the next write records the change by the context's
// actor.
func (s *Service) audited(ctx context.Context, projectID string, mode Mode, action AuditAction, subject string, details map[string]any) context.Context {
	return Audited(ctx, &AuditEntry{ID: NewID("aud"), ProjectID: projectID, Mode: mode, Actor: ActorFrom(ctx), Action: action,
		Subject: subject, Details: details, CreatedAt: s.now()})
}

// AuditLog lists the principal's project's audit log in its mode (with the project-wide lines),
// newest first; it needs the API secret, since it shows who moved money where.
func (s *Service) AuditLog(ctx context.Context, pr *Principal, f AuditFilter) ([]*AuditEntry, int, error) {
	if err := RequireSecret(pr); err != nil {
		return nil, 0, err
	}
	f.ProjectID, f.Mode = pr.Project.ID, pr.Mode
	return s.ListAudit(ctx, f)
}

// ListAudit lists the lines of the audit log the filter selects, newest first (`stablegate audit`
// reads every project's).
func (s *Service) ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, int, error) {
	if e := checkPage(f.Page, f.Limit); e != nil {
		return nil, 0, e
	}
	if f.Action != "" && !slices.Contains(AuditActions, f.Action) {
		return nil, 0, Errorf(EInvalid, "action", "unknown action %q", f.Action)
	}
	return s.Store.ListAudit(ctx, f)
}
