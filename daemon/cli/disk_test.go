package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/sample"
	"github.com/watchpost/watchpost/engine/testkit"
)

// TestImportDiskFull: `watchpost import` into a data directory on a
// nearly full file system (a 40 MiB tmpfs) is refused with an error that
// names the directory, the space free and the space needed, and what to
// do; after the filler file is deleted the same import succeeds.
func TestImportDiskFull(t *testing.T) {
	mnt := testkit.Tmpfs(t, 40<<20)
	t.Setenv(config.EnvName("store.disk_reserve"), "12MiB")
	data := filepath.Join(mnt, "data")
	un := filepath.Join(t.TempDir(), "un.xml")
	if err := os.WriteFile(un, sample.UNList, 0o600); err != nil {
		t.Fatal(err)
	}
	filler := testkit.Fill(t, mnt, 8<<20)
	code, _, errs := runCLI(t, "", "import", "--data-dir", data, "--list", "un", "--format", "un-xml", un)
	if code != ExitFailure {
		t.Fatalf("import on a full disk: exit %d, want %d: %s", code, ExitFailure, errs)
	}
	for _, s := range []string{"not enough free disk space", "MiB free on the file system of " + filepath.Join(data, "store"), "12.0 MiB needed", "store.disk_reserve"} {
		if !strings.Contains(errs, s) {
			t.Errorf("import error %q does not say %q", errs, s)
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "", "import", "--data-dir", data, "--list", "un", "--format", "un-xml", un)
	if code != ExitOK || !strings.Contains(out, "1003 entries") {
		t.Fatalf("import once space is back: exit %d: %s %s", code, out, errs)
	}
	// A reserve that is not a size is an error, not the default.
	t.Setenv(config.EnvName("store.disk_reserve"), "lots")
	if code, _, errs := runCLI(t, "", "lists", "--data-dir", data); code == ExitOK || !strings.Contains(errs, "WATCHPOST_STORE_DISK_RESERVE") {
		t.Errorf("lists with a bad reserve: exit %d: %s", code, errs)
	}
}

// TestStatusDisk: `watchpost status` says when the post's disk is low,
// and what that means.
func TestStatusDisk(t *testing.T) {
	var b strings.Builder
	printStatus(&b, &api.Status{Disk: api.Disk{Dir: "/var/lib/watchpost/store", Free: 1 << 20, Reserve: 96 << 20, Low: true}})
	if want := "disk: LOW, 1.0 MiB free on the file system of /var/lib/watchpost/store, below the reserve of 96.0 MiB: screening on the lists held, nothing is recorded (507)"; !strings.Contains(b.String(), want) {
		t.Errorf("status on a low disk:\n%s\nwant %q", b.String(), want)
	}
	b.Reset()
	printStatus(&b, &api.Status{Disk: api.Disk{Dir: "/d", Free: 2 << 30, Reserve: 96 << 20}})
	if !strings.Contains(b.String(), "disk: 2.0 GiB free (reserve 96.0 MiB)") || strings.Contains(b.String(), "LOW") {
		t.Errorf("status with room:\n%s", b.String())
	}
}
