// Command packaging builds every Watchpost release artifact into one
// directory with one command, from the module root:
//
//	go run ./packaging [--version V] [--out dist] [--skip-msi] [--skip-sign]
//
// It cross-builds watchpost and watchpost-hq for linux/amd64, linux/arm64
// and windows/amd64 (reproducibly), makes the .deb and .rpm packages of
// both programs for both Linux architectures with nfpm, the .msi with
// wixl, signs the Windows files with osslsigncode (the release certificate
// from WATCHPOST_SIGN_*, else a test certificate made for the build), and
// writes SHA256SUMS. packaging/README.md is the technician's guide and
// says how to sign with the real certificate.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/watchpost/watchpost/packaging/codesign"
	"github.com/watchpost/watchpost/packaging/gobuild"
	"github.com/watchpost/watchpost/packaging/linuxpkg"
	"github.com/watchpost/watchpost/packaging/msi"
)

type options struct {
	version            string
	out                string
	arches             []string
	skipRPM, skipMSI   bool
	skipSign, keepWork bool
}

func main() {
	var o options
	var arches string
	flag.StringVar(&o.version, "version", "", "package version (default: from `git describe --tags --always --dirty`, or 0.0.0~dev+COMMIT without a tag)")
	flag.StringVar(&o.out, "out", "dist", "output directory (emptied first)")
	flag.StringVar(&arches, "linux-arches", "amd64,arm64", "Linux architectures to build and package")
	flag.BoolVar(&o.skipRPM, "skip-rpm", false, "do not build the .rpm packages")
	flag.BoolVar(&o.skipMSI, "skip-msi", false, "do not build the Windows binaries and the .msi")
	flag.BoolVar(&o.skipSign, "skip-sign", false, "do not sign the Windows files")
	flag.BoolVar(&o.keepWork, "keep-work", false, "keep the scratch directory (generated .wxs, scripts) and print its path")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "packaging: no arguments expected; see -h")
		os.Exit(2)
	}
	for _, a := range strings.Split(arches, ",") {
		if a = strings.TrimSpace(a); a != "" {
			o.arches = append(o.arches, a)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := build(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "packaging:", err)
		os.Exit(1)
	}
}

// moduleRoot finds the directory holding go.mod, from the working
// directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod here or above: run from the Watchpost module")
		}
		dir = parent
	}
}

func build(ctx context.Context, o options) error {
	start := time.Now()
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	stamp, err := gobuild.Resolve(ctx, root, o.version, os.Getenv)
	if err != nil {
		return err
	}
	logf("version %s, commit %s, date %s (MSI %s)", stamp.Version, stamp.Commit, stamp.Date(), stamp.MSIVersion())

	out := o.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "watchpost-packaging-")
	if err != nil {
		return err
	}
	if o.keepWork {
		logf("scratch directory %s kept", work)
	} else {
		defer os.RemoveAll(work)
	}

	example, err := os.ReadFile(filepath.Join(root, "configs", "watchpost.yaml"))
	if err != nil {
		return err
	}
	unit := filepath.Join(root, "packaging", "systemd", "watchpost.service")
	hqUnit := filepath.Join(root, "packaging", "systemd", "watchpost-hq.service")
	hqEnv := filepath.Join(root, "packaging", "systemd", "watchpost-hq-serve.env")
	for _, f := range []string{unit, hqUnit, hqEnv} {
		if _, err := os.Stat(f); err != nil {
			return err
		}
	}

	// Binaries: dist/bin/<os>_<arch>/<program>.
	targets := []gobuild.Target{}
	for _, a := range o.arches {
		targets = append(targets, gobuild.Target{OS: "linux", Arch: a})
	}
	if !o.skipMSI {
		targets = append(targets, gobuild.Target{OS: "windows", Arch: "amd64"})
	}
	bin := func(t gobuild.Target, p string) string {
		return filepath.Join(out, "bin", t.OS+"_"+t.Arch, t.Exe(p))
	}
	for _, t := range targets {
		for _, p := range gobuild.Programs {
			if err := gobuild.Build(ctx, root, p, t, stamp, bin(t, p.Name)); err != nil {
				return err
			}
		}
		logf("built %s", t)
	}

	// .deb and .rpm.
	linuxConfig := filepath.Join(work, "watchpost.yaml")
	if err := os.WriteFile(linuxConfig, linuxpkg.PackagedConfig(example, "linux"), 0o644); err != nil {
		return err
	}
	formats := []string{"deb", "rpm"}
	if o.skipRPM {
		formats = []string{"deb"}
	}
	for _, a := range o.arches {
		t := gobuild.Target{OS: "linux", Arch: a}
		specs := []linuxpkg.Spec{
			linuxpkg.Daemon(stamp.Version, stamp.Commit, a, stamp.Time, bin(t, "watchpost"), linuxConfig, unit),
			linuxpkg.HQ(stamp.Version, stamp.Commit, a, stamp.Time, bin(t, "watchpost-hq"), hqEnv, hqUnit),
		}
		for _, s := range specs {
			for _, f := range formats {
				name, err := writePackage(f, s, work, out)
				if err != nil {
					return err
				}
				logf("packaged %s", name)
			}
		}
	}

	// Signing and the .msi.
	if !o.skipMSI {
		win := gobuild.Target{OS: "windows", Arch: "amd64"}
		var signer codesign.Signer
		if !o.skipSign {
			s, ok, err := codesign.FromEnv(os.Getenv)
			if err != nil {
				return err
			}
			if !ok {
				dir := filepath.Join(work, "test-signing")
				if err := os.MkdirAll(dir, 0o700); err != nil {
					return err
				}
				if s, err = codesign.NewTestSigner(dir, time.Now()); err != nil {
					return err
				}
				if err := copyFile(s.CAFile, filepath.Join(out, TestCAFile)); err != nil {
					return err
				}
				logf("signing with a TEST certificate (no %s or %s set); its CA is %s", codesign.EnvPKCS12, codesign.EnvCert, TestCAFile)
			}
			signer = s
			for _, p := range gobuild.Programs {
				if err := signAndVerify(ctx, signer, bin(win, p.Name)); err != nil {
					return err
				}
			}
		}
		winConfig := filepath.Join(work, "watchpost-windows.yaml")
		if err := os.WriteFile(winConfig, linuxpkg.PackagedConfig(example, "windows"), 0o644); err != nil {
			return err
		}
		name := fmt.Sprintf("watchpost-%s-x64.msi", stamp.Version)
		path := filepath.Join(out, name)
		if err := msi.Build(ctx, msi.Input{
			Version: stamp.Version, MSIVersion: stamp.MSIVersion(),
			Exe: bin(win, "watchpost"), Config: winConfig,
		}, work, path); err != nil {
			return err
		}
		if !o.skipSign {
			if err := signAndVerify(ctx, signer, path); err != nil {
				return err
			}
		}
		logf("packaged %s", name)
	}

	if err := writeSums(out); err != nil {
		return err
	}
	logf("wrote %s/SHA256SUMS in %s", o.out, time.Since(start).Round(time.Second))
	return nil
}

// TestCAFile is the name in dist/ of the test CA that verifies a build's
// test signatures (`osslsigncode verify -CAfile`).
const TestCAFile = "watchpost-TEST-codesign-ca.crt"

func signAndVerify(ctx context.Context, s codesign.Signer, path string) error {
	if err := s.SignInPlace(ctx, path); err != nil {
		return fmt.Errorf("sign %s: %w", filepath.Base(path), err)
	}
	if err := s.Verify(ctx, path); err != nil {
		return fmt.Errorf("verify %s: %w", filepath.Base(path), err)
	}
	logf("signed %s", filepath.Base(path))
	return nil
}

func writePackage(format string, s linuxpkg.Spec, work, out string) (string, error) {
	name, err := linuxpkg.FileName(format, s)
	if err != nil {
		return "", err
	}
	f, err := os.Create(filepath.Join(out, name))
	if err != nil {
		return "", err
	}
	if err := linuxpkg.Build(format, s, work, f); err != nil {
		f.Close()
		return "", err
	}
	return name, f.Close()
}

// writeSums writes SHA256SUMS (sha256sum's format, paths relative to
// dir, sorted) for every file in dir.
func writeSums(dir string) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel != "SHA256SUMS" {
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(n)))
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), n)
	}
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(b.String()), 0o644)
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "packaging: "+format+"\n", args...)
}
