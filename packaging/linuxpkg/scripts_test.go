package linuxpkg

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestScriptsIncludeTheirFunctions: every maintainer script is packaged
// with the shared functions it calls copied in (no include line left, each
// called lib-*.sh function defined before the script's own code), and the
// result is valid sh.
func TestScriptsIncludeTheirFunctions(t *testing.T) {
	entries, err := scripts.ReadDir("scripts")
	if err != nil {
		t.Fatal(err)
	}
	// The functions the lib-*.sh files define.
	var libFuncs []string
	def := regexp.MustCompile(`(?m)^([a-z_]+)\(\) \{$`)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "lib-") {
			b, err := scripts.ReadFile("scripts/" + e.Name())
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range def.FindAllSubmatch(b, -1) {
				libFuncs = append(libFuncs, string(m[1]))
			}
		}
	}
	if len(libFuncs) < 8 {
		t.Fatalf("lib-*.sh define %v; want the eight shared functions", libFuncs)
	}
	calls := 0
	left := regexp.MustCompile(`(?m)^` + includeMark)
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "lib-") {
			continue
		}
		b, err := Script(name)
		if err != nil {
			t.Fatal(err)
		}
		if left.Match(b) {
			t.Errorf("%s: an include line is left in the packaged script", name)
		}
		for _, fn := range libFuncs {
			call := regexp.MustCompile(`(?m)^\s*(if )?` + fn + `( |$)`)
			loc := call.FindIndex(b)
			if loc == nil {
				continue
			}
			calls++
			if d := bytes.Index(b, []byte(fn+"() {")); d < 0 || d > loc[0] {
				t.Errorf("%s calls %s without defining it first", name, fn)
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
