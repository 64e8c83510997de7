package intake_test

import (
	"testing"

	"github.com/watchpost/watchpost/daemon/intake"
	"github.com/watchpost/watchpost/daemon/intake/intaketest"
	"github.com/watchpost/watchpost/engine"
)

// TestProcessorContract runs the intake.Processor contract suite against
// the intake tests' own Processor (the daemon runs it against its own).
func TestProcessorContract(t *testing.T) {
	intaketest.Run(t, intaketest.Harness{
		New:    func(t *testing.T) intake.Processor { return intake.NewTestProcessor(t, t.TempDir()) },
		Reopen: intake.ReopenTestProcessor,
		Listed: engine.Query{Name: "Wanted Person"},
		Clean:  engine.Query{Name: "Maria Garcia Lopez"},
	})
}
