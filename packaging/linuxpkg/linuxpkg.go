// Package linuxpkg makes Watchpost's .deb and .rpm packages with nfpm (as
// a library): the daemon package and the HQ package, each with its binary,
// configuration marked as a conffile that upgrades never overwrite, its
// hardened systemd unit, service user, data directory and maintainer
// scripts; byte-identical for identical inputs.
package linuxpkg

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the "deb" packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the "rpm" packager
)

//go:embed scripts/*.sh
var scripts embed.FS

// Package metadata shared by every package.
const (
	Maintainer = "Watchpost maintainers <packaging@watchpost.example.org>"
	Vendor     = "Watchpost"
	Homepage   = "https://github.com/watchpost/watchpost"
	License    = "LicenseRef-Watchpost-Proprietary"
	// BuildHost is the rpm BUILDHOST tag: fixed, so the package does not
	// depend on the machine that built it.
	BuildHost = "watchpost-build"
)

// Installed paths.
const (
	BinDir     = "/usr/bin"
	ConfigFile = "/etc/watchpost/watchpost.yaml"
	UnitFile   = "/usr/lib/systemd/system/watchpost.service"
	DataDir    = "/var/lib/watchpost"

	HQEnvFile = "/etc/watchpost-hq/serve.env"
	HQUnit    = "/usr/lib/systemd/system/watchpost-hq.service"
	HQDataDir = "/var/lib/watchpost-hq"
	// HQConfigured is the check of "HQ is configured" that the unit's
	// ExecCondition= and the maintainer scripts run.
	HQConfigured = "/usr/lib/watchpost-hq/serve-configured"
)

// Formats are the package formats built, as nfpm names them.
var Formats = []string{"deb", "rpm"}

// Spec is one package to build.
type Spec struct {
	// Name is the package name (watchpost or watchpost-hq).
	Name string
	// Version is the upstream version (gobuild.Stamp.Version); Commit
	// goes into the changelog.
	Version, Commit string
	// Arch is the Go architecture (amd64, arm64); nfpm maps it.
	Arch string
	// MTime is every file's and the archive's time (SOURCE_DATE_EPOCH).
	MTime time.Time
	// Binary is the path of the program to install in /usr/bin.
	Binary string
	// Config and Unit are the paths of the configuration and systemd unit
	// (empty: none); ConfigDest and UnitDest are where they are installed.
	Config, ConfigDest, Unit, UnitDest string
	// Helpers are scripts from scripts/ installed as programs (mode 0755):
	// installed path → embedded file name.
	Helpers []Helper
	// Summary and Description are the one-line and long descriptions.
	Summary, Description string
	// Depends lists package dependencies (deb and rpm spell them alike).
	DebDepends, RPMDepends []string
	// Scripts names the maintainer scripts in scripts/: "" for none,
	// else their prefix ("watchpost": deb-postinst.sh…, "watchpost-hq":
	// hq-deb-postinst.sh…).
	Scripts string
}

// includeMark starts a line of a script in scripts/ that stands for a
// shared file of shell functions there (lib-*.sh), copied in at build
// time: dpkg and rpm run each maintainer script on its own, some before
// the package's files are on disk or after they are gone, so a script
// cannot source a shared file when it runs.
const includeMark = "# @include "

// Script returns the script name of scripts/ as it is packaged: each
// include line replaced by the file it names.
func Script(name string) ([]byte, error) {
	data, err := scripts.ReadFile("scripts/" + name)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		lib, ok := bytes.CutPrefix(bytes.TrimSuffix(line, []byte("\n")), []byte(includeMark))
		if !ok {
			out.Write(line)
			continue
		}
		body, err := scripts.ReadFile("scripts/" + string(lib))
		if err != nil {
			return nil, fmt.Errorf("%s: include: %w", name, err)
		}
		if bytes.Contains(body, []byte("\n"+includeMark)) {
			return nil, fmt.Errorf("%s: include %s: an included file includes another", name, lib)
		}
		out.Write(body)
	}
	return out.Bytes(), nil
}

// Helper is a script of scripts/ installed as a program.
type Helper struct{ Dest, Script string }

// scriptPrefix is the file name prefix of each package's maintainer
// scripts in scripts/.
var scriptPrefix = map[string]string{"watchpost": "", "watchpost-hq": "hq-"}

// Daemon is the spec of the watchpost package.
func Daemon(version, commit, arch string, mtime time.Time, binary, config, unit string) Spec {
	return Spec{
		Name: "watchpost", Version: version, Commit: commit, Arch: arch, MTime: mtime,
		Binary: binary, Config: config, ConfigDest: ConfigFile, Unit: unit, UnitDest: UnitFile, Scripts: "watchpost",
		Summary: "border-post watchlist screening service",
		Description: "Watchpost screens travellers at a border post against watchlists (UN\n" +
			"Security Council consolidated list, national lists, lost and stolen\n" +
			"documents) replicated from headquarters, and keeps screening while the\n" +
			"post's link is down. This package installs the watchpost command and\n" +
			"its systemd service, enabled but started only once\n" +
			"/etc/watchpost/watchpost.yaml passes `watchpost config check`.",
		DebDepends: []string{"adduser"},
		RPMDepends: []string{"shadow-utils"},
	}
}

// HQ is the spec of the watchpost-hq package: envFile is serve.env (the
// service's command line, a conffile) and unit watchpost-hq.service.
func HQ(version, commit, arch string, mtime time.Time, binary, envFile, unit string) Spec {
	return Spec{
		Name: "watchpost-hq", Version: version, Commit: commit, Arch: arch, MTime: mtime,
		Binary: binary, Config: envFile, ConfigDest: HQEnvFile, Unit: unit, UnitDest: HQUnit,
		Helpers: []Helper{{Dest: HQConfigured, Script: "hq-serve-configured.sh"}},
		Scripts: "watchpost-hq",
		Summary: "Watchpost headquarters: signs and publishes watchlists to posts",
		Description: "watchpost-hq is headquarters' side of Watchpost: it makes the signing\n" +
			"key, publishes signed watchlist editions to the posts, and receives\n" +
			"their hits and status. This package installs the watchpost-hq command\n" +
			"and the watchpost-hq service (watchpost-hq serve), enabled but started\n" +
			"only once HQ is configured: its signing key made with keygen and\n" +
			"/etc/watchpost-hq/serve.env set.",
		DebDepends: []string{"adduser"},
		RPMDepends: []string{"shadow-utils", "util-linux"},
	}
}

// Build writes the package in format ("deb" or "rpm") to w. work is a
// scratch directory for the generated files (scripts, doc files).
func Build(format string, s Spec, work string, w io.Writer) error {
	info, err := s.info(format, work)
	if err != nil {
		return err
	}
	p, err := nfpm.Get(format)
	if err != nil {
		return err
	}
	if err := nfpm.PrepareForPackager(nfpm.WithDefaults(info), format); err != nil {
		return fmt.Errorf("%s %s: %w", s.Name, format, err)
	}
	if err := p.Package(info, w); err != nil {
		return fmt.Errorf("%s %s: %w", s.Name, format, err)
	}
	return nil
}

// FileName is the conventional file name of the package.
func FileName(format string, s Spec) (string, error) {
	info, err := s.info(format, "")
	if err != nil {
		return "", err
	}
	p, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	return p.ConventionalFileName(nfpm.WithDefaults(info)), nil
}

// info is the nfpm description of s. With work empty it only names
// files (for FileName) and writes nothing.
func (s Spec) info(format, work string) (*nfpm.Info, error) {
	mtime := s.MTime.UTC()
	docDir := "/usr/share/doc/" + s.Name
	fi := func(mode os.FileMode) *files.ContentFileInfo {
		return &files.ContentFileInfo{Owner: "root", Group: "root", Mode: mode, MTime: mtime}
	}
	info := &nfpm.Info{
		Name:          s.Name,
		Arch:          s.Arch,
		Platform:      "linux",
		Version:       s.Version,
		VersionSchema: "none",
		Section:       "net",
		Priority:      "optional",
		Maintainer:    Maintainer,
		Vendor:        Vendor,
		Homepage:      Homepage,
		License:       License,
		Description:   s.Summary + "\n" + s.Description,
		MTime:         mtime,
		Overridables: nfpm.Overridables{
			Umask: 0o022,
			RPM: nfpm.RPM{
				Summary:     s.Summary,
				Group:       "System Environment/Daemons",
				BuildHost:   BuildHost,
				Packager:    Maintainer,
				Compression: "gzip",
			},
			Deb: nfpm.Deb{Compression: "gzip"},
		},
	}
	if format == "rpm" {
		info.Release = "1"
		info.Depends = s.RPMDepends
	} else {
		info.Depends = s.DebDepends
	}
	if work == "" {
		return info, nil
	}
	work = filepath.Join(work, s.Name+"-"+format+"-"+s.Arch)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	write := func(name string, data []byte, mode os.FileMode) (string, error) {
		p := filepath.Join(work, name)
		return p, os.WriteFile(p, data, mode)
	}

	c := files.Contents{
		{Source: s.Binary, Destination: BinDir + "/" + s.Name, FileInfo: fi(0o755)},
	}
	copyright, err := write("copyright", []byte(Copyright(mtime.Year())), 0o644)
	if err != nil {
		return nil, err
	}
	c = append(c, &files.Content{Source: copyright, Destination: docDir + "/copyright", FileInfo: fi(0o644)})
	if format == "deb" {
		// A native package (no Debian revision) ships its changelog as
		// changelog.gz, compressed with -9 and no name or time in the
		// gzip header (lintian, and reproducibility).
		gz, err := gzipMax([]byte(DebChangelog(s.Name, s.Version, s.Commit, mtime)))
		if err != nil {
			return nil, err
		}
		changelog, err := write("changelog.gz", gz, 0o644)
		if err != nil {
			return nil, err
		}
		c = append(c, &files.Content{Source: changelog, Destination: docDir + "/changelog.gz", FileInfo: fi(0o644)})
		overrides, err := write("lintian-overrides", []byte(LintianOverrides(s.Name)), 0o644)
		if err != nil {
			return nil, err
		}
		c = append(c, &files.Content{Source: overrides, Destination: "/usr/share/lintian/overrides/" + s.Name, FileInfo: fi(0o644)})
	}
	if s.Config != "" {
		c = append(c,
			&files.Content{Type: files.TypeDir, Destination: filepath.Dir(s.ConfigDest), FileInfo: fi(0o755)},
			&files.Content{Type: files.TypeConfigNoReplace, Source: s.Config, Destination: s.ConfigDest, FileInfo: fi(0o644)},
		)
	}
	if s.Unit != "" {
		c = append(c, &files.Content{Source: s.Unit, Destination: s.UnitDest, FileInfo: fi(0o644)})
	}
	script := func(name string) (string, error) {
		data, err := Script(name)
		if err != nil {
			return "", err
		}
		return write(name, data, 0o755)
	}
	for _, h := range s.Helpers {
		src, err := script(h.Script)
		if err != nil {
			return nil, err
		}
		c = append(c, &files.Content{Source: src, Destination: h.Dest, FileInfo: fi(0o755)})
	}
	info.Contents = c

	if s.Scripts != "" {
		prefix, ok := scriptPrefix[s.Scripts]
		if !ok {
			return nil, fmt.Errorf("%s: no maintainer scripts named %q", s.Name, s.Scripts)
		}
		// The maintainer scripts of each format, by the hook they fill.
		type hook struct {
			to   *string
			name string
		}
		hooks := []hook{
			{&info.Scripts.PostInstall, "deb-postinst.sh"},
			{&info.Scripts.PreRemove, "deb-prerm.sh"},
			{&info.Scripts.PostRemove, "deb-postrm.sh"},
		}
		if format != "deb" {
			hooks = []hook{
				{&info.Scripts.PreInstall, "rpm-pre.sh"},
				{&info.Scripts.PostInstall, "rpm-post.sh"},
				{&info.Scripts.PreRemove, "rpm-preun.sh"},
				{&info.Scripts.PostRemove, "rpm-postun.sh"},
			}
		}
		for _, h := range hooks {
			var err error
			if *h.to, err = script(prefix + h.name); err != nil {
				return nil, err
			}
		}
	}
	return info, nil
}

// Copyright is the machine-readable debian/copyright file.
func Copyright(year int) string {
	return fmt.Sprintf(`Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: watchpost
Upstream-Contact: %s
Source: %s

Files: *
Copyright: %d Watchpost authors
License: LicenseRef-Watchpost-Proprietary
 All rights reserved. Watchpost is distributed to the border agencies that
 operate it under their agreement with its authors; no other licence is
 granted. The binaries are statically linked Go programs and include Go
 modules under their own permissive licences (Apache-2.0, BSD-3-Clause,
 MIT); the list and their texts are in the source tree's go.sum and module
 cache.
`, Maintainer, Homepage, year)
}

// DebChangelog is a one-entry Debian changelog for version.
func DebChangelog(name, version, commit string, t time.Time) string {
	return fmt.Sprintf("%s (%s) unstable; urgency=medium\n\n  * Release %s, built from commit %s.\n\n -- %s  %s\n",
		name, version, version, commit, Maintainer, t.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
}

// LintianOverrides are the lintian tags that do not apply to a Go program,
// each with its reason.
func LintianOverrides(name string) string {
	return fmt.Sprintf(`# Go programs are statically linked by design (CGO_ENABLED=0): they run on
# any Linux of the architecture without shared libraries.
%[1]s: statically-linked-binary [usr/bin/%[1]s]
`, name)
}

// gzipMax compresses data with the best compression and an empty header
// (no name, no time), as lintian and reproducible builds want.
func gzipMax(data []byte) ([]byte, error) {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var postIDLine = regexp.MustCompile(`(?m)^post_id:[ \t]*\S.*$`)
var dataDirLine = regexp.MustCompile(`(?m)^data_dir:[ \t]*\S.*$`)

// storeKeyLine is the example's empty store.encryption_key_file (the
// line under store:, indented).
var storeKeyLine = regexp.MustCompile(`(?m)^([ \t]+)encryption_key_file:[ \t]*""[ \t]*$`)

// StoreKeyName is store.encryption_key_file in the packaged
// configuration: relative, so taken from the configuration's directory
// (/etc/watchpost/store.key; %ProgramData%\Watchpost\store.key). The
// installer makes the key there when there is none (postinst, rpm %post,
// the .msi's WatchpostStoreKey custom action).
const StoreKeyName = "store.key"

// PackagedConfig turns the annotated example (configs/watchpost.yaml)
// into the configuration a package installs: its example post_id is
// commented out, so a fresh install fails `watchpost config check` (and
// its service stays stopped) until the technician sets this post's own
// id; and store.encryption_key_file is set to StoreKeyName, the key the
// installer makes, so that a packaged post's store is encrypted at rest
// from its creation. For Windows (goos "windows") the Linux data_dir is
// commented out too, so the per-OS default (%ProgramData%\Watchpost\data)
// applies.
func PackagedConfig(example []byte, goos string) []byte {
	out := postIDLine.ReplaceAllFunc(example, func(line []byte) []byte {
		return []byte("# Set this post's id here (the line below is only an example); the\n" +
			"# service does not start until `watchpost config check` passes.\n# " + string(line))
	})
	keyPath := "/etc/watchpost/" + StoreKeyName
	if goos == "windows" {
		keyPath = `C:\ProgramData\Watchpost\` + StoreKeyName
	}
	out = storeKeyLine.ReplaceAllFunc(out, func(line []byte) []byte {
		indent := string(storeKeyLine.FindSubmatch(line)[1])
		c := func(s string) string { return indent + "# " + s + "\n" }
		return []byte(c("The installer made this key, "+keyPath+",") +
			c("when there was none; an upgrade keeps it. Back it up to HQ's key safe:") +
			c("without it the store cannot be read and the service does not start; the") +
			c("lists come back from HQ into a fresh store, but hits not yet delivered") +
			c("to HQ are lost.") +
			indent + "encryption_key_file: " + StoreKeyName)
	})
	if goos == "windows" {
		out = dataDirLine.ReplaceAllFunc(out, func(line []byte) []byte {
			return []byte("# (the default on Windows: %ProgramData%\\Watchpost\\data)\n# " + string(line))
		})
		out = bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n"))
	}
	return out
}
