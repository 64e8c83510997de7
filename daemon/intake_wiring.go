package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/watchpost/watchpost/daemon/intake"
	"github.com/watchpost/watchpost/daemon/ledger"
)

// intakeProcessor screens a dropped file's travellers and records them in
// the ledger in one idempotent batch keyed by the file's ID, which is what
// makes the intake exactly-once across a crash (daemon/intake's Processor
// contract).
type intakeProcessor struct{ p *Post }

func (ip intakeProcessor) Process(ctx context.Context, f *intake.File) (intake.Result, error) {
	led := ip.p.Ledger()
	if led == nil {
		return intake.Result{}, errors.New("post not running")
	}
	ed := ip.p.Edition() // every traveller of the file against the same lists
	if checked, missing := ed.Checked(); len(checked) == 0 {
		// Not "no hit" for every traveller: the file waits in processing/
		// and is screened at a scan after a list arrives.
		return intake.Result{}, fmt.Errorf("not screened: no list is loaded (missing: %s)", strings.Join(missing, ", "))
	}
	var res intake.Result
	screenings := make([]ledger.Screening, 0, len(f.Travellers))
	now := ip.p.opts.Clock.Now()
	for i := range f.Travellers {
		t := &f.Travellers[i]
		q := t.Query
		hits, err := ed.Screen(&q)
		if err != nil {
			res.Errors++
			continue
		}
		ref := f.Name
		if t.Flight != "" {
			ref = t.Flight + " " + f.Name
		}
		screenings = append(screenings, ledger.Screening{Source: ledger.SourceIntake, Ref: ref, Actor: "intake", Traveller: q, Hits: hits, ScreenedAt: now})
	}
	br, err := led.RecordBatch(ctx, f.ID, screenings)
	switch {
	case errors.Is(err, ledger.ErrBatchTooBig), errors.Is(err, ledger.ErrInvalid):
		return intake.Result{}, fmt.Errorf("%w: %w", intake.ErrRejected, err)
	case err != nil:
		return intake.Result{}, err // retried at the next scan
	}
	res.Screened, res.Hits, res.HitTravellers, res.Replayed = br.Screened, br.Hits, br.HitTravellers, br.Replayed
	if br.Replayed {
		res.Errors = len(f.Travellers) - br.Screened
	}
	return res, nil
}
