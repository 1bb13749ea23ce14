// Package money converts between decimal strings at the API edge and integer base units inside.
//
// Amounts are never held in floats: a token amount is a *big.Int of base units, and the number of
// decimals comes from the chain registry.
package money

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/shopspring/decimal"
)

// MaxDigits bounds the integer digits of a base-unit amount so it always fits NUMERIC(78,0).
const MaxDigits = 78

// Errors returned by Parse; callers turn them into field-level validation messages.
var (
	ErrSyntax      = errors.New("must be a decimal string such as \"10.50\"")
	ErrTooPrecise  = errors.New("has more decimal places than the token allows")
	ErrNotPositive = errors.New("must be greater than zero")
	ErrTooLarge    = errors.New("is too large")
)

// Parse reads a plain decimal string ("10", "10.5", "0.000001") into base units for a token with
// the given number of decimals. It accepts digits with at most one dot and digits on both sides of
// it; signs, exponents, spaces, "NaN" and "Infinity" are refused, and so is any digit after the dot
// beyond the token's decimals, even a zero ("1.0000000" for a 6-decimal token). Zero is accepted: use
// ParsePositive where the amount must be greater than zero.
func Parse(s string, decimals int) (*big.Int, error) {
	places, ok := plainDecimal(s)
	if !ok {
		return nil, ErrSyntax
	}
	if places > decimals {
		return nil, ErrTooPrecise
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return nil, ErrSyntax
	}
	v := d.Shift(int32(decimals)).BigInt()
	if len(v.String()) > MaxDigits {
		return nil, ErrTooLarge
	}
	return v, nil
}

// ParsePositive is Parse for amounts that must be greater than zero.
func ParsePositive(s string, decimals int) (*big.Int, error) {
	v, err := Parse(s, decimals)
	if err != nil {
		return nil, err
	}
	if v.Sign() <= 0 {
		return nil, ErrNotPositive
	}
	return v, nil
}

// Format writes base units as the shortest decimal string: 10500000 with 6 decimals is "10.5".
func Format(v *big.Int, decimals int) string {
	return decimal.NewFromBigInt(v, -int32(decimals)).String()
}

// ParseBase reads a base-unit integer as stored in the database.
func ParseBase(s string) (*big.Int, error) {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("parse base units %q: not an integer", s)
	}
	return v, nil
}

// plainDecimal reports whether s is digits, optionally followed by a dot and more digits, and no
// longer than any amount we could store; places is the number of digits after the dot.
func plainDecimal(s string) (places int, ok bool) {
	if s == "" || len(s) > 2*MaxDigits+1 {
		return 0, false
	}
	dot := false
	digitsBefore, digitsAfter := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if dot {
				digitsAfter++
			} else {
				digitsBefore++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	return digitsAfter, digitsBefore > 0 && (!dot || digitsAfter > 0)
}
