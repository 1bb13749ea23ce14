package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stablegate/stablegate/internal/gateway"
)

// A master-key rotation seals every sealed value again under the new key in one transaction:
// before it, a keyring holding the new key and the old one reads everything; after it, the new
// key alone does and the old one reads nothing. A value no key opens stops it with nothing
// changed; run again, it changes nothing.
func testMasterKeyRotation(t *testing.T, s gateway.Store) {
	ctx := gateway.WithActor(context.Background(), gateway.Actor{Kind: gateway.ActorOperator, ID: "ops@host"})
	oldKey, newKey, strayKey := bytes.Repeat([]byte{0}, 32), bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	ring := func(keys ...[]byte) *gateway.Keyring {
		t.Helper()
		k, err := gateway.NewKeyring(keys[0], keys[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	old := service(t, s) // under oldKey
	gen, err := old.CreateProject(ctx, gateway.CreateProjectParams{Live: true, Name: "Gen", Website: "https://gen.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	_, watch := project(t, s, "https://watch.example.org") // watch-only: no seed
	// A rotated webhook secret: the current one and the one it replaced, both sealed.
	webhookSecrets := map[string]string{} // project/mode → current secret
	for _, cp := range []*gateway.CreatedProject{gen, watch} {
		for m, secret := range cp.WebhookSecrets {
			webhookSecrets[cp.Project.ID+"/"+string(m)] = secret
		}
	}
	rotated := "whsec_rotatedrotatedrotated"
	if err := s.RotateWebhookSecret(ctx, gen.Project.ID, gateway.Test, old.Keyring.SealWebhookSecret(gen.Project.ID, gateway.Test, rotated),
		testNow, testNow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	previousSecrets := map[string]string{gen.Project.ID + "/test": webhookSecrets[gen.Project.ID+"/test"]}
	webhookSecrets[gen.Project.ID+"/test"] = rotated
	// Stored answers: one sealed, one from before answers were sealed, one still running.
	answer := func(key string, body []byte, done bool) *gateway.IdempotencyRecord {
		r := &gateway.IdempotencyRecord{ProjectID: gen.Project.ID, Mode: gateway.Live, Key: key, RequestHash: "h-" + key, CreatedAt: testNow}
		if _, err := s.BeginIdempotent(ctx, r, testNow.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if done {
			r.Done, r.Status, r.Body = true, 201, body
			if err := s.FinishIdempotent(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	sealedRec := answer("sealed", nil, false)
	sealedRec.Done, sealedRec.Status, sealedRec.Body = true, 201, old.Keyring.SealAnswer(sealedRec, []byte(`{"webhookSecret":"whsec_shown_once"}`))
	if err := s.FinishIdempotent(ctx, sealedRec); err != nil {
		t.Fatal(err)
	}
	legacyRec := answer("legacy", []byte(`{"legacy":true}`), true)
	answer("running", nil, false)
	// More answers than the store reads in one page: every page is sealed again.
	const more = 600
	for i := range more {
		r := answer(fmt.Sprintf("more-%03d", i), nil, false)
		r.Done, r.Status, r.Body = true, 201, old.Keyring.SealAnswer(r, []byte(`{}`))
		if err := s.FinishIdempotent(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	rotation := func(k *gateway.Keyring) (*gateway.Rotation, error) {
		return (&gateway.Service{Store: s, Keyring: k, Now: func() time.Time { return testNow }}).RotateMasterKey(ctx)
	}
	// reads checks that the keyring opens every value, to what was sealed.
	reads := func(k *gateway.Keyring) error {
		svc := &gateway.Service{Store: s, Keyring: k, Now: func() time.Time { return testNow }}
		p, err := s.FindProject(ctx, gen.Project.ID)
		if err != nil {
			return err
		}
		if m, err := k.OpenSeed(p.ID, p.SealedSeed); err != nil || m != gen.Mnemonic {
			return errors.Join(errors.New("seed"), err)
		}
		for _, cp := range []*gateway.CreatedProject{gen, watch} {
			for _, kp := range cp.Keys {
				pr, err := svc.Authenticate(ctx, kp.Key)
				if err != nil {
					return err
				}
				if err := pr.ProveSecret(kp.Secret); err != nil {
					return err
				}
			}
			for _, m := range []gateway.Mode{gateway.Test, gateway.Live} {
				e, err := s.FindWebhookEndpoint(ctx, cp.Project.ID, m)
				if err != nil {
					return err
				}
				if got, err := k.OpenWebhookSecret(cp.Project.ID, m, e.Secret); err != nil || got != webhookSecrets[cp.Project.ID+"/"+string(m)] {
					return errors.Join(errors.New("webhook secret"), err)
				}
				if e.PreviousSecret != nil {
					if got, err := k.OpenWebhookSecret(cp.Project.ID, m, e.PreviousSecret); err != nil || got != previousSecrets[cp.Project.ID+"/"+string(m)] {
						return errors.Join(errors.New("previous webhook secret"), err)
					}
				}
			}
		}
		for _, want := range []struct {
			rec  *gateway.IdempotencyRecord
			body string
		}{{sealedRec, `{"webhookSecret":"whsec_shown_once"}`}, {legacyRec, `{"legacy":true}`}} {
			e, err := s.BeginIdempotent(ctx, want.rec, testNow.Add(-time.Hour))
			if err != nil || e == nil {
				return errors.Join(errors.New("answer"), err)
			}
			if got, err := k.OpenAnswer(e, e.Body); err != nil || string(got) != want.body {
				return errors.Join(errors.New("answer "+want.rec.Key), err)
			}
		}
		return nil
	}
	rotations := func() int {
		t.Helper()
		lines, _, err := s.ListAudit(ctx, gateway.AuditFilter{Action: gateway.AuditMasterKeyRotated, Page: 1, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return len(lines)
	}

	if err := reads(ring(oldKey)); err != nil {
		t.Fatalf("the old key before rotating: %v", err)
	}
	if err := reads(ring(newKey)); !errors.Is(err, gateway.ErrSealed) {
		t.Fatalf("the new key alone before rotating = %v, want ErrSealed", err)
	}
	// The new key with the old one reads everything: what a server runs with during the rotation.
	if err := reads(ring(newKey, oldKey)); err != nil {
		t.Fatalf("new and old key before rotating: %v", err)
	}

	// A webhook secret sealed under a key the ring does not have stops the rotation, with nothing
	// changed: the old key still reads the seed, the new one alone does not.
	stray := ring(strayKey).SealWebhookSecret(watch.Project.ID, gateway.Live, "whsec_stray")
	strayUntil := testNow.Add(time.Hour)
	if err := s.RotateWebhookSecret(ctx, watch.Project.ID, gateway.Live, stray, testNow, strayUntil); err != nil {
		t.Fatal(err)
	}
	if _, err := rotation(ring(newKey, oldKey)); !errors.Is(err, gateway.ErrSealed) || !strings.Contains(err.Error(), watch.Project.ID+" (live)") {
		t.Fatalf("rotation with a value no key opens = %v, want ErrSealed naming it", err)
	}
	if n := rotations(); n != 0 {
		t.Fatalf("a failed rotation wrote %d audit lines", n)
	}
	p, _ := s.FindProject(ctx, gen.Project.ID)
	if _, err := ring(newKey).OpenSeed(p.ID, p.SealedSeed); !errors.Is(err, gateway.ErrSealed) {
		t.Fatalf("a failed rotation sealed the seed under the new key: %v", err)
	}
	// Put back a secret the old key sealed (the stray one moves to previous, so rotate twice).
	for range 2 {
		watchLive := old.Keyring.SealWebhookSecret(watch.Project.ID, gateway.Live, webhookSecrets[watch.Project.ID+"/live"])
		if err := s.RotateWebhookSecret(ctx, watch.Project.ID, gateway.Live, watchLive, testNow, strayUntil); err != nil {
			t.Fatal(err)
		}
	}
	previousSecrets[watch.Project.ID+"/live"] = webhookSecrets[watch.Project.ID+"/live"]

	r, err := rotation(ring(newKey, oldKey))
	if err != nil {
		t.Fatal(err)
	}
	// One seed (the watch-only project has none), four API secrets, six webhook secrets (four
	// current, two previous), two answers and the many (the running one has none).
	want := map[gateway.SealedKind]int{gateway.SealedSeed: 1, gateway.SealedAPISecret: 4, gateway.SealedWebhookSecret: 6, gateway.SealedAnswer: 2 + more}
	for _, k := range gateway.SealedKinds {
		if r.Resealed[k] != want[k] || r.Checked[k] != want[k] {
			t.Errorf("%s: checked %d, resealed %d; want %d", k, r.Checked[k], r.Resealed[k], want[k])
		}
	}
	if r.KeyID != gateway.KeyID(newKey) || len(r.PreviousKeyIDs) != 1 || r.PreviousKeyIDs[0] != gateway.KeyID(oldKey) {
		t.Errorf("rotation ids = %s from %v", r.KeyID, r.PreviousKeyIDs)
	}
	for _, want := range []struct {
		keys [][]byte
		err  error
	}{{[][]byte{newKey}, nil}, {[][]byte{newKey, oldKey}, nil}, {[][]byte{oldKey}, gateway.ErrSealed}} {
		if err := reads(ring(want.keys...)); !errors.Is(err, want.err) {
			t.Errorf("after rotating, %d key(s) from %s: %v, want %v", len(want.keys), gateway.KeyID(want.keys[0]), err, want.err)
		}
	}
	if e, _ := s.BeginIdempotent(ctx, legacyRec, testNow.Add(-time.Hour)); e == nil || !gateway.IsSealedAnswer(e.Body) {
		t.Errorf("the answer stored in clear was not sealed: %+v", e)
	}
	// The rotation is in the audit log, by its actor, with what it did and never a secret.
	lines, _, err := s.ListAudit(ctx, gateway.AuditFilter{Action: gateway.AuditMasterKeyRotated, Page: 1, Limit: 10})
	if err != nil || len(lines) != 1 {
		t.Fatalf("master_key.rotated lines = %d, %v; want 1", len(lines), err)
	}
	l := lines[0]
	if l.Actor.Kind != gateway.ActorOperator || l.Actor.ID != "ops@host" || l.ProjectID != "" || l.Subject != gateway.KeyID(newKey) ||
		l.Details["keyId"] != gateway.KeyID(newKey) {
		t.Errorf("audit line = %+v", l)
	}
	if resealed, _ := l.Details["resealed"].(map[string]any); len(resealed) != 4 || resealed["webhookSecrets"] != float64(6) {
		t.Errorf("audit line's resealed = %#v", l.Details["resealed"])
	}
	// Run again, it finds every value under the new key: nothing changes, no line is written.
	r, err = rotation(ring(newKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range gateway.SealedKinds {
		if r.Resealed[k] != 0 || r.Checked[k] != want[k] {
			t.Errorf("again, %s: checked %d, resealed %d; want %d, 0", k, r.Checked[k], r.Resealed[k], want[k])
		}
	}
	if n := rotations(); n != 1 {
		t.Errorf("a rotation that changed nothing wrote a line: %d", n)
	}
}
