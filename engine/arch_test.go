package engine_test

import (
	"os/exec"
	"strings"
	"testing"
)

// goList runs `go list` from the module root with a template and returns
// one line per package.
func goList(t *testing.T, template string, patterns ...string) []string {
	t.Helper()
	args := append([]string{"list", "-f", template}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// storageAdapters may import storage (storetest opens real stores for
// tests only); every other engine package is pure.
var storageAdapters = map[string]bool{
	"github.com/watchpost/watchpost/engine/badgerstore":           true,
	"github.com/watchpost/watchpost/engine/badgerstore/storetest": true,
}

// TestEnginePure fails if screening code pulls in storage, MQTT, the
// network or signal handling, directly or through a dependency.
func TestEnginePure(t *testing.T) {
	banned := func(dep string) bool {
		switch {
		case dep == "net" || strings.HasPrefix(dep, "net/"),
			dep == "os/signal",
			strings.HasPrefix(dep, "github.com/dgraph-io/"),
			strings.HasPrefix(dep, "github.com/eclipse/paho"),
			strings.HasPrefix(dep, "github.com/mochi-mqtt/"):
			return true
		}
		return false
	}
	checked := 0
	for _, line := range goList(t, `{{.ImportPath}} {{join .Deps " "}}`, "./engine/...") {
		fields := strings.Fields(line)
		if len(fields) == 0 || storageAdapters[fields[0]] {
			continue
		}
		checked++
		for _, dep := range fields[1:] {
			if banned(dep) {
				t.Errorf("%s depends on %s: engine packages must stay pure (only %v may touch storage)", fields[0], dep, storageAdapters)
			}
		}
	}
	if checked < 3 {
		t.Fatalf("checked only %d engine packages; go list output looks wrong", checked)
	}
}

// TestPackageDocs requires every package in the module to say its one job
// in a package doc comment.
func TestPackageDocs(t *testing.T) {
	for _, line := range goList(t, `{{.ImportPath}}|{{.Doc}}`, "./...") {
		path, doc, _ := strings.Cut(line, "|")
		if strings.TrimSpace(doc) == "" {
			t.Errorf("package %s has no package doc comment", path)
		}
	}
}
