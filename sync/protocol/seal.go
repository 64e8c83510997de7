package protocol

import (
	"crypto/ecdh"
	"crypto/hpke"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Sealed records (PROTOCOL.md §8). Hits, decisions and audit entries are
// encrypted by the post to HQ's X25519 encryption key with HPKE (RFC
// 9180, crypto/hpke: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// ChaCha20-Poly1305, base mode). The broker, its persistence and any
// subscriber see the routing fields only: the post id (topic), the
// record id and kind, and the id of the HQ key sealed to. Those fields
// are the HPKE info, so a record moved to another post's topic, given
// another id or kind, or opened as another key's, fails to open.
//
// Each HQ signing key has its own encryption key, announced in a seal-key
// statement that the signing key signs (KindSealKey), published retained
// on SealKeyTopic. A post seals to the encryption key of the newest HQ
// signing key it trusts now (SealKeys.Current); HQ keeps every encryption
// key it made, so records sealed to the previous one during a rotation
// are still opened.

// SealKeyID is the HQ signing key an encryption key belongs to.
type SealKeyID = KeyID

// sealInfoDomain starts the HPKE info of a sealed record.
const sealInfoDomain = "watchpost/v1/sealed-record\n"

var (
	sealKEM  = hpke.DHKEM(ecdh.X25519())
	sealKDF  = hpke.HKDFSHA256()
	sealAEAD = hpke.ChaCha20Poly1305()
)

// ErrNoSealKey: no HQ encryption key is known (or none of a currently
// trusted signing key), so a sealed record cannot be made yet. The post
// keeps the record in its outbox; it never sends it in clear.
var ErrNoSealKey = errors.New("no HQ encryption key known")

// ErrSealOpen: a sealed record could not be opened (unknown key, or the
// box does not open with the routing fields it came with).
var ErrSealOpen = errors.New("sealed record does not open")

// SealedPayload is a record's sealed creation time and payload.
type SealedPayload struct {
	// Key is the id of the HQ signing key whose encryption key the box is
	// sealed to, 16 hex digits.
	Key string `json:"key"`
	// Box is HPKE's encapsulated key followed by the ciphertext (base64 in
	// JSON).
	Box []byte `json:"box"`
}

// sealedContent is the plaintext of a sealed record.
type sealedContent struct {
	CreatedAt time.Time       `json:"created_at"`
	Payload   json.RawMessage `json:"payload"`
}

func sealInfo(post, id string, kind RecordKind, key KeyID) []byte {
	return []byte(sealInfoDomain + post + "\n" + id + "\n" + kind.String() + "\n" + key.String())
}

// SealPrivateKey is one of HQ's encryption keys.
type SealPrivateKey struct {
	key *ecdh.PrivateKey
}

// GenerateSealKey makes a new X25519 encryption key from rand
// (crypto/rand.Reader in production).
func GenerateSealKey(rand io.Reader) (*SealPrivateKey, error) {
	var seed [32]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return nil, fmt.Errorf("generate encryption key: %w", err)
	}
	return NewSealPrivateKey(seed[:])
}

// NewSealPrivateKey wraps a 32-byte X25519 private key.
func NewSealPrivateKey(b []byte) (*SealPrivateKey, error) {
	k, err := ecdh.X25519().NewPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	return &SealPrivateKey{key: k}, nil
}

// Bytes returns the 32-byte private key (store it as a secret).
func (k *SealPrivateKey) Bytes() []byte { return k.key.Bytes() }

// Public returns the 32-byte public key.
func (k *SealPrivateKey) Public() []byte { return k.key.PublicKey().Bytes() }

const sealPublicPrefix = "x25519:"

// FormatSealPublicKey returns "x25519:<base64 of the 32-byte key>".
func FormatSealPublicKey(pub []byte) string {
	return sealPublicPrefix + base64.StdEncoding.EncodeToString(pub)
}

// SealKeyStatement binds an X25519 encryption key to the HQ signing key
// that signs the statement (the envelope's key id).
type SealKeyStatement struct {
	Public   []byte
	IssuedAt time.Time
}

// Seal-key payload, v1:
//
//	public     32 bytes, the X25519 public key
//	issued_at  uvarint unix seconds

// SealSealKey signs a statement with s: HQ publishes it retained on
// SealKeyTopic(s.ID()).
func SealSealKey(s *Signer, st *SealKeyStatement) ([]byte, error) {
	if _, err := ecdh.X25519().NewPublicKey(st.Public); err != nil {
		return nil, fmt.Errorf("encode seal key: %w", err)
	}
	if err := checkTime("issued_at", st.IssuedAt); err != nil {
		return nil, fmt.Errorf("encode seal key: %w", err)
	}
	e := enc{b: make([]byte, 0, 40)}
	e.raw(st.Public)
	e.time(st.IssuedAt)
	return Seal(s, KindSealKey, e.b)
}

// DecodeSealKey parses a seal-key payload (call it only on a payload
// KeySet.Open returned).
func DecodeSealKey(p []byte) (*SealKeyStatement, error) {
	d := dec{msg: "seal key", b: p}
	st := &SealKeyStatement{}
	at := d.off
	st.Public = append([]byte(nil), d.take("public", 32)...)
	if d.err == nil {
		if _, err := ecdh.X25519().NewPublicKey(st.Public); err != nil {
			d.off = at
			d.fail("public", err)
		}
	}
	st.IssuedAt = d.time("issued_at")
	if err := d.end(); err != nil {
		return nil, err
	}
	return st, nil
}

// SealKeys holds, at a post, the encryption keys HQ announced, by the
// signing key that signed each. It is safe for concurrent use.
type SealKeys struct {
	mu   sync.RWMutex
	keys map[KeyID]SealKeyStatement
}

// NewSealKeys returns an empty holder.
func NewSealKeys() *SealKeys { return &SealKeys{keys: map[KeyID]SealKeyStatement{}} }

// Accept verifies a seal-key statement with the post's trusted keys at
// now and keeps it for its signing key; a newer statement of the same
// signing key replaces an older one. The same statement again is
// ErrDuplicate.
func (s *SealKeys) Accept(ks *KeySet, msg []byte, now time.Time) (KeyID, error) {
	p, signer, err := ks.Open(msg, KindSealKey, now)
	if err != nil {
		return signer, fmt.Errorf("accept seal key: %w", err)
	}
	st, err := DecodeSealKey(p)
	if err != nil {
		return signer, fmt.Errorf("accept seal key: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.keys[signer]; ok {
		if string(old.Public) == string(st.Public) || old.IssuedAt.After(st.IssuedAt) {
			return signer, fmt.Errorf("accept seal key: %w: key %s", ErrDuplicate, signer)
		}
	}
	s.keys[signer] = *st
	return signer, nil
}

// Current returns the encryption key to seal to at now: that of the
// trusted signing key valid at now with the latest not-before (the newest
// key HQ rotated to), or ErrNoSealKey.
func (s *SealKeys) Current(ks *KeySet, now time.Time) (KeyID, []byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var best KeyID
	var bestKey TrustedKey
	var bestSt SealKeyStatement
	var pub []byte
	for id, st := range s.keys {
		k, ok := ks.Lookup(id)
		if !ok || k.ValidAt(now) != nil {
			continue
		}
		newer := k.NotBefore.After(bestKey.NotBefore) ||
			k.NotBefore.Equal(bestKey.NotBefore) && (st.IssuedAt.After(bestSt.IssuedAt) ||
				st.IssuedAt.Equal(bestSt.IssuedAt) && strings.Compare(id.String(), best.String()) > 0)
		if pub == nil || newer {
			best, bestKey, bestSt, pub = id, k, st, st.Public
		}
	}
	if pub == nil {
		return KeyID{}, nil, ErrNoSealKey
	}
	return best, pub, nil
}

// SealRecord returns r sealed for HQ: a record whose Sealed holds r's
// creation time and payload encrypted to pub, the encryption key of HQ
// signing key key, bound to post, r's id and kind.
func SealRecord(post string, r Record, key KeyID, pub []byte) (Record, error) {
	pk, err := sealKEM.NewPublicKey(pub)
	if err != nil {
		return Record{}, fmt.Errorf("seal record %s: %w", r.ID, err)
	}
	plain, err := json.Marshal(sealedContent{CreatedAt: r.CreatedAt.UTC(), Payload: r.Payload})
	if err != nil {
		return Record{}, fmt.Errorf("seal record %s: %w", r.ID, err)
	}
	box, err := hpke.Seal(pk, sealKDF, sealAEAD, sealInfo(post, r.ID, r.Kind, key), plain)
	if err != nil {
		return Record{}, fmt.Errorf("seal record %s: %w", r.ID, err)
	}
	return Record{ID: r.ID, Kind: r.Kind, Sealed: &SealedPayload{Key: key.String(), Box: box}}, nil
}

// OpenRecord opens a sealed record that came on post's topic with the
// encryption key of the HQ signing key it names (lookup returns it, or
// false). It returns the record with CreatedAt and Payload, Sealed kept;
// a record in clear is returned as is. Failures wrap ErrSealOpen.
func OpenRecord(post string, r Record, lookup func(KeyID) (*SealPrivateKey, bool)) (Record, error) {
	if r.Sealed == nil {
		return r, nil
	}
	id, err := ParseKeyID(r.Sealed.Key)
	if err != nil {
		return Record{}, fmt.Errorf("open record %s: %w: %w", r.ID, ErrSealOpen, err)
	}
	k, ok := lookup(id)
	if !ok {
		return Record{}, fmt.Errorf("open record %s: %w: no encryption key of HQ key %s", r.ID, ErrSealOpen, id)
	}
	sk, err := hpke.NewDHKEMPrivateKey(k.key)
	if err != nil {
		return Record{}, fmt.Errorf("open record %s: %w: %w", r.ID, ErrSealOpen, err)
	}
	plain, err := hpke.Open(sk, sealKDF, sealAEAD, sealInfo(post, r.ID, r.Kind, id), r.Sealed.Box)
	if err != nil {
		return Record{}, fmt.Errorf("open record %s: %w: %w", r.ID, ErrSealOpen, err)
	}
	var c sealedContent
	if err := DecodeJSON(plain, &c); err != nil || len(c.Payload) == 0 {
		return Record{}, fmt.Errorf("open record %s: %w: the sealed content is not a record", r.ID, ErrSealOpen)
	}
	r.CreatedAt, r.Payload = c.CreatedAt, c.Payload
	return r, nil
}

// ParseKeyID reads a key id's 16 hex digits.
func ParseKeyID(s string) (KeyID, error) {
	var id KeyID
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("key id %q: want %d hex digits", s, 2*len(id))
	}
	for i := range id {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return KeyID{}, fmt.Errorf("key id %q: want lower-case hex digits", s)
		}
		id[i] = hi<<4 | lo
	}
	return id, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
