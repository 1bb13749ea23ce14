package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
	"github.com/stablegate/stablegate/internal/money"
)

// TxCheckView is what a transaction check found and did.
type TxCheckView struct {
	ChainID     string                `json:"chainId"`
	TxHash      string                `json:"txHash"`
	BlockNumber uint64                `json:"blockNumber,omitempty"`
	Outcome     string                `json:"outcome" enum:"recorded,already recorded,nothing to record"`
	Message     string                `json:"message"`
	Transfers   []CheckedTransferView `json:"transfers"`
}

// CheckedTransferView is one Transfer of the transaction to one of the project's addresses.
type CheckedTransferView struct {
	LogIndex  uint64 `json:"logIndex"`
	To        string `json:"to"`
	Currency  string `json:"currency,omitempty" doc:"Empty for a token outside the registry (recorded as ignored, never credited)"`
	Amount    string `json:"amount" doc:"In token units (base units for a token outside the registry)" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
	OrderID   string `json:"orderId,omitempty"`
	DepositID string `json:"depositId,omitempty"`
	Recorded  bool   `json:"recorded" doc:"Recorded and credited by this check"`
	Note      string `json:"note,omitempty"`
}

type txCheckInput struct {
	Body struct {
		ChainID string `json:"chainId" maxLength:"32" example:"ethereum-sepolia"`
		TxHash  string `json:"txHash" maxLength:"80" example:"0x6b1e0f0c0ee4b3a43c8dbc3b3e2ff6fd8f6a4e1f4d1c1b6ad6f1c1f0a4d5e2b7"`
	}
}

type txCheckOutput struct {
	Body Envelope[TxCheckView]
}

func (s *Server) registerTxCheck() {
	huma.Register(s.API, huma.Operation{OperationID: "checkTransaction", Method: http.MethodPost, Path: "/api/v1/transactions/check",
		Summary: "Check a transaction", Tags: []string{"Transactions"}, DefaultStatus: http.StatusOK, Description: "Reads the " +
			"transaction's receipt from the chain; a payment in it to one of the project's addresses, in a block already scanned, " +
			"that is not recorded (a provider lost its log) is recorded and credited now, once, as the scanner would have."}, s.checkTransaction)
}

func (s *Server) checkTransaction(ctx context.Context, in *txCheckInput) (*txCheckOutput, error) {
	pr := principalFrom(ctx)
	res, err := s.svc.CheckTransaction(ctx, pr, in.Body.ChainID, in.Body.TxHash)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &txCheckOutput{Body: ok(txCheckView(s.svc, res), res.Message)}, nil
}

func txCheckView(svc *gateway.Service, res *gateway.TxCheck) TxCheckView {
	v := TxCheckView{ChainID: res.ChainID, TxHash: res.TxHash, BlockNumber: res.BlockNumber, Outcome: res.Outcome, Message: res.Message,
		Transfers: []CheckedTransferView{}}
	for _, t := range res.Transfers {
		amount := t.Transfer.Amount.String()
		if tok, ok := svc.ChainRegistry().Token(t.Transfer.ChainID, t.Transfer.Currency); ok && t.Transfer.Currency != "" {
			amount = money.Format(t.Transfer.Amount, tok.Decimals)
		}
		v.Transfers = append(v.Transfers, CheckedTransferView{LogIndex: t.Transfer.LogIndex, To: t.Transfer.To, Currency: t.Transfer.Currency,
			Amount: amount, OrderID: t.Transfer.OrderID, DepositID: t.Transfer.DepositID, Recorded: t.Recorded, Note: t.Note})
	}
	return v
}
