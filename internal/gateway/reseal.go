package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SealedKind is a kind of value stored sealed with the master key.
type SealedKind string

// The values the master key seals, each bound (by its additional data) to its owner.
const (
	SealedSeed          SealedKind = "seeds"          // a project's HD seed, bound to the project
	SealedAPISecret     SealedKind = "apiSecrets"     // an API key's secret hash, bound to the key
	SealedWebhookSecret SealedKind = "webhookSecrets" // a webhook secret (and the one it replaced, during the overlap), bound to project and mode
	SealedAnswer        SealedKind = "answers"        // a stored Idempotency-Key answer, bound to project, mode and key
	SealedTOTP          SealedKind = "totpSecrets"    // a dashboard user's two-factor secret (and one being enrolled), bound to the user
)

// SealedKinds are every kind of sealed value, in the order a rotation reports them.
var SealedKinds = []SealedKind{SealedSeed, SealedAPISecret, SealedWebhookSecret, SealedAnswer, SealedTOTP}

// SealedValue is one stored sealed value and the owner its seal is bound to.
type SealedValue struct {
	Kind      SealedKind
	ProjectID string // seeds, webhook secrets, answers
	Mode      Mode   // webhook secrets, answers
	ID        string // the API key's id (API secrets), the Idempotency-Key (answers), the user's (TOTP secrets)
	Stored    []byte
}

func (v *SealedValue) String() string {
	switch v.Kind {
	case SealedSeed:
		return "the seed of project " + v.ProjectID
	case SealedAPISecret:
		return "the secret of API key " + v.ID
	case SealedWebhookSecret:
		return fmt.Sprintf("a webhook secret of project %s (%s)", v.ProjectID, v.Mode)
	case SealedTOTP:
		return "the two-factor secret of dashboard user " + v.ID
	default:
		return fmt.Sprintf("the stored answer of Idempotency-Key %q of project %s (%s)", v.ID, v.ProjectID, v.Mode)
	}
}

func (v *SealedValue) additional() []byte {
	switch v.Kind {
	case SealedSeed:
		return []byte(v.ProjectID)
	case SealedAPISecret:
		return apiSecretAAD(v.ID)
	case SealedWebhookSecret:
		return secretAAD(v.ProjectID, v.Mode)
	case SealedTOTP:
		return totpAAD(v.ID)
	default:
		return answerAAD(v.ProjectID, v.Mode, v.ID)
	}
}

// SealSeed seals a project's recovery phrase for storage.
func (k *Keyring) SealSeed(projectID, mnemonic string) []byte {
	return k.Seal([]byte(mnemonic), []byte(projectID))
}

// OpenSeed returns the recovery phrase SealSeed sealed.
func (k *Keyring) OpenSeed(projectID string, sealed []byte) (string, error) {
	b, err := k.Open(sealed, []byte(projectID))
	return string(b), err
}

// A stored answer is sealedAnswer followed by the sealed body in base64 (the column is text); an
// answer without the prefix was stored before answers were sealed.
const sealedAnswer = "sealed:"

// IsSealedAnswer reports whether a stored answer is sealed.
func IsSealedAnswer(stored []byte) bool { return bytes.HasPrefix(stored, []byte(sealedAnswer)) }

func answerAAD(projectID string, mode Mode, key string) []byte {
	return []byte(projectID + "\x00" + string(mode) + "\x00" + key)
}

// SealAnswer seals the answer stored under an Idempotency-Key: some carry a secret shown once (a
// rotated webhook secret), others the merchant's metadata, and a database travels to backups.
func (k *Keyring) SealAnswer(rec *IdempotencyRecord, body []byte) []byte {
	return k.sealAnswer(answerAAD(rec.ProjectID, rec.Mode, rec.Key), body)
}

func (k *Keyring) sealAnswer(additional, body []byte) []byte {
	return []byte(sealedAnswer + base64.StdEncoding.EncodeToString(k.Seal(body, additional)))
}

// OpenAnswer returns the answer SealAnswer sealed, or an answer stored before they were sealed
// as it is.
func (k *Keyring) OpenAnswer(rec *IdempotencyRecord, stored []byte) ([]byte, error) {
	body, _, err := k.openAnswer(answerAAD(rec.ProjectID, rec.Mode, rec.Key), stored)
	return body, err
}

func (k *Keyring) openAnswer(additional, stored []byte) (body []byte, current bool, err error) {
	b64, ok := bytes.CutPrefix(stored, []byte(sealedAnswer))
	if !ok {
		return stored, false, nil
	}
	sealed, err := base64.StdEncoding.DecodeString(string(b64))
	if err != nil {
		return nil, false, fmt.Errorf("idempotent answer: %w", ErrSealed)
	}
	return k.open(sealed, additional)
}

// reseal returns v sealed under the current master key, and false when it already is. A value
// in clear from before such values were sealed (an API secret hash, an answer) is sealed; one
// that no key of the ring opens is an error.
func (k *Keyring) reseal(v *SealedValue) ([]byte, bool, error) {
	aad := v.additional()
	switch v.Kind {
	case SealedAPISecret:
		if !IsSealedSecret(v.Stored) {
			return k.SealSecretHash(v.ID, v.Stored), true, nil
		}
	case SealedAnswer:
		body, current, err := k.openAnswer(aad, v.Stored)
		if err != nil || current {
			return nil, false, err
		}
		return k.sealAnswer(aad, body), true, nil
	}
	plain, current, err := k.open(v.Stored, aad)
	if err != nil || current {
		return nil, false, err
	}
	return k.Seal(plain, aad), true, nil
}

// Rotation is what RotateMasterKey did.
type Rotation struct {
	KeyID          string             // of the master key everything is now sealed under
	PreviousKeyIDs []string           // of the previous keys it opened with
	Checked        map[SealedKind]int // values read, per kind
	Resealed       map[SealedKind]int // of those, sealed again under the master key
}

// RotateMasterKey seals again, under the keyring's current master key, every stored value that
// a previous key of the ring sealed (and any secret still stored in clear), in one transaction:
// until it commits, everything stays as the previous key sealed it and readable with it. A value
// that no key of the ring opens stops the rotation with nothing changed. It writes one
// master_key.rotated line to the audit log when it changed anything; run again, it changes
// nothing, which makes it the check that no value still needs a previous key.
func (s *Service) RotateMasterKey(ctx context.Context) (*Rotation, error) {
	if s.Keyring == nil {
		return nil, errors.New("rotate the master key: no master key")
	}
	r := &Rotation{KeyID: s.Keyring.ID(), PreviousKeyIDs: s.Keyring.PreviousIDs(),
		Checked: map[SealedKind]int{}, Resealed: map[SealedKind]int{}}
	resealed := map[string]int{}
	ctx = s.audited(ctx, "", "", AuditMasterKeyRotated, r.KeyID, map[string]any{"keyId": r.KeyID, "previousKeyIds": r.PreviousKeyIDs,
		"resealed": resealed})
	_, err := s.Store.ResealStored(ctx, SealedKinds, func(v *SealedValue) ([]byte, bool, error) {
		r.Checked[v.Kind]++
		sealed, changed, err := s.Keyring.reseal(v)
		if err != nil {
			if len(r.PreviousKeyIDs) == 0 {
				return nil, false, fmt.Errorf("%s does not open with master key %s, and no previous master key is configured (%w); nothing was sealed again",
					v, r.KeyID, ErrSealed)
			}
			return nil, false, fmt.Errorf("%s opens with neither master key %s nor previous master key %s (%w); nothing was sealed again",
				v, r.KeyID, strings.Join(r.PreviousKeyIDs, ", "), ErrSealed)
		}
		if changed {
			r.Resealed[v.Kind]++
			resealed[string(v.Kind)]++
		}
		return sealed, changed, nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// SealStoredSecrets seals every API secret hash stored in clear, before hashes were sealed, and
// checks that the keyring opens the others: cmd runs it at start, so that a gateway given the wrong
// master key refuses to start instead of failing every request. It leaves what a previous master
// key sealed to RotateMasterKey.
func (s *Service) SealStoredSecrets(ctx context.Context) (int, error) {
	if s.Keyring == nil {
		return 0, errors.New("seal api secrets: no master key")
	}
	ctx = s.audited(ctx, "", "", AuditSecretsResealed, "", map[string]any{"reason": "api secret hashes sealed under the master key"})
	return s.Store.ResealStored(ctx, []SealedKind{SealedAPISecret}, func(v *SealedValue) ([]byte, bool, error) {
		if !IsSealedSecret(v.Stored) {
			return s.Keyring.SealSecretHash(v.ID, v.Stored), true, nil
		}
		if _, err := s.Keyring.OpenSecretHash(v.ID, v.Stored); err != nil {
			hint := "is this the master key the database was sealed with? During a rotation, give the key being replaced as STABLEGATE_PREVIOUS_MASTER_KEY (or --previous-master-key-file)"
			return nil, false, fmt.Errorf("%s does not open with master key %s (%w): %s", v, s.Keyring.ID(), ErrSealed, hint)
		}
		return nil, false, nil
	})
}
