package gateway

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// lower-case base32 without padding: URL- and copy-paste-safe, and in ASCII order, so that
// encoded strings sort like the bytes they encode.
var idEncoding = base32.NewEncoding("234567abcdefghijklmnopqrstuvwxyz").WithPadding(base32.NoPadding)

// randomToken returns n random bytes encoded as lower-case base32.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the OS has no randomness; nothing is safe
	}
	return idEncoding.EncodeToString(b)
}

// NewID returns a fresh identifier with a type prefix, e.g. "ord_…": 48 bits of the current Unix
// millisecond, then 72 random bits. Identifiers made later sort later, so new rows append to
// their indexes instead of landing on random pages.
func NewID(prefix string) string {
	b := make([]byte, 15)
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	if _, err := rand.Read(b[6:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return prefix + "_" + idEncoding.EncodeToString(b)
}

// The lengths of generated credentials. A secret is longer than SHA-256's 64-byte block, so
// HMAC-SHA256 keyed with the secret equals HMAC-SHA256 keyed with SHA-256(secret) (RFC 2104 hashes
// long keys first): the X-Signature proof can be checked against SHA-256(secret), and the secret
// itself is never stored. That hash proves as much as the secret, so it is stored sealed with the
// master key (SealSecretHash): a copy of the database alone proves nothing.
const (
	keyRandomBytes    = 20 // 32 base32 characters
	secretRandomBytes = 40 // 64 base32 characters: "sk_test_" + 64 = 72 bytes > 64
)

// NewKeyPair returns a fresh API key and secret for the mode: pk_test_…/sk_test_… or
// pk_live_…/sk_live_….
func NewKeyPair(m Mode) (key, secret string) {
	return "pk_" + string(m) + "_" + randomToken(keyRandomBytes), "sk_" + string(m) + "_" + randomToken(secretRandomBytes)
}

// HashKey returns the lookup hash of an API key (hex SHA-256). Keys carry 160 random bits, so a
// fast hash is enough: there is nothing to brute-force.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// HashSecret returns SHA-256 of an API secret: what is stored, and the HMAC key for X-Signature.
func HashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// A sealed secret hash is nonce (12) || SHA-256 (32) || tag (16); a stored value of 32 bytes is a
// hash kept before hashes were sealed (SealStoredSecrets seals it at startup).
const sealedSecretLen = 12 + sha256.Size + 16

func apiSecretAAD(credentialID string) []byte { return []byte("api-secret\x00" + credentialID) }

// SealSecretHash seals a credential's secret hash for storage, bound to the credential's id.
func (k *Keyring) SealSecretHash(credentialID string, hash []byte) []byte {
	return k.Seal(hash, apiSecretAAD(credentialID))
}

// OpenSecretHash returns the secret hash that SealSecretHash sealed (or a legacy hash as it is).
func (k *Keyring) OpenSecretHash(credentialID string, stored []byte) ([]byte, error) {
	if len(stored) == sha256.Size {
		return stored, nil
	}
	return k.Open(stored, apiSecretAAD(credentialID))
}

// IsSealedSecret reports whether a stored secret hash is sealed.
func IsSealedSecret(stored []byte) bool { return len(stored) == sealedSecretLen }

// SecretMatches compares a presented secret with the stored hash in constant time.
func SecretMatches(presented string, hash []byte) bool {
	sum := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(sum[:], hash) == 1
}

// SignatureMatches checks an X-Signature (hex HMAC-SHA256 of the raw body, keyed with the API
// secret) against the stored secret hash, in constant time.
func SignatureMatches(signatureHex string, body, secretHash []byte) bool {
	got, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(signatureHex), "sha256="))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secretHash)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// KeyHint is how a key is shown after creation: its prefix and last four characters.
func KeyHint(key string) string {
	if len(key) < 16 {
		return "…"
	}
	return key[:12] + "…" + key[len(key)-4:]
}

// Keyring seals the secrets stablegate must be able to read back (HD seeds, webhook secrets,
// API secret hashes, stored answers) with AES-256-GCM under the operator's master key. During a
// master-key rotation it also holds the previous keys: it seals with the current key only, and
// opens with any of them, so what the old key sealed stays readable until RotateMasterKey has
// sealed it again.
type Keyring struct {
	aead     cipher.AEAD
	previous []cipher.AEAD
	ids      []string // of the current key, then of each previous one
}

// MasterKeySize is the length of the master key in bytes.
const MasterKeySize = 32

// NewKeyring returns a keyring for a 32-byte master key, which seals, and the previous master
// keys of a rotation, which only open.
func NewKeyring(master []byte, previous ...[]byte) (*Keyring, error) {
	k := &Keyring{}
	for i, key := range append([][]byte{master}, previous...) {
		name := "master key"
		if i > 0 {
			name = "previous master key"
		}
		if len(key) != MasterKeySize {
			return nil, fmt.Errorf("%s: want %d bytes, got %d", name, MasterKeySize, len(key))
		}
		id := KeyID(key)
		if slices.Contains(k.ids, id) {
			return nil, fmt.Errorf("%s: it is the master key itself (or given twice)", name)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if i == 0 {
			k.aead = aead
		} else {
			k.previous = append(k.previous, aead)
		}
		k.ids = append(k.ids, id)
	}
	return k, nil
}

// KeyID names a master key without revealing it: the first 16 hex digits of a SHA-256 of the key
// under a label. An operator compares it with `stablegate keys rotate-master`'s report to tell
// which key is which; it proves nothing about the key's bytes.
func KeyID(master []byte) string {
	sum := sha256.Sum256(append([]byte("stablegate master key id\x00"), master...))
	return hex.EncodeToString(sum[:8])
}

// ID is the KeyID of the current master key.
func (k *Keyring) ID() string { return k.ids[0] }

// PreviousIDs are the KeyIDs of the previous master keys, which only open.
func (k *Keyring) PreviousIDs() []string { return slices.Clone(k.ids[1:]) }

// Seal encrypts plaintext under the current master key; the result is nonce || ciphertext || tag.
// The additional data binds the ciphertext to its owner (a project id), so it cannot be moved to
// another row.
func (k *Keyring) Seal(plaintext, additional []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return k.aead.Seal(nonce, nonce, plaintext, additional)
}

// ErrSealed is returned when a sealed value cannot be opened: wrong master key or tampering.
var ErrSealed = errors.New("cannot decrypt: wrong master key or corrupted data")

// Open decrypts what Seal returned, under the current master key or a previous one.
func (k *Keyring) Open(sealed, additional []byte) ([]byte, error) {
	out, _, err := k.open(sealed, additional)
	return out, err
}

// open decrypts what Seal returned and reports whether the current master key sealed it.
func (k *Keyring) open(sealed, additional []byte) (plaintext []byte, current bool, err error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return nil, false, ErrSealed
	}
	if out, err := k.aead.Open(nil, sealed[:n], sealed[n:], additional); err == nil {
		return out, true, nil
	}
	for _, aead := range k.previous {
		if out, err := aead.Open(nil, sealed[:n], sealed[n:], additional); err == nil {
			return out, false, nil
		}
	}
	return nil, false, ErrSealed
}
