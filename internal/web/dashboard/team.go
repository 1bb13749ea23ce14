package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

type teamView struct {
	*scope
	Team  []gateway.Member
	Roles []gateway.Role
	// Link is the invitation just made: shown on this answer only.
	Link        string
	LinkEmail   string
	LinkExpires string
}

// team lists the project's members, and to its owners the forms that invite (a one-time link,
// shown once), change a role and remove a member, each with a two-factor code.
func (h *Handler) team(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.renderTeam(w, r, u, r.URL.Query(), http.StatusOK, "", nil)
}

func (h *Handler) renderTeam(w http.ResponseWriter, r *http.Request, u *gateway.User, values url.Values, status int, errText string, link *teamView) {
	sc := h.scopeOf(w, r, u, values, "Team")
	if sc == nil {
		return
	}
	sc.Nav, sc.Error = "team", errText
	switch r.URL.Query().Get("done") {
	case "role":
		sc.Notice = "Role changed."
	case "removed":
		sc.Notice = "Member removed from the project (the account stays)."
	}
	members, err := h.svc.TeamMembers(r.Context(), sc.pr)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	v := teamView{scope: sc, Team: members, Roles: gateway.Roles}
	if link != nil {
		v.Link, v.LinkEmail, v.LinkExpires = link.Link, link.LinkEmail, link.LinkExpires
	}
	h.render(w, "team", status, v)
}

// invite makes an invitation and shows its link once.
func (h *Handler) invite(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	var made *teamView
	h.teamAction(w, r, u, func(pr *gateway.Principal) error {
		token, inv, err := h.svc.InviteMember(r.Context(), pr, r.PostForm.Get("email"), gateway.Role(r.PostForm.Get("role")))
		if err == nil {
			made = &teamView{Link: h.publicURL(r) + "/dashboard/invite/" + token, LinkEmail: inv.Email, LinkExpires: inv.ExpiresAt.UTC().Format(time.RFC3339)}
		}
		return err
	}, func(*scope) { h.renderTeam(w, r, u, r.PostForm, http.StatusOK, "", made) })
}

func (h *Handler) changeRole(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.teamAction(w, r, u, func(pr *gateway.Principal) error {
		return h.svc.ChangeRole(r.Context(), pr, r.PathValue("user"), gateway.Role(r.PostForm.Get("role")))
	}, func(sc *scope) { back(w, r, "/dashboard/team", sc, "done=role") })
}

func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.teamAction(w, r, u, func(pr *gateway.Principal) error {
		return h.svc.RemoveMember(r.Context(), pr, r.PathValue("user"))
	}, func(sc *scope) { back(w, r, "/dashboard/team", sc, "done=removed") })
}

// teamAction runs a team change with the owner's code.
func (h *Handler) teamAction(w http.ResponseWriter, r *http.Request, u *gateway.User, act func(*gateway.Principal) error, done func(*scope)) {
	h.run(w, r, u, action{title: "Team", perm: gateway.PermTeam, code: true, act: act, done: done,
		again: func(status int, msg string) { h.renderTeam(w, r, u, r.PostForm, status, msg, nil) }})
}

// publicURL is where the gateway is reached: the configured public URL, or the request's own
// origin.
func (h *Handler) publicURL(r *http.Request) string {
	if h.cfg.PublicURL != "" {
		return strings.TrimSuffix(h.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

type inviteView struct {
	page
	Invite *gateway.Invite
	Exists bool
	Token  string
}

// invitePage shows an invitation to whoever has its link (no session): the project, the email
// and the role, and the form that accepts it with the account's password (a new one for a new
// account).
func (h *Handler) invitePage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	inv, exists, err := h.svc.InviteOf(r.Context(), token)
	if msg, ok := userMessage(err); ok {
		h.message(w, http.StatusNotFound, "Invitation", msg)
		return
	} else if err != nil {
		h.failed(w, r, err)
		return
	}
	h.render(w, "invite", http.StatusOK, inviteView{page: page{Title: "Invitation"}, Invite: inv, Exists: exists, Token: token})
}

func (h *Handler) acceptInvite(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.message(w, http.StatusRequestEntityTooLarge, "Refused", "The form is larger than it can be.")
		return
	}
	token := r.PathValue("token")
	ctx := gateway.WithActor(r.Context(), gateway.Actor{Kind: gateway.ActorUser, Address: h.clientAddress(r)})
	inv, err := h.svc.AcceptInvite(ctx, token, r.PostForm.Get("password"))
	if msg, ok := userMessage(err); ok {
		again, exists, ierr := h.svc.InviteOf(r.Context(), token)
		if ierr != nil {
			h.message(w, statusOf(err), "Invitation", msg)
			return
		}
		h.render(w, "invite", statusOf(err), inviteView{page: page{Title: "Invitation", Error: msg}, Invite: again, Exists: exists, Token: token})
		return
	} else if err != nil {
		h.failed(w, r, err)
		return
	}
	h.cfg.Log.Info("dashboard: invitation accepted", "project", inv.ProjectID)
	h.message(w, http.StatusOK, "Welcome", "You are now "+string(inv.Role)+" of "+inv.Project+". Sign in with "+inv.Email+" to go on.")
}
