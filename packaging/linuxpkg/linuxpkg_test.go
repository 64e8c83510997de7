package linuxpkg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/config"
)

// fixture writes a fake binary, config and unit, and returns the daemon
// spec over them.
func fixture(t *testing.T) Spec {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return Daemon("1.2.3", "abcdef0", "amd64", time.Unix(1700000000, 0),
		write("watchpost", "#!/bin/sh\necho fake\n"), write("watchpost.yaml", "post_id: x\n"), write("watchpost.service", "[Unit]\n"))
}

func build(t *testing.T, format string, s Spec) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Build(format, s, t.TempDir(), &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestReproducible: the same inputs give byte-identical packages, whatever
// the wall clock or the scratch directory.
func TestReproducible(t *testing.T) {
	s := fixture(t)
	for _, f := range Formats {
		a := build(t, f, s)
		time.Sleep(1100 * time.Millisecond)
		b := build(t, f, s)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two builds differ (%d and %d bytes)", f, len(a), len(b))
		}
	}
}

// debMember returns the named member of a .deb's ar archive ("!<arch>\n",
// then 60-byte headers: name 16, date 12, uid 6, gid 6, mode 8, size 10,
// magic 2; bodies padded to even length).
func debMember(t *testing.T, deb []byte, name string) []byte {
	t.Helper()
	rest, ok := bytes.CutPrefix(deb, []byte("!<arch>\n"))
	if !ok {
		t.Fatal("not an ar archive")
	}
	for len(rest) >= 60 {
		h := rest[:60]
		size, err := strconv.Atoi(strings.TrimSpace(string(h[48:58])))
		if err != nil {
			t.Fatal(err)
		}
		body := rest[60 : 60+size]
		if strings.TrimRight(strings.TrimSpace(string(h[:16])), "/") == name {
			return body
		}
		rest = rest[60+size+size%2:]
	}
	t.Fatalf("no %s in the .deb", name)
	return nil
}

// tarGz lists a .tar.gz as name → header, with file bodies.
func tarGz(t *testing.T, data []byte) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	headers, bodies := map[string]*tar.Header{}, map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return headers, bodies
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "."), "/")
		headers[name] = h
		bodies[name], _ = io.ReadAll(tr)
	}
}

// debControl checks that the .deb's only conffile is conffile and that its
// maintainer scripts are there and executable, and returns the control
// archive's files.
func debControl(t *testing.T, deb []byte, conffile string) map[string][]byte {
	t.Helper()
	ctrl, ctrlFiles := tarGz(t, debMember(t, deb, "control.tar.gz"))
	if got := string(ctrlFiles["/conffiles"]); got != conffile+"\n" {
		t.Errorf("conffiles = %q, want %q", got, conffile+"\n")
	}
	for _, s := range []string{"/postinst", "/prerm", "/postrm"} {
		if h, ok := ctrl[s]; !ok || h.Mode&0o111 == 0 {
			t.Errorf("control: %s missing or not executable", s)
		}
	}
	return ctrlFiles
}

// wantFiles checks that data holds each file of want with its mode, owned
// by root and dated at the fixture's build time.
func wantFiles(t *testing.T, data map[string]*tar.Header, want map[string]int64) {
	t.Helper()
	for name, mode := range want {
		h, ok := data[name]
		if !ok {
			t.Errorf("data: no %s", name)
			continue
		}
		if h.Mode != mode || h.Uname != "root" || !h.ModTime.Equal(time.Unix(1700000000, 0)) {
			t.Errorf("data: %s mode %o owner %s time %s", name, h.Mode, h.Uname, h.ModTime)
		}
	}
}

func TestDebLayout(t *testing.T) {
	deb := build(t, "deb", fixture(t))
	ctrlFiles := debControl(t, deb, ConfigFile)
	control := string(ctrlFiles["/control"])
	for _, want := range []string{"Package: watchpost\n", "Version: 1.2.3\n", "Architecture: amd64\n", "Depends: adduser\n"} {
		if !strings.Contains(control, want) {
			t.Errorf("control lacks %q:\n%s", want, control)
		}
	}

	data, bodies := tarGz(t, debMember(t, deb, "data.tar.gz"))
	want := map[string]int64{
		"/usr/bin/watchpost":                     0o755,
		ConfigFile:                               0o644,
		UnitFile:                                 0o644,
		"/usr/share/doc/watchpost/copyright":     0o644,
		"/usr/share/doc/watchpost/changelog.gz":  0o644,
		"/usr/share/lintian/overrides/watchpost": 0o644,
	}
	wantFiles(t, data, want)
	zr, err := gzip.NewReader(bytes.NewReader(bodies["/usr/share/doc/watchpost/changelog.gz"]))
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := io.ReadAll(zr)
	if !strings.HasPrefix(string(cl), "watchpost (1.2.3) unstable; urgency=medium\n") || zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("changelog.gz: header name %q time %s, text %q", zr.Name, zr.ModTime, cl)
	}
}

func TestFileNames(t *testing.T) {
	s := fixture(t)
	for f, want := range map[string]string{"deb": "watchpost_1.2.3_amd64.deb", "rpm": "watchpost-1.2.3-1.x86_64.rpm"} {
		got, err := FileName(f, s)
		if err != nil || got != want {
			t.Errorf("FileName(%s) = %q, %v; want %q", f, got, err, want)
		}
	}
	s.Arch = "arm64"
	if got, _ := FileName("rpm", s); got != "watchpost-1.2.3-1.aarch64.rpm" {
		t.Errorf("arm64 rpm = %q", got)
	}
}

func TestPackagedConfig(t *testing.T) {
	example, err := os.ReadFile("../../configs/watchpost.yaml")
	if err != nil {
		t.Fatal(err)
	}
	linux := string(PackagedConfig(example, "linux"))
	if strings.Contains("\n"+linux, "\npost_id:") {
		t.Error("the packaged config still sets post_id")
	}
	if !strings.Contains(linux, "\ndata_dir: /var/lib/watchpost\n") {
		t.Error("the Linux config lost data_dir")
	}
	win := string(PackagedConfig(example, "windows"))
	if strings.Contains(win, "\r\ndata_dir:") || !strings.Contains(win, "\r\n") {
		t.Error("the Windows config keeps the Linux data_dir or has no CRLF")
	}
}

// TestPackagedConfigStoreKey: the packaged configuration (Linux and
// Windows) names the installer's key, relative to its own directory, with
// the back-up comment; the example's empty line is gone; nothing else
// under store: changes.
func TestPackagedConfigStoreKey(t *testing.T) {
	example, err := os.ReadFile("../../configs/watchpost.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !storeKeyLine.Match(example) {
		t.Fatal(`the example has no 'encryption_key_file: ""' line under store: (the transform would do nothing)`)
	}
	for goos, want := range map[string]struct{ nl, path string }{
		"linux":   {"\n", "/etc/watchpost/store.key"},
		"windows": {"\r\n", `C:\ProgramData\Watchpost\store.key`},
	} {
		got := string(PackagedConfig(example, goos))
		if n := strings.Count(got, want.nl+"  encryption_key_file: store.key"+want.nl); n != 1 {
			t.Errorf("%s: %d 'encryption_key_file: store.key' lines under store:, want 1", goos, n)
		}
		if strings.Contains(got, `encryption_key_file: ""`) {
			t.Errorf("%s: the empty encryption_key_file line is still there", goos)
		}
		for _, s := range []string{"  # The installer made this key, " + want.path + ",", "Back it up to HQ's key safe:", "cannot be read"} {
			if !strings.Contains(got, s) {
				t.Errorf("%s: no %q in the comment", goos, s)
			}
		}
		// The comment sits right above the key line, inside store:.
		i := strings.Index(got, want.nl+"store:"+want.nl)
		j := strings.Index(got, "  # The installer made this key")
		k := strings.Index(got, "  encryption_key_file: store.key")
		if i < 0 || !(i < j && j < k) {
			t.Errorf("%s: store: at %d, comment at %d, key line at %d", goos, i, j, k)
		}
		// Only the key line and its comment differ from the example's
		// lines (post_id and, on Windows, data_dir aside).
		ex := strings.Split(string(example), "\n")
		lines := strings.Split(strings.ReplaceAll(got, "\r\n", "\n"), "\n")
		extra := len(lines) - len(ex)
		if extra != 2+5+boolInt(goos == "windows") {
			t.Errorf("%s: %d more lines than the example, want %d", goos, extra, 2+5+boolInt(goos == "windows"))
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPackagedConfigNoKeyLine: a configuration whose key file is already
// set is left alone.
func TestPackagedConfigNoKeyLine(t *testing.T) {
	in := []byte("post_id: x\nstore:\n  encryption_key_file: /srv/key\n")
	got := string(PackagedConfig(in, "linux"))
	if !strings.Contains(got, "  encryption_key_file: /srv/key\n") || strings.Contains(got, "store.key") {
		t.Errorf("a set key file was changed:\n%s", got)
	}
}

// TestPackagedConfigLoads: the packaged Linux configuration, with a
// post_id and the key `watchpost config new-store-key` writes next to it,
// draws no problem about the store (the example's other files, such as
// hq.keys_file, are not there), and reads the key from the
// configuration's directory.
func TestPackagedConfigLoads(t *testing.T) {
	example, err := os.ReadFile("../../configs/watchpost.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := append([]byte("post_id: pkg-test-1\n"), PackagedConfig(example, "linux")...)
	cfg = bytes.ReplaceAll(cfg, []byte("\ndata_dir: /var/lib/watchpost\n"), []byte("\ndata_dir: "+filepath.Join(dir, "data")+"\n"))
	path := filepath.Join(dir, "watchpost.yaml")
	if err := os.WriteFile(path, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := config.WriteStoreKeyFile(filepath.Join(dir, StoreKeyName)); err != nil {
		t.Fatal(err)
	}
	c, problems := config.Check(path, config.Options{Env: func(string) string { return "" }})
	for _, p := range problems {
		if strings.HasPrefix(p.Key, "store.") {
			t.Errorf("problem: %v", p)
		}
	}
	if c == nil || !c.Store.EncryptionKey.IsSet() {
		t.Fatal("no store key read from the packaged configuration")
	}
	if c.Store.EncryptionKeyFile != filepath.Join(dir, StoreKeyName) {
		t.Errorf("key file %q, want %q (relative to the configuration)", c.Store.EncryptionKeyFile, filepath.Join(dir, StoreKeyName))
	}
}

// TestScriptsIncludeTheirFunctions: every maintainer script is packaged
// with the shared functions it calls copied in (no include line left, each
// called lib-*.sh function defined before its first call), and the result
// is valid sh.
func TestScriptsIncludeTheirFunctions(t *testing.T) {
	entries, err := scripts.ReadDir("scripts")
	if err != nil {
		t.Fatal(err)
	}
	// The functions the lib-*.sh files define: lines "name() {".
	var libFuncs []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "lib-") {
			continue
		}
		b, err := scripts.ReadFile("scripts/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutSuffix(line, "() {"); ok {
				libFuncs = append(libFuncs, name)
			}
		}
	}
	if len(libFuncs) < 8 {
		t.Fatalf("lib-*.sh define %v; want the eight shared functions", libFuncs)
	}
	calls := 0
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "lib-") {
			continue
		}
		b, err := Script(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		defined := map[string]bool{}
		for i, line := range lines {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, includeMark) {
				t.Errorf("%s:%d: an include line is left in the packaged script", name, i+1)
			}
			for _, fn := range libFuncs {
				switch {
				case line == fn+"() {":
					defined[fn] = true
				case line == fn || strings.HasPrefix(line, fn+" ") || strings.HasPrefix(line, "if "+fn):
					calls++
					if !defined[fn] {
						t.Errorf("%s:%d calls %s before defining it", name, i+1, fn)
					}
				}
			}
		}
		sh := exec.Command("sh", "-n")
		sh.Stdin = bytes.NewReader(b)
		if out, err := sh.CombinedOutput(); err != nil {
			t.Errorf("%s: sh -n: %v\n%s", name, err, out)
		}
	}
	if calls == 0 {
		t.Fatal("no script calls a shared function")
	}
	if _, err := Script("no-such-script.sh"); err == nil {
		t.Error("Script of a missing file did not fail")
	}
}
