package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

type importPoolInput struct {
	Body struct {
		Protocol  string   `json:"protocol" enum:"evm,tron" doc:"Address family"`
		Addresses []string `json:"addresses" maxItems:"10000" doc:"Addresses you hold the keys of; duplicates and addresses already known are skipped" example:"[\"0x52908400098527886E0F7030069857D2E4169EE7\"]"`
	}
}

// PoolImport reports an address-pool import.
type PoolImport struct {
	Protocol  string `json:"protocol"`
	Imported  int    `json:"imported"`
	Skipped   int    `json:"skipped"`
	Available int    `json:"available" doc:"Unused addresses in the pool now"`
	Total     int    `json:"total"`
	Livemode  bool   `json:"livemode"`
}

type importPoolOutput struct {
	Body Envelope[PoolImport]
}

// PoolView is an address pool's state for one protocol.
type PoolView struct {
	Protocol  string `json:"protocol" enum:"evm,tron"`
	Available int    `json:"available" doc:"Unused addresses: the next orders of this protocol take them"`
	Assigned  int    `json:"assigned" doc:"Addresses given to orders or deposit bindings"`
	Total     int    `json:"total" doc:"0: no pool, orders take addresses derived from the project's key"`
}

// PoolList is the project's address pools in the key's mode.
type PoolList struct {
	Pools    []PoolView `json:"pools"`
	Livemode bool       `json:"livemode"`
}

type poolsOutput struct {
	Body Envelope[PoolList]
}

func (s *Server) pools(ctx context.Context, _ *struct{}) (*poolsOutput, error) {
	pr := principalFrom(ctx)
	ps, err := s.svc.Pools(ctx, pr)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	out := PoolList{Pools: []PoolView{}, Livemode: pr.Mode.Live()}
	for _, p := range ps {
		out.Pools = append(out.Pools, PoolView{Protocol: string(p.Protocol), Available: p.Available, Assigned: p.Total - p.Available, Total: p.Total})
	}
	return &poolsOutput{Body: ok(out, "")}, nil
}

func (s *Server) registerPool() {
	huma.Register(s.API, huma.Operation{OperationID: "getAddressPool", Method: http.MethodGet, Path: "/api/v1/address-pool",
		Summary: "Address pools", Tags: []string{"Address pool"},
		Description: "Per protocol: how many imported addresses are unused, assigned and in all, in the key's mode."}, s.pools)
	huma.Register(s.API, huma.Operation{OperationID: "importAddressPool", Method: http.MethodPost, Path: "/api/v1/address-pool/import",
		Summary: "Import addresses into the pool", Tags: []string{"Address pool"}, DefaultStatus: http.StatusOK,
		Description: "Once a pool exists for a protocol in a mode, orders on that protocol take unused pool addresses, " +
			"and an empty pool answers InsufficientAddresses. It decides where payments go, so it requires the API secret " +
			"(x-api-secret, or X-Signature over the body); the zero address is refused."}, s.importPool)
}

func (s *Server) importPool(ctx context.Context, in *importPoolInput) (*importPoolOutput, error) {
	pr := principalFrom(ctx)
	res, err := s.svc.ImportAddresses(ctx, pr, in.Body.Protocol, in.Body.Addresses)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &importPoolOutput{Body: ok(PoolImport{Protocol: in.Body.Protocol, Imported: res.Added, Skipped: res.Skipped,
		Available: res.Available, Total: res.Total, Livemode: pr.Mode.Live()}, "Addresses imported")}, nil
}
