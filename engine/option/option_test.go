package option

import (
	"testing"
	"time"
)

func TestPositive(t *testing.T) {
	for _, c := range []struct{ v, def, want int }{{0, 5, 5}, {-1, 5, 5}, {3, 5, 3}} {
		if got := Positive(c.v, c.def); got != c.want {
			t.Errorf("Positive(%d, %d) = %d, want %d", c.v, c.def, got, c.want)
		}
	}
	if got := Positive(-time.Second, time.Minute); got != time.Minute {
		t.Errorf("negative duration: %v, want the default", got)
	}
	if got := Positive(0.25, 0.10); got != 0.25 {
		t.Errorf("set share: %v, want 0.25", got)
	}
}

func TestOr(t *testing.T) {
	if got := Or(0, 7); got != 7 {
		t.Errorf("Or(0, 7) = %d, want 7", got)
	}
	if got := Or(-1, 7); got != -1 {
		t.Errorf("Or(-1, 7) = %d: a negative value is set, want -1", got)
	}
	if got := Or("", "hq"); got != "hq" {
		t.Errorf("Or(\"\", \"hq\") = %q, want hq", got)
	}
	if got := Or("post", "hq"); got != "post" {
		t.Errorf("Or(\"post\", \"hq\") = %q, want post", got)
	}
}
