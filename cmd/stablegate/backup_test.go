package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stablegate/stablegate/internal/gateway"
)

// The SQLite backup of docs/operations.md — `VACUUM INTO` from another connection while the
// gateway writes — gives a database that opens, verifies, and holds every order committed before
// it.
func TestSQLiteOnlineBackup(t *testing.T) {
	creds, dir := startDev(t)
	create := func(ref string) int {
		req, _ := http.NewRequest("POST", creds.BaseURL+"/api/v1/orders",
			strings.NewReader(`{"orderReference":"`+ref+`","amount":"1.5","currency":"USDT","chainId":"devnet"}`))
		req.Header.Set("Authorization", "Bearer "+creds.APIKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	for i := range 20 {
		if s := create(fmt.Sprint("before-", i)); s != 201 {
			t.Fatalf("create: %d", s)
		}
	}
	// Orders keep being created while the copy is made.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				create(fmt.Sprint("during-", i))
			}
		}
	}()
	db, err := sql.Open("sqlite", filepath.Join(dir, "stablegate.db"))
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	_, err = db.Exec(`VACUUM INTO ?`, backup)
	db.Close()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("VACUUM INTO while the gateway writes: %v", err)
	}
	out, _, err := runCLI(t, "ledger", "verify", "--database", "sqlite:"+backup)
	if err != nil || !strings.Contains(out, "ledger verified") {
		t.Fatalf("ledger verify of the backup: %v %s", err, out)
	}
	st, err := openStore(context.Background(), &Config{Database: "sqlite:" + backup})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 20 {
		if _, err := st.FindOrderByReference(context.Background(), creds.ProjectID, gateway.Test, fmt.Sprint("before-", i)); err != nil {
			t.Errorf("order before-%d is not in the backup: %v", i, err)
		}
	}
}
