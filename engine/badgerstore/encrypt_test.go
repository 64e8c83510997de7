package badgerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/synth"
)

// Distinctive values that must not appear in clear in an encrypted store.
// They share no 4-byte run with the rest of the data, so that Snappy (the
// tables' compression) keeps them whole in an unencrypted one.
const (
	secretName   = "ZZQXWAVERLY TRUMPINGTON-SNODGRASS"
	secretRecord = "KQZJ7731VXWPBRNDT0429 MOLYNEUX"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// fillSecrets writes a names list holding secretName and a record holding
// secretRecord, calls open (if not nil) while the store is open and the
// data is in its WALs (as after a kill -9), then closes the store so that
// everything reaches the tables.
func fillSecrets(t *testing.T, dir string, opts Options, open func()) {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx := context.Background()
	es := makeEntries(0, 200, "A")
	es[7].Names[0].Value = secretName
	if _, err := s.ReplaceEntries(ctx, ListMeta{Name: "un"}, entrySrc(es)); err != nil {
		t.Fatalf("ReplaceEntries: %v", err)
	}
	err = s.Records("outbox").Update(ctx, func(tx *RecordsTxn) error {
		return tx.Set([]byte("hit-1"), []byte(secretRecord))
	})
	if err != nil {
		t.Fatalf("Records.Update: %v", err)
	}
	if open != nil {
		open()
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// inClear returns the files of dir whose raw bytes contain needle.
func inClear(t *testing.T, dir, needle string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(needle)) {
			found = append(found, filepath.Base(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestEncryptedStoreRoundTripAndNothingInClear(t *testing.T) {
	for _, tc := range []struct {
		name    string
		key     []byte
		inClear bool
	}{
		{"Plain", nil, true}, // the control: the check can fail
		{"AES256", testKey(1), false},
		{"AES128", bytes.Repeat([]byte{2}, 16), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{EncryptionKey: tc.key}
			check := func(when string) {
				for _, needle := range []string{secretName, secretRecord} {
					files := inClear(t, dir, needle)
					if got := len(files) > 0; got != tc.inClear {
						t.Errorf("%s: %q in clear in %v, want in clear = %v", when, needle, files, tc.inClear)
					}
				}
			}
			fillSecrets(t, dir, opts, func() { check("open") })
			check("closed")

			s, err := Open(dir, opts)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s.Close()
			info, got := readAll(t, s, "un")
			if info.Entries != 200 || got["id-000007"].Names[0].Value != secretName {
				t.Errorf("reopened: %d entries, entry 7 %q; want 200 and %q", info.Entries, got["id-000007"].Names[0].Value, secretName)
			}
			if err := s.Verify(context.Background(), "un"); err != nil {
				t.Errorf("Verify: %v", err)
			}
			var rec []byte
			err = s.Records("outbox").View(context.Background(), func(tx *RecordsTxn) error {
				v, err := tx.Get([]byte("hit-1"))
				rec = v
				return err
			})
			if err != nil || string(rec) != secretRecord {
				t.Errorf("record = %q, %v; want %q", rec, err, secretRecord)
			}
		})
	}
}

func TestOpenWrongEncryptionKey(t *testing.T) {
	encrypted, plain := t.TempDir(), t.TempDir()
	fillSecrets(t, encrypted, Options{EncryptionKey: testKey(1)}, nil)
	fillSecrets(t, plain, Options{}, nil)
	for _, tc := range []struct {
		name, dir string
		key       []byte
		want      string
	}{
		{"NoKey", encrypted, nil, "encrypted and no key was given"},
		{"OtherKey", encrypted, testKey(9), "encrypted with another key"},
		{"KeyForPlainStore", plain, testKey(1), "not encrypted and a key was given"},
		{"BadLength", encrypted, []byte("short"), "5 bytes; want 16, 24 or 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.dir, Options{EncryptionKey: tc.key})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrEncryptionKey) {
				t.Errorf("err = %v, want ErrEncryptionKey", err)
			}
			t.Log(err)
			if msg := err.Error(); !strings.Contains(msg, tc.dir) || !strings.Contains(msg, tc.want) {
				t.Errorf("err = %q, want the directory and %q", msg, tc.want)
			}
		})
	}
	// The right key still opens it: a refused Open changed nothing.
	s, err := Open(encrypted, Options{EncryptionKey: testKey(1)})
	if err != nil {
		t.Fatalf("Open with the right key: %v", err)
	}
	s.Close()
}

// BenchmarkEncryptionCost imports WATCHPOST_BENCH_PERSONS synthetic
// persons (default 200,000; the bench's 1,000,000 with the variable) into
// a fresh store, closes it, then reopens it and streams every entry (what
// building the screening index reads), without and with a 32-byte key.
// It reports both phases in seconds per iteration.
func BenchmarkEncryptionCost(b *testing.B) {
	n := envInt("WATCHPOST_BENCH_PERSONS", 200_000)
	for _, mode := range []struct {
		name string
		key  []byte
	}{{"plain", nil}, {"aes256", testKey(1)}} {
		b.Run(fmt.Sprintf("%s/persons=%d", mode.name, n), func(b *testing.B) {
			ctx := context.Background()
			var importT, readT time.Duration
			for range b.N {
				dir := b.TempDir()
				opts := Options{EncryptionKey: mode.key}
				s, err := Open(dir, opts)
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				_, err = s.ReplaceEntries(ctx, ListMeta{Name: "synthetic"}, func(emit func(*engine.Entry) error) error {
					return synth.Persons(1, n, emit)
				})
				importT += time.Since(t0)
				if cerr := s.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					b.Fatal(err)
				}
				t0 = time.Now()
				s, err = Open(dir, opts)
				if err != nil {
					b.Fatal(err)
				}
				count := 0
				_, err = s.Entries(ctx, "synthetic", func(*engine.Entry) error { count++; return nil })
				readT += time.Since(t0)
				s.Close()
				if err != nil || count != n {
					b.Fatalf("read %d entries, %v; want %d", count, err, n)
				}
			}
			b.ReportMetric(importT.Seconds()/float64(b.N), "import-s")
			b.ReportMetric(readT.Seconds()/float64(b.N), "open+read-s")
		})
	}
}
