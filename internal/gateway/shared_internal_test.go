package gateway

import (
	"math/big"
	"strings"
	"testing"

	"github.com/stablegate/stablegate/internal/chain"
)

func TestSharedAmountsOffsets(t *testing.T) {
	six, eighteen := chain.Token{Symbol: "USDT", Decimals: 6}, chain.Token{Symbol: "USDT", Decimals: 18}
	for _, c := range []struct {
		sa   SharedAmounts
		tok  chain.Token
		step string
		n    int64
		err  string
	}{
		{SharedAmounts{DefaultOffsetStep, DefaultMaxOffset}, six, "100", 999, ""},
		{SharedAmounts{DefaultOffsetStep, DefaultMaxOffset}, eighteen, "100000000000000", 999, ""},
		{SharedAmounts{"0.000001", "0.099999"}, six, "1", 99_999, ""},
		{SharedAmounts{"0.0000001", "0.09"}, six, "", 0, "step has more decimal places"},
		{SharedAmounts{"0.01", "1.5"}, six, "", 0, "at most 1"},
		{SharedAmounts{"0.01", "0.001"}, six, "", 0, "at least the step"},
		{SharedAmounts{"0", "0.1"}, six, "", 0, "step"},
		{SharedAmounts{"0.000000000000000001", "1"}, eighteen, "", 0, "too small"},
	} {
		step, n, err := c.sa.offsets(c.tok)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v on %d decimals: error %v, want one with %q", c.sa, c.tok.Decimals, err, c.err)
			}
			continue
		}
		if err != nil || step.String() != c.step || n != c.n {
			t.Errorf("%+v on %d decimals = step %v, %d offsets, %v; want %s, %d", c.sa, c.tok.Decimals, step, n, err, c.step, c.n)
		}
	}
}

func TestPickOffsetsDistinctWithinBounds(t *testing.T) {
	step := big.NewInt(100)
	for range 200 {
		seen := map[string]bool{}
		for _, o := range pickOffsets(step, 999, offsetCandidates) {
			if o.Sign() <= 0 || o.Cmp(big.NewInt(99_900)) > 0 || new(big.Int).Mod(o, step).Sign() != 0 || seen[o.String()] {
				t.Fatalf("offset %s: not a distinct multiple of the step within 1..999 steps", o)
			}
			seen[o.String()] = true
		}
		if len(seen) != offsetCandidates {
			t.Fatalf("%d offsets, want %d", len(seen), offsetCandidates)
		}
	}
	if got := pickOffsets(step, 3, offsetCandidates); len(got) != 3 {
		t.Errorf("3 offsets allowed: got %d", len(got))
	}
}
