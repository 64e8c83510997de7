package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/api/loadgen"
	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/match"
	"github.com/watchpost/watchpost/sync/outbox"
)

// slowTargetRSS is the most the post may hold under the slow-body attack.
const slowTargetRSS = 256 << 20

// slowBody are the flags of `watchpost bench --slow-body`.
type slowBody struct {
	on          bool
	url, token  string
	connections int
	announce    int64
	send        int
	hold        time.Duration
	asJSON      bool
}

func (sb *slowBody) flags(fs *flag.FlagSet) {
	fs.BoolVar(&sb.on, "slow-body", false, "measure the post's RSS under a slow-body attack instead of screening speed: a post API on the embedded UN list in this process, and --connections connections from a child process, each announcing --announce bytes and sending --send")
	fs.StringVar(&sb.url, "url", "", "with --slow-body: attack the post API at this URL (e.g. http://127.0.0.1:8640/v1/screen) and print what it answered, instead of running one")
	fs.StringVar(&sb.token, "token", "", "with --slow-body --url: the API token to send")
	fs.IntVar(&sb.connections, "connections", 10_000, "with --slow-body: connections to open")
	fs.Int64Var(&sb.announce, "announce", 60_000, "with --slow-body: the Content-Length each request announces")
	fs.IntVar(&sb.send, "send", 8, "with --slow-body: the body bytes each request sends")
	fs.DurationVar(&sb.hold, "hold", 30*time.Second, "with --slow-body: how long the connections wait for the post's answers")
	fs.BoolVar(&sb.asJSON, "json", false, "with --slow-body --url: print the result as JSON")
}

func (sb *slowBody) config(url string) loadgen.SlowConfig {
	return loadgen.SlowConfig{URL: url, Token: sb.token, Connections: sb.connections, Announce: sb.announce, Send: sb.send, Hold: sb.hold}
}

// run is `watchpost bench --slow-body`.
func (sb *slowBody) run(ctx context.Context, env *Env) error {
	if sb.connections <= 0 || sb.send <= 0 || int64(sb.send) >= sb.announce {
		return usagef("--slow-body needs --connections > 0 and 0 < --send < --announce")
	}
	if err := checkFileLimit(sb.connections); err != nil {
		return err
	}
	if sb.url != "" {
		return sb.attack(ctx, env)
	}
	return sb.measure(ctx, env)
}

// attack holds the connections against sb.url and prints the result.
func (sb *slowBody) attack(ctx context.Context, env *Env) error {
	res, err := loadgen.Slow(ctx, sb.config(sb.url), nil)
	if err != nil {
		return err
	}
	if sb.asJSON {
		return json.NewEncoder(env.Stdout).Encode(res)
	}
	_, err = fmt.Fprintln(env.Stdout, res)
	return err
}

// slowAttack runs the attack against url and returns what it saw; the
// bench runs it in a child process (attackFromChild) so that the
// attacker's memory and file descriptors are not the post's.
var slowAttack = attackFromChild

// attackFromChild runs `watchpost bench --slow-body --url URL --json` and
// reads its result.
func attackFromChild(ctx context.Context, env *Env, sb *slowBody, url string) (loadgen.SlowResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return loadgen.SlowResult{}, fmt.Errorf("find the watchpost executable for the attacking child: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "bench", "--slow-body", "--json", "--url", url,
		"--connections", strconv.Itoa(sb.connections), "--announce", strconv.FormatInt(sb.announce, 10),
		"--send", strconv.Itoa(sb.send), "--hold", sb.hold.String())
	cmd.Stderr = env.Stderr
	out, err := cmd.Output()
	if err != nil {
		return loadgen.SlowResult{}, fmt.Errorf("attacking child %s: %w", strings.Join(cmd.Args[1:], " "), err)
	}
	var res loadgen.SlowResult
	if err := json.Unmarshal(out, &res); err != nil {
		return loadgen.SlowResult{}, fmt.Errorf("attacking child's result %q: %w", out, err)
	}
	return res, nil
}

// measure runs a post API on the embedded UN list with the post's real
// ledger, attacks it, and prints its RSS before, at its peak under the
// attack, and after.
func (sb *slowBody) measure(ctx context.Context, env *Env) error {
	dir, err := os.MkdirTemp("", "watchpost-bench-slow-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, stop, err := benchPost(ctx, env, dir)
	if err != nil {
		return err
	}
	defer stop()
	addr, err := srv.Listen()
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			logPhase(env, "%v", err)
		}
		<-served
	}()
	url := "http://" + addr.String() + "/v1/screen"

	runtime.GC()
	debug.FreeOSMemory()
	before, ok := rssBytes("VmRSS")
	if !ok {
		return fmt.Errorf("--slow-body reads the post's RSS from /proc/self/status, which %s does not have", runtime.GOOS)
	}
	logPhase(env, "post API at %s, RSS %s; %d connections announcing %d bytes and sending %d", url, megabytes(before), sb.connections, sb.announce, sb.send)
	peak := sampleRSS(50 * time.Millisecond)
	start := time.Now()
	res, err := slowAttack(ctx, env, sb, url)
	took := time.Since(start)
	top := peak()
	if err != nil {
		return err
	}
	after, _ := rssBytes("VmRSS")
	verdict := "met"
	if top > slowTargetRSS {
		verdict = "missed"
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASUREMENT\tFIGURE\tTARGET")
	label := fmt.Sprintf("slow body, %s connections announcing %s bytes, sending %d", thousands(sb.connections), thousands(int(sb.announce)), sb.send)
	fmt.Fprintf(tw, "%s: post RSS before / peak / after\t%s / %s / %s\tpeak <= %s (%s)\n", label, megabytes(before), megabytes(top), megabytes(after), megabytes(slowTargetRSS), verdict)
	fmt.Fprintf(tw, "%s: the attacker saw\t%s\t\n", label, res)
	fmt.Fprintf(tw, "%s: attack to last answer\t%s\t\n", label, took.Round(time.Millisecond))
	return tw.Flush()
}

// benchPost builds a post API over the embedded UN list in dir, with the
// post's ledger and outbox; stop closes the store.
func benchPost(ctx context.Context, env *Env, dir string) (*api.Server, func(), error) {
	st, err := openStore(env, dir, nil)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*api.Server, func(), error) { st.Close(); return nil, nil, err }
	if _, err := importUNSample(ctx, st); err != nil {
		return fail(err)
	}
	sc, err := daemon.LoadScreener(ctx, st, match.Config{})
	if err != nil {
		return fail(err)
	}
	ob, err := outbox.Open(ctx, st, outbox.Options{})
	if err != nil {
		return fail(err)
	}
	led, err := ledger.Open(ctx, st, ob, ledger.Options{Post: "bench"})
	if err != nil {
		return fail(err)
	}
	srv, err := api.New(api.Options{
		Addr: "127.0.0.1:0", Screener: benchScreener{sc, daemon.CheckedLists(sc, nil, nil)}, Ledger: daemon.APILedger(led),
		Status: benchStatus{}, Readiness: benchStatus{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return fail(err)
	}
	return srv, func() { st.Close() }, nil
}

// benchScreener screens against one loaded screener.
type benchScreener struct {
	s       *match.Screener
	checked []engine.CheckedList
}

func (b benchScreener) Edition() api.Edition                         { return b }
func (b benchScreener) Screen(q *engine.Query) ([]engine.Hit, error) { return b.s.Screen(q) }
func (b benchScreener) Checked() ([]engine.CheckedList, []string)    { return b.checked, nil }

// benchStatus is a post that is ready and has no link.
type benchStatus struct{}

func (benchStatus) Status(context.Context) (api.Status, error)     { return api.Status{}, nil }
func (benchStatus) Ready(context.Context) (api.ReadyState, string) { return api.Ready, "" }

// sampleRSS reads VmRSS every interval until the returned function is
// called, which returns the largest reading.
func sampleRSS(interval time.Duration) func() int64 {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var top int64
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if v, ok := rssBytes("VmRSS"); ok {
				top = max(top, v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() int64 {
		close(done)
		wg.Wait()
		return top
	}
}

// rssBytes reads a size field (VmRSS, VmHWM) of /proc/self/status.
func rssBytes(field string) (int64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

func megabytes(b int64) string { return fmt.Sprintf("%d MB", b>>20) }

// errFileLimit is wrapped by checkFileLimit's error.
var errFileLimit = errors.New("too few file descriptors")
