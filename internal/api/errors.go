package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/stablegate/stablegate/internal/gateway"
)

// Error types of the transport itself, next to the domain's codes.
const (
	ePayloadTooLarge   = "PayloadTooLarge"
	eIdempotencyReused = "IdempotencyKeyReused"
	eIdempotencyInUse  = "IdempotencyKeyInUse"
	eMethodNotAllowed  = "MethodNotAllowed"
)

// statusOf is the one table from error type to HTTP status.
var statusOf = map[string]int{
	gateway.EInvalid:               http.StatusBadRequest,
	gateway.EUnauthorized:          http.StatusUnauthorized,
	gateway.EForbidden:             http.StatusForbidden,
	gateway.ENotFound:              http.StatusNotFound,
	gateway.EConflict:              http.StatusConflict,
	gateway.EInsufficientAddresses: http.StatusUnprocessableEntity,
	gateway.EInsufficientAmounts:   http.StatusConflict,
	gateway.EWatchOnly:             http.StatusConflict,
	gateway.EInsufficientFunds:     http.StatusConflict,
	gateway.ENetworkMismatch:       http.StatusBadRequest,
	gateway.ELimitExceeded:         http.StatusUnprocessableEntity,
	gateway.EInternal:              http.StatusInternalServerError,
	ePayloadTooLarge:               http.StatusRequestEntityTooLarge,
	eIdempotencyReused:             http.StatusUnprocessableEntity,
	eIdempotencyInUse:              http.StatusConflict,
	eMethodNotAllowed:              http.StatusMethodNotAllowed,
	eRateLimited:                   http.StatusTooManyRequests,
}

// Error is the error envelope: {success:false, error, message, param, requestId}.
type Error struct {
	Success   bool   `json:"success"`
	Type      string `json:"error" doc:"Stable error type, e.g. ValidationError, Unauthorized, NotFound" example:"ValidationError"`
	Message   string `json:"message" doc:"What went wrong and what to fix" example:"Required fields: amount"`
	Param     string `json:"param,omitempty" doc:"The request field the error is about" example:"amount"`
	RequestID string `json:"requestId,omitempty" doc:"Quote it when asking for help" example:"req_abc"`
	status    int
}

// Error implements error.
func (e *Error) Error() string { return e.Type + ": " + e.Message }

// GetStatus implements huma.StatusError.
func (e *Error) GetStatus() int { return e.status }

func newError(typ, param, msg, requestID string) *Error {
	status, ok := statusOf[typ]
	if !ok {
		status = http.StatusInternalServerError
	}
	return &Error{Type: typ, Param: param, Message: msg, RequestID: requestID, status: status}
}

// fromDomain turns any error into the envelope; errors that are not the domain's are internal and
// their text never reaches the user.
func fromDomain(err error, requestID string) *Error {
	var de *gateway.Error
	if errors.As(err, &de) {
		return newError(de.Code, de.Param, de.Message, requestID)
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	return newError(gateway.EInternal, "", "Internal error; quote the requestId if you contact the operator", requestID)
}

func writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(e)
}

// humaError maps Huma's own errors (request parsing and schema validation) to the envelope.
func humaError(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
	requestID := ""
	if ctx != nil {
		requestID = requestIDFrom(ctx.Context())
	}
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return validationError(msg, errs, requestID)
	case http.StatusRequestEntityTooLarge:
		return newError(ePayloadTooLarge, "", "Request body is larger than 1 MiB", requestID)
	case http.StatusNotFound:
		return newError(gateway.ENotFound, "", "Not found", requestID)
	case http.StatusMethodNotAllowed:
		return newError(eMethodNotAllowed, "", "Method not allowed", requestID)
	}
	if status >= 500 {
		return newError(gateway.EInternal, "", "Internal error; quote the requestId if you contact the operator", requestID)
	}
	e := newError(gateway.EInvalid, "", msg, requestID)
	e.status = status
	return e
}

// validationError summarizes Huma's validation details: missing fields as the seeds say it
// ("Required fields: amount, currency"), otherwise the first problem with its field.
func validationError(msg string, errs []error, requestID string) *Error {
	var missing []string
	var first *huma.ErrorDetail
	for _, err := range errs {
		var d *huma.ErrorDetail
		if !errors.As(err, &d) {
			continue
		}
		field := fieldOf(d.Location)
		if strings.HasPrefix(d.Message, "expected required property") {
			name := strings.TrimSuffix(strings.TrimPrefix(d.Message, "expected required property "), " to be present")
			if field != "" {
				name = field + "." + name
			}
			missing = append(missing, name)
			continue
		}
		if v, ok := d.Value.(string); ok && v == "" && field != "" && strings.HasPrefix(d.Message, "expected string to") {
			missing = append(missing, field) // an empty string where a pattern is due: as the seeds say it
			continue
		}
		if first == nil {
			first = d
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return newError(gateway.EInvalid, missing[0], "Required fields: "+strings.Join(missing, ", "), requestID)
	}
	if first != nil {
		field := fieldOf(first.Location)
		if field == "" {
			return newError(gateway.EInvalid, "body", "Request body: "+first.Message, requestID)
		}
		m := first.Message
		if m == "unexpected property" {
			m = "is not a known field"
		}
		return newError(gateway.EInvalid, field, fmt.Sprintf("%s %s", field, m), requestID)
	}
	if strings.Contains(msg, "unmarshal") || strings.Contains(msg, "body") {
		return newError(gateway.EInvalid, "body", "Request body is not valid JSON", requestID)
	}
	return newError(gateway.EInvalid, "", msg, requestID)
}

// fieldOf turns Huma's "body.amount" or "query.limit" into "amount" or "limit".
func fieldOf(location string) string {
	for _, p := range []string{"body.", "query.", "path.", "header."} {
		if strings.HasPrefix(location, p) {
			return strings.TrimPrefix(location, p)
		}
	}
	if location == "body" {
		return ""
	}
	return location
}
