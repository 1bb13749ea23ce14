package gateway

import (
	"context"
	"errors"
	"time"
)

// A project's team: its members with their roles, invitations by one-time link, role changes and
// removals. Only an owner manages the team (PermTeam), each change with a two-factor code; a
// project always keeps an owner.

// InviteTTL is how long an invitation's link works.
const InviteTTL = 7 * 24 * time.Hour

// Member is a user's membership as the team page shows it.
type Member struct {
	UserID    string
	Email     string
	Role      Role
	TwoFactor bool
	Since     time.Time
}

// Invite is an invitation to a project's team. Its token is only in the link; the store keeps its
// SHA-256 (ID).
type Invite struct {
	ID        string
	ProjectID string
	Project   string // the project's name, when read for the link
	Email     string
	Role      Role
	CreatedBy string // the inviter's email
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// Errors of the team.
var (
	ErrLastOwner   = Errorf(EConflict, "role", "A project keeps at least one owner: make another member owner first.")
	errInviteEnded = Errorf(EInvalid, "invite", "This invitation has expired or was used already: ask the project's owner for a new one.")
)

// TeamStore is what the team needs of storage.
type TeamStore interface {
	TeamMembers(ctx context.Context, projectID string) ([]Member, error)
	CreateInvite(ctx context.Context, inv *Invite) error
	// FindInvite returns an invitation with its project's name (ErrNotFound).
	FindInvite(ctx context.Context, id string) (*Invite, error)
	// AcceptInvite marks the invitation used — only if it is unused and not expired at — and adds
	// the membership, creating the user first when u is new (u.PasswordHash set), in one
	// transaction; ErrChanged when the invitation was used or expired meanwhile.
	AcceptInvite(ctx context.Context, id string, u *User, newUser bool, at time.Time) error
	// ChangeMembers locks the project's memberships, gives them to decide, and applies its answer:
	// the user's new role, or "" to remove the user from the project.
	ChangeMembers(ctx context.Context, projectID string, decide func([]Member) (userID string, role Role, err error)) error
}

// TeamMembers lists the project's members, owners first.
func (s *Service) TeamMembers(ctx context.Context, pr *Principal) ([]Member, error) {
	return s.Store.TeamMembers(ctx, pr.Project.ID)
}

// teamActor checks that the acting principal is a dashboard user who gave a two-factor code
// (ActingPrincipal) and whose role in the project manages the team, as it stands now.
func (s *Service) teamActor(ctx context.Context, pr *Principal) (*User, error) {
	refused := Errorf(EForbidden, "", "Only a project's owner manages its team, from the dashboard, with a two-factor code.")
	if pr.User == nil || !pr.SecretProven {
		return nil, refused
	}
	ms, err := s.Store.Memberships(ctx, pr.User.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.ProjectID == pr.Project.ID && m.Role.Can(PermTeam) {
			return pr.User, nil
		}
	}
	return nil, refused
}

// InviteMember makes an invitation of the email to the principal's project with the role and
// returns the link's token, to be shown once. A member already is EConflict.
func (s *Service) InviteMember(ctx context.Context, pr *Principal, email string, role Role) (string, *Invite, error) {
	u, err := s.teamActor(ctx, pr)
	if err != nil {
		return "", nil, err
	}
	email, e := NormalizeEmail(email)
	if e != nil {
		return "", nil, e
	}
	if _, e := ParseRole(string(role)); e != nil {
		return "", nil, e
	}
	members, err := s.Store.TeamMembers(ctx, pr.Project.ID)
	if err != nil {
		return "", nil, err
	}
	for _, m := range members {
		if m.Email == email {
			return "", nil, Errorf(EConflict, "email", "%s is a member already (%s): change the role instead", email, m.Role)
		}
	}
	token := randomToken(32)
	now := s.now()
	inv := &Invite{ID: sessionID(token), ProjectID: pr.Project.ID, Email: email, Role: role, CreatedBy: u.Email, CreatedAt: now, ExpiresAt: now.Add(InviteTTL)}
	ctx = s.audited(ctx, pr.Project.ID, "", AuditMemberInvited, email, map[string]any{"email": email, "role": string(role),
		"expiresAt": inv.ExpiresAt.UTC().Format(time.RFC3339)})
	if err := s.Store.CreateInvite(ctx, inv); err != nil {
		return "", nil, err
	}
	return token, inv, nil
}

// InviteOf returns the invitation of a link's token, and whether its email has an account
// already; an unknown, used or expired one is the same error.
func (s *Service) InviteOf(ctx context.Context, token string) (*Invite, bool, error) {
	if token == "" || len(token) > 128 {
		return nil, false, errInviteEnded
	}
	inv, err := s.Store.FindInvite(ctx, sessionID(token))
	if errors.Is(err, ErrNotFound) {
		return nil, false, errInviteEnded
	} else if err != nil {
		return nil, false, err
	}
	if inv.UsedAt != nil || !s.now().Before(inv.ExpiresAt) {
		return nil, false, errInviteEnded
	}
	_, err = s.Store.FindUserByEmail(ctx, inv.Email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	return inv, err == nil, nil
}

// AcceptInvite makes the invited email a member with the invitation's role: an existing account
// proves itself with its password, a new one is created with the password given. The link works
// once; the person signs in afterwards.
func (s *Service) AcceptInvite(ctx context.Context, token, password string) (*Invite, error) {
	inv, exists, err := s.InviteOf(ctx, token)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var u *User
	if exists {
		if u, err = s.Store.FindUserByEmail(ctx, inv.Email); err != nil {
			return nil, err
		}
		// The account's password, as at sign-in: a wrong one counts, five in a row lock it.
		ok := CheckPassword(u.PasswordHash, password)
		if u.LockedUntil != nil && now.Before(*u.LockedUntil) {
			return nil, ErrSignIn
		}
		if !ok {
			if err := s.signInFailed(ctx, u, now); err != nil {
				return nil, err
			}
			return nil, Errorf(EUnauthorized, "password", "The password of %s is wrong. After %d failed attempts an account waits %d minutes.",
				inv.Email, SignInAttempts, int(SignInLockout/time.Minute))
		}
	} else {
		if e := checkPasswordRule(password); e != nil {
			return nil, e
		}
		u = &User{ID: NewID("usr"), Email: inv.Email, PasswordHash: HashPassword(password), CreatedAt: now}
	}
	ctx = WithActor(ctx, Actor{Kind: ActorUser, ID: inv.Email, Address: ActorFrom(ctx).Address})
	ctx = s.audited(ctx, inv.ProjectID, "", AuditMemberJoined, u.ID, map[string]any{"email": inv.Email, "role": string(inv.Role),
		"invitedBy": inv.CreatedBy})
	if err := s.Store.AcceptInvite(ctx, inv.ID, u, !exists, now); errors.Is(err, ErrChanged) {
		return nil, errInviteEnded
	} else if err != nil {
		return nil, err
	}
	return inv, nil
}

// ChangeRole gives a member of the principal's project another role; RemoveMember takes the
// member out of it. The project keeps an owner (ErrLastOwner): the check and the change are one
// transaction over the project's locked memberships.
func (s *Service) ChangeRole(ctx context.Context, pr *Principal, userID string, role Role) error {
	if _, e := ParseRole(string(role)); e != nil {
		return e
	}
	return s.changeMember(ctx, pr, userID, role)
}

// RemoveMember takes a member out of the principal's project (its account stays).
func (s *Service) RemoveMember(ctx context.Context, pr *Principal, userID string) error {
	return s.changeMember(ctx, pr, userID, "")
}

func (s *Service) changeMember(ctx context.Context, pr *Principal, userID string, role Role) error {
	if _, err := s.teamActor(ctx, pr); err != nil {
		return err
	}
	details := map[string]any{"role": string(role)}
	action := AuditMemberRoleChanged
	if role == "" {
		action = AuditMemberRemoved
	}
	ctx = s.audited(ctx, pr.Project.ID, "", action, userID, details)
	return s.Store.ChangeMembers(ctx, pr.Project.ID, func(members []Member) (string, Role, error) {
		var target *Member
		owners := 0
		for i := range members {
			if members[i].UserID == userID {
				target = &members[i]
			}
			if members[i].Role == RoleOwner {
				owners++
			}
		}
		if target == nil {
			return "", "", Errorf(ENotFound, "user", "No member %s in this project", userID)
		}
		if target.Role == role {
			return "", "", Errorf(EConflict, "role", "%s is %s already", target.Email, role)
		}
		if target.Role == RoleOwner && owners == 1 {
			return "", "", ErrLastOwner
		}
		details["email"], details["from"] = target.Email, string(target.Role)
		return userID, role, nil
	})
}
