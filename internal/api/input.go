package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/stablegate/stablegate/internal/gateway"
)

// Text that no field may hold, refused before anything reads it: invalid UTF-8 and NUL (PostgreSQL
// cannot store either in text, and Go's JSON decoder would turn invalid UTF-8 into U+FFFD, so two
// different references would become one), lone UTF-16 surrogates (the same: "r\ud800" and
// "r\udbff" both decode to "r\uFFFD"), and an object naming a member twice (the last would win
// silently: {"amount":"1", …, "amount":"1000"}).

// checkURL refuses a request whose path or query holds text no field may hold: a path (an id, a
// reference) is no endpoint's, so 404; a query parameter is a ValidationError naming it.
func checkURL(r *http.Request, rid string) *Error {
	if why := gateway.TextProblem(r.URL.Path); why != "" {
		return newError(gateway.ENotFound, "", "No such endpoint: the path "+why, rid)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return newError(gateway.EInvalid, "query", "The query string is malformed: "+err.Error(), rid)
	}
	for name, vs := range q {
		if why := gateway.TextProblem(name); why != "" {
			return newError(gateway.EInvalid, "query", "A query parameter name "+why, rid)
		}
		for _, v := range vs {
			if why := gateway.TextProblem(v); why != "" {
				return newError(gateway.EInvalid, name, name+" "+why, rid)
			}
		}
	}
	return nil
}

// checkJSON refuses a JSON body that standard JSON accepts but that holds what no field may hold:
// invalid UTF-8, a lone surrogate or NUL in a string, a member named twice. The error names the
// field. A body that is not JSON at all is left to the operation, which says so.
func checkJSON(body []byte, rid string) *Error {
	if len(body) == 0 {
		return nil
	}
	d := jsontext.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.ReadToken()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			// One pass for the bodies that pass: the standard check runs only on a refusal, to tell
			// what the strict reading adds from JSON that is broken anyway.
			if !json.Valid(body) {
				return nil
			}
			var se *jsontext.SyntacticError
			field := "body"
			if errors.As(err, &se) && se.JSONPointer != "" {
				field = fieldName(se.JSONPointer)
			}
			why := "holds an invalid UTF-16 escape (a lone surrogate) or invalid UTF-8"
			if errors.Is(err, jsontext.ErrDuplicateName) {
				why = "is given more than once"
			}
			return newError(gateway.EInvalid, field, field+" "+why, rid)
		}
		if tok.Kind() == '"' && strings.IndexByte(tok.String(), 0) >= 0 {
			field := fieldName(d.StackPointer())
			return newError(gateway.EInvalid, field, field+" contains a NUL character", rid)
		}
	}
}

// fieldName turns a JSON pointer into the name of the field it points at: /currencies/0/chainId
// is currencies[0].chainId.
func fieldName(ptr jsontext.Pointer) string {
	var b strings.Builder
	for tok := range ptr.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	if b.Len() == 0 {
		return "body"
	}
	return b.String()
}
