package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
)

// OutgoingView is a transaction stablegate signs and sends, with every signed version of it and
// the history of its states.
type OutgoingView struct {
	ID          string           `json:"id"`
	Purpose     string           `json:"purpose" doc:"What it is for: sweep, deploy-sweeper, sweep-topup, treasury, withdrawal"`
	PurposeID   string           `json:"purposeId,omitempty" doc:"The sweep, treasury send or withdrawal it carries out"`
	Status      string           `json:"status" enum:"queued,signed,broadcast,mined,confirmed,failed" doc:"queued → signed (stored before it is sent) → broadcast → mined → confirmed, or failed; a reorg takes a mined one back to broadcast"`
	ChainID     string           `json:"chainId"`
	From        string           `json:"from"`
	To          string           `json:"to,omitempty" doc:"Empty for a contract creation"`
	Value       CoinBalance      `json:"value"`
	Nonce       *uint64          `json:"nonce,omitempty"`
	GasLimit    uint64           `json:"gasLimit,omitempty"`
	TxHash      string           `json:"txHash,omitempty" doc:"The mined attempt"`
	BlockNumber uint64           `json:"blockNumber,omitempty"`
	GasUsed     uint64           `json:"gasUsed,omitempty"`
	Fee         *CoinBalance     `json:"fee,omitempty" doc:"Gas paid (gas used × effective gas price)"`
	Failure     string           `json:"failure,omitempty"`
	Attempts    []AttemptView    `json:"attempts" doc:"Each signed version, at the same nonce: the first, then replacements with higher fees"`
	History     []OutgoingChange `json:"history,omitempty" doc:"Each change of status (GET by id)"`
	CreatedAt   time.Time        `json:"createdAt"`
	UpdatedAt   time.Time        `json:"updatedAt"`
	Livemode    bool             `json:"livemode"`
}

// AttemptView is one signed version of an outgoing transaction.
type AttemptView struct {
	Hash                 string     `json:"hash"`
	GasLimit             uint64     `json:"gasLimit"`
	MaxFeePerGas         string     `json:"maxFeePerGas" doc:"In wei"`
	MaxPriorityFeePerGas string     `json:"maxPriorityFeePerGas" doc:"In wei"`
	SignedAt             time.Time  `json:"signedAt"`
	BroadcastAt          *time.Time `json:"broadcastAt,omitempty" doc:"When a node last accepted it"`
	Error                string     `json:"error,omitempty" doc:"What the last node that refused it said"`
}

// OutgoingChange is one change of an outgoing transaction's status.
type OutgoingChange struct {
	At     time.Time `json:"at"`
	Status string    `json:"status"`
	Note   string    `json:"note,omitempty"`
}

// OutgoingList is the project's outgoing transactions, newest first.
type OutgoingList struct {
	Transactions []OutgoingView `json:"transactions"`
	Livemode     bool           `json:"livemode"`
}

type listOutgoingInput struct {
	ChainID string `query:"chainId" maxLength:"32"`
	Status  string `query:"status" doc:"queued, signed, broadcast, mined, confirmed or failed"`
	Purpose string `query:"purpose" maxLength:"32"`
	Limit   int    `query:"limit" default:"20" doc:"At most this many (capped at 100)"`
}

type getOutgoingInput struct {
	ID string `path:"id" maxLength:"64" example:"otx_abcdefghijklmnopqrstuvwx"`
}

type outgoingListOutput struct {
	Body Envelope[OutgoingList]
}

type outgoingOutput struct {
	Body Envelope[OutgoingView]
}

func (s *Server) registerOutgoing() {
	tags := []string{"Sweeps"}
	huma.Register(s.API, huma.Operation{OperationID: "listOutgoingTransactions", Method: http.MethodGet, Path: "/api/v1/outgoing-transactions",
		Tags: tags, Summary: "List outgoing transactions", Description: "Every transaction stablegate signed or will sign for the project: " +
			"sweeps, the sweeper's deployment, treasury sends and withdrawals."}, s.listOutgoing)
	huma.Register(s.API, huma.Operation{OperationID: "getOutgoingTransaction", Method: http.MethodGet, Path: "/api/v1/outgoing-transactions/{id}",
		Tags: tags, Summary: "Get an outgoing transaction", Description: "With its attempts and the history of its states."}, s.getOutgoing)
}

func (s *Server) listOutgoing(ctx context.Context, in *listOutgoingInput) (*outgoingListOutput, error) {
	pr := principalFrom(ctx)
	txs, err := s.svc.ListOutgoing(ctx, pr, gateway.OutgoingFilter{ChainID: in.ChainID, Status: gateway.OutgoingStatus(in.Status),
		Purpose: in.Purpose, Limit: in.Limit})
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out := OutgoingList{Transactions: []OutgoingView{}, Livemode: pr.Mode.Live()}
	for _, t := range txs {
		out.Transactions = append(out.Transactions, s.outgoing(t))
	}
	return &outgoingListOutput{Body: ok(out, "")}, nil
}

func (s *Server) getOutgoing(ctx context.Context, in *getOutgoingInput) (*outgoingOutput, error) {
	t, err := s.svc.Outgoing(ctx, principalFrom(ctx), in.ID)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &outgoingOutput{Body: ok(s.outgoing(t), "")}, nil
}

func (s *Server) outgoing(t *gateway.OutgoingTx) OutgoingView {
	v := OutgoingView{ID: t.ID, Purpose: t.Purpose, PurposeID: t.PurposeID, Status: string(t.Status), ChainID: t.ChainID, From: t.From, To: t.To,
		Value: *s.coin(t.ChainID, t.Value), GasLimit: t.GasLimit, TxHash: t.TxHash, BlockNumber: t.BlockNumber, GasUsed: t.GasUsed,
		Fee: s.coin(t.ChainID, t.Fee()), Failure: t.Failure, Attempts: []AttemptView{}, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		Livemode: t.Mode.Live()}
	if t.Status != gateway.OutQueued && len(t.Attempts) > 0 {
		n := t.Nonce
		v.Nonce = &n
	}
	if t.PurposeID == t.ID {
		v.PurposeID = ""
	}
	for _, a := range t.Attempts {
		av := AttemptView{Hash: a.Hash, GasLimit: a.GasLimit, MaxFeePerGas: a.Fees.MaxFee.String(), MaxPriorityFeePerGas: a.Fees.TipCap.String(),
			SignedAt: a.SignedAt, Error: a.Error}
		if !a.BroadcastAt.IsZero() {
			at := a.BroadcastAt
			av.BroadcastAt = &at
		}
		v.Attempts = append(v.Attempts, av)
	}
	for _, c := range t.History {
		v.History = append(v.History, OutgoingChange{At: c.At, Status: string(c.Status), Note: c.Note})
	}
	return v
}
