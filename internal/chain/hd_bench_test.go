package chain

import "testing"

func BenchmarkDeriveAddress(b *testing.B) {
	xpub, _ := AccountXPub(abandon, EVM)
	for i := 0; b.Loop(); i++ {
		if _, err := DeriveAddress(xpub, EVM, uint32(i)); err != nil {
			b.Fatal(err)
		}
	}
}
