package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/watchpost/watchpost/daemon/api/input"
	"github.com/watchpost/watchpost/engine/mrz"
	"github.com/watchpost/watchpost/engine/paxlst"
)

// maxInput bounds what parse and screen read for MRZ and PAXLST input.
const maxInput = 64 << 20

func readAllLimited(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("read %s: larger than %d MiB", name, maxInput>>20)
	}
	return b, nil
}

func runParse(_ context.Context, env *Env, args []string) error {
	fs := newFlags(env, "parse", "--format mrz|paxlst [FILE|-]")
	format := fs.String("format", "", "input format: mrz (records of 2 or 3 lines separated by a blank line) or paxlst (required)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *format != "mrz" && *format != "paxlst" {
		return usagef("--format must be mrz or paxlst, got %q", *format)
	}
	in, name, err := openInput(env, pos)
	if err != nil {
		return err
	}
	defer in.Close()
	data, err := readAllLimited(in, name)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(env.Stdout)
	defer out.Flush()
	enc := input.NewEncoder(out)
	if *format == "paxlst" {
		ic, err := paxlst.Parse(data)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		enc.SetIndent("", "  ")
		return enc.Encode(ic)
	}
	results, err := mrz.ParseAll(string(data))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, r := range results {
		if err := enc.Encode(mrzLine(r)); err != nil {
			return err
		}
	}
	return nil
}

// mrzOutput is one line of `watchpost parse --format mrz`: the record's
// fields, or the error that made the record unreadable, with the input
// line where the record starts.
type mrzOutput struct {
	Line  int    `json:"line"`
	Error string `json:"error,omitempty"`
	*mrz.Record
}

func mrzLine(r mrz.Result) mrzOutput {
	o := mrzOutput{Line: r.Line, Record: r.Record}
	if r.Err != nil {
		o.Error = r.Err.Error()
	}
	return o
}

// screenMRZ screens each MRZ record; a record whose check digits fail is
// still screened (the officer decides) and says so.
func screenMRZ(_ context.Context, s *listScreener, in io.Reader, out *bufio.Writer) error {
	data, err := readAllLimited(in, "MRZ input")
	if err != nil {
		return err
	}
	results, err := mrz.ParseAll(string(data))
	if err != nil {
		return err
	}
	enc := input.NewEncoder(out)
	for _, r := range results {
		res := screenResult{ID: "mrz-line-" + strconv.Itoa(r.Line), Line: r.Line}
		if r.Err != nil {
			res.Error = r.Err.Error()
		} else {
			q, sum := input.MRZQuery(r.Record)
			res.MRZValid, res.MRZErrors = &sum.Valid, sum.Errors
			q.ID = res.ID
			res.Warnings = input.CapQuery(&q)
			s.screen(&q, &res)
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	return nil
}

// screenPAXLST screens every traveller of every message; each result
// carries the flight and the traveller's place in the message. Parser
// warnings go to standard error.
func screenPAXLST(_ context.Context, s *listScreener, in io.Reader, name string, out *bufio.Writer, warn io.Writer) error {
	data, err := readAllLimited(in, name)
	if err != nil {
		return err
	}
	ic, err := paxlst.Parse(data)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, w := range ic.Warnings {
		fmt.Fprintf(warn, "%s: warning: %s\n", name, w)
	}
	for mi := range ic.Messages {
		for _, w := range ic.Messages[mi].Warnings {
			fmt.Fprintf(warn, "%s: message %d: warning: %s\n", name, mi+1, w)
		}
	}
	enc := input.NewEncoder(out)
	for _, t := range input.FromPAXLST(ic) {
		res := screenResult{ID: t.Query.ID, Flight: t.Flight, Message: t.Message, Position: t.Position, Role: t.Role}
		res.Warnings = input.CapQuery(&t.Query)
		s.screen(&t.Query, &res)
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	return nil
}
