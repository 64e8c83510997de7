package engine

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestCheckShrink(t *testing.T) {
	cases := []struct {
		name                   string
		current, next, removed int
		limit                  float64
		refused                bool
	}{
		{"new list", 0, 5, 0, 0, false},
		{"new list, empty", 0, 0, 0, 0, false},
		{"empty edition", 1003, 0, 1003, 0, true},
		{"one entry left", 1003, 1, 1002, 0, true},
		{"exactly the limit", 1000, 900, 100, 0, false},
		{"one past the limit", 1000, 899, 101, 0, true},
		{"replaced, same size", 100, 100, 50, 0, true},
		{"grows", 100, 200, 0, 0, false},
		{"custom limit", 100, 50, 50, 0.5, false},
		{"custom limit past", 100, 49, 51, 0.5, true},
		{"limit 1 still refuses empty", 100, 0, 100, 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Shrink{List: "un", Current: c.current, Next: c.next, Removed: c.removed, Limit: c.limit}
			err := CheckShrink(s, false, "--allow-shrink")
			if (err != nil) != c.refused {
				t.Fatalf("CheckShrink(%+v) = %v, want refused %v", s, err, c.refused)
			}
			if err == nil {
				return
			}
			if !errors.Is(err, ErrShrink) {
				t.Errorf("%v does not wrap ErrShrink", err)
			}
			var se *ShrinkError
			if !errors.As(err, &se) || se.Current != c.current || se.Next != c.next || se.Removed != c.removed {
				t.Errorf("ShrinkError %+v", se)
			}
			for _, want := range []string{"list un", strconv.Itoa(c.current), strconv.Itoa(c.next), strconv.Itoa(c.removed) + " removed", "limit", "--allow-shrink"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q lacks %q", err, want)
				}
			}
			if CheckShrink(s, true, "") != nil {
				t.Error("a confirmed shrink is refused")
			}
		})
	}
	if got := (&ShrinkError{Shrink: Shrink{List: "un", Current: 1003, Removed: 1003, Limit: 0.1}}).Error(); !strings.Contains(got, "1003 → 0 entries, 1003 removed (100.0 %, limit 10.0 %)") {
		t.Errorf("message %q", got)
	}
}

func TestCheckShrinkLimit(t *testing.T) {
	for _, c := range []struct {
		in, want float64
		ok       bool
	}{{0, DefaultMaxShrink, true}, {0.25, 0.25, true}, {1, 1, true}, {-0.1, 0, false}, {1.5, 0, false}} {
		got, err := CheckShrinkLimit(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("CheckShrinkLimit(%v) = %v, %v", c.in, got, err)
		}
	}
}
