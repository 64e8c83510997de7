package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/daemon/paths"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
)

// noConfig points the default configuration file at one that does not
// exist, so that the machine's own cannot change the guard's share.
func noConfig(t *testing.T) {
	t.Setenv(paths.EnvConfig, filepath.Join(t.TempDir(), "absent.yaml"))
}

// withStore runs fn on dir's store, closed after.
func withStore(t *testing.T, dir string, fn func(st *badgerstore.Store) error) {
	t.Helper()
	st, err := daemon.OpenStore(dir, nil, nil)
	if err == nil {
		err = errors.Join(fn(st), st.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
}

// listState returns the version and entry count of a list in dir's store.
func listState(t *testing.T, dir, name string) (uint64, int) {
	t.Helper()
	var info engine.ListInfo
	withStore(t, dir, func(st *badgerstore.Store) (err error) {
		info, err = st.List(name)
		return err
	})
	return info.Version, info.Entries
}

// shrinkAudits returns the list_shrink entries of the post's audit trail.
func shrinkAudits(t *testing.T, dir string) []ledger.AuditEntry {
	t.Helper()
	ctx := context.Background()
	var out []ledger.AuditEntry
	withStore(t, dir, func(st *badgerstore.Store) error {
		led, err := openLedger(ctx, st, "test")
		if err != nil {
			return err
		}
		page, err := led.Audit(ctx, ledger.AuditFilter{Limit: ledger.MaxPageLimit})
		for _, e := range page.Entries {
			if e.Action == ledger.ActionListShrink {
				out = append(out, e)
			}
		}
		return err
	})
	return out
}

// TestImportEmptyEditionRefused is the field report: an empty but
// well-formed UN file replaced the 1,003-entry list with nothing.
func TestImportEmptyEditionRefused(t *testing.T) {
	noConfig(t)
	dir := importUN(t)
	empty := filepath.Join(t.TempDir(), "empty.xml")
	if err := os.WriteFile(empty, []byte("<CONSOLIDATED_LIST></CONSOLIDATED_LIST>"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "", "import", "--data-dir", dir, "--list", "un", "--format", "un-xml", empty)
	if code == ExitOK {
		t.Fatal("an empty edition was imported")
	}
	for _, want := range []string{"is empty", "1003 → 0 entries", "1003 removed", "100.0 %", "limit 10.0 %", "--allow-shrink"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q lacks %q", errs, want)
		}
	}
	if v, n := listState(t, dir, "un"); v != 1 || n != 1003 {
		t.Fatalf("after the refusal: version %d with %d entries, want version 1 with 1003", v, n)
	}
	if a := shrinkAudits(t, dir); len(a) != 0 {
		t.Errorf("a refused import was audited: %+v", a)
	}

	code, out, errs := runCLI(t, "", "import", "--data-dir", dir, "--list", "un", "--format", "un-xml", "--allow-shrink", empty)
	if code != ExitOK {
		t.Fatalf("--allow-shrink: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "imported un version 2: 0 entries") || !strings.Contains(errs, "recorded in the audit trail") {
		t.Errorf("--allow-shrink: out %q, stderr %q", out, errs)
	}
	a := shrinkAudits(t, dir)
	if len(a) != 1 {
		t.Fatalf("%d list_shrink audit entries, want 1", len(a))
	}
	s := a[0].Shrink
	if s == nil || s.List != "un" || s.Version != 2 || s.Current != 1003 || s.Next != 0 || s.Removed != 1003 || s.Limit != 0.10 {
		t.Errorf("audited %+v", s)
	}
	if !strings.HasPrefix(a[0].Actor, "cli") || a[0].Seq == 0 {
		t.Errorf("audit entry %+v: want a cli actor, in the chain", a[0])
	}
	if code, out, errs := runCLI(t, "", "audit", "verify", "--data-dir", dir); code != ExitOK || !strings.Contains(out, "result       ok") {
		t.Errorf("audit verify after the shrink: exit %d\n%s%s", code, out, errs)
	}
}

func writeNational(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,name\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "n%d,PERSON NUMBER %d\n", i, i)
	}
	p := filepath.Join(t.TempDir(), fmt.Sprintf("national-%d.csv", n))
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImportShrinkShare: 20 of 100 entries removed is past the default
// 10 %, within a share of 0.25 given by flag or by import.max_shrink.
func TestImportShrinkShare(t *testing.T) {
	noConfig(t)
	dir := t.TempDir()
	imp := func(extra ...string) (int, string) {
		args := append([]string{"import", "--data-dir", dir, "--list", "national", "--format", "csv"}, extra...)
		code, _, errs := runCLI(t, "", args...)
		return code, errs
	}
	if code, errs := imp(writeNational(t, 100)); code != ExitOK {
		t.Fatal(errs)
	}
	eighty := writeNational(t, 80)
	if code, errs := imp(eighty); code == ExitOK || !strings.Contains(errs, "100 → 80 entries, 20 removed (20.0 %, limit 10.0 %)") {
		t.Fatalf("20 %% removed: exit %d, %q", code, errs)
	}
	cfg := filepath.Join(t.TempDir(), "watchpost.yaml")
	if err := os.WriteFile(cfg, []byte("post_id: p1\nimport:\n  max_shrink: 0.25\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, errs := imp("--config", cfg, eighty); code != ExitOK {
		t.Fatalf("import.max_shrink 0.25: %s", errs)
	}
	if v, n := listState(t, dir, "national"); v != 2 || n != 80 {
		t.Fatalf("version %d with %d entries, want 2 with 80", v, n)
	}
	sixty := writeNational(t, 60)
	if code, errs := imp("--max-shrink", "0.2", sixty); code == ExitOK || !strings.Contains(errs, "limit 20.0 %") {
		t.Fatalf("25 %% removed, --max-shrink 0.2: exit %d, %q", code, errs)
	}
	if code, errs := imp("--max-shrink", "0.3", sixty); code != ExitOK {
		t.Fatalf("--max-shrink 0.3: %s", errs)
	}
	if a := shrinkAudits(t, dir); len(a) != 0 {
		t.Errorf("imports within the share were audited as shrinks: %+v", a)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("post_id: p1\nimport:\n  max_shrink: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, errs := imp("--config", bad, sixty); code == ExitOK || !strings.Contains(errs, "import.max_shrink") {
		t.Errorf("import.max_shrink 2: exit %d, %q", code, errs)
	}
}

// TestImportFileSizeLimit: import.max_file_size bounds the file read.
func TestImportFileSizeLimit(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "watchpost.yaml")
	if err := os.WriteFile(cfg, []byte("post_id: p1\nimport:\n  max_file_size: 1KiB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := writeNational(t, 100)
	code, _, errs := runCLI(t, "", "import", "--config", cfg, "--data-dir", dir, "--list", "national", "--format", "csv", path)
	if code == ExitOK || !strings.Contains(errs, path) || !strings.Contains(errs, "csv: file") || !strings.Contains(errs, "limit of 1 KiB") {
		t.Errorf("a 2 kB file with a 1 KiB limit: exit %d, %q", code, errs)
	}
}
