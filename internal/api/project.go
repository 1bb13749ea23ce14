package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
)

// ProjectView is the project a key belongs to, with its settings.
type ProjectView struct {
	ProjectID             string                          `json:"projectId"`
	Name                  string                          `json:"name"`
	Website               string                          `json:"website"`
	LiveReady             bool                            `json:"liveReady" doc:"Whether the website allows live payments: https on a real domain (not localhost nor an IP address)"`
	LiveMode              bool                            `json:"liveMode" doc:"Whether the project is in live mode, whose keys it takes; a project starts in test mode until its operator switches it (stablegate projects go-live)"`
	UnderpaymentTolerance string                          `json:"underpaymentTolerance" doc:"Percent of an order's amount a fully confirmed payment may fall short by and still complete it (new orders take it)"`
	PaymentWindowMinutes  int                             `json:"paymentWindowMinutes" doc:"The payment window of new orders that name none"`
	GraceMinutes          int                             `json:"graceMinutes" doc:"The grace period of new orders that name none"`
	Confirmations         map[string]int                  `json:"confirmations" doc:"Per chain, the confirmations payments seen from now on need, where the project asks for more than the chain's rule"`
	AllowedOrigins        []string                        `json:"allowedOrigins" doc:"The browser origins whose pages may call the API with the project's keys (CORS); empty, none may. Calls without an Origin header are not concerned"`
	SharedAddress         map[string]SharedAddressSetting `json:"sharedAddress" doc:"The chains, by slug, whose orders are paid to the project's shared address with a unique payAmount instead of to an address of their own"`
	WatchOnly             bool                            `json:"watchOnly"`
	CreatedAt             time.Time                       `json:"createdAt"`
	Livemode              bool                            `json:"livemode" doc:"The mode of the key used"`
}

// SharedAddressSetting is how a chain's orders are paid to the project's shared address: the
// amount plus an offset of step to maxOffset, held by one open order at a time.
type SharedAddressSetting struct {
	Enabled   bool   `json:"enabled" doc:"In a change, false drops the chain's setting: its new orders get addresses of their own again (orders made on the shared address are still matched)"`
	Step      string `json:"step,omitempty" maxLength:"40" example:"0.0001" doc:"The unit of offsets (default 0.0001); at most the token's decimals"`
	MaxOffset string `json:"maxOffset,omitempty" maxLength:"40" example:"0.0999" doc:"The largest offset a payer pays above the price (default 0.0999, at most 1); maxOffset / step orders of one price may be open at once"`
}

type projectOutput struct {
	Body Envelope[ProjectView]
}

type patchProjectInput struct {
	Body struct {
		Name                  *string                         `json:"name,omitempty" maxLength:"400" doc:"1 to 100 characters, shown to payers on the payment and checkout pages"`
		Website               *string                         `json:"website,omitempty" maxLength:"2048" doc:"An absolute http(s) URL; live payments need https on a real domain. Success and cancel URLs of new orders must be on its domain; another project's domain is a 409"`
		UnderpaymentTolerance *string                         `json:"underpaymentTolerance,omitempty" maxLength:"16" doc:"A percentage from 0 to 10, at most 4 decimals, e.g. \"0.5\""`
		PaymentWindowMinutes  *int                            `json:"paymentWindowMinutes,omitempty" minimum:"1" maximum:"10080" doc:"Payment window of new orders that name none (default 10)"`
		GraceMinutes          *int                            `json:"graceMinutes,omitempty" minimum:"0" maximum:"1440" doc:"Grace period of new orders that name none (default 5)"`
		AllowedOrigins        *[]string                       `json:"allowedOrigins,omitempty" maxItems:"20" doc:"Replaces the CORS allowlist: origins such as https://shop.example.com (http on localhost only; no \"*\"); [] clears it"`
		Confirmations         map[string]int                  `json:"confirmations,omitempty" doc:"Merged into the project's: chain slug to the confirmations its payments need, at least the chain's rule and at most 1000; 0 drops a chain's entry. Payments seen from then on need them"`
		SharedAddress         map[string]SharedAddressSetting `json:"sharedAddress,omitempty" doc:"Merged into the project's: chain slug to its shared-address setting (docs/shared-address.md); enabled false drops a chain's. New orders of the chain take it"`
	}
}

func (s *Server) registerProject() {
	huma.Register(s.API, huma.Operation{OperationID: "getProject", Method: http.MethodGet, Path: "/api/v1/project",
		Summary: "Get the project", Tags: []string{"Project"}}, s.getProject)
	huma.Register(s.API, huma.Operation{OperationID: "updateProject", Method: http.MethodPatch, Path: "/api/v1/project",
		Summary: "Change project settings", Tags: []string{"Project"}, Description: "Changes the fields sent, each checked as at " +
			"creation, all or none; a field left out stays as it is. Orders created from now on take the new settings; existing " +
			"orders keep the window, grace and tolerance they were created with. Requires the API secret."}, s.patchProject)
}

func (s *Server) projectView(p *gateway.Project, mode gateway.Mode) ProjectView {
	confirmations := p.Confirmations
	if confirmations == nil {
		confirmations = map[string]int{}
	}
	origins := p.AllowedOrigins
	if origins == nil {
		origins = []string{}
	}
	shared := map[string]SharedAddressSetting{}
	for slug, sa := range p.SharedAmounts {
		shared[slug] = SharedAddressSetting{Enabled: true, Step: sa.Step, MaxOffset: sa.MaxOffset}
	}
	return ProjectView{SharedAddress: shared, AllowedOrigins: origins, ProjectID: p.ID, Name: p.Name, Website: p.Website, LiveReady: p.LiveReady(), LiveMode: p.LiveAt != nil,
		UnderpaymentTolerance: gateway.FormatTolerance(p.UnderpaymentPPM), PaymentWindowMinutes: p.PaymentWindowMinutes,
		GraceMinutes: p.GraceMinutes, Confirmations: confirmations, WatchOnly: p.WatchOnly(), CreatedAt: p.CreatedAt, Livemode: mode.Live()}
}

func (s *Server) getProject(ctx context.Context, _ *struct{}) (*projectOutput, error) {
	pr := principalFrom(ctx)
	return &projectOutput{Body: ok(s.projectView(pr.Project, pr.Mode), "")}, nil
}

func (s *Server) patchProject(ctx context.Context, in *patchProjectInput) (*projectOutput, error) {
	pr := principalFrom(ctx)
	b := in.Body
	p, err := s.svc.ChangeProject(ctx, pr, gateway.ProjectUpdate{Name: b.Name, Website: b.Website,
		UnderpaymentTolerance: b.UnderpaymentTolerance, PaymentWindowMinutes: b.PaymentWindowMinutes, GraceMinutes: b.GraceMinutes,
		Confirmations: b.Confirmations, AllowedOrigins: b.AllowedOrigins, SharedAmounts: sharedUpdate(b.SharedAddress)})
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &projectOutput{Body: ok(s.projectView(p, pr.Mode), "Project updated")}, nil
}

// sharedUpdate is a change of the shared-address settings as the domain takes it: nil drops a chain's.
func sharedUpdate(in map[string]SharedAddressSetting) map[string]*gateway.SharedAmounts {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]*gateway.SharedAmounts, len(in))
	for slug, v := range in {
		if v.Enabled {
			out[slug] = &gateway.SharedAmounts{Step: v.Step, MaxOffset: v.MaxOffset}
		} else {
			out[slug] = nil
		}
	}
	return out
}
