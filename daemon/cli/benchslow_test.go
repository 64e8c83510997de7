package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/daemon/api/loadgen"
)

// TestBenchSlowBody runs `watchpost bench --slow-body` small, with the
// attacker in this process, and checks what it reports.
func TestBenchSlowBody(t *testing.T) {
	saved := slowAttack
	t.Cleanup(func() { slowAttack = saved })
	var got loadgen.SlowResult
	slowAttack = func(ctx context.Context, _ *Env, sb *slowBody, url string) (loadgen.SlowResult, error) {
		res, err := loadgen.Slow(ctx, sb.config(url), nil)
		got = res
		return res, err
	}
	code, out, errs := runCLI(t, "", "bench", "--slow-body", "--connections", "20", "--announce", "1000", "--send", "8", "--hold", "500ms")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if got.Opened != 20 || got.Failed != 0 {
		t.Errorf("attacker: %s", got)
	}
	for _, want := range []string{"slow body, 20 connections announcing 1,000 bytes, sending 8: post RSS before / peak / after", "20 connections opened", "peak <= 256 MB"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchSlowBodyUsage(t *testing.T) {
	code, _, errs := runCLI(t, "", "bench", "--slow-body", "--announce", "8", "--send", "8")
	if code != ExitUsage || !strings.Contains(errs, "--send < --announce") {
		t.Errorf("exit %d: %s", code, errs)
	}
}
