package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/money"
)

// WalletView is a hot wallet on one chain.
type WalletView struct {
	ChainID      string              `json:"chainId"`
	Address      string              `json:"address" doc:"The hot wallet: sweeps gather funds here, payouts leave from here"`
	Path         string              `json:"derivationPath" doc:"Its path under the project's seed (m/44'/coin'/1'/mode/chain id)"`
	Native       *CoinBalance        `json:"native,omitempty" doc:"The chain's own coin, which pays the wallet's gas; absent when the node could not be read"`
	Tokens       []WalletTokenAmount `json:"tokens" doc:"Each registry token of the chain it holds on chain now"`
	BalanceError string              `json:"balanceError,omitempty" doc:"Why the balances could not be read now"`
	Treasury     string              `json:"treasury,omitempty" doc:"The treasury address set for the chain (PUT /api/v1/treasury)"`
}

// CoinBalance is an amount of the chain's coin.
type CoinBalance struct {
	Symbol string `json:"symbol"`
	Amount string `json:"amount" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
}

// WalletTokenAmount is what the wallet holds of one token.
type WalletTokenAmount struct {
	Currency     string `json:"currency"`
	TokenAddress string `json:"tokenAddress"`
	Amount       string `json:"amount" pattern:"^[0-9]+(\\.[0-9]+)?$" patternDescription:"a decimal string such as 10.50"`
}

// WalletList is the project's hot wallets in the key's mode.
type WalletList struct {
	Wallets  []WalletView `json:"wallets"`
	Livemode bool         `json:"livemode"`
}

// TreasuryView is a treasury address on one chain.
type TreasuryView struct {
	ChainID   string    `json:"chainId"`
	Address   string    `json:"address"`
	Ceiling   string    `json:"ceiling" doc:"What the hot wallet keeps of each token (token units): what sweeps bring above it goes on to this address"`
	UpdatedAt time.Time `json:"updatedAt"`
	Livemode  bool      `json:"livemode"`
}

// TreasuryList is the project's treasury addresses in the key's mode.
type TreasuryList struct {
	Treasuries []TreasuryView `json:"treasuries"`
	Livemode   bool           `json:"livemode"`
}

type walletsOutput struct {
	Body Envelope[WalletList]
}

type treasuriesOutput struct {
	Body Envelope[TreasuryList]
}

type treasuryOutput struct {
	Body Envelope[TreasuryView]
}

type putTreasuryInput struct {
	Body struct {
		ChainID string `json:"chainId" maxLength:"32" doc:"A chain of the key's mode" example:"ethereum-sepolia"`
		Address string `json:"address" maxLength:"64" doc:"Your address on that chain: 0x… (EIP-55 checksum when mixed-case) or T… on TRON" example:"0x52908400098527886E0F7030069857D2E4169EE7"`
		Ceiling string `json:"ceiling,omitempty" maxLength:"40" doc:"What the hot wallet keeps of each token, in token units (default 1000; 0 sends everything on)"`
	}
}

type deleteTreasuryInput struct {
	ChainID string `path:"chainId" maxLength:"32" example:"ethereum-sepolia"`
}

func (s *Server) registerWallets() {
	tags := []string{"Wallets"}
	huma.Register(s.API, huma.Operation{OperationID: "listWallets", Method: http.MethodGet, Path: "/api/v1/wallets",
		Summary: "Hot wallets", Tags: tags, Description: "The project's hot wallet on each chain of the key's mode that this gateway " +
			"watches, with its token and coin balances read from the chain now. A watch-only project has none (409 WatchOnlyProject)."}, s.wallets)
	huma.Register(s.API, huma.Operation{OperationID: "listTreasuries", Method: http.MethodGet, Path: "/api/v1/treasury",
		Summary: "Treasury addresses", Tags: tags}, s.treasuries)
	huma.Register(s.API, huma.Operation{OperationID: "putTreasury", Method: http.MethodPut, Path: "/api/v1/treasury",
		Summary: "Set a treasury address", Tags: tags, Description: "Sets your own address on a chain, where sweeps above the hot " +
			"wallet's ceiling go. An address of the other protocol is 400 NetworkMismatch."}, s.putTreasury)
	huma.Register(s.API, huma.Operation{OperationID: "deleteTreasury", Method: http.MethodDelete, Path: "/api/v1/treasury/{chainId}",
		Summary: "Remove a treasury address", Tags: tags}, s.deleteTreasury)
}

func (s *Server) wallets(ctx context.Context, _ *struct{}) (*walletsOutput, error) {
	pr := principalFrom(ctx)
	ws, err := s.svc.Wallets(ctx, pr)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out := WalletList{Wallets: []WalletView{}, Livemode: pr.Mode.Live()}
	for _, w := range ws {
		v := WalletView{ChainID: w.Chain.Slug, Address: w.Address, Path: w.Path, Tokens: []WalletTokenAmount{}, BalanceError: w.BalanceError,
			Treasury: w.Treasury}
		if w.Native != nil {
			v.Native = &CoinBalance{Symbol: w.Chain.Native, Amount: money.Format(w.Native, w.Chain.NativeDecimals())}
		}
		for _, t := range w.Tokens {
			v.Tokens = append(v.Tokens, WalletTokenAmount{Currency: t.Token.Symbol, TokenAddress: t.Token.Address,
				Amount: money.Format(t.Amount, t.Token.Decimals)})
		}
		out.Wallets = append(out.Wallets, v)
	}
	return &walletsOutput{Body: ok(out, "")}, nil
}

func (s *Server) treasuries(ctx context.Context, _ *struct{}) (*treasuriesOutput, error) {
	pr := principalFrom(ctx)
	ts, err := s.svc.Treasuries(ctx, pr)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out := TreasuryList{Treasuries: []TreasuryView{}, Livemode: pr.Mode.Live()}
	for _, t := range ts {
		out.Treasuries = append(out.Treasuries, TreasuryView{ChainID: t.ChainID, Address: t.Address, Ceiling: t.Ceiling, UpdatedAt: t.UpdatedAt,
			Livemode: pr.Mode.Live()})
	}
	return &treasuriesOutput{Body: ok(out, "")}, nil
}

func (s *Server) putTreasury(ctx context.Context, in *putTreasuryInput) (*treasuryOutput, error) {
	pr := principalFrom(ctx)
	t, err := s.svc.SetTreasury(ctx, pr, in.Body.ChainID, in.Body.Address, in.Body.Ceiling)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &treasuryOutput{Body: ok(TreasuryView{ChainID: t.ChainID, Address: t.Address, Ceiling: t.Ceiling, UpdatedAt: t.UpdatedAt, Livemode: pr.Mode.Live()},
		"Treasury address set")}, nil
}

func (s *Server) deleteTreasury(ctx context.Context, in *deleteTreasuryInput) (*treasuriesOutput, error) {
	pr := principalFrom(ctx)
	if err := s.svc.DeleteTreasury(ctx, pr, in.ChainID); err != nil {
		return nil, s.apiError(ctx, err)
	}
	return s.treasuries(ctx, nil)
}
