package linuxpkg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
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

func TestDebLayout(t *testing.T) {
	deb := build(t, "deb", fixture(t))
	ctrl, ctrlFiles := tarGz(t, debMember(t, deb, "control.tar.gz"))
	if got := string(ctrlFiles["/conffiles"]); got != ConfigFile+"\n" {
		t.Errorf("conffiles = %q, want %q", got, ConfigFile+"\n")
	}
	for _, s := range []string{"/postinst", "/prerm", "/postrm"} {
		if h, ok := ctrl[s]; !ok || h.Mode&0o111 == 0 {
			t.Errorf("control: %s missing or not executable", s)
		}
	}
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
