package gateway_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The domain imports no driver: no database driver, no HTTP, no node client, and nothing of the
// packages that carry its decisions out (DESIGN §7: dependencies point inward).
func TestDomainImportsNoDriver(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, out)
	}
	forbidden := []string{"net/http", "github.com/jackc/pgx", "modernc.org/sqlite", "github.com/lib/pq",
		"github.com/ethereum/go-ethereum/ethclient", "github.com/ethereum/go-ethereum/rpc",
		"github.com/stablegate/stablegate/internal/evm", "github.com/stablegate/stablegate/internal/devnet",
		"github.com/stablegate/stablegate/internal/store", "github.com/stablegate/stablegate/internal/api",
		"github.com/stablegate/stablegate/internal/web", "github.com/stablegate/stablegate/internal/webhook"}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("internal/gateway depends on %s", dep)
			}
		}
	}
}
