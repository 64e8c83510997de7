package hqserver

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

// TestAnnounceKeyEndpoint: POST /v1/keys announces the key with the
// server's publisher (the statement is retained and a post trusting HQ's
// key accepts it) and refuses bad input with 400 and the reason.
func TestAnnounceKeyEndpoint(t *testing.T) {
	r := newAdminRig(t, Config{})
	next, err := protocol.GenerateSigner(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := protocol.FormatPublicKey(next.Public())
	notAfter := time.Now().Add(365 * 24 * time.Hour).UTC().Truncate(time.Second)
	body := fmt.Sprintf(`{"public_key":%q,"not_after":%q}`, pub, notAfter.Format(time.RFC3339))

	for _, c := range []struct{ name, body, want string }{
		{"not JSON", `public_key=x`, "want a JSON body"},
		{"unknown field", `{"public_key":"` + pub + `","not_after":"2030-01-01T00:00:00Z","valid":true}`, "unknown field"},
		{"no key", `{"not_after":"2030-01-01T00:00:00Z"}`, "public_key is required"},
		{"bad key", `{"public_key":"ed25519:AAAA","not_after":"2030-01-01T00:00:00Z"}`, "public_key: want the base64 of a 32-byte key"},
		{"no not_after", `{"public_key":"` + pub + `"}`, "not_after is required"},
		{"bad time", `{"public_key":"` + pub + `","not_after":"2030-01-01"}`, "want a JSON body"},
		{"own key", fmt.Sprintf(`{"public_key":%q,"not_after":"2030-01-01T00:00:00Z"}`, protocol.FormatPublicKey(r.signer.Public())), "is the key HQ signs with now"},
		{"ended", `{"public_key":"` + pub + `","not_before":"2020-01-01T00:00:00Z","not_after":"2021-01-01T00:00:00Z"}`, "the window ended"},
		{"empty window", `{"public_key":"` + pub + `","not_before":"2030-01-01T00:00:00Z","not_after":"2029-01-01T00:00:00Z"}`, "is not after not-before"},
		{"trailing", body + `{}`, "trailing data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, b := r.post(t, protocol.PathKeys, []byte(c.body), nil)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), c.want) {
				t.Fatalf("%d %s, want 400 with %q", resp.StatusCode, b, c.want)
			}
		})
	}
	if _, ok := r.broker.Retained(protocol.KeyTopic(next.ID())); ok {
		t.Fatal("a refused request published a rotation")
	}

	resp, b := r.post(t, protocol.PathKeys, []byte(body), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("announce: %d %s", resp.StatusCode, b)
	}
	var kr KeyResponse
	if err := json.Unmarshal(b, &kr); err != nil {
		t.Fatal(err)
	}
	if kr.KeyID != next.ID().String() || kr.SignerID != r.signer.ID().String() || kr.PublicKey != pub ||
		!kr.NotAfter.Equal(notAfter) || kr.NotBefore.IsZero() || kr.Topic != protocol.KeyTopic(next.ID()) || kr.Republished {
		t.Fatalf("response %+v", kr)
	}
	msg, ok := r.broker.Retained(protocol.KeyTopic(next.ID()))
	if !ok {
		t.Fatal("no retained statement")
	}
	keys, err := protocol.NewKeySet(protocol.TrustedKey{Public: r.signer.Public()})
	if err != nil {
		t.Fatal(err)
	}
	if k, err := keys.AcceptRotation(msg, time.Now()); err != nil || k.ID() != next.ID() || !k.NotAfter.Equal(notAfter) {
		t.Fatalf("post accepts %+v, %v", k, err)
	}
	if rots, err := publish.Rotations(context.Background(), r.store); err != nil || len(rots) != 1 {
		t.Fatalf("recorded %+v, %v", rots, err)
	}
	// Again with the same window: the recorded statement again.
	body2 := fmt.Sprintf(`{"public_key":%q,"not_before":%q,"not_after":%q}`, pub, kr.NotBefore.Format(time.RFC3339), notAfter.Format(time.RFC3339))
	if resp, b := r.post(t, protocol.PathKeys, []byte(body2), nil); resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"republished":true`) {
		t.Fatalf("again: %d %s", resp.StatusCode, b)
	}
	// GET is not allowed.
	req := httptest.NewRequest(http.MethodGet, protocol.PathKeys, nil)
	req.RemoteAddr = "127.0.0.1:41234"
	rec := httptest.NewRecorder()
	r.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET %s: %d", protocol.PathKeys, rec.Code)
	}
}
