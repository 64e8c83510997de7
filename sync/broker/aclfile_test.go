package broker_test

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/sync/broker"
	"github.com/watchpost/watchpost/sync/protocol"
)

// TestShippedACLIsTheProtocols: configs/mosquitto/acl grants exactly the
// protocol's access table (protocol.PostAccess with %u for the post,
// protocol.HQAccess for the HQ account), so the Mosquitto deployment and
// the embedded broker enforce one set of rules.
func TestShippedACLIsTheProtocols(t *testing.T) {
	f, err := os.Open(filepath.Join(shipped, "acl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var post, hq protocol.Access
	user := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch {
		case fields[0] == "user" && len(fields) == 2:
			user = fields[1]
		case fields[0] == "pattern" && len(fields) == 3 && user == "":
			add(t, &post, fields[1], fields[2])
		case fields[0] == "topic" && len(fields) == 3 && fields[1] == "deny" && user == broker.DefaultHQUsername:
			// The patterns apply to the HQ account too: it must not
			// write as a post of its own name.
			own := strings.TrimSuffix(protocol.HitsTopic(broker.DefaultHQUsername), protocol.LeafHits) + "#"
			if fields[2] != own {
				t.Errorf("acl: the HQ account's deny line names %s, want %s", fields[2], own)
			}
		case fields[0] == "topic" && len(fields) == 3 && user == broker.DefaultHQUsername:
			add(t, &hq, fields[1], fields[2])
		default:
			t.Errorf("acl line %q: not understood by this test", sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	same(t, "post %u", post, protocol.PostAccess("%u"))
	same(t, "HQ account", hq, protocol.HQAccess())
}

func add(t *testing.T, a *protocol.Access, mode, filter string) {
	t.Helper()
	switch mode {
	case "read":
		a.Read = append(a.Read, filter)
	case "write":
		a.Write = append(a.Write, filter)
	default:
		t.Errorf("acl: mode %q for %s", mode, filter)
	}
}

func same(t *testing.T, who string, got, want protocol.Access) {
	t.Helper()
	for _, c := range []struct {
		what      string
		got, want []string
	}{{"read", got.Read, want.Read}, {"write", got.Write, want.Write}} {
		slices.Sort(c.got)
		w := slices.Sorted(slices.Values(c.want))
		if !slices.Equal(c.got, w) {
			t.Errorf("%s %s: acl file grants %q, the protocol %q", who, c.what, c.got, w)
		}
	}
}
