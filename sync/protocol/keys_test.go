package protocol

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestKeyID(t *testing.T) {
	s := testSigner(t, 1)
	id := s.ID()
	if len(id.String()) != 16 || id != KeyIDOf(s.Public()) {
		t.Fatalf("key id %s", id)
	}
	if testSigner(t, 2).ID() == id {
		t.Fatal("two keys share an id")
	}
	back, err := ParsePrivateKey(s.FormatPrivateKey())
	if err != nil || back.ID() != id {
		t.Fatalf("private key round trip: %v", err)
	}
}

func TestParseKeySet(t *testing.T) {
	a, b := testSigner(t, 1), testSigner(t, 2)
	text := "# HQ keys\n\n" + FormatPublicKey(a.Public()) + "   # primary\n" +
		FormatPublicKey(b.Public()) + " not-before=2026-01-01T00:00:00Z not-after=2027-01-01T00:00:00Z\n"
	ks, err := ParseKeySet(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(ks.Keys()) != 2 {
		t.Fatalf("%d keys", len(ks.Keys()))
	}
	kb, ok := ks.Lookup(b.ID())
	if !ok || !kb.NotAfter.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("key b: %+v", kb)
	}
	again, err := ParseKeySet(strings.NewReader(ks.Format()))
	if err != nil || again.Format() != ks.Format() {
		t.Fatalf("format round trip: %v\n%s", err, ks.Format())
	}

	bad := []struct{ text, line string }{
		{"", "keys"},
		{"# only a comment\n", "keys"},
		{"ed25519:AAAA\n", "line 1"},
		{"\nrsa:" + strings.Repeat("A", 44) + "\n", "line 2"},
		{FormatPublicKey(a.Public()) + " not-after=tomorrow\n", "line 1"},
		{FormatPublicKey(a.Public()) + " colour=blue\n", "line 1"},
		{FormatPublicKey(a.Public()) + " not-before=2027-01-01T00:00:00Z not-after=2026-01-01T00:00:00Z\n", "line 1"},
		{FormatPublicKey(a.Public()) + "\n" + FormatPublicKey(a.Public()) + " not-after=2027-01-01T00:00:00Z\n", "line 2"},
	}
	for _, tc := range bad {
		_, err := ParseKeySet(strings.NewReader(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.line) {
			t.Errorf("%q: got %v, want an error at %s", tc.text, err, tc.line)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	old, next, rogue := testSigner(t, 1), testSigner(t, 2), testSigner(t, 3)
	rot := func(signer *Signer, newKey *Signer, from, until time.Time) []byte {
		b, err := SealKeyRotation(signer, &KeyRotation{NewKey: newKey.Public(), NotBefore: from, NotAfter: until, IssuedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	year := 365 * 24 * time.Hour
	valid := rot(old, next, t0.Add(time.Hour), t0.Add(year))

	tests := []struct {
		name string
		msg  []byte
		now  time.Time
		want error
	}{
		{"valid", valid, t0, nil},
		{"signed by an untrusted key", rot(rogue, next, t0, t0.Add(year)), t0, ErrUnknownKey},
		{"expired", rot(old, next, t0.Add(-2*year), t0.Add(-year)), t0, ErrExpired},
		{"key announces itself", rot(old, old, t0, t0.Add(year)), t0, ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ks := keySetOf(t, old)
			_, err := ks.AcceptRotation(tc.msg, tc.now)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err != nil {
				if len(ks.Keys()) != 1 {
					t.Errorf("a rejected rotation changed the key set")
				}
				t.Log(err)
			}
		})
	}

	// The new key's window is enforced when it signs.
	ks := keySetOf(t, old)
	if _, err := ks.AcceptRotation(valid, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.AcceptRotation(valid, t0); !errors.Is(err, ErrDuplicate) {
		t.Errorf("re-accepting: %v, want ErrDuplicate", err)
	}
	msg, _ := Seal(next, KindDelta, []byte("x"))
	if _, _, err := ks.Open(msg, KindDelta, t0); !errors.Is(err, ErrKeyNotValid) {
		t.Errorf("new key used before its start: %v, want ErrKeyNotValid", err)
	}
	if _, _, err := ks.Open(msg, KindDelta, t0.Add(2*time.Hour)); err != nil {
		t.Errorf("new key inside its window: %v", err)
	}
	if _, _, err := ks.Open(msg, KindDelta, t0.Add(2*year)); !errors.Is(err, ErrKeyNotValid) {
		t.Errorf("new key after its end: %v, want ErrKeyNotValid", err)
	}
	// The same key re-announced with other dates is a conflict.
	if _, err := ks.AcceptRotation(rot(old, next, t0, t0.Add(2*year)), t0); !errors.Is(err, ErrConflict) {
		t.Errorf("re-announced with other dates: %v, want ErrConflict", err)
	}
	// A rotation signature is not valid as any other kind.
	if _, _, err := ks.Open(valid, KindHead, t0); !errors.Is(err, ErrWrongKind) {
		t.Errorf("rotation opened as head: %v", err)
	}
	// The rotation text form keeps the window.
	back, err := ParseKeySet(strings.NewReader(ks.Format()))
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := back.Lookup(next.ID()); !ok || !k.NotBefore.Equal(t0.Add(time.Hour)) {
		t.Errorf("rotated key after Format/Parse: %+v", k)
	}
	// A key whose window has passed cannot announce another.
	ks2, _ := NewKeySet(TrustedKey{Public: old.Public(), NotAfter: t0})
	if _, err := ks2.AcceptRotation(valid, t0.Add(time.Minute)); !errors.Is(err, ErrKeyNotValid) {
		t.Errorf("rotation by an expired key: %v", err)
	}
	// Corrupt rotation payloads are rejected with the field named.
	if _, err := DecodeKeyRotation(make([]byte, 10)); err == nil || !strings.Contains(err.Error(), "new_key") {
		t.Errorf("short rotation: %v", err)
	}
}
