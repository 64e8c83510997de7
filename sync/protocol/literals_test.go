package protocol_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The wire's spellings: its topics and HQ's HTTPS paths. Outside
// sync/protocol, Go code names them through the protocol's constants and
// builders (DeltaTopic, PathSnapshots, DeltaURL, …), never as literals.
var (
	topicLiteral = regexp.MustCompile(`watchpost/v1/`)
	fileLiteral  = regexp.MustCompile(`/(snapshots|deltas)(/|\?|$)`)
	// HQ's admin paths, not the /v1/ inside a topic (…watchpost/v1/lists/).
	// /healthz is not among them: every HTTP server of the project has
	// one.
	adminLiteral = regexp.MustCompile(`(^|[^t])/v1/(posts|hits|lists|heads|keys|audit|users)(/|\?|$)`)
)

// literalExemptions are the places allowed to spell the wire, by path
// from the module root (a directory ends in '/'), with the patterns they
// may spell and why.
var literalExemptions = []struct {
	path     string
	patterns []*regexp.Regexp
	why      string
}{
	{"sync/protocol/", []*regexp.Regexp{topicLiteral, fileLiteral, adminLiteral}, "the package that owns the wire"},
	{"sync/broker/acl_internal_test.go", []*regexp.Regexp{topicLiteral}, "pins the ACL to the topics as PROTOCOL.md spells them: builders would move along with the change the test must catch"},
	{"sync/broker/table_test.go", []*regexp.Regexp{topicLiteral}, "attacks the broker's ACL with forged topics and wildcards, spelled out"},
	{"sync/broker/broker_test.go", []*regexp.Regexp{topicLiteral}, "attacks the embedded broker with other posts' topics and wills, spelled out"},
	{"sync/broker/mosquitto_test.go", []*regexp.Regexp{topicLiteral}, "attacks the shipped Mosquitto ACL with other posts' topics, spelled out"},
	{"sync/hqserver/http_test.go", []*regexp.Regexp{fileLiteral, adminLiteral}, "attacks HQ's file server with forged paths (.., %2f, symbolic links), spelled out byte by byte"},
	{"daemon/api/", []*regexp.Regexp{adminLiteral}, "the post's own local API: its /v1/hits is its route, not HQ's"},
}

// wireLiterals returns, for each string literal of a Go source that
// spells a topic or an HQ path, its position and the pattern it matched.
func wireLiterals(fset *token.FileSet, name string, src []byte) ([]string, []*regexp.Regexp, error) {
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, nil, err
	}
	var where []string
	var what []*regexp.Regexp
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		for _, re := range []*regexp.Regexp{topicLiteral, fileLiteral, adminLiteral} {
			if re.MatchString(s) {
				where = append(where, fset.Position(lit.Pos()).String()+": "+lit.Value)
				what = append(what, re)
			}
		}
		return true
	})
	return where, what, nil
}

func exempt(path string, re *regexp.Regexp) bool {
	for _, e := range literalExemptions {
		if path == e.path || strings.HasSuffix(e.path, "/") && strings.HasPrefix(path, e.path) {
			for _, p := range e.patterns {
				if p == re {
					return true
				}
			}
		}
	}
	return false
}

// TestNoWireLiteralsOutsideProtocol fails if a Go file of the module
// outside sync/protocol spells a topic or an HQ path as a string literal
// instead of using the protocol's names, except the exemptions above.
func TestNoWireLiteralsOutsideProtocol(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (strings.HasPrefix(n, ".") || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		where, what, err := wireLiterals(fset, rel, src)
		if err != nil {
			return err
		}
		for i := range where {
			if !exempt(rel, what[i]) {
				t.Errorf("%s spells the wire: use sync/protocol's constants and builders", where[i])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 200 {
		t.Fatalf("scanned only %d Go files from %s; the walk looks wrong", files, root)
	}
}

// TestWireLiteralsFound: the scan sees what it must refuse.
func TestWireLiteralsFound(t *testing.T) {
	src := []byte(`package x
const a = "watchpost/v1/lists/un/delta"
var b = base + "/deltas/" + list
func c() string { return fmt.Sprintf("%s/snapshots", u) + "/v1/hits?limit=1" }
// "watchpost/v1/ in a comment is documentation"
var d = "snapshots"
`)
	where, _, err := wireLiterals(token.NewFileSet(), "x.go", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(where) != 4 {
		t.Errorf("found %d literals, want 4: %q", len(where), where)
	}
	if !exempt("sync/broker/table_test.go", topicLiteral) || exempt("sync/broker/table_test.go", fileLiteral) || exempt("sync/agent/agent.go", topicLiteral) {
		t.Error("exemptions do not apply as listed")
	}
}
