package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
)

// ChainView is a chain this gateway takes payments on, for the key's mode.
type ChainView struct {
	ChainID       string      `json:"chainId" doc:"The slug orders, links and deposits name"`
	Name          string      `json:"name"`
	NetworkID     uint64      `json:"networkId" doc:"The chain's numeric id (EIP-155; TRON's JSON-RPC id)"`
	Protocol      string      `json:"protocol" enum:"evm,tron" doc:"Address family: deposit bindings take a protocol"`
	Testnet       bool        `json:"testnet"`
	Confirmations int         `json:"confirmations" doc:"Confirmations a payment to this project needs before it counts: the chain's rule, or more where the project asks for more (PATCH /api/v1/project, confirmations)"`
	Finality      string      `json:"finality,omitempty" doc:"A block tag (finalized, safe) a payment's block must also reach"`
	BlockTime     float64     `json:"blockTimeSeconds" doc:"The chain's typical block interval"`
	ExplorerTxURL string      `json:"explorerTxUrl,omitempty" doc:"A transaction's page on the chain's explorer, with {txHash} to replace"`
	Tokens        []TokenView `json:"tokens"`
}

// TokenView is a token the gateway credits on a chain: by its contract, never by its symbol.
type TokenView struct {
	Currency string `json:"currency"`
	Address  string `json:"address" doc:"The token contract"`
	Decimals int    `json:"decimals"`
	Bridged  bool   `json:"bridged,omitempty" doc:"Not minted by its issuer on this chain"`
}

// ChainList is the chains of the key's mode that this gateway watches.
type ChainList struct {
	Chains   []ChainView `json:"chains"`
	Livemode bool        `json:"livemode"`
}

type chainsOutput struct {
	Body Envelope[ChainList]
}

func (s *Server) registerChains() {
	huma.Register(s.API, huma.Operation{OperationID: "listChains", Method: http.MethodGet, Path: "/api/v1/chains",
		Summary: "Chains and tokens", Tags: []string{"Chains"}, Description: "Every chain of the key's mode that this gateway " +
			"watches (orders, payment links and deposits may name only these), with its confirmation rule and its tokens. " +
			"It changes only when the operator changes the configuration: cache it."}, s.chains)
}

func (s *Server) chains(ctx context.Context, _ *struct{}) (*chainsOutput, error) {
	pr := principalFrom(ctx)
	out := ChainList{Chains: []ChainView{}, Livemode: pr.Mode.Live()}
	for _, c := range s.svc.EnabledChains(pr.Mode) {
		rule := gateway.RuleOf(c)
		v := ChainView{ChainID: c.Slug, Name: c.Name, NetworkID: c.ChainID, Protocol: string(c.Protocol), Testnet: c.Testnet,
			Confirmations: gateway.RequiredConfirmations(pr.Project, c), Finality: rule.Finality, BlockTime: c.BlockTime.Seconds(), Tokens: []TokenView{}}
		if c.ExplorerTx != "" {
			v.ExplorerTxURL = strings.Replace(c.ExplorerTx, "%s", "{txHash}", 1)
		}
		for _, t := range c.Tokens {
			v.Tokens = append(v.Tokens, TokenView{Currency: t.Symbol, Address: t.Address, Decimals: t.Decimals, Bridged: t.Bridged})
		}
		out.Chains = append(out.Chains, v)
	}
	return &chainsOutput{Body: ok(out, "")}, nil
}
