package gateway_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stablegate/stablegate/internal/gateway"
)

// A CORS allowlist holds browser origins as browsers send them, and nothing that would open a key
// to pages the merchant did not name.
func TestParseOrigins(t *testing.T) {
	got, e := gateway.ParseOrigins([]string{"https://Shop.Example.com", "https://shop.example.com:443", "https://shop.example.com/",
		"http://localhost:3000", "http://127.0.0.1:8081", "http://[::1]:5173", "https://shop.example.com:8443"})
	want := []string{"https://shop.example.com", "http://localhost:3000", "http://127.0.0.1:8081", "http://[::1]:5173", "https://shop.example.com:8443"}
	if e != nil || !slices.Equal(got, want) {
		t.Fatalf("ParseOrigins = %v, %v; want %v", got, e, want)
	}
	for _, bad := range []string{"*", "", "shop.example.com", "http://shop.example.com", "http://10.0.0.1", "ftp://shop.example.com",
		"https://*.example.com", "https://shop.example.com/pay", "https://shop.example.com?a=1", "https://shop.example.com#x",
		"https://u:p@shop.example.com", "https://shop.example.com:http", "https://", "https://" + strings.Repeat("a", 300) + ".com",
		"https://shop.example.com\n", "https://shop.example.com\x00", "null"} {
		if _, e := gateway.ParseOrigins([]string{bad}); e == nil || e.Code != gateway.EInvalid || e.Param != "allowedOrigins" {
			t.Errorf("ParseOrigins(%q) = %v, want a ValidationError on allowedOrigins", bad, e)
		}
	}
	many := make([]string, gateway.MaxAllowedOrigins+1)
	for i := range many {
		many[i] = "https://a.example.com"
	}
	if _, e := gateway.ParseOrigins(many); e == nil {
		t.Error("more than MaxAllowedOrigins accepted")
	}
	p := gateway.Project{AllowedOrigins: want}
	if !p.AllowsOrigin("https://SHOP.example.com") || p.AllowsOrigin("https://shop.example.com.evil.com") || p.AllowsOrigin("https://evil.com") ||
		p.AllowsOrigin("null") || (&gateway.Project{}).AllowsOrigin("https://shop.example.com") {
		t.Error("AllowsOrigin matches what it should not, or misses a listed origin")
	}
}
