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
	ProjectID             string    `json:"projectId"`
	Name                  string    `json:"name"`
	Website               string    `json:"website"`
	UnderpaymentTolerance string    `json:"underpaymentTolerance" doc:"Percent of an order's amount a fully confirmed payment may fall short by and still complete it (new orders take it)"`
	WatchOnly             bool      `json:"watchOnly"`
	CreatedAt             time.Time `json:"createdAt"`
	Livemode              bool      `json:"livemode" doc:"The mode of the key used"`
}

type projectOutput struct {
	Body Envelope[ProjectView]
}

type patchProjectInput struct {
	Body struct {
		UnderpaymentTolerance string `json:"underpaymentTolerance" maxLength:"16" doc:"A percentage from 0 to 10, at most 4 decimals, e.g. \"0.5\""`
	}
}

func (s *Server) registerProject() {
	huma.Register(s.API, huma.Operation{OperationID: "getProject", Method: http.MethodGet, Path: "/api/v1/project",
		Summary: "Get the project", Tags: []string{"Project"}}, s.getProject)
	huma.Register(s.API, huma.Operation{OperationID: "updateProject", Method: http.MethodPatch, Path: "/api/v1/project",
		Summary: "Change project settings", Tags: []string{"Project"}, Description: "Sets the underpayment tolerance for orders " +
			"created from now on; orders keep the tolerance they were created with. Requires the API secret."}, s.patchProject)
}

func (s *Server) projectView(p *gateway.Project, mode gateway.Mode) ProjectView {
	return ProjectView{ProjectID: p.ID, Name: p.Name, Website: p.Website, UnderpaymentTolerance: gateway.FormatTolerance(p.UnderpaymentPPM),
		WatchOnly: p.WatchOnly(), CreatedAt: p.CreatedAt, Livemode: mode.Live()}
}

func (s *Server) getProject(ctx context.Context, _ *struct{}) (*projectOutput, error) {
	pr := principalFrom(ctx)
	return &projectOutput{Body: ok(s.projectView(pr.Project, pr.Mode), "")}, nil
}

func (s *Server) patchProject(ctx context.Context, in *patchProjectInput) (*projectOutput, error) {
	pr := principalFrom(ctx)
	p, err := s.svc.SetUnderpaymentTolerance(ctx, pr, in.Body.UnderpaymentTolerance)
	if err != nil {
		return nil, s.apiError(ctx, err)
	}
	return &projectOutput{Body: ok(s.projectView(p, pr.Mode), "Project updated")}, nil
}
