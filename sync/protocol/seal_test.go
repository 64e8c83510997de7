package protocol

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"
)

// sealSetup is HQ with signing key s and its encryption key, and a post
// that trusts s and has accepted the seal-key statement.
func sealSetup(t *testing.T, s *Signer) (*SealPrivateKey, *KeySet, *SealKeys) {
	t.Helper()
	priv, err := GenerateSealKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := SealSealKey(s, &SealKeyStatement{Public: priv.Public(), IssuedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	ks := keySetOf(t, s)
	sk := NewSealKeys()
	if id, err := sk.Accept(ks, msg, t0); err != nil || id != s.ID() {
		t.Fatalf("Accept = %s, %v", id, err)
	}
	if _, err := sk.Accept(ks, msg, t0); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second Accept: %v, want ErrDuplicate", err)
	}
	return priv, ks, sk
}

func TestSealRecordRoundTrip(t *testing.T) {
	s := testSigner(t, 1)
	priv, ks, sk := sealSetup(t, s)
	id, pub, err := sk.Current(ks, t0)
	if err != nil || id != s.ID() {
		t.Fatalf("Current = %s, %v", id, err)
	}
	payload := []byte(`{"traveller":{"name":"MARIA SCHMIDT","birth_date":"1971-02-03","document":"X1234567"}}`)
	r := Record{ID: "01JABCDEFGHJKMNPQRSTVWXYZ0", Kind: RecordHit, CreatedAt: t0.Add(time.Nanosecond), Payload: payload}
	sealed, err := SealRecord("post-1", r, id, pub)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := EncodeRecord(sealed)
	if err != nil {
		t.Fatal(err)
	}
	for _, clear := range []string{"MARIA", "SCHMIDT", "1971", "X1234567", "created_at", "2026"} {
		if bytes.Contains(msg, []byte(clear)) {
			t.Errorf("sealed message shows %q: %s", clear, msg)
		}
	}
	back, err := DecodeRecord(msg)
	if err != nil || back.Sealed == nil || back.Payload != nil {
		t.Fatalf("DecodeRecord = %+v, %v", back, err)
	}
	lookup := func(k KeyID) (*SealPrivateKey, bool) { return priv, k == s.ID() }
	opened, err := OpenRecord("post-1", back, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(opened.Payload, payload) || !opened.CreatedAt.Equal(r.CreatedAt) {
		t.Fatalf("opened %s at %v", opened.Payload, opened.CreatedAt)
	}
	// The routing fields are bound: another post, id or kind does not open.
	for name, mod := range map[string]func(*Record) string{
		"post": func(*Record) string { return "post-2" },
		"id":   func(x *Record) string { x.ID = "01JABCDEFGHJKMNPQRSTVWXYZ1"; return "post-1" },
		"kind": func(x *Record) string { x.Kind = RecordDisposition; return "post-1" },
	} {
		x := back
		post := mod(&x)
		if _, err := OpenRecord(post, x, lookup); !errors.Is(err, ErrSealOpen) {
			t.Errorf("moved %s: %v, want ErrSealOpen", name, err)
		}
	}
	other, _ := GenerateSealKey(rand.Reader)
	if _, err := OpenRecord("post-1", back, func(KeyID) (*SealPrivateKey, bool) { return other, true }); !errors.Is(err, ErrSealOpen) {
		t.Errorf("wrong key: %v, want ErrSealOpen", err)
	}
}

func TestSealKeysCurrentFollowsRotation(t *testing.T) {
	old, next := testSigner(t, 1), testSigner(t, 2)
	_, ks, sk := sealSetup(t, old)
	if _, _, err := NewSealKeys().Current(ks, t0); !errors.Is(err, ErrNoSealKey) {
		t.Fatalf("empty Current: %v", err)
	}
	if err := ks.Add(TrustedKey{Public: next.Public(), NotBefore: t0.Add(time.Hour), NotAfter: t0.Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	priv2, _ := GenerateSealKey(rand.Reader)
	msg, err := SealSealKey(next, &SealKeyStatement{Public: priv2.Public(), IssuedAt: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// Before its window the new key cannot even sign a statement.
	if _, err := sk.Accept(ks, msg, t0); !errors.Is(err, ErrKeyNotValid) {
		t.Fatalf("early Accept: %v", err)
	}
	at := t0.Add(2 * time.Hour)
	if _, err := sk.Accept(ks, msg, at); err != nil {
		t.Fatal(err)
	}
	if id, pub, err := sk.Current(ks, at); err != nil || id != next.ID() || !bytes.Equal(pub, priv2.Public()) {
		t.Fatalf("Current after rotation = %s, %v", id, err)
	}
	if id, _, _ := sk.Current(ks, t0.Add(30*time.Minute)); id != old.ID() {
		t.Fatalf("Current before the new window = %s, want the old key", id)
	}
}

func TestSealKeyStatementRefused(t *testing.T) {
	s, stranger := testSigner(t, 1), testSigner(t, 3)
	priv, _ := GenerateSealKey(rand.Reader)
	msg, err := SealSealKey(stranger, &SealKeyStatement{Public: priv.Public(), IssuedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSealKeys().Accept(keySetOf(t, s), msg, t0); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("stranger's statement: %v", err)
	}
	msg[len(msg)-1] ^= 1
	if _, err := NewSealKeys().Accept(keySetOf(t, stranger), msg, t0); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("flipped statement: %v", err)
	}
	if _, err := SealSealKey(s, &SealKeyStatement{Public: []byte{1, 2}, IssuedAt: t0}); err == nil {
		t.Fatal("a 2-byte key was encoded")
	}
}
