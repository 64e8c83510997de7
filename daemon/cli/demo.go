package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/demo"
	"github.com/watchpost/watchpost/daemon/sample"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/engine/match"
)

func runDemo(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "demo", "[--screen-only [--json]] [--console] [--keep] [--verbose]")
	console := fs.Bool("console", false, "keep running after the story with the officer's and HQ's consoles open to a demo account (Ctrl-C stops)")
	screenOnly := fs.Bool("screen-only", false, "only screen the sample travellers against the embedded UN list (no HQ, no sync)")
	asJSON := fs.Bool("json", false, "with --screen-only: print the results as JSON lines")
	keep := fs.Bool("keep", false, "keep the temporary data directory and print its path")
	verbose := fs.Bool("verbose", false, "also print the components' logs (stderr)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *asJSON && !*screenOnly {
		return usagef("--json goes with --screen-only")
	}
	if *console && *screenOnly {
		return usagef("--console runs the whole demo: drop --screen-only")
	}
	dir, err := os.MkdirTemp("", "watchpost-demo-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintf(env.Stderr, "data dir: %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if *screenOnly {
		return screenSamples(ctx, env, dir, *asJSON)
	}
	var logger *slog.Logger
	if *verbose {
		logger = slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	fmt.Fprintln(env.Stdout, "Watchpost demo: HQ and two border posts on this machine, over an embedded MQTT broker and HTTPS.")
	fmt.Fprintln(env.Stdout, "A hit is a reason for an officer to look, never a decision.")
	fmt.Fprintln(env.Stdout)
	_, err = demo.Run(ctx, env.Stdout, demo.Options{Dir: dir, Logger: logger, Console: *console})
	return err
}

// screenSamples screens the sample travellers against the embedded UN
// list, with the matcher's explanations.
func screenSamples(ctx context.Context, env *Env, dir string, asJSON bool) error {
	st, err := openStore(env, dir, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	info, err := importUNSample(ctx, st)
	if err != nil {
		return err
	}
	s, err := daemon.LoadScreener(ctx, st, match.Config{})
	if err != nil {
		return err
	}
	ready := time.Since(start)
	if !asJSON {
		fmt.Fprintf(env.Stdout, "Watchpost demo: UN Security Council Consolidated List of %s loaded (%d entries, version %d, hash %s) in %s.\n",
			sample.UNListDate, info.Entries, info.Version, short(info.Hash), ready.Round(time.Millisecond))
		fmt.Fprintf(env.Stdout, "Screening %d sample travellers. A hit is a reason for an officer to look, never a decision.\n\n", len(sample.Travellers))
	}
	enc := json.NewEncoder(env.Stdout)
	for _, t := range sample.Travellers {
		q := t.Query
		hits, err := s.Screen(&q)
		if err != nil {
			return fmt.Errorf("screen %s: %w", q.ID, err)
		}
		if asJSON {
			if hits == nil {
				hits = []engine.Hit{}
			}
			if err := enc.Encode(screenResult{ID: q.ID, Hits: hits}); err != nil {
				return err
			}
			continue
		}
		printDemoResult(env, &t, hits)
	}
	return nil
}

func importUNSample(ctx context.Context, st *badgerstore.Store) (engine.ListInfo, error) {
	return st.ReplaceEntries(ctx, badgerstore.ListMeta{Name: "un", Source: "embedded UN SC Consolidated List " + sample.UNListDate, Format: "un-xml", Action: "refer to secondary inspection"},
		func(emit func(*engine.Entry) error) error {
			return importer.ReadUNXML(bytes.NewReader(sample.UNList), "un_consolidated.xml", emit)
		})
}

func printDemoResult(env *Env, t *sample.Traveller, hits []engine.Hit) {
	q := &t.Query
	var desc []string
	desc = append(desc, q.FullName())
	if q.BirthDate != "" {
		desc = append(desc, "born "+q.BirthDate)
	}
	if q.Nationality != "" {
		desc = append(desc, q.Nationality)
	}
	if q.DocumentNumber != "" {
		desc = append(desc, "document "+q.DocumentNumber+" "+q.DocumentCountry)
	}
	fmt.Fprintf(env.Stdout, "%s  %s\n     (%s)\n", q.ID, strings.Join(desc, ", "), t.Expect)
	if len(hits) == 0 {
		fmt.Fprintf(env.Stdout, "     no hit\n\n")
		return
	}
	for i, h := range hits {
		if i == 3 {
			fmt.Fprintf(env.Stdout, "     … %d more\n", len(hits)-3)
			break
		}
		fmt.Fprintf(env.Stdout, "     %-8s %.2f  %s %s  %q\n", strings.ToUpper(string(h.Band)), h.Score, h.List, h.EntryID, h.MatchedName)
		if n := h.Explanation.Name; n != nil {
			var parts []string
			for _, a := range n.Aligned {
				parts = append(parts, fmt.Sprintf("%s~%s (%s)", a.Query, a.List, a.How))
			}
			fmt.Fprintf(env.Stdout, "              name %.2f: %s", n.Score, strings.Join(parts, ", "))
			if len(n.UnmatchedList) > 0 {
				fmt.Fprintf(env.Stdout, "; not given: %s", strings.Join(n.UnmatchedList, " "))
			}
			fmt.Fprintln(env.Stdout)
		}
		ex := h.Explanation
		fmt.Fprintf(env.Stdout, "              birth date %s; nationality %s", ex.BirthDate, ex.Nationality)
		if ex.Document != "" {
			fmt.Fprintf(env.Stdout, "; document %s", ex.Document)
		}
		fmt.Fprintln(env.Stdout)
	}
	fmt.Fprintln(env.Stdout)
}
