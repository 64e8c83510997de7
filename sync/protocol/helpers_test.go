package protocol

import (
	"crypto/ed25519"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/engine/synth"
)

// t0 is the fake clock's epoch: all tests run at fixed times.
var t0 = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

// testSigner returns a deterministic signer for seed byte b.
func testSigner(t testing.TB, b byte) *Signer {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = b
	}
	s, err := NewSigner(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func keySetOf(t testing.TB, signers ...*Signer) *KeySet {
	t.Helper()
	var keys []TrustedKey
	for _, s := range signers {
		keys = append(keys, TrustedKey{Public: s.Public()})
	}
	ks, err := NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// unEntries returns the entries of the UN excerpt the importer tests use:
// real UN consolidated-list records, as a typical delta carries them.
func unEntries(t testing.TB) []engine.Entry {
	t.Helper()
	f, err := os.Open("../../engine/importer/testdata/un_excerpt.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []engine.Entry
	if err := importer.ReadUNXML(f, "un_excerpt.xml", func(e *engine.Entry) error {
		out = append(out, *e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no UN entries")
	}
	return out
}

// typicalUpserts returns n UN entries (cycling through the excerpt with
// distinct ids when n exceeds it).
func typicalUpserts(t testing.TB, n int) []engine.Entry {
	un := unEntries(t)
	out := make([]engine.Entry, n)
	for i := range out {
		e := un[i%len(un)].Clone()
		if i >= len(un) {
			e.ID += "-" + string(rune('a'+i/len(un)))
		}
		out[i] = e
	}
	return out
}

func synthEntries(t testing.TB, seed uint64, n int) []engine.Entry {
	t.Helper()
	var out []engine.Entry
	if err := synth.Persons(seed, n, func(e *engine.Entry) error {
		out = append(out, *e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func setOf(entries []engine.Entry) map[string]engine.Entry {
	m := make(map[string]engine.Entry, len(entries))
	for _, e := range entries {
		m[e.ID] = e.Clone()
	}
	return m
}

// TestProtocolPure fails if the protocol package pulls in the network,
// Badger or an MQTT client: it is pure logic (PROTOCOL.md).
func TestProtocolPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "net" || strings.HasPrefix(dep, "net/") || dep == "os/signal" ||
			strings.HasPrefix(dep, "github.com/dgraph-io/") || strings.Contains(dep, "paho") || strings.Contains(dep, "mochi-mqtt") {
			t.Errorf("sync/protocol depends on %s", dep)
		}
	}
}

func marshal(e *engine.Entry) []byte { return engine.MarshalEntry(e) }
