package protocol

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// KeyID names a public key: the first 8 bytes of SHA-256 of the 32-byte
// Ed25519 public key. It is printed as 16 hex digits.
type KeyID [8]byte

func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// KeyIDOf returns the id of a public key.
func KeyIDOf(pub ed25519.PublicKey) KeyID {
	s := sha256.Sum256(pub)
	var id KeyID
	copy(id[:], s[:])
	return id
}

// Signer signs messages with an HQ private key.
type Signer struct {
	key ed25519.PrivateKey
	id  KeyID
}

// NewSigner wraps an Ed25519 private key.
func NewSigner(key ed25519.PrivateKey) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("new signer: private key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	return &Signer{key: key, id: KeyIDOf(key.Public().(ed25519.PublicKey))}, nil
}

// GenerateSigner makes a new key pair from rand (crypto/rand.Reader in
// production).
func GenerateSigner(rand io.Reader) (*Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return NewSigner(priv)
}

// ID returns the signer's key id.
func (s *Signer) ID() KeyID { return s.id }

// Public returns the signer's public key.
func (s *Signer) Public() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

const (
	publicPrefix  = "ed25519:"
	privatePrefix = "ed25519-private:"
)

// FormatPrivateKey returns the text form of the signer's key:
// "ed25519-private:<base64 of the 32-byte seed>". Whoever holds it can
// sign for HQ.
func (s *Signer) FormatPrivateKey() string {
	return privatePrefix + base64.StdEncoding.EncodeToString(s.key.Seed())
}

// ParsePrivateKey reads what FormatPrivateKey wrote (surrounding white
// space is ignored).
func ParsePrivateKey(text string) (*Signer, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(text), privatePrefix)
	if !ok {
		return nil, fmt.Errorf("parse private key: want %q followed by base64", privatePrefix)
	}
	seed, err := base64.StdEncoding.Strict().DecodeString(rest)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("parse private key: want the base64 of a %d-byte seed", ed25519.SeedSize)
	}
	return NewSigner(ed25519.NewKeyFromSeed(seed))
}

// FormatPublicKey returns "ed25519:<base64 of the 32-byte key>".
func FormatPublicKey(pub ed25519.PublicKey) string {
	return publicPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads what FormatPublicKey wrote.
func ParsePublicKey(text string) (ed25519.PublicKey, error) {
	rest, ok := strings.CutPrefix(text, publicPrefix)
	if !ok {
		return nil, fmt.Errorf("want %q followed by base64", publicPrefix)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(rest)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("want the base64 of a %d-byte key", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// TrustedKey is an HQ public key a post accepts signatures from, with an
// optional validity window (a zero time means unbounded on that side).
type TrustedKey struct {
	Public    ed25519.PublicKey
	NotBefore time.Time
	NotAfter  time.Time
}

// ID returns the key's id.
func (k TrustedKey) ID() KeyID { return KeyIDOf(k.Public) }

// ValidAt reports whether the key may sign at time t.
func (k TrustedKey) ValidAt(t time.Time) error {
	if !k.NotBefore.IsZero() && t.Before(k.NotBefore) {
		return fmt.Errorf("%w: key %s is valid from %s, now is %s", ErrKeyNotValid, k.ID(), k.NotBefore.Format(time.RFC3339), t.Format(time.RFC3339))
	}
	if !k.NotAfter.IsZero() && !t.Before(k.NotAfter) {
		return fmt.Errorf("%w: key %s expired at %s, now is %s", ErrKeyNotValid, k.ID(), k.NotAfter.Format(time.RFC3339), t.Format(time.RFC3339))
	}
	return nil
}

func (k TrustedKey) same(o TrustedKey) bool {
	return bytes.Equal(k.Public, o.Public) && k.NotBefore.Equal(o.NotBefore) && k.NotAfter.Equal(o.NotAfter)
}

// KeySet is the set of HQ public keys a post trusts. It is safe for
// concurrent use.
//
// Text form (ParseKeySet, Format), one key per line:
//
//	# comment; blank lines are ignored
//	ed25519:<base64 of 32 bytes> [not-before=<RFC 3339>] [not-after=<RFC 3339>]
type KeySet struct {
	mu   sync.RWMutex
	keys map[KeyID]TrustedKey
}

// NewKeySet returns a set holding keys.
func NewKeySet(keys ...TrustedKey) (*KeySet, error) {
	ks := &KeySet{keys: make(map[KeyID]TrustedKey, len(keys))}
	for _, k := range keys {
		if err := ks.Add(k); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

// Add trusts a key. Adding a key that is present with the same dates is a
// no-op; with other dates it is ErrConflict.
func (ks *KeySet) Add(k TrustedKey) error {
	if len(k.Public) != ed25519.PublicKeySize {
		return fmt.Errorf("add key: public key is %d bytes, want %d", len(k.Public), ed25519.PublicKeySize)
	}
	if !k.NotBefore.IsZero() && !k.NotAfter.IsZero() && !k.NotAfter.After(k.NotBefore) {
		return fmt.Errorf("add key %s: not-after %s is not after not-before %s", k.ID(), k.NotAfter.Format(time.RFC3339), k.NotBefore.Format(time.RFC3339))
	}
	k.Public = slices.Clone(k.Public)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if old, ok := ks.keys[k.ID()]; ok {
		if old.same(k) {
			return nil
		}
		return fmt.Errorf("add key %s: %w: already trusted with other dates", k.ID(), ErrConflict)
	}
	ks.keys[k.ID()] = k
	return nil
}

// Lookup returns the trusted key with id.
func (ks *KeySet) Lookup(id KeyID) (TrustedKey, bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	k, ok := ks.keys[id]
	return k, ok
}

// Keys returns the trusted keys sorted by id.
func (ks *KeySet) Keys() []TrustedKey {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	out := make([]TrustedKey, 0, len(ks.keys))
	for _, k := range ks.keys {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b TrustedKey) int {
		ia, ib := a.ID(), b.ID()
		return bytes.Compare(ia[:], ib[:])
	})
	return out
}

// Format returns the set in its text form, sorted by key id.
func (ks *KeySet) Format() string {
	var b strings.Builder
	for _, k := range ks.Keys() {
		fmt.Fprintf(&b, "%s", FormatPublicKey(k.Public))
		if !k.NotBefore.IsZero() {
			fmt.Fprintf(&b, " not-before=%s", k.NotBefore.UTC().Format(time.RFC3339))
		}
		if !k.NotAfter.IsZero() {
			fmt.Fprintf(&b, " not-after=%s", k.NotAfter.UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(&b, " # %s\n", k.ID())
	}
	return b.String()
}

// maxKeySetLine bounds one line of the text form.
const maxKeySetLine = 1024

// ParseKeySet reads the text form. Errors name the line.
func ParseKeySet(r io.Reader) (*KeySet, error) {
	ks := &KeySet{keys: map[KeyID]TrustedKey{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxKeySetLine)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		fail := func(err error) (*KeySet, error) {
			return nil, &DecodeError{Message: "key set", Field: fmt.Sprintf("line %d", line), Err: err}
		}
		pub, err := ParsePublicKey(fields[0])
		if err != nil {
			return fail(err)
		}
		k := TrustedKey{Public: pub}
		for _, f := range fields[1:] {
			name, val, _ := strings.Cut(f, "=")
			t, err := time.Parse(time.RFC3339, val)
			if err != nil && (name == "not-before" || name == "not-after") {
				return fail(fmt.Errorf("%s: want an RFC 3339 time, got %q", name, val))
			}
			switch name {
			case "not-before":
				k.NotBefore = t.UTC()
			case "not-after":
				k.NotAfter = t.UTC()
			default:
				return fail(fmt.Errorf("unknown attribute %q (want not-before= or not-after=)", f))
			}
		}
		if err := ks.Add(k); err != nil {
			return fail(err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &DecodeError{Message: "key set", Field: fmt.Sprintf("line %d", line+1), Err: err}
	}
	if len(ks.keys) == 0 {
		return nil, &DecodeError{Message: "key set", Field: "keys", Err: errors.New("no keys: a post must trust at least one HQ key")}
	}
	return ks, nil
}

// KeyRotation announces a new HQ key, signed by a key the post already
// trusts. The new key is trusted from NotBefore until NotAfter.
type KeyRotation struct {
	NewKey    ed25519.PublicKey
	NotBefore time.Time
	NotAfter  time.Time
	IssuedAt  time.Time
}

// Key rotation payload, v1:
//
//	new_key     32 bytes
//	not_before  uvarint unix seconds
//	not_after   uvarint unix seconds, > not_before
//	issued_at   uvarint unix seconds

// EncodeKeyRotation returns the payload of a rotation statement.
func EncodeKeyRotation(r *KeyRotation) ([]byte, error) {
	if len(r.NewKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("encode key rotation: new key is %d bytes, want %d", len(r.NewKey), ed25519.PublicKeySize)
	}
	for _, c := range []struct {
		n string
		t time.Time
	}{{"not_before", r.NotBefore}, {"not_after", r.NotAfter}, {"issued_at", r.IssuedAt}} {
		if err := checkTime(c.n, c.t); err != nil {
			return nil, fmt.Errorf("encode key rotation: %w", err)
		}
	}
	if !r.NotAfter.After(r.NotBefore) {
		return nil, fmt.Errorf("encode key rotation: not_after is not after not_before")
	}
	e := enc{b: make([]byte, 0, 48)}
	e.raw(r.NewKey)
	e.time(r.NotBefore)
	e.time(r.NotAfter)
	e.time(r.IssuedAt)
	return e.b, nil
}

// DecodeKeyRotation parses a rotation payload. Call it only on a payload
// KeySet.Open returned.
func DecodeKeyRotation(p []byte) (*KeyRotation, error) {
	d := dec{msg: "key rotation", b: p}
	r := &KeyRotation{}
	r.NewKey = ed25519.PublicKey(slices.Clone(d.take("new_key", ed25519.PublicKeySize)))
	r.NotBefore = d.time("not_before")
	r.NotAfter = d.timeAfter("not_after", r.NotBefore, "not_before")
	r.IssuedAt = d.time("issued_at")
	if err := d.end(); err != nil {
		return nil, err
	}
	return r, nil
}

// SealKeyRotation signs a rotation statement.
func SealKeyRotation(s *Signer, r *KeyRotation) ([]byte, error) {
	p, err := EncodeKeyRotation(r)
	if err != nil {
		return nil, err
	}
	return Seal(s, KindRotation, p)
}

// AcceptRotation verifies a signed rotation statement against the set at
// time now and, when valid, trusts the new key for its window. It refuses
// a statement signed by an unknown or currently invalid key, one whose
// window has already ended (ErrExpired), one in which a key announces
// itself (which would let a key extend its own life), and one that
// re-announces a known key with other dates (ErrConflict). A statement
// already applied returns the key and an error matching ErrDuplicate.
func (ks *KeySet) AcceptRotation(msg []byte, now time.Time) (TrustedKey, error) {
	fail := func(err error) (TrustedKey, error) {
		return TrustedKey{}, fmt.Errorf("accept key rotation: %w", err)
	}
	payload, signer, err := ks.Open(msg, KindRotation, now)
	if err != nil {
		return fail(err)
	}
	r, err := DecodeKeyRotation(payload)
	if err != nil {
		return fail(err)
	}
	k := TrustedKey{Public: r.NewKey, NotBefore: r.NotBefore, NotAfter: r.NotAfter}
	if k.ID() == signer {
		return fail(fmt.Errorf("%w: key %s announces itself", ErrConflict, signer))
	}
	if !now.Before(r.NotAfter) {
		return fail(fmt.Errorf("%w: new key %s was valid until %s, now is %s", ErrExpired, k.ID(), r.NotAfter.Format(time.RFC3339), now.Format(time.RFC3339)))
	}
	if old, ok := ks.Lookup(k.ID()); ok && old.same(k) {
		return k, fmt.Errorf("accept key rotation: %w: key %s already trusted", ErrDuplicate, k.ID())
	}
	if err := ks.Add(k); err != nil {
		return fail(err)
	}
	return k, nil
}
