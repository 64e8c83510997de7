package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/api/input"
	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/sample"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/engine/match"
	"github.com/watchpost/watchpost/engine/match/accuracy"
	"github.com/watchpost/watchpost/engine/paxlst"
	"github.com/watchpost/watchpost/engine/synth"
)

// defaultOFAC is where the shared test corpus keeps the 2021 OFAC SDN set,
// relative to the repository root.
const defaultOFAC = "../shared/data/lists/ofac_sdn_csv_2021-07"

// defaultDevSet is the matcher's development set, relative to the
// repository root.
const defaultDevSet = "engine/match/testdata/devset"

type benchRow struct {
	what, figure, target string
}

func runBench(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "bench", "[--persons N] [--documents N] [--queries N] [--ofac DIR] [--encrypt] | --accuracy [--devset DIR] [--svg FILE] [--heldout] | --slow-body [--connections N] [--announce BYTES] [--send BYTES] [--url URL [--token T] [--json]]; any form: [--cpuprofile FILE]")
	persons := fs.Int("persons", 1_000_000, "synthetic persons to load (0 skips)")
	documents := fs.Int("documents", 10_000_000, "synthetic stolen/lost documents to load (0 skips)")
	queries := fs.Int("queries", 20_000, "travellers to screen per measurement")
	ofac := fs.String("ofac", defaultOFAC, "OFAC SDN legacy CSV folder loaded with the embedded UN list (skipped when absent)")
	dir := fs.String("dir", "", "scratch data directory (default: a temporary one, removed afterwards)")
	encrypt := fs.Bool("encrypt", false, "encrypt the scratch stores at rest with a random AES-256 key (store.encryption_key_file), to measure its cost")
	acc := fs.Bool("accuracy", false, "measure name-screening accuracy on the development set instead of speed: a table, a threshold sweep and an SVG chart")
	devset := fs.String("devset", defaultDevSet, "with --accuracy: the development set folder")
	svg := fs.String("svg", "accuracy.svg", "with --accuracy: where to write the chart (\"\" for none)")
	heldout := fs.Bool("heldout", false, "with --accuracy: also report on the embedded UN list, which the bands were not tuned on")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run, in any mode, to this file (for go tool pprof)")
	var slow slowBody
	slow.flags(fs)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if slow.on {
		return slow.run(ctx, env)
	}
	if *acc {
		return benchAccuracy(env, *devset, *svg, *heldout)
	}
	if *queries < 100 {
		return usagef("--queries must be at least 100")
	}
	root := *dir
	if root == "" {
		var err error
		if root, err = os.MkdirTemp("", "watchpost-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(root)
	}
	var key []byte
	if *encrypt {
		key = make([]byte, config.StoreKeyLen)
		if _, err := rand.Read(key); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.Stderr, "bench: GOMAXPROCS=%d, %s/%s, scratch %s, store encrypted: %v\n", runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, root, key != nil)
	var rows []benchRow
	// The 1M-person run goes first so that the peak RSS it reports is its own.
	if *persons > 0 {
		r, err := benchPersons(ctx, env, filepath.Join(root, "persons"), key, *persons, *queries)
		if err != nil {
			return fmt.Errorf("synthetic persons: %w", err)
		}
		rows = append(rows, r...)
	}
	if *documents > 0 {
		r, err := benchDocuments(ctx, env, filepath.Join(root, "documents"), key, *documents, *queries)
		if err != nil {
			return fmt.Errorf("documents: %w", err)
		}
		rows = append(rows, r...)
	}
	r, err := benchRealLists(ctx, env, filepath.Join(root, "real"), key, *ofac, *queries)
	if err != nil {
		return fmt.Errorf("UN + OFAC: %w", err)
	}
	rows = append(rows, r...)
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASUREMENT\tFIGURE\tTARGET")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.what, r.figure, r.target)
	}
	return tw.Flush()
}

// startCPUProfile profiles the whole run into path; stop ends the
// profile and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func logPhase(env *Env, format string, args ...any) {
	fmt.Fprintf(env.Stderr, "bench: "+format+"\n", args...)
}

// benchRealLists loads the embedded UN list and, when present, the OFAC
// SDN 2021 set, then screens synthetic travellers through the same path as
// `watchpost screen` (JSON line in, JSON line out) on one goroutine.
func benchRealLists(ctx context.Context, env *Env, dir string, key []byte, ofacDir string, n int) ([]benchRow, error) {
	st, err := openStore(env, dir, key)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var listed []engine.Entry
	collect := func(emit func(*engine.Entry) error) func(*engine.Entry) error {
		return func(e *engine.Entry) error {
			if e.Kind == engine.KindPerson {
				listed = append(listed, *e)
			}
			return emit(e)
		}
	}
	start := time.Now()
	if _, err := st.ReplaceEntries(ctx, badgerstore.ListMeta{Name: "un", Format: "un-xml"}, func(emit func(*engine.Entry) error) error {
		return importer.ReadUNXML(bytes.NewReader(sample.UNList), "un_consolidated.xml", collect(emit))
	}); err != nil {
		return nil, err
	}
	what := "UN"
	if _, err := os.Stat(filepath.Join(ofacDir, "sdn.csv")); err == nil {
		if _, err := st.ReplaceEntries(ctx, badgerstore.ListMeta{Name: "ofac", Format: "ofac-csv"}, func(emit func(*engine.Entry) error) error {
			return importer.ReadOFAC(os.DirFS(ofacDir), collect(emit))
		}); err != nil {
			return nil, err
		}
		what = "UN + OFAC 2021"
	} else {
		logPhase(env, "OFAC folder %s not found: measuring the UN list alone", ofacDir)
	}
	importTime := time.Since(start)
	s, err := daemon.LoadScreener(ctx, st, match.Config{})
	if err != nil {
		return nil, err
	}
	entries, names := s.Index().Size()
	logPhase(env, "%s: %d entries, %d names, %d persons; screening %d travellers", what, entries, names, len(listed), n)
	qs := synth.Travellers(7, n, listed, 0.1)
	lat, elapsed, hits, err := screenLines(ctx, s, qs)
	if err != nil {
		return nil, err
	}
	q := measureQuality(s, qs)
	flight, err := benchFlight(s)
	if err != nil {
		return nil, err
	}
	return []benchRow{
		{what + ": import", importTime.Round(time.Millisecond).String(), ""},
		{what + ": parse and screen a 500-passenger PAXLST (median of 15)", flight.Round(time.Microsecond * 100).String(), "<= 50ms"},
		{what + ": derived travellers hit on their listed entry", q.recall, ""},
		{what + ": other travellers with a hit (possible / match)", q.alerts, ""},
		{what + ": screens/s, JSON lines, one goroutine", fmt.Sprintf("%.0f (%d travellers, %d with hits)", float64(n)/elapsed.Seconds(), n, hits), ">= 20,000"},
		{what + ": latency p50 / p99 per traveller", fmt.Sprintf("%s / %s", pct(lat, 50), pct(lat, 99)), "p99 <= 1ms"},
	}, nil
}

// screenLines runs travellers through the `watchpost screen` line path and
// returns per-line latencies.
func screenLines(ctx context.Context, s *match.Screener, qs []engine.Query) ([]time.Duration, time.Duration, int, error) {
	lines := make([][]byte, len(qs))
	for i := range qs {
		q := qs[i]
		q.ID = strconv.Itoa(i)
		b, err := json.Marshal(&q)
		if err != nil {
			return nil, 0, 0, err
		}
		lines[i] = b
	}
	ls := &listScreener{s: s, checked: daemon.CheckedLists(s, nil, nil)}
	w := bufio.NewWriterSize(io.Discard, 64<<10)
	enc := input.NewEncoder(w)
	lat := make([]time.Duration, len(lines))
	hits := 0
	runtime.GC()
	start := time.Now()
	for i, b := range lines {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, 0, 0, ctx.Err()
		}
		t0 := time.Now()
		res := screenLine(ls, b, i+1)
		if err := enc.Encode(res); err != nil {
			return nil, 0, 0, err
		}
		lat[i] = time.Since(t0)
		if res.Error != "" {
			return nil, 0, 0, fmt.Errorf("traveller %d: %s", i, res.Error)
		}
		if len(res.Hits) > 0 {
			hits++
		}
	}
	return lat, time.Since(start), hits, nil
}

func benchPersons(ctx context.Context, env *Env, dir string, key []byte, n, queries int) ([]benchRow, error) {
	st, err := openStore(env, dir, key)
	if err != nil {
		return nil, err
	}
	logPhase(env, "importing %d synthetic persons", n)
	var sampleHits []engine.Entry
	start := time.Now()
	_, err = st.ReplaceEntries(ctx, badgerstore.ListMeta{Name: "synthetic", Format: "synthetic"}, func(emit func(*engine.Entry) error) error {
		i := 0
		return synth.Persons(1, n, func(e *engine.Entry) error {
			if i%max(1, n/2000) == 0 {
				sampleHits = append(sampleHits, *e)
			}
			i++
			return emit(e)
		})
	})
	importTime := time.Since(start)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	logPhase(env, "reopening and building the index")
	debug.FreeOSMemory()
	start = time.Now()
	st, err = openStore(env, dir, key)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	s, err := daemon.LoadScreener(ctx, st, match.Config{})
	if err != nil {
		return nil, err
	}
	qs := synth.Travellers(11, queries, sampleHits, 0.1)
	if _, err := s.Screen(&qs[0]); err != nil {
		return nil, err
	}
	ready := time.Since(start)
	_, names := s.Index().Size()
	logPhase(env, "%d names indexed; screening %d travellers", names, queries)
	lat, elapsed, hits, err := screenLines(ctx, s, qs)
	if err != nil {
		return nil, err
	}
	q := measureQuality(s, qs)
	label := fmt.Sprintf("%s persons", thousands(n))
	return []benchRow{
		{label + ": import", importTime.Round(time.Millisecond).String(), "<= 3min"},
		{label + ": open store to first screen", ready.Round(time.Millisecond).String(), "<= 5s"},
		{label + ": screens/s, one goroutine", fmt.Sprintf("%.0f (%d with hits)", float64(queries)/elapsed.Seconds(), hits), ""},
		{label + ": latency p50 / p99", fmt.Sprintf("%s / %s", pct(lat, 50), pct(lat, 99)), "p99 <= 5ms"},
		{label + ": peak RSS", peakRSS(), "<= 2GB"},
		{label + ": derived travellers hit on their listed entry", q.recall, ""},
		{label + ": other travellers with a hit (possible / match)", q.alerts, ""},
	}, nil
}

func benchDocuments(ctx context.Context, env *Env, dir string, key []byte, n, queries int) ([]benchRow, error) {
	st, err := openStore(env, dir, key)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	logPhase(env, "importing %d synthetic documents", n)
	start := time.Now()
	if _, err := st.ReplaceDocuments(ctx, badgerstore.ListMeta{Name: "sltd", Format: "synthetic"}, func(emit func(*engine.Document) error) error {
		return synth.Documents(3, n, emit)
	}); err != nil {
		return nil, err
	}
	importTime := time.Since(start)
	logPhase(env, "looking up %d present and %d absent documents", queries, queries)
	present := make([]time.Duration, queries)
	absent := make([]time.Duration, queries)
	for i := range queries {
		num, country := synth.DocumentQuery(3, (i*7919)%n)
		t0 := time.Now()
		found, err := st.LookupDocument(num, country)
		present[i] = time.Since(t0)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("document %s %s not found", num, country)
		}
		t0 = time.Now()
		if _, err := st.LookupDocument("ZZ"+num, country); err != nil {
			return nil, err
		}
		absent[i] = time.Since(t0)
	}
	label := fmt.Sprintf("%s documents", thousands(n))
	return []benchRow{
		{label + ": import", importTime.Round(time.Millisecond).String(), "<= 5min"},
		{label + ": lookup p50 / p99 (present)", fmt.Sprintf("%s / %s", pct(present, 50), pct(present, 99)), "p99 <= 50µs"},
		{label + ": lookup p50 / p99 (absent)", fmt.Sprintf("%s / %s", pct(absent, 50), pct(absent, 99)), "p99 <= 50µs"},
	}, nil
}

// benchFlight times parsing a generated 500-passenger PAXLST message and
// screening every traveller, on one goroutine.
func benchFlight(s *match.Screener) (time.Duration, error) {
	var buf bytes.Buffer
	if err := paxlst.Write(&buf, paxlst.Generate(1, 500), paxlst.WriteOptions{LineBreak: "\n"}); err != nil {
		return 0, err
	}
	var runs []time.Duration
	for range 15 {
		t0 := time.Now()
		ic, err := paxlst.Parse(buf.Bytes())
		if err != nil {
			return 0, err
		}
		for _, m := range ic.Messages {
			for i := range m.Travellers {
				q := m.Travellers[i].Query()
				if _, err := s.Screen(&q); err != nil {
					return 0, err
				}
			}
		}
		runs = append(runs, time.Since(t0))
	}
	return pct(runs, 50), nil
}

type quality struct{ recall, alerts string }

// measureQuality screens the travellers again and compares with the truth
// the generator knows: a traveller derived from a listed person should hit
// that person; any hit on another traveller is a false alert (the lists
// may of course hold a real namesake).
func measureQuality(s *match.Screener, qs []engine.Query) quality {
	var derived, found, others, possible, matched int
	for i := range qs {
		hits, err := s.Screen(&qs[i])
		if err != nil {
			continue
		}
		if src, ok := synth.TravellerSource(&qs[i]); ok {
			derived++
			for _, h := range hits {
				if h.EntryID == src {
					found++
					break
				}
			}
			continue
		}
		others++
		if len(hits) > 0 {
			possible++
			if hits[0].Band == engine.BandMatch {
				matched++
			}
		}
	}
	return quality{
		recall: fmt.Sprintf("%.1f%% (%d of %d)", 100*float64(found)/float64(max(1, derived)), found, derived),
		alerts: fmt.Sprintf("%.2f%% / %.2f%% of %d", 100*float64(possible)/float64(max(1, others)), 100*float64(matched)/float64(max(1, others)), others),
	}
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return s[i].Round(time.Microsecond / 10)
}

// peakRSS reads the process's peak resident set (Linux only).
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "n/a on " + runtime.GOOS
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err == nil {
				return fmt.Sprintf("%d MB", kb/1024)
			}
		}
	}
	return "n/a"
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// benchAccuracy screens the development set at the default bands and
// prints each set's figures against its targets, the threshold sweep and
// the bands the set suggests, and writes the trade-off chart; with
// heldout, the same for a set built from the embedded UN list.
func benchAccuracy(env *Env, dir, svgPath string, heldout bool) error {
	set, err := accuracy.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%w (run from the repository root, or give --devset)", err)
	}
	start := time.Now()
	r, err := accuracy.Evaluate(set, match.Config{})
	if err != nil {
		return err
	}
	n := 0
	for _, cs := range set.Cases {
		n += len(cs)
	}
	logPhase(env, "development set: %d entries, %d cases screened in %v", len(set.List), n, time.Since(start).Round(time.Millisecond))
	fmt.Fprintln(env.Stdout, "Development set (the bands were chosen on it):")
	if err := r.WriteTable(env.Stdout); err != nil {
		return err
	}
	m, p := r.Calibrate()
	fmt.Fprintf(env.Stdout, "\nBands the set suggests: match %.2f, possible %.2f (in use: %.2f, %.2f)\n\n", m, p, r.Match, r.Possible)
	if err := r.WriteSweep(env.Stdout); err != nil {
		return err
	}
	if svgPath != "" {
		f, err := os.Create(svgPath)
		if err != nil {
			return err
		}
		if err := r.WriteSVG(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		logPhase(env, "chart written to %s", svgPath)
	}
	if !heldout {
		return nil
	}
	var list []engine.Entry
	if err := importer.ReadUNXML(bytes.NewReader(sample.UNList), "un_consolidated.xml", func(e *engine.Entry) error {
		list = append(list, *e)
		return nil
	}); err != nil {
		return err
	}
	hr, err := accuracy.Evaluate(accuracy.HeldOut(list, set, 13), match.Config{})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "\nHeld out: the embedded UN list (%d entries), same construction, not used to tune or calibrate:\n", len(list))
	return hr.WriteTable(env.Stdout)
}
