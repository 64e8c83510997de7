package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/daemon/cmdline"
	"github.com/watchpost/watchpost/daemon/doctor"
	"github.com/watchpost/watchpost/daemon/service"
)

// runFakeDoctor runs the doctor command with a doctor that sees a machine
// with plenty of disk and the service running, without asking the service
// manager.
func runFakeDoctor(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	fake := func(env *Env, configPath string) *doctor.Doctor {
		d := newDoctor(env, configPath)
		d.Env = nil
		d.DiskFree = func(string) (uint64, error) { return 50 << 30, nil }
		d.ServiceStatus = func() (service.State, error) { return service.StateRunning, nil }
		return d
	}
	p := &cmdline.Program{Name: "watchpost", Commands: map[string]cmdline.Command{"doctor": {Run: doctorCommand(fake)}}}
	var out, errb bytes.Buffer
	code := p.Run(context.Background(), append([]string{"doctor"}, args...), &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func TestDoctor(t *testing.T) {
	dir := importUN(t)
	cfg := filepath.Join(t.TempDir(), "watchpost.yaml")
	// An offline post (no brokers): the network checks are skipped.
	if err := os.WriteFile(cfg, []byte("post_id: gate-north-1\ndata_dir: "+dir+"\napi:\n  listen: off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runFakeDoctor(t, "--config", cfg)
	if code != ExitOK {
		t.Fatalf("doctor: exit %d\n%s%s", code, out, errs)
	}
	for _, s := range []string{"CHECK", "RESULT", "DETAIL", "store", "1 lists, 1003 entries", "service", "installed and running", "0 failed"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}

	code, out, _ = runFakeDoctor(t, "--config", cfg, "--json")
	if code != ExitOK {
		t.Fatalf("doctor --json: exit %d", code)
	}
	var rep struct {
		Findings []doctor.Finding `json:"findings"`
		Fail     int              `json:"fail"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, out)
	}
	if len(rep.Findings) == 0 || rep.Fail != 0 || rep.Findings[0].Check != "config" {
		t.Fatalf("doctor --json: %+v", rep)
	}

	// A broken configuration: exit 1, the problem with its line.
	if err := os.WriteFile(cfg, []byte("post_id: Gate North\ndata_dir: "+dir+"\napi:\n  listen: off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runFakeDoctor(t, "--config", cfg)
	if code != ExitFailure || !strings.Contains(out, "watchpost.yaml:1: post_id") || !strings.Contains(errs, "1 check failed") {
		t.Fatalf("doctor on a broken config: exit %d\n%s%s", code, out, errs)
	}

	if code, _, _ := runFakeDoctor(t, "extra"); code != ExitUsage {
		t.Errorf("doctor extra: exit %d, want %d", code, ExitUsage)
	}
	if code, _, _ := runFakeDoctor(t, "--bogus"); code != ExitUsage {
		t.Errorf("doctor --bogus: exit %d, want %d", code, ExitUsage)
	}
}
