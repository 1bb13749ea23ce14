// Package gateway is the domain of stablegate: projects and their credentials, orders, and the
// rules that govern them. It owns the Store interface and imports no database driver, no HTTP
// router and no chain client; those depend on it.
package gateway

import (
	"errors"
	"fmt"
)

// Error codes: the stable `error` field of the API envelope. The API maps each to an HTTP status in
// one table.
const (
	EInvalid               = "ValidationError"
	EUnauthorized          = "Unauthorized"
	EForbidden             = "Forbidden"
	ENotFound              = "NotFound"
	EConflict              = "Conflict"
	EInsufficientAddresses = "InsufficientAddresses"
	EInternal              = "InternalError"
)

// Error is a domain error a user may see: a code, a message that says what to fix, and the
// request field it is about (Param), when there is one.
type Error struct {
	Code    string
	Message string
	Param   string
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Param)
	}
	return e.Code + ": " + e.Message
}

// Errorf returns an *Error with the code, the field it is about (may be empty) and a message.
func Errorf(code, param, format string, args ...any) *Error {
	return &Error{Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of a domain error, or EInternal for any other error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrNotFound is what stores return when a row does not exist; services turn it into a user-facing
// *Error with the right noun.
var ErrNotFound = errors.New("not found")

// ErrChanged is returned by a store operation conditioned on a row's state when the row changed.
var ErrChanged = errors.New("changed concurrently")
