package daemon

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/sample"
	"github.com/watchpost/watchpost/daemon/web"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/match"
	"github.com/watchpost/watchpost/engine/mrz"
	"github.com/watchpost/watchpost/engine/testkit"
)

// consolePassword is the password of every account of a console test.
const consolePassword = "border-post-42"

// consolePost is a running post with the UN list, console accounts
// (omar, an officer; anna, a supervisor; tom, a technician) and a fake
// clock.
type consolePost struct {
	p     *Post
	base  string
	clock *clocktest.Clock
}

// startConsolePost runs a post for a console test; withList false starts
// it with no list loaded.
func startConsolePost(t testing.TB, withList bool) *consolePost {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.PostID = "gate-north-1"
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.API.Listen = "127.0.0.1:0"
	cfg.StopTimeout = config.Duration(5 * time.Second)
	clock := clocktest.NewAt(time.Date(2026, 3, 14, 10, 30, 0, 0, time.UTC))
	ctx := context.Background()

	st, err := OpenStore(cfg.DataDir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if withList {
		importUN(t, st, "refer to secondary; notify HQ")
	}
	users := ConsoleUsers(st, clock)
	for name, role := range map[string]string{"omar": "officer", "anna": "supervisor", "tom": "technician"} {
		if _, err := users.Add(ctx, name, role, consolePassword); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	p, err := NewPost(cfg, PostOptions{Software: "test", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	cancel, done := runUntilReady(t, p)
	t.Cleanup(func() {
		cancel()
		testkit.Returned(t, done, 30*time.Second, "Run")
	})
	return &consolePost{p: p, base: "http://" + p.APIAddr(), clock: clock}
}

// td3 writes a passport's machine-readable zone (ICAO 9303 TD3), check
// digits computed.
func td3(t testing.TB, state, surname, given, number, nat, birth, sex, expiry string) [2]string {
	t.Helper()
	pad := func(s string, n int) string { return (s + strings.Repeat("<", n))[:n] }
	cd := func(s string) string {
		d, err := mrz.CheckDigit(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(d)
	}
	name := strings.ReplaceAll(surname, " ", "<") + "<<" + strings.ReplaceAll(given, " ", "<")
	l1 := pad("P<"+state+name, 44)
	doc := pad(number, 9)
	opt := pad("", 14)
	body := doc + cd(doc) + nat + birth + cd(birth) + sex + expiry + cd(expiry) + opt + cd(opt)
	comp := cd(body[0:10] + body[13:20] + body[21:43])
	return [2]string{l1, body + comp}
}

// saadiMRZ is the passport of a person on the UN list (LYi.015), as a
// reader would type it.
func saadiMRZ(t testing.TB) [2]string {
	return td3(t, "LBY", "QADHAFI", "SAADI", "AA862825", "LBY", "730527", "M", "290518")
}

func TestTD3Helper(t *testing.T) {
	m := saadiMRZ(t)
	rec, err := mrz.Parse(m[0] + "\n" + m[1])
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Valid || rec.Surname != "QADHAFI" || rec.BirthDate != "1973-05-27" {
		t.Fatalf("td3 helper wrote %q: %+v", m, rec)
	}
}

// TestExplanationsTranslated: every phrase the matcher writes for the
// sample travellers (and variants of their dates and documents) has a
// catalog key, so the console shows explanations in the page's language.
func TestExplanationsTranslated(t *testing.T) {
	ctx := context.Background()
	st := storetest.OpenWith(t, t.TempDir(), badgerstore.Options{})
	importUN(t, st, "")
	sc, err := LoadScreener(ctx, st, match.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var qs []engine.Query
	for _, tr := range sample.Travellers {
		q := tr.Query
		qs = append(qs, q)
		for _, d := range []string{"1973-05-27", "1973-05", "1973", "1970", "1975", "1990-01-01", "1973-05-12", "1960"} {
			v := q
			v.BirthDate, v.Nationality, v.Sex = d, "FRA", "F"
			qs = append(qs, v)
		}
		v := q
		v.DocumentNumber, v.DocumentCountry = "AA862825", ""
		qs = append(qs, v)
	}
	seen := map[string]bool{}
	for i := range qs {
		hits, err := sc.Screen(&qs[i])
		if err != nil {
			continue
		}
		for _, h := range hits {
			for kind, phrase := range map[string]string{"dob": h.Explanation.BirthDate, "nat": h.Explanation.Nationality, "sex": h.Explanation.Sex, "doc": h.Explanation.Document} {
				if phrase == "" {
					continue
				}
				key, ok := web.ExplanationKey(kind, phrase)
				if !ok {
					t.Errorf("%s phrase %q has no catalog key", kind, phrase)
				}
				seen[key] = true
			}
		}
	}
	if len(seen) < 8 {
		t.Errorf("only %d kinds of explanation seen: the test screens too little", len(seen))
	}
}
