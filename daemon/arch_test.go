package daemon_test

import (
	"bytes"
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/watchpost/watchpost/"

// The two sides of the link. A post package never depends on an HQ
// package, nor an HQ package on a post package: they meet in
// sync/protocol (and share the transport and the engine).
var (
	postPackages = []string{
		"sync/agent", "sync/replica", "sync/outbox", "sync/snapshot",
		"daemon/api", "daemon/api/input", "daemon/intake", "daemon/ledger",
	}
	hqPackages = []string{"sync/publish", "sync/hqserver", "sync/broker"}
)

// pkg is what `go list -json` says of a package.
type pkg struct {
	ImportPath                string
	Deps, Imports             []string
	TestImports, XTestImports []string
}

// listPackages runs `go list -json` from the module root.
func listPackages(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, patterns...)...)
	cmd.Dir = ".."
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -json %s: %v\n%s", strings.Join(patterns, " "), err, stderr.String())
	}
	var pkgs []pkg
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list -json: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func full(pkgs []string) []string {
	out := make([]string, len(pkgs))
	for i, p := range pkgs {
		out[i] = module + p
	}
	return out
}

// TestSidesMeetOnlyInProtocol: no post package depends, directly or
// through another package, on an HQ package, and no HQ package on a post
// package.
func TestSidesMeetOnlyInProtocol(t *testing.T) {
	check := func(from, banned []string, side, other string) {
		pkgs := listPackages(t, full(from)...)
		if len(pkgs) != len(from) {
			t.Fatalf("go list described %d packages for %d %s packages", len(pkgs), len(from), side)
		}
		for _, p := range pkgs {
			for _, dep := range p.Deps {
				for _, b := range full(banned) {
					if dep == b || strings.HasPrefix(dep, b+"/") {
						t.Errorf("%s package %s depends on %s package %s: the two sides meet only in sync/protocol",
							side, strings.TrimPrefix(p.ImportPath, module), other, strings.TrimPrefix(dep, module))
					}
				}
			}
		}
	}
	check(postPackages, hqPackages, "post", "HQ")
	check(hqPackages, postPackages, "HQ", "post")
}

// TestDaemonFilesKeepToOneSide: in this package, the files named hq*.go
// import no post package and the other files no HQ package.
func TestDaemonFilesKeepToOneSide(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	hqFiles, postFiles := 0, 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		banned, side := hqPackages, "post"
		if strings.HasPrefix(name, "hq") {
			banned, side = postPackages, "HQ"
			hqFiles++
		} else {
			postFiles++
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if slices.Contains(full(banned), path) {
				t.Errorf("%s wires the %s side but imports %s", name, side, path)
			}
		}
	}
	if hqFiles == 0 || postFiles == 0 {
		t.Fatalf("found %d HQ files and %d post files; the naming rule does not match the package", hqFiles, postFiles)
	}
}

// TestDaemonDocSaysWhoImportsIt: the packages the package doc names as
// importing this one are exactly those that do (tests included).
func TestDaemonDocSaysWhoImportsIt(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", src, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil || f.Doc == nil {
		t.Fatalf("doc.go holds no package doc (%v)", err)
	}
	doc := f.Doc.Text()
	start := strings.Index(doc, "Imported only by")
	if start < 0 {
		t.Fatalf("the package doc does not say who imports it:\n%s", doc)
	}
	claim := doc[start:]
	claim = claim[:strings.Index(claim, "\n\n")]
	var named []string
	for _, m := range regexp.MustCompile(`\bdaemon/[a-z/]+[a-z]`).FindAllString(claim, -1) {
		if !slices.Contains(named, m) {
			named = append(named, m)
		}
	}
	slices.Sort(named)

	var actual []string
	for _, p := range listPackages(t, "./...") {
		imports := slices.Concat(p.Imports, p.TestImports, p.XTestImports)
		if p.ImportPath != module+"daemon" && slices.Contains(imports, module+"daemon") {
			actual = append(actual, strings.TrimPrefix(p.ImportPath, module))
		}
	}
	slices.Sort(actual)
	if !slices.Equal(named, actual) {
		t.Errorf("the package doc says daemon is imported by %q; it is imported by %q", named, actual)
	}
}
