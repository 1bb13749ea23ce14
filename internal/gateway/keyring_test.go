package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stablegate/stablegate/internal/gateway"
)

func keyring(t *testing.T, keys ...[]byte) *gateway.Keyring {
	t.Helper()
	k, err := gateway.NewKeyring(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var (
	oldMaster = bytes.Repeat([]byte{0xa1}, gateway.MasterKeySize)
	newMaster = bytes.Repeat([]byte{0xb2}, gateway.MasterKeySize)
)

// A keyring seals under its master key only and opens with it or a previous one.
func TestKeyringPreviousKeys(t *testing.T) {
	for _, bad := range [][][]byte{{oldMaster[:31]}, {oldMaster, newMaster[:16]}, {oldMaster, oldMaster}, {oldMaster, newMaster, newMaster}} {
		if _, err := gateway.NewKeyring(bad[0], bad[1:]...); err == nil {
			t.Errorf("NewKeyring(%d keys of %d bytes, …) accepted", len(bad), len(bad[len(bad)-1]))
		}
	}
	old, rotating, fresh := keyring(t, oldMaster), keyring(t, newMaster, oldMaster), keyring(t, newMaster)
	if rotating.ID() != gateway.KeyID(newMaster) || !slices.Equal(rotating.PreviousIDs(), []string{gateway.KeyID(oldMaster)}) ||
		old.ID() == fresh.ID() || len(old.ID()) != 16 || strings.Contains(old.ID(), "a1a1") {
		t.Errorf("ids: old %s, rotating %s from %v, fresh %s", old.ID(), rotating.ID(), rotating.PreviousIDs(), fresh.ID())
	}
	byOld := old.Seal([]byte("phrase"), []byte("prj_1"))
	if got, err := rotating.Open(byOld, []byte("prj_1")); err != nil || string(got) != "phrase" {
		t.Errorf("the rotating ring opens the old key's seal = %q, %v", got, err)
	}
	if _, err := fresh.Open(byOld, []byte("prj_1")); !errors.Is(err, gateway.ErrSealed) {
		t.Errorf("the new key alone opens the old key's seal: %v", err)
	}
	if _, err := rotating.Open(byOld, []byte("prj_2")); !errors.Is(err, gateway.ErrSealed) {
		t.Errorf("a seal moved to another owner opens: %v", err)
	}
	byRotating := rotating.Seal([]byte("phrase"), []byte("prj_1"))
	if _, err := fresh.Open(byRotating, []byte("prj_1")); err != nil {
		t.Errorf("the rotating ring does not seal under the new key: %v", err)
	}
	if _, err := old.Open(byRotating, []byte("prj_1")); !errors.Is(err, gateway.ErrSealed) {
		t.Errorf("the rotating ring sealed under the old key")
	}
}

// sealedStore holds sealed values in memory and changes them all or none, as the store's
// transaction does.
type sealedStore struct {
	gateway.Store
	values []gateway.SealedValue
}

func (m *sealedStore) ResealStored(_ context.Context, kinds []gateway.SealedKind, reseal func(*gateway.SealedValue) ([]byte, bool, error)) (int, error) {
	next, n := slices.Clone(m.values), 0
	for i := range next {
		if !slices.Contains(kinds, next[i].Kind) {
			continue
		}
		v := next[i]
		sealed, changed, err := reseal(&v)
		if err != nil {
			return 0, err
		}
		if changed {
			next[i].Stored, n = sealed, n+1
		}
	}
	m.values = next
	return n, nil
}

// RotateMasterKey seals again what a previous key sealed and what was stored in clear, leaves what
// the master key sealed, and stops at a value no key opens with nothing changed.
func TestRotateMasterKey(t *testing.T) {
	ctx := context.Background()
	old, rotating := keyring(t, oldMaster), keyring(t, newMaster, oldMaster)
	hash := gateway.HashSecret("sk_test_x")
	rec := &gateway.IdempotencyRecord{ProjectID: "prj_1", Mode: gateway.Live, Key: "k"}
	st := &sealedStore{values: []gateway.SealedValue{
		{Kind: gateway.SealedSeed, ProjectID: "prj_1", Stored: old.SealSeed("prj_1", "phrase one")},
		{Kind: gateway.SealedSeed, ProjectID: "prj_2", Stored: rotating.SealSeed("prj_2", "phrase two")}, // already under the new key
		{Kind: gateway.SealedAPISecret, ID: "key_1", Stored: old.SealSecretHash("key_1", hash)},
		{Kind: gateway.SealedAPISecret, ID: "key_2", Stored: hash}, // in clear, from before hashes were sealed
		{Kind: gateway.SealedWebhookSecret, ProjectID: "prj_1", Mode: gateway.Test, Stored: old.SealWebhookSecret("prj_1", gateway.Test, "whsec_1")},
		{Kind: gateway.SealedAnswer, ProjectID: "prj_1", Mode: gateway.Live, ID: "k", Stored: old.SealAnswer(rec, []byte(`{"a":1}`))},
		{Kind: gateway.SealedAnswer, ProjectID: "prj_1", Mode: gateway.Live, ID: "clear", Stored: []byte(`{"b":2}`)},
	}}
	svc := &gateway.Service{Store: st, Keyring: rotating}
	r, err := svc.RotateMasterKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[gateway.SealedKind][2]int{gateway.SealedSeed: {2, 1}, gateway.SealedAPISecret: {2, 2}, gateway.SealedWebhookSecret: {1, 1},
		gateway.SealedAnswer: {2, 2}}
	for k, w := range want {
		if r.Checked[k] != w[0] || r.Resealed[k] != w[1] {
			t.Errorf("%s: checked %d, resealed %d; want %v", k, r.Checked[k], r.Resealed[k], w)
		}
	}
	fresh := keyring(t, newMaster)
	v := st.values
	if m, err := fresh.OpenSeed("prj_1", v[0].Stored); err != nil || m != "phrase one" {
		t.Errorf("seed = %q, %v", m, err)
	}
	for i, id := range []string{"key_1", "key_2"} {
		if h, err := fresh.OpenSecretHash(id, v[2+i].Stored); err != nil || !bytes.Equal(h, hash) || !gateway.IsSealedSecret(v[2+i].Stored) {
			t.Errorf("api secret %s = %x, %v", id, h, err)
		}
	}
	if s, err := fresh.OpenWebhookSecret("prj_1", gateway.Test, v[4].Stored); err != nil || s != "whsec_1" {
		t.Errorf("webhook secret = %q, %v", s, err)
	}
	inClear := &gateway.IdempotencyRecord{ProjectID: "prj_1", Mode: gateway.Live, Key: "clear"}
	if a, err := fresh.OpenAnswer(rec, v[5].Stored); err != nil || string(a) != `{"a":1}` {
		t.Errorf("answer = %s, %v", a, err)
	}
	if a, err := fresh.OpenAnswer(inClear, v[6].Stored); err != nil || string(a) != `{"b":2}` || !gateway.IsSealedAnswer(v[6].Stored) {
		t.Errorf("answer stored in clear = %s, %v", a, err)
	}
	// Again: nothing left to seal.
	if r, err := svc.RotateMasterKey(ctx); err != nil || r.Resealed[gateway.SealedSeed]+r.Resealed[gateway.SealedAPISecret]+
		r.Resealed[gateway.SealedWebhookSecret]+r.Resealed[gateway.SealedAnswer] != 0 {
		t.Errorf("second rotation = %+v, %v", r, err)
	}

	// A seal moved to another row (project prj_1's seed stored as prj_3's) opens with no key: the
	// rotation names it and changes nothing.
	st.values = append(st.values, gateway.SealedValue{Kind: gateway.SealedSeed, ProjectID: "prj_3", Stored: old.SealSeed("prj_1", "phrase one")})
	st.values[0].Stored = old.SealSeed("prj_1", "phrase one")
	before := slices.Clone(st.values)
	if _, err := svc.RotateMasterKey(ctx); !errors.Is(err, gateway.ErrSealed) || !strings.Contains(err.Error(), "seed of project prj_3") {
		t.Errorf("rotation over a value no key opens = %v", err)
	}
	if !slices.EqualFunc(before, st.values, func(a, b gateway.SealedValue) bool { return bytes.Equal(a.Stored, b.Stored) }) {
		t.Error("a failed rotation changed values")
	}
}
