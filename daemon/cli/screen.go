package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/api/input"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/match"
)

// screenResult is one line of `watchpost screen` output.
type screenResult struct {
	ID   string `json:"id"`
	Line int    `json:"line,omitempty"`
	// Hits are [] for a traveller screened without a hit, and absent when
	// the traveller was not screened (Error says why).
	Hits []engine.Hit `json:"hits,omitzero"`
	// Checked are the lists the traveller was checked against.
	Checked []engine.CheckedList `json:"checked,omitzero"`
	// NotScreened is set when no traveller could be screened: "no_list".
	NotScreened string   `json:"not_screened,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
	Error       string   `json:"error,omitempty"`
	// Flight, Message and Position place a PAXLST traveller in its
	// interchange; Role is passenger or crew.
	Flight   string `json:"flight,omitempty"`
	Message  int    `json:"message,omitempty"`
	Position int    `json:"position,omitempty"`
	Role     string `json:"role,omitempty"`
	// MRZValid and MRZErrors report an MRZ's check digits.
	MRZValid  *bool    `json:"mrz_valid,omitempty"`
	MRZErrors []string `json:"mrz_errors,omitempty"`
}

// maxLine bounds one JSON line of input.
const maxLine = 1 << 20

func thresholdFlags(fs interface {
	Float64(string, float64, string) *float64
	Bool(string, bool, string) *bool
}) func() match.Config {
	matchT := fs.Float64("match", match.DefaultMatchThreshold, "lowest score in band \"match\"")
	possibleT := fs.Float64("possible", match.DefaultPossibleThreshold, "lowest score in band \"possible\"")
	entities := fs.Bool("entities", false, "also screen names against organisations and vessels")
	return func() match.Config {
		return match.Config{MatchThreshold: *matchT, PossibleThreshold: *possibleT, IncludeEntities: *entities}
	}
}

func checkThresholds(c match.Config) error {
	if c.PossibleThreshold <= 0 || c.PossibleThreshold > 1 || c.MatchThreshold <= 0 || c.MatchThreshold > 1 {
		return usagef("thresholds must be in (0,1]: --possible %g --match %g", c.PossibleThreshold, c.MatchThreshold)
	}
	if c.PossibleThreshold > c.MatchThreshold {
		return usagef("--possible %g is above --match %g", c.PossibleThreshold, c.MatchThreshold)
	}
	return nil
}

func runScreen(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "screen", "[--format jsonl|mrz|paxlst] [--data-dir DIR] [--store-key-file FILE] [FILE|-]")
	sf := addStoreFlags(fs)
	format := fs.String("format", "jsonl", "input format: jsonl (one traveller per line), mrz, paxlst")
	cfg := thresholdFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := checkThresholds(cfg()); err != nil {
		return err
	}
	switch *format {
	case "jsonl", "mrz", "paxlst":
	default:
		return usagef("unknown --format %q: want jsonl, mrz or paxlst", *format)
	}
	in, name, err := openInput(env, pos)
	if err != nil {
		return err
	}
	defer in.Close()
	s := &listScreener{}
	if dir := daemon.StoreDir(*sf.dir); !storeExists(dir) {
		// Opening would create an empty store: nothing to screen against.
		s.notScreened = "no list loaded: there is no store at " + dir + " (import a list with 'watchpost import')"
	} else {
		st, err := sf.open(env)
		if err != nil {
			return err
		}
		defer st.Close()
		if s.s, err = daemon.LoadScreener(ctx, st, cfg()); err != nil {
			return err
		}
		if s.checked = daemon.CheckedLists(s.s, st, nil); len(s.checked) == 0 {
			s.notScreened = "no list loaded: the store at " + dir + " holds no list (import one with 'watchpost import')"
		}
	}
	out := bufio.NewWriterSize(env.Stdout, 64<<10)
	defer out.Flush()
	switch *format {
	case "mrz":
		err = screenMRZ(ctx, s, in, out)
	case "paxlst":
		err = screenPAXLST(ctx, s, in, name, out, env.Stderr)
	default:
		_, err = screenJSONL(ctx, s, in, out)
	}
	if err == nil && s.notScreened != "" {
		err = errors.New("not screened: " + s.notScreened)
	}
	return err
}

// storeExists reports whether dir holds a store (Badger's MANIFEST).
func storeExists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "MANIFEST"))
	return err == nil
}

// listScreener screens against the lists of a store, and names them in
// every result; with no list it screens nothing and says so in each.
type listScreener struct {
	s       *match.Screener
	checked []engine.CheckedList
	// notScreened, when set, is why no traveller can be screened.
	notScreened string
}

// screen screens q into r: its hits and the lists checked, its error, or
// why it was not screened.
func (ls *listScreener) screen(q *engine.Query, r *screenResult) {
	if ls.notScreened != "" {
		r.NotScreened, r.Error = notScreenedNoList, "not screened: "+ls.notScreened
		return
	}
	hits, err := ls.s.Screen(q)
	if err != nil {
		r.Error = err.Error()
		return
	}
	if hits == nil {
		hits = []engine.Hit{}
	}
	r.Hits, r.Checked = hits, ls.checked
}

// notScreenedNoList is the reason of a result when no list is loaded (the
// API's and the console's too).
const notScreenedNoList = api.NotScreenedNoList

// screenJSONL screens one JSON traveller per input line and writes one
// result per line. A bad line gets an error result and the stream goes on.
func screenJSONL(ctx context.Context, s *listScreener, r io.Reader, w *bufio.Writer) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	enc := input.NewEncoder(w)
	n := 0
	for line := 1; sc.Scan(); line++ {
		if line%1024 == 0 && ctx.Err() != nil {
			return n, ctx.Err()
		}
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		n++
		if err := enc.Encode(screenLine(s, b, line)); err != nil {
			return n, fmt.Errorf("write result: %w", err)
		}
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("read input: %w", err)
	}
	return n, nil
}

func screenLine(s *listScreener, b []byte, line int) screenResult {
	q, warnings, err := input.DecodeQuery(b)
	if err != nil {
		res := screenResult{Line: line, Error: "line " + fmt.Sprint(line) + ": " + err.Error()}
		// Keep the id if the line has one, so the caller can match it.
		var idOnly struct {
			ID any `json:"id"`
		}
		if json.Unmarshal(b, &idOnly) == nil && idOnly.ID != nil {
			res.ID = fmt.Sprint(idOnly.ID)
		}
		return res
	}
	res := screenResult{ID: q.ID, Warnings: warnings}
	if s.screen(&q, &res); res.Error != "" {
		res.Line = line
	}
	return res
}
