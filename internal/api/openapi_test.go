package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/api"
)

// The OpenAPI document, as a validator of answers: every answer an API test receives is checked
// against it (issue 11, item 14) — the status must be one the operation documents, the body must
// match the schema of that status.
var (
	documentOnce   sync.Once
	documentRouter routers.Router
	documentErr    error
)

func router(srv *api.Server) (routers.Router, error) {
	documentOnce.Do(func() {
		raw, err := srv.API.OpenAPI().Downgrade() // kin-openapi reads OpenAPI 3.0
		if err != nil {
			documentErr = err
			return
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(raw)
		if err != nil {
			documentErr = err
			return
		}
		if err := doc.Validate(context.Background(), openapi3.AllowExtraSiblingFields("patternDescription")); err != nil {
			documentErr = err
			return
		}
		doc.Servers = nil // match any host: the tests' servers are on random ports
		documentRouter, documentErr = legacy.NewRouter(doc, openapi3.AllowExtraSiblingFields("patternDescription"))
	})
	return documentRouter, documentErr
}

// checkAnswer validates one answer against the document; an answer of no operation (an unknown
// path or method) is not checked.
func checkAnswer(t testing.TB, srv *api.Server, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	r, err := router(srv)
	if err != nil {
		t.Fatalf("the OpenAPI document: %v", err)
	}
	route, params, err := r.FindRoute(req)
	if err != nil || strings.HasSuffix(req.URL.Path, "/") || strings.Count(req.URL.Path, "/") != strings.Count(route.Path, "/") {
		return // the router is lenient where the server is not ("/api/v1/orders/" is no endpoint)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s answered %d, which the OpenAPI document does not allow: %v\n%.400s", req.Method, req.URL.Path, status,
			strings.ReplaceAll(err.Error(), "\n", " "), body)
	}
}

// The document names the secret where an operation needs it, and only there: each of those
// operations refuses the key alone; the error answers are documented, with no catch-all.
func TestDocumentSecurityAndErrors(t *testing.T) {
	t.Parallel()
	e := setup(t, "sqlite", "https://shop.example.com")
	doc := e.srv.API.OpenAPI()
	if doc.Components.SecuritySchemes["apiSecret"] == nil || doc.Components.SecuritySchemes["signature"] == nil {
		t.Fatal("no x-api-secret and X-Signature security schemes")
	}
	needSecret := map[string][2]string{}
	for path, item := range doc.Paths {
		if !strings.HasPrefix(path, "/api/") {
			continue
		}
		for method, op := range map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "PUT": item.Put, "PATCH": item.Patch, "DELETE": item.Delete} {
			if op == nil {
				continue
			}
			if _, ok := op.Responses["default"]; ok {
				t.Errorf("%s %s documents a catch-all default answer", method, path)
			}
			for _, status := range []string{"400", "401", "403", "500"} {
				if op.Responses[status] == nil {
					t.Errorf("%s %s does not document %s", method, path, status)
				}
			}
			for _, req := range op.Security {
				if _, ok := req["apiSecret"]; ok {
					needSecret[op.OperationID] = [2]string{method, path}
				}
			}
		}
	}
	if len(needSecret) != 20 {
		t.Errorf("operations documented as needing the secret: %v", needSecret)
	}
	bodies := map[string]string{"importAddressPool": `{"protocol":"evm","addresses":["0x00000000000000000000000000000000000000a1"]}`,
		"updateProject": `{"name":"x"}`, "putWebhookEndpoint": `{"url":"https://hooks.example.com/x"}`,
		"putTreasury":              `{"chainId":"devnet","address":"0x00000000000000000000000000000000000000a1"}`,
		"checkTransaction":         `{"chainId":"devnet","txHash":"0x0000000000000000000000000000000000000000000000000000000000000001"}`,
		"createSweep":              `{"chainId":"devnet","dryRun":true}`,
		"createWithdrawal":         `{"reference":"w1","amount":"1","currency":"USDT","chainId":"devnet","address":"0x00000000000000000000000000000000000000a1"}`,
		"putWithdrawalPolicy":      `{"twoApprovals":true}`,
		"resolveOrder":             `{"outcome":"invalid","reason":"x"}`,
		"addWithdrawalDestination": `{"address":"0x00000000000000000000000000000000000000a1"}`,
		"threePayCreateWithdrawal": `{"userId":"u","amount":"1","address":"0x00000000000000000000000000000000000000a1","reference":"w1"}`}
	needSecret["deleteTreasury"] = [2]string{"DELETE", "/api/v1/treasury/devnet"}
	for id, op := range needSecret {
		if r := e.as(e.test, op[0], op[1], bodies[id]); r.status != 401 || r.str("param") != "x-api-secret" {
			t.Errorf("%s without the secret: %d %s", id, r.status, r.raw)
		}
	}
}
