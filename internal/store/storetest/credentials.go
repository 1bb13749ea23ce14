package storetest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/chain"
	"github.com/stablegate/stablegate/internal/gateway"
)

func testProjects(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://shop.example.com")
	got, err := s.FindProject(ctx, cp.Project.ID)
	if err != nil || got.Website != "https://shop.example.com" || got.XPubs[chain.EVM] == "" || !got.WatchOnly() {
		t.Fatalf("FindProject = %+v, %v", got, err)
	}
	if _, err := s.FindProject(ctx, "prj_missing"); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("FindProject(missing) = %v, want ErrNotFound", err)
	}
	// A generated seed is sealed and opens with the master key to the printed mnemonic.
	gen, err := svc.CreateProject(ctx, gateway.CreateProjectParams{Live: true, Name: "Gen", Website: "https://gen.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := s.FindProject(ctx, gen.Project.ID)
	if stored.WatchOnly() || strings.Contains(string(stored.SealedSeed), gen.Mnemonic) {
		t.Fatal("generated seed must be stored sealed")
	}
	if plain, err := svc.Keyring.Open(stored.SealedSeed, []byte(stored.ID)); err != nil || string(plain) != gen.Mnemonic {
		t.Errorf("sealed seed does not open to the mnemonic: %v", err)
	}
	list, err := s.ListProjects(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListProjects = %d, %v", len(list), err)
	}
	for _, k := range cp.Keys {
		pr, err := svc.Authenticate(ctx, k.Key)
		if err != nil || pr.Mode != k.Mode || pr.Project.ID != cp.Project.ID {
			t.Fatalf("Authenticate(%s key) = %+v, %v", k.Mode, pr, err)
		}
		if pr.Credential.KeyHash == k.Key || string(pr.Credential.SecretHash) == k.Secret {
			t.Fatal("credentials must be stored hashed")
		}
		if err := pr.ProveSecret(k.Secret); err != nil {
			t.Errorf("ProveSecret(right secret) = %v", err)
		}
		if err := pr.ProveSecret(k.Secret + "x"); gateway.ErrorCode(err) != gateway.EUnauthorized {
			t.Errorf("ProveSecret(wrong secret) = %v", err)
		}
	}
	pr := principal(t, svc, cp, gateway.Test)
	if err := svc.RevokeCredential(ctx, pr.Credential.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, cp.Keys[0].Key); gateway.ErrorCode(err) != gateway.EUnauthorized {
		t.Errorf("Authenticate(revoked) = %v, want Unauthorized", err)
	}
	if _, err := svc.Authenticate(ctx, "pk_test_unknown"); gateway.ErrorCode(err) != gateway.EUnauthorized {
		t.Errorf("Authenticate(unknown) = %v, want Unauthorized", err)
	}
}

func testWebsiteUnique(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, _ := project(t, s, "https://shop.example.com")
	for _, site := range []string{"https://shop.example.com", "https://SHOP.example.com/other", "http://shop.example.com:8080"} {
		_, err := svc.CreateProject(ctx, gateway.CreateProjectParams{Live: true, Name: "Again", Website: site})
		if gateway.ErrorCode(err) != gateway.EConflict {
			t.Errorf("second project on %s: %v, want Conflict", site, err)
		}
	}
	if list, _ := s.ListProjects(ctx); len(list) != 1 {
		t.Errorf("a refused project was stored: %d projects", len(list))
	}
}

func testIdempotency(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	_, cp := project(t, s, "https://shop.example.com")
	r := &gateway.IdempotencyRecord{ProjectID: cp.Project.ID, Mode: gateway.Test, Key: "k1", RequestHash: "h1", CreatedAt: testNow}
	if e, err := s.BeginIdempotent(ctx, r, testNow.Add(-time.Hour)); err != nil || e != nil {
		t.Fatalf("first Begin = %v, %v", e, err)
	}
	e, err := s.BeginIdempotent(ctx, r, testNow.Add(-time.Hour))
	if err != nil || e == nil || e.Done {
		t.Fatalf("second Begin while running = %+v, %v", e, err)
	}
	r.Status, r.Body = 201, []byte(`{"ok":1}`)
	if err := s.FinishIdempotent(ctx, r); err != nil {
		t.Fatal(err)
	}
	e, _ = s.BeginIdempotent(ctx, r, testNow.Add(-time.Hour))
	if e == nil || !e.Done || e.Status != 201 || string(e.Body) != `{"ok":1}` || e.RequestHash != "h1" {
		t.Fatalf("Begin after finish = %+v", e)
	}
	// Expired records are replaced.
	if e, _ := s.BeginIdempotent(ctx, r, testNow.Add(time.Second)); e != nil {
		t.Errorf("stale record was not replaced: %+v", e)
	}
	if n, err := s.PurgeIdempotent(ctx, testNow.Add(time.Second)); err != nil || n != 1 {
		t.Errorf("Purge = %d, %v", n, err)
	}
	// Fifty requests racing for one key: exactly one takes it, the others find it.
	var wg sync.WaitGroup
	var mu sync.Mutex
	owners, found := 0, 0
	for range 50 {
		wg.Go(func() {
			e, err := s.BeginIdempotent(ctx, &gateway.IdempotencyRecord{ProjectID: cp.Project.ID, Mode: gateway.Test, Key: "race",
				RequestHash: "h", SecretProven: true, CreatedAt: testNow}, testNow.Add(-time.Hour))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case e == nil:
				owners++
			case !e.SecretProven:
				t.Errorf("the record lost what its request proved: %+v", e)
			default:
				found++
			}
		})
	}
	wg.Wait()
	if owners != 1 || found != 49 {
		t.Errorf("50 racing Begins: %d took the key, %d found it; want 1 and 49", owners, found)
	}
}

// Secret hashes stored in clear (before they were sealed) are sealed by SealStoredSecrets, once, and
// the secrets still prove themselves.
func testSealStoredSecrets(t *testing.T, s gateway.Store) {
	ctx := context.Background()
	svc, cp := project(t, s, "https://old.example.com")
	// As stored before hashes were sealed: the SHA-256 of each secret.
	legacy := map[string][]byte{}
	for _, k := range cp.Keys {
		pr, err := svc.Authenticate(ctx, k.Key)
		if err != nil {
			t.Fatal(err)
		}
		legacy[pr.Credential.ID] = gateway.HashSecret(k.Secret)
	}
	if _, err := s.ResealStored(ctx, []gateway.SealedKind{gateway.SealedAPISecret}, func(v *gateway.SealedValue) ([]byte, bool, error) {
		h, ok := legacy[v.ID]
		return h, ok, nil
	}); err != nil {
		t.Fatal(err)
	}
	svc = service(t, s)
	if n, err := svc.SealStoredSecrets(ctx); err != nil || n != 2 {
		t.Fatalf("SealStoredSecrets = %d, %v; want the project's 2", n, err)
	}
	if n, err := svc.SealStoredSecrets(ctx); err != nil || n != 0 {
		t.Fatalf("SealStoredSecrets again = %d, %v; want 0", n, err)
	}
	// A gateway given another master key is told so at start.
	other, err := gateway.NewKeyring(bytes.Repeat([]byte{7}, gateway.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&gateway.Service{Store: s, Keyring: other}).SealStoredSecrets(ctx); !errors.Is(err, gateway.ErrSealed) ||
		!strings.Contains(err.Error(), other.ID()) {
		t.Errorf("SealStoredSecrets under another master key = %v, want ErrSealed naming it", err)
	}
	// The sealing is in the audit log once: a start with nothing to seal writes no line.
	if lines, _, err := s.ListAudit(ctx, gateway.AuditFilter{Action: gateway.AuditSecretsResealed, Page: 1, Limit: 10}); err != nil || len(lines) != 1 {
		t.Errorf("secrets.resealed lines = %d, %v; want 1", len(lines), err)
	}
	for _, k := range cp.Keys {
		pr, err := svc.Authenticate(ctx, k.Key)
		if err != nil {
			t.Fatal(err)
		}
		if err := pr.ProveSecret(k.Secret); err != nil {
			t.Errorf("%s secret after sealing: %v", k.Mode, err)
		}
		if err := pr.ProveSecret(k.Secret + "x"); err == nil {
			t.Errorf("%s: a wrong secret proved itself", k.Mode)
		}
	}
}
