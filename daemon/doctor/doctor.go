// Package doctor diagnoses a post on site: its one job is to run every check a
// technician needs (configuration, data directory, store and its encryption,
// lists, clock, HQ keys, broker, TLS files, HQ HTTPS, service) and return one
// line per finding that says what is wrong, where, and the fix. It changes
// nothing on the machine except a temporary file in the data directory (the
// write test) and, when the post is not running, opening and closing its
// store.
//
// Everything that touches the world beyond the local files (the post's API,
// the network, the clock, the disk-free figure, the service manager) is a
// field of Doctor, so tests run without a service manager or a network.
package doctor

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/paths"
	"github.com/watchpost/watchpost/daemon/service"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock"
)

// Result is the outcome of one check.
type Result string

// Results, from best to worst; Skipped means the check could not apply
// (nothing configured, or an earlier check failed).
const (
	OK      Result = "ok"
	Warn    Result = "warn"
	Fail    Result = "fail"
	Skipped Result = "skipped"
)

// Thresholds.
const (
	// WarnFreeBytes and FailFreeBytes bound the free space of the file system
	// holding the data directory: below 1 GiB a full list snapshot (held
	// twice while it is swapped in) and the outbox may no longer fit; below
	// 100 MiB Badger may fail its next compaction or value-log file.
	WarnFreeBytes = 1 << 30
	FailFreeBytes = 100 << 20
	// MaxListAge is the age (since ImportedAt) over which a list in the
	// store draws a warning when the post is not running: HQ re-signs heads
	// far more often, so two days without a new version means no sync.
	MaxListAge = 48 * time.Hour
	// MaxClockAhead is how far in the future of this machine's clock a
	// signed head may have been issued before the clock is called behind.
	MaxClockAhead = 5 * time.Minute
	// ExpiryWarning is how long before a certificate or an HQ key expires
	// that it draws a warning.
	ExpiryWarning = 30 * 24 * time.Hour
	// DialTimeout bounds each TCP dial and TLS handshake.
	DialTimeout = 5 * time.Second
	// APITimeout bounds the request to the running post's API.
	APITimeout = 5 * time.Second
	// alertWait is how long to read after a TLS 1.3 handshake for the
	// server's refusal of the client certificate, which arrives only then.
	alertWait = time.Second
)

// Finding is one line of the report.
type Finding struct {
	Check  string `json:"check"`
	Result Result `json:"result"`
	Detail string `json:"detail"`
}

// Report is the outcome of a run, findings in the order of the checks.
type Report struct {
	Findings []Finding `json:"findings"`
}

// Count returns how many findings have result r.
func (r *Report) Count(res Result) int {
	n := 0
	for _, f := range r.Findings {
		if f.Result == res {
			n++
		}
	}
	return n
}

// Failed reports whether any check failed (warnings do not count).
func (r *Report) Failed() bool { return r.Count(Fail) > 0 }

func (r *Report) add(check string, res Result, format string, args ...any) {
	r.Findings = append(r.Findings, finding(check, res, format, args...))
}

func finding(check string, res Result, format string, args ...any) Finding {
	return Finding{Check: check, Result: res, Detail: fmt.Sprintf(format, args...)}
}

// Doctor runs the checks. The zero value checks the default configuration
// file against the real world; tests replace the fields that reach out.
type Doctor struct {
	// ConfigPath is the configuration file (paths.DefaultConfigFile() when
	// empty).
	ConfigPath string
	// Env reads environment variables for the configuration (os.Getenv in
	// the command); nil reads none.
	Env func(string) string
	// Clock is the clock; clock.System when nil. One reading of it is
	// the "now" of the whole report.
	Clock clock.Clock
	// APIBase is the running post's API ("http://127.0.0.1:8640"); when
	// empty it is derived from api.listen.
	APIBase string
	// HTTPClient queries the API; a client with APITimeout when nil.
	HTTPClient *http.Client
	// Dial opens TCP connections to brokers and HQ; a net.Dialer when nil.
	// DialTimeout is applied through the context.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// DiskFree returns the bytes available on dir's file system;
	// badgerstore.DiskFree when nil.
	DiskFree func(dir string) (uint64, error)
	// ServiceStatus asks the service manager; service.Status when nil.
	ServiceStatus func() (service.State, error)
	// Interactive: run from a terminal (a missing service is then a
	// warning, since this is where it would be installed from).
	Interactive bool
	// Logger receives the store's warnings; discarded when nil.
	Logger *slog.Logger
}

// run is the state shared by the checks of one Run.
type run struct {
	d      *Doctor
	r      *Report
	clock  clock.Clock
	now    time.Time // one reading of clock for the whole report
	cfg    *config.Config
	path   string
	data   string // data directory
	dataOK bool   // exists and is a directory
	// dataMissing: the data directory does not exist yet (a fresh post).
	dataMissing bool

	// The running post, if its API answered.
	apiBase  string
	answered bool
	apiErr   string      // why it did not answer, or why its status is unreadable
	status   *api.Status // nil unless GET /v1/status succeeded

	st       *badgerstore.Store // open when the post is not running
	storeErr error              // why checkStore could not open it
}

// Run runs every check and returns the report. It never returns nil.
func (d *Doctor) Run(ctx context.Context) *Report {
	x := &run{d: d, r: &Report{}, path: d.ConfigPath}
	if x.path == "" {
		x.path = paths.DefaultConfigFile()
	}
	x.clock = clock.OrSystem(d.Clock)
	x.now = x.clock.Now()
	defer func() {
		if x.st != nil {
			if err := x.st.Close(); err != nil {
				x.r.add("store", Fail, "close store %s: %v", x.data, err)
			}
		}
	}()
	x.checkConfig()
	x.checkDataDir()
	x.probeAPI(ctx)
	x.checkStore()
	x.checkEncryption()
	heads := x.checkLists()
	x.checkClock(heads)
	x.checkKeys()
	x.checkBrokers(ctx)
	x.checkTLSFiles()
	x.checkHQURL(ctx)
	x.checkService()
	return x.r
}

func (x *run) checkConfig() {
	cfg, problems := config.Check(x.path, config.Options{Env: x.d.Env, Clock: x.clock})
	x.cfg = cfg
	if len(problems) == 0 {
		x.r.add("config", OK, "%s is valid", x.path)
		return
	}
	for _, p := range problems {
		res := Fail
		if p.Warning {
			res = Warn
		}
		x.r.add("config", res, "%s", p.Error())
	}
}

func (x *run) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	if x.d.Dial != nil {
		return x.d.Dial(ctx, network, addr)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func (x *run) diskFree(dir string) (uint64, error) {
	if x.d.DiskFree != nil {
		return x.d.DiskFree(dir)
	}
	return badgerstore.DiskFree(dir)
}

// Interactive reports whether the process was started from a terminal (its
// standard input is a character device), for Doctor.Interactive.
func Interactive() bool {
	fi, err := os.Stdin.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
