package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/api/input"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/match"
)

// screenResult is one line of `watchpost screen` output.
type screenResult struct {
	ID    string       `json:"id"`
	Line  int          `json:"line,omitempty"`
	Hits  []engine.Hit `json:"hits"`
	Error string       `json:"error,omitempty"`
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
	st, err := sf.open(env)
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := daemon.LoadScreener(ctx, st, cfg())
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(env.Stdout, 64<<10)
	defer out.Flush()
	switch *format {
	case "mrz":
		return screenMRZ(ctx, s, in, out)
	case "paxlst":
		return screenPAXLST(ctx, s, in, name, out, env.Stderr)
	}
	_, err = screenJSONL(ctx, s, in, out)
	return err
}

// screenJSONL screens one JSON traveller per input line and writes one
// result per line. A bad line gets an error result and the stream goes on.
func screenJSONL(ctx context.Context, s *match.Screener, r io.Reader, w *bufio.Writer) (int, error) {
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

func screenLine(s *match.Screener, b []byte, line int) screenResult {
	q, err := input.DecodeQuery(b)
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
	hits, err := s.Screen(&q)
	if err != nil {
		return screenResult{ID: q.ID, Line: line, Error: err.Error()}
	}
	if hits == nil {
		hits = []engine.Hit{}
	}
	return screenResult{ID: q.ID, Hits: hits}
}
