package protocol

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// jsonDelta is the JSON alternative the wire format was measured against
// (PROTOCOL.md "Encoding"): the same fields, entries as engine's JSON, the
// signature and key id base64 in a JSON envelope.
type jsonDelta struct {
	List        string `json:"list"`
	Epoch       uint64 `json:"epoch"`
	FromVersion uint64 `json:"from"`
	ToVersion   uint64 `json:"to"`
	Upserts     any    `json:"upserts"`
	Deletes     any    `json:"deletes"`
	HashAfter   string `json:"hash_after"`
	IssuedAt    string `json:"issued_at"`
	ValidUntil  string `json:"valid_until"`
}

func jsonSize(t testing.TB, d *Delta) int {
	p, err := json.Marshal(jsonDelta{d.List, d.Epoch, d.FromVersion, d.ToVersion, d.Upserts, d.Deletes,
		d.HashAfter.String(), d.IssuedAt.Format("2006-01-02T15:04:05Z"), d.ValidUntil.Format("2006-01-02T15:04:05Z")})
	if err != nil {
		t.Fatal(err)
	}
	env, err := json.Marshal(map[string]string{"kind": "delta", "key": "0123456789abcdef",
		"sig": base64.StdEncoding.EncodeToString(make([]byte, 64)), "payload": base64.StdEncoding.EncodeToString(p)})
	if err != nil {
		t.Fatal(err)
	}
	return len(env)
}

// TestWireSizes logs the bytes on the wire for typical messages (run with
// -v; the figures are in PROTOCOL.md).
func TestWireSizes(t *testing.T) {
	s := testSigner(t, 1)
	for _, n := range []int{1, 10, 100} {
		d := sampleDelta(t, n)
		b, err := SealDelta(s, d)
		if err != nil {
			t.Fatal(err)
		}
		rec := 0
		for i := range d.Upserts {
			rec += len(marshal(&d.Upserts[i]))
		}
		js := jsonSize(t, d)
		t.Logf("delta, %3d UN upserts + 2 deletes: binary %6d bytes (records %6d, overhead %d); JSON+base64 %6d bytes (%.2fx)",
			n, len(b), rec, len(b)-rec, js, float64(js)/float64(len(b)))
		if len(b) >= js {
			t.Errorf("binary is not smaller than JSON")
		}
	}
	h, _ := SealHead(s, sampleHead())
	t.Logf("head with snapshot reference: %d bytes", len(h))
	r, _ := SealKeyRotation(s, &KeyRotation{NewKey: testSigner(t, 2).Public(), NotBefore: t0, NotAfter: t0.AddDate(1, 0, 0), IssuedAt: t0})
	t.Logf("key rotation: %d bytes", len(r))
}

func BenchmarkSealDelta(b *testing.B) {
	s := testSigner(b, 1)
	d := sampleDelta(b, 10)
	var size int
	for b.Loop() {
		msg, err := SealDelta(s, d)
		if err != nil {
			b.Fatal(err)
		}
		size = len(msg)
	}
	b.ReportMetric(float64(size), "bytes/delta")
}

func BenchmarkOpenDelta(b *testing.B) {
	s := testSigner(b, 1)
	ks := keySetOf(b, s)
	msg, err := SealDelta(s, sampleDelta(b, 10))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := ks.OpenDelta(msg, t0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(msg)), "bytes/delta")
}
