package money

import (
	"errors"
	"math/big"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		decimals int
		want     string
		err      error
	}{
		{"10", 6, "10000000", nil},
		{"10.5", 6, "10500000", nil},
		{"0.000001", 6, "1", nil},
		{"49.99", 18, "49990000000000000000", nil},
		{"1.500000", 6, "1500000", nil},
		{"1.5000000", 6, "", ErrTooPrecise}, // more places than the token has, even as zeros
		{"0", 6, "0", nil},
		{"0.0000001", 6, "", ErrTooPrecise},
		{"1.0000001", 6, "", ErrTooPrecise},
		{"-1", 6, "", ErrSyntax},
		{"+1", 6, "", ErrSyntax},
		{"1e6", 6, "", ErrSyntax},
		{"NaN", 6, "", ErrSyntax},
		{"Infinity", 6, "", ErrSyntax},
		{"", 6, "", ErrSyntax},
		{".5", 6, "", ErrSyntax},
		{"5.", 6, "", ErrSyntax},
		{"1.2.3", 6, "", ErrSyntax},
		{" 1", 6, "", ErrSyntax},
		{"1,5", 6, "", ErrSyntax},
		{"0x10", 6, "", ErrSyntax},
		{"١", 6, "", ErrSyntax}, // Arabic-Indic digit
		{"1" + zeros(72), 6, "", ErrTooLarge},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in, tt.decimals)
		if !errors.Is(err, tt.err) {
			t.Errorf("Parse(%q, %d) error = %v, want %v", tt.in, tt.decimals, err, tt.err)
			continue
		}
		if err == nil && got.String() != tt.want {
			t.Errorf("Parse(%q, %d) = %s, want %s", tt.in, tt.decimals, got, tt.want)
		}
	}
}

func TestParsePositive(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"0", "0.0", "0.000000"} {
		if _, err := ParsePositive(in, 6); !errors.Is(err, ErrNotPositive) {
			t.Errorf("ParsePositive(%q) error = %v, want ErrNotPositive", in, err)
		}
	}
	if v, err := ParsePositive("0.000001", 6); err != nil || v.Int64() != 1 {
		t.Errorf("ParsePositive(0.000001) = %v, %v", v, err)
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base     string
		decimals int
		want     string
	}{
		{"10500000", 6, "10.5"},
		{"10000000", 6, "10"},
		{"1", 6, "0.000001"},
		{"1", 18, "0.000000000000000001"},
		{"49990000000000000000", 18, "49.99"},
		{"0", 6, "0"},
	}
	for _, tt := range tests {
		v, _ := new(big.Int).SetString(tt.base, 10)
		if got := Format(v, tt.decimals); got != tt.want {
			t.Errorf("Format(%s, %d) = %q, want %q", tt.base, tt.decimals, got, tt.want)
		}
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

// FuzzParse checks that Parse never panics and that whatever it accepts formats back to the same
// value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"10", "10.5", "0.000001", "1e5", "-1", "NaN", "1.0000001", "00012.3400"} {
		f.Add(s, 6)
	}
	f.Fuzz(func(t *testing.T, s string, decimals int) {
		if decimals < 0 || decimals > 30 {
			return
		}
		v, err := Parse(s, decimals)
		if err != nil {
			return
		}
		if v.Sign() < 0 {
			t.Fatalf("Parse(%q) = %s, negative", s, v)
		}
		back, err := Parse(Format(v, decimals), decimals)
		if err != nil || back.Cmp(v) != 0 {
			t.Fatalf("round trip of %q: %s → %q → %v, %v", s, v, Format(v, decimals), back, err)
		}
	})
}
