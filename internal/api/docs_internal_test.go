package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
)

// Every operation's examples send what the document allows: a body the request schema accepts,
// and no placeholder where the document has no example (a path parameter or a required field).
func TestReferenceExamplesFollowTheDocument(t *testing.T) {
	s := New(&gateway.Service{}, Config{PublicURL: "https://pay.example.com"})
	oa := s.API.OpenAPI()
	ops := 0
	for _, g := range s.reference.Groups {
		for _, op := range g.Operations {
			ops++
			if len(op.Examples) != 4 {
				t.Fatalf("%s has %d examples", op.ID, len(op.Examples))
			}
			curl := op.Examples[0].Code
			if strings.Contains(curl, `"string"`) || strings.Contains(curl, "/string") || strings.Contains(curl, ": 0") {
				t.Errorf("%s's example has a placeholder where the document has no example:\n%s", op.ID, curl)
			}
			if !strings.Contains(curl, "https://pay.example.com"+strings.Split(op.Path, "{")[0]) {
				t.Errorf("%s's example is not sent to the public URL: %s", op.ID, curl)
			}
			item := oa.Paths[op.Path]
			hop := map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "PUT": item.Put, "PATCH": item.Patch, "DELETE": item.Delete}[op.Method]
			if hop.RequestBody == nil {
				continue
			}
			schema := hop.RequestBody.Content["application/json"].Schema
			raw, _ := json.Marshal(exampleBody(oa.Components.Schemas, schema, 0))
			var value any
			_ = json.Unmarshal(raw, &value)
			res := &huma.ValidateResult{}
			huma.Validate(oa.Components.Schemas, resolve(oa.Components.Schemas, schema), huma.NewPathBuffer([]byte{}, 0), huma.ModeWriteToServer, value, res)
			if len(res.Errors) > 0 {
				t.Errorf("%s's example body %s is not valid: %v", op.ID, raw, res.Errors)
			}
		}
	}
	if ops != len(s.reference.text) || ops < 48 {
		t.Errorf("the reference shows %d operations", ops)
	}
}
