package intake

import "testing"

// NewTestProcessor is the intake tests' Processor (a real Badger store
// in dir that records the way the daemon's Processor does), for the
// contract suite in package intake_test.
func NewTestProcessor(t *testing.T, dir string) Processor { return openLedger(t, dir) }

// ReopenTestProcessor closes p's store and opens a new Processor over it.
func ReopenTestProcessor(t *testing.T, p Processor) Processor {
	l := p.(*ledger)
	if err := l.st.Close(); err != nil {
		t.Fatal(err)
	}
	return openLedger(t, l.dir)
}
