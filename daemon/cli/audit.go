package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/watchpost/watchpost/sync/protocol"
)

// runAudit is `watchpost audit verify`: it checks the post's audit chain
// in its store (the post must be stopped: Badger admits one process) and
// prints the first bad entry.
func runAudit(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "audit", "verify [--json] [--data-dir DIR] [--store-key-file FILE]")
	sf := addStoreFlags(fs)
	asJSON := fs.Bool("json", false, "print the whole report as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "verify" {
		return usagef("audit takes one subcommand: verify")
	}
	st, err := sf.open(env)
	if err != nil {
		return err
	}
	defer st.Close()
	// The post id goes only into reports for HQ; verifying writes none.
	led, err := openLedger(ctx, st, "audit-verify")
	if err != nil {
		return err
	}
	rep, err := led.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(env.Stdout, "audit key    %s\n", protocol.FormatPublicKey(led.AuditKey()))
		fmt.Fprintf(env.Stdout, "chain        %d entries (head %d), %d purged by retention\n", rep.Entries, rep.Head, rep.Purged)
		fmt.Fprintf(env.Stdout, "checkpoints  %d (last over entry %d)\n", rep.Checkpoints, rep.Checkpointed)
		if len(rep.Faults) == 0 {
			fmt.Fprintln(env.Stdout, "result       ok")
		}
		for i, f := range rep.Faults {
			label := "also"
			if i == 0 {
				label = "FIRST BAD"
			}
			fmt.Fprintf(env.Stdout, "%-12s %s\n", label, f.Error())
		}
	}
	if len(rep.Faults) > 0 {
		return fmt.Errorf("audit chain does not verify: first bad entry %d (%s)", rep.Faults[0].Seq, rep.Faults[0].Kind)
	}
	return nil
}
