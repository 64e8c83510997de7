package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/paths"
	"github.com/watchpost/watchpost/engine/badgerstore"
)

// runStatus asks the running post (its local API's /v1/status) what it
// holds and the state of its link to HQ.
func runStatus(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "status", "[--config FILE] [--json]")
	configPath := fs.String("config", paths.DefaultConfigFile(), "configuration file (env "+paths.EnvConfig+")")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*configPath, os.Getenv)
	if err != nil {
		return err
	}
	if !cfg.API.Enabled() {
		return fmt.Errorf("the local API is off (api.listen) in %s: status needs it", *configPath)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+cfg.API.Listen+"/v1/status", nil)
	if err != nil {
		return err
	}
	if len(cfg.API.Tokens) > 0 {
		req.Header.Set("Authorization", "Bearer "+cfg.API.Tokens[0].Reveal())
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("the post is not answering on %s (is it running? 'watchpost service status'): %w", cfg.API.Listen, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /v1/status: %s: %s", resp.Status, b)
	}
	if *asJSON {
		_, err := env.Stdout.Write(b)
		return err
	}
	var st api.Status
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("GET /v1/status: %w", err)
	}
	printStatus(env.Stdout, &st)
	return nil
}

// printDisk prints the store's free space against its reserve, and what
// a low disk means; nothing for a post that did not report it.
func printDisk(w io.Writer, d *api.Disk) {
	switch {
	case d.Error != "":
		fmt.Fprintf(w, "disk: free space not measured (%s): the reserve is not enforced\n", d.Error)
	case d.Low:
		fmt.Fprintf(w, "disk: LOW, %s free on the file system of %s, below the reserve of %s: screening on the lists held, nothing is recorded (507) and list updates wait; free space\n",
			badgerstore.Bytes(d.Free), d.Dir, badgerstore.Bytes(d.Reserve))
	case d.Reserve > 0:
		fmt.Fprintf(w, "disk: %s free (reserve %s)\n", badgerstore.Bytes(d.Free), badgerstore.Bytes(d.Reserve))
	}
}

func printStatus(w io.Writer, st *api.Status) {
	link := "down"
	switch {
	case st.Link.PublishesRefused:
		link = fmt.Sprintf("up, but publishes refused (no ack from HQ since %s: check the broker's ACL, and that the certificate CN is post_id %q; 'watchpost doctor' checks it)",
			st.Link.UnackedSince.Format(time.RFC3339), st.Post)
	case st.Link.Up:
		link = "up"
	}
	fmt.Fprintf(w, "post %s (%s), clock %s\n", st.Post, st.Software, st.Clock.Format(time.RFC3339))
	fmt.Fprintf(w, "link to HQ: %s", link)
	if !st.Link.LastSync.IsZero() {
		fmt.Fprintf(w, ", last sync %s ago", time.Since(st.Link.LastSync).Round(time.Second))
	}
	if st.Link.LastError != "" {
		fmt.Fprintf(w, ", last error: %s", st.Link.LastError)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "outbox: %d records for HQ (%d hits/decisions), %d of %d bytes", st.Outbox.Records, st.Outbox.High, st.Outbox.Bytes, st.Outbox.Budget)
	if st.Outbox.OverBudget {
		fmt.Fprint(w, " OVER BUDGET")
	}
	fmt.Fprintf(w, "\nscreenings since start: %d\n", st.Screenings)
	printDisk(w, &st.Disk)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LIST\tEPOCH\tVERSION\tENTRIES\tHEAD ISSUED\tVALID UNTIL\tBEHIND\tSTATE")
	for _, l := range st.Lists {
		state := "current"
		switch {
		case l.Conflict != "":
			state = "CONFLICT (see below)"
		case l.Stale != "":
			state = "STALE: " + l.Stale
		case l.Diverged:
			state = "DIVERGED (snapshot pending)"
		case l.Behind > 0:
			state = "updating"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%d\t%s\n", l.List, l.Epoch, l.Version, l.Entries, fmtTime(l.HeadIssuedAt), fmtTime(l.HeadValidUntil), l.Behind, state)
	}
	tw.Flush()
	for _, l := range st.Lists {
		if l.Conflict != "" {
			fmt.Fprintf(w, "CONFLICT: %s\n", l.Conflict)
		}
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
