package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

type withdrawalRow struct {
	ID, Reference, Status, Amount, Currency, ChainID, Address, DepositReference, TxHash, Created, Note string
	Approvals                                                                                          int
	Pending, Rejectable                                                                                bool
}

type withdrawalsView struct {
	*scope
	Pending, History []withdrawalRow
}

func withdrawalRowOf(svc *gateway.Service, wd *gateway.Withdrawal) withdrawalRow {
	c, _ := svc.ChainRegistry().Lookup(wd.ChainID)
	tok, _ := c.Token(wd.Currency)
	row := withdrawalRow{ID: wd.ID, Reference: wd.Reference, Status: string(wd.Status), Amount: money.Format(wd.Amount, tok.Decimals),
		Currency: wd.Currency, ChainID: wd.ChainID, Address: wd.Address, DepositReference: wd.DepositReference, TxHash: wd.TxHash,
		Created: wd.CreatedAt.UTC().Format(time.RFC3339), Approvals: len(wd.Approvals), Pending: wd.Status == gateway.WithdrawalPendingApproval,
		Rejectable: wd.Status == gateway.WithdrawalPendingApproval || wd.Status == gateway.WithdrawalAwaitingFunds ||
			wd.Status == gateway.WithdrawalApproved && wd.OutgoingID == ""}
	row.Note = strings.TrimSpace(wd.Waiting + " " + wd.Failure + " " + wd.Reason)
	return row
}

// withdrawals lists the withdrawals waiting for approval, with approve and reject (each asks for a
// two-factor code), and the latest others.
func (h *Handler) withdrawals(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.renderWithdrawals(w, r, u, r.URL.Query(), http.StatusOK, "")
}

func (h *Handler) renderWithdrawals(w http.ResponseWriter, r *http.Request, u *gateway.User, values map[string][]string, status int, errText string) {
	sc := h.scopeOf(w, r, u, values, "Withdrawals")
	if sc == nil {
		return
	}
	sc.Nav, sc.Error, sc.Notice = "withdrawals", errText, noticeOf(r)
	// What waits for approval (up to 100, however old), then the latest 50 of the others.
	pending, _, err := h.svc.ListWithdrawals(r.Context(), sc.pr, gateway.WithdrawalFilter{Status: gateway.WithdrawalPendingApproval, Page: 1, Limit: 100})
	if err != nil {
		h.failed(w, r, err)
		return
	}
	list, _, err := h.svc.ListWithdrawals(r.Context(), sc.pr, gateway.WithdrawalFilter{Page: 1, Limit: 50})
	if err != nil {
		h.failed(w, r, err)
		return
	}
	v := withdrawalsView{scope: sc}
	for _, wd := range pending {
		v.Pending = append(v.Pending, withdrawalRowOf(h.svc, wd))
	}
	for _, wd := range list {
		if wd.Status != gateway.WithdrawalPendingApproval {
			v.History = append(v.History, withdrawalRowOf(h.svc, wd))
		}
	}
	h.render(w, "withdrawals", status, v)
}

// noticeOf is what the page says the last action did (?done=approved|rejected|payout), in words
// of the page's own: nothing of the query reaches the page as it is.
func noticeOf(r *http.Request) string {
	id := r.URL.Query().Get("id")
	if !validID(id) {
		id = ""
	}
	switch r.URL.Query().Get("done") {
	case "approved":
		return "Withdrawal " + id + " approved: it is sent from the hot wallet as soon as the wallet has the funds."
	case "approval":
		return "Your approval of withdrawal " + id + " is recorded: the project's policy asks for a second one."
	case "rejected":
		return "Withdrawal " + id + " rejected: its amount is available again."
	case "payout":
		return "Payout " + id + " created and approved: it is sent from the hot wallet as soon as the wallet has the funds."
	case "payout-pending":
		return "Payout " + id + " created: the project's policy asks for a second approval before it is sent."
	}
	return ""
}

// validID reports whether s looks like one of stablegate's ids (a prefix, an underscore, base32).
func validID(s string) bool {
	if len(s) < 5 || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// approveWithdrawal approves a pending withdrawal with the user's two-factor code.
func (h *Handler) approveWithdrawal(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.withdrawalAction(w, r, u, func(pr *gateway.Principal, id string) (string, error) {
		wd, err := h.svc.ApproveWithdrawal(r.Context(), pr, id)
		if err != nil {
			return "", err
		}
		if wd.Status == gateway.WithdrawalPendingApproval {
			return "approval", nil
		}
		return "approved", nil
	})
}

// rejectWithdrawal rejects a withdrawal nothing was sent for, with the user's two-factor code.
func (h *Handler) rejectWithdrawal(w http.ResponseWriter, r *http.Request, _ *gateway.Session, u *gateway.User) {
	h.withdrawalAction(w, r, u, func(pr *gateway.Principal, id string) (string, error) {
		if _, err := h.svc.RejectWithdrawal(r.Context(), pr, id, strings.TrimSpace(r.PostForm.Get("reason"))); err != nil {
			return "", err
		}
		return "rejected", nil
	})
}

func (h *Handler) withdrawalAction(w http.ResponseWriter, r *http.Request, u *gateway.User, act func(*gateway.Principal, string) (string, error)) {
	id := r.PathValue("id")
	var done string
	h.run(w, r, u, action{title: "Withdrawals", perm: gateway.PermMoney, code: true,
		act:   func(pr *gateway.Principal) (err error) { done, err = act(pr, id); return err },
		again: func(status int, msg string) { h.renderWithdrawals(w, r, u, r.PostForm, status, msg) },
		done:  func(sc *scope) { back(w, r, "/dashboard/withdrawals", sc, "done="+done+"&id="+url.QueryEscape(id)) }})
}
