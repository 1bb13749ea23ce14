package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/api/threepay"
)

// secretOperations are the operations that need the API secret besides the key (DESIGN §11: what
// moves money or decides where it goes): the domain refuses them without it, the document says so.
var secretOperations = map[string]bool{
	"importAddressPool":           true,
	"updateProject":               true,
	"putWebhookEndpoint":          true,
	"deleteWebhookEndpoint":       true,
	"rotateWebhookSecret":         true,
	"putTreasury":                 true,
	"deleteTreasury":              true,
	"checkTransaction":            true,
	"createSweep":                 true,
	"createWithdrawal":            true,
	"approveWithdrawal":           true,
	"rejectWithdrawal":            true,
	"putWithdrawalPolicy":         true,
	"addWithdrawalDestination":    true,
	"removeWithdrawalDestination": true,
	"resolveOrder":                true, // it decides whether goods are delivered
	"getAuditLog":                 true, // it shows who moved money where
}

func init() {
	for _, id := range threepay.SecretOperations {
		secretOperations[id] = true
	}
	for _, id := range threepay.WalletOperations {
		walletOperations[id] = true
	}
}

// errorAnswers describes each error status an operation may answer, in the error envelope.
var errorAnswers = map[int]string{
	http.StatusBadRequest:            "ValidationError: a parameter, header or body field is wrong; param names it (NetworkMismatch: a destination address of the other network)",
	http.StatusUnauthorized:          "Unauthorized: missing, unknown or revoked key; wrong API secret or signature (param x-api-secret or X-Signature)",
	http.StatusForbidden:             "Forbidden: a live key of a project still in test mode, a live payment for a project whose website is not https on a real domain, or a disabled project",
	http.StatusNotFound:              "NotFound: no such object in this project and mode",
	http.StatusConflict:              "Conflict: the object's state does not allow it, the same Idempotency-Key is still in progress, WatchOnlyProject: the project has no seed to sign with, InsufficientFunds: the balance or the hot wallet cannot pay it, or InsufficientAmounts: every pay amount tried for the price is held on the shared address",
	http.StatusRequestEntityTooLarge: "PayloadTooLarge: the body is larger than 1 MiB",
	http.StatusUnprocessableEntity:   "IdempotencyKeyReused (the key came with another request), InsufficientAddresses (the address pool is empty) or LimitExceeded (the withdrawal policy's daily limit)",
	http.StatusTooManyRequests:       "RateLimitExceeded: the tier's limit is reached for this key (or too many failed authentications from this address); Retry-After says when to try again",
	http.StatusInternalServerError:   "InternalError: quote the requestId to the operator",
	http.StatusServiceUnavailable:    "Overloaded: the server is serving as many requests as it may (maxConcurrentRequests); Retry-After says when to try again",
}

// completeDocument finishes the OpenAPI document once every operation is registered: each /api/v1
// operation lists the error statuses it can answer (no catch-all "default": a test checks every
// answer against the document), and those that need the API secret say so in their security.
func (s *Server) completeDocument() {
	oa := s.API.OpenAPI()
	oa.Components.SecuritySchemes["apiSecret"] = &huma.SecurityScheme{Type: "apiKey", In: "header", Name: "x-api-secret",
		Description: "The API secret (sk_…), beside the key, where an operation needs it (3PAY v2)"}
	oa.Components.SecuritySchemes["signature"] = &huma.SecurityScheme{Type: "apiKey", In: "header", Name: "X-Signature",
		Description: "Hex HMAC-SHA256 of the raw request body keyed with the API secret, instead of x-api-secret on a request with a body (Crypto Pay)"}
	var withSecret []map[string][]string
	for _, key := range []string{"bearer", "apikey", "xApiKey"} {
		for _, proof := range []string{"apiSecret", "signature"} {
			withSecret = append(withSecret, map[string][]string{key: {}, proof: {}})
		}
	}
	errorSchema := &huma.Schema{Ref: "#/components/schemas/Error"}
	for path, item := range oa.Paths {
		if !strings.HasPrefix(path, "/api/") {
			continue
		}
		for method, op := range map[string]*huma.Operation{http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put,
			http.MethodPatch: item.Patch, http.MethodDelete: item.Delete} {
			if op == nil {
				continue
			}
			delete(op.Responses, "default")
			for _, status := range errorStatuses(method, path) {
				op.Responses[strconv.Itoa(status)] = &huma.Response{Description: errorAnswers[status],
					Content: map[string]*huma.MediaType{"application/json": {Schema: errorSchema}}}
			}
			if secretOperations[op.OperationID] {
				op.Security = withSecret
				op.Description = strings.TrimSpace(op.Description + " Needs the API secret: x-api-secret, or X-Signature over the body.")
			}
		}
	}
}

// errorStatuses are the error statuses of an operation: every one may be refused its input, its
// key or its project; one on an object by id may find none; a POST may meet an Idempotency-Key
// (in progress: 409, reused: 422) or the state of what it changes (409, and an empty address pool
// 422); what takes a body may be sent one too large.
func errorStatuses(method, path string) []int {
	out := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusServiceUnavailable}
	// By id in the path, or naming a deposit reference in the body or the query.
	if strings.Contains(path, "{") || path == "/api/v1/deposits/unbind" || path == "/api/v1/withdrawals" && method == http.MethodPost ||
		path == "/api/v1/balances" || strings.HasPrefix(path, "/api/v1/public/") { // 3PAY's name a user or a payout
		out = append(out, http.StatusNotFound)
	}
	if path == "/api/v1/wallets" {
		out = append(out, http.StatusConflict) // a watch-only project has no hot wallet
	}
	switch method {
	case http.MethodPost:
		out = append(out, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge)
	case http.MethodPut, http.MethodPatch:
		out = append(out, http.StatusConflict, http.StatusRequestEntityTooLarge)
	}
	return out
}
