package match

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/watchpost/watchpost/engine"
)

// qualify adjusts a name score by birth date, nationality and sex, and
// explains each.
func qualify(nameScore float64, qs *querySide, e *entryRec, explain bool) (float64, engine.Explanation) {
	var ex engine.Explanation
	score := nameScore
	adj, why := dobRelation(qs.dob, e.birthDates, explain)
	score += adj
	ex.BirthDate = why
	switch {
	case qs.nat == "" || len(e.nats) == 0:
		ex.Nationality = "not compared"
	case slices.Contains(e.nats, qs.nat):
		score += natSame
		if explain {
			ex.Nationality = "same (" + qs.nat + ")"
		}
	default:
		score += natDiffers
		if explain {
			ex.Nationality = "differs (" + qs.nat + " vs listed " + strings.Join(e.nats, ", ") + ")"
		}
	}
	switch {
	case qs.sex == "" || e.sex == "":
		ex.Sex = "not compared"
	case qs.sex == e.sex:
		ex.Sex = "same"
	default:
		score += sexDiffers
		if explain {
			ex.Sex = "differs (" + qs.sex + " vs listed " + e.sex + ")"
		}
	}
	return min(1, max(0, score)), ex
}

// dobRelation compares a traveller's birth date with an entry's, each at
// the precision it has, and returns the score adjustment and the relation.
func dobRelation(q engine.BirthDate, listed []engine.BirthDate, explain bool) (float64, string) {
	if q.IsZero() || len(listed) == 0 {
		return 0, "not compared"
	}
	bestAdj, bestWhy := math.Inf(-1), ""
	for _, d := range listed {
		adj, why := dobPair(q, d, explain)
		if adj > bestAdj {
			bestAdj, bestWhy = adj, why
		}
	}
	return bestAdj, bestWhy
}

func dobPair(q, d engine.BirthDate, explain bool) (float64, string) {
	ls := ""
	if explain {
		ls = d.String()
	}
	switch d.Precision() {
	case engine.PrecisionRange:
		if q.Year >= d.Year-boolInt(d.Approx) && q.Year <= d.ToYear+boolInt(d.Approx) {
			return dobCompatible, "within listed range " + ls
		}
		if q.Year >= d.Year-2 && q.Year <= d.ToYear+2 {
			return dobNear, "near listed range " + ls
		}
		return dobMismatch, sprintfIf(explain, "differs (%d outside listed %s)", q.Year, ls)
	case engine.PrecisionDay:
		if q.Precision() == engine.PrecisionDay {
			switch {
			case q.Year == d.Year && q.Month == d.Month && q.Day == d.Day:
				if d.Month == 1 && d.Day == 1 {
					return dobCompatible, "same (listed " + ls + ", possibly a 1 January placeholder)"
				}
				return dobExact, "same date (" + ls + ")"
			case q.Year == d.Year && q.Month == d.Day && q.Day == d.Month:
				return dobSwapped, "day and month swapped (listed " + ls + ")"
			case q.Year == d.Year && d.Month == 1 && d.Day == 1:
				return dobCompatible, "same year (listed " + ls + " looks like a 1 January placeholder)"
			case q.Year == d.Year:
				return dobNear, "same year, other day (listed " + ls + ")"
			}
		} else if q.Year == d.Year && (q.Month == 0 || q.Month == d.Month) {
			return dobCompatible, "compatible (listed " + ls + ")"
		}
	case engine.PrecisionMonth:
		if q.Year == d.Year && (q.Month == 0 || q.Month == d.Month) {
			return dobCompatible, "same month (listed " + ls + ")"
		}
	default: // year
		if q.Year == d.Year {
			return dobCompatible, "same year (listed " + ls + ")"
		}
	}
	dy := abs(q.Year - d.Year)
	switch {
	case d.Approx && dy <= 2:
		return dobCompatible, "within approximate listed " + ls
	case dy <= 1:
		return dobNear, sprintfIf(explain, "close (%d vs listed %s)", q.Year, ls)
	case dy <= 5:
		return dobMismatch, sprintfIf(explain, "differs (%d vs listed %s)", q.Year, ls)
	}
	return dobFarOff, sprintfIf(explain, "differs by %d years (%d vs listed %s)", dy, q.Year, ls)
}

func sprintfIf(explain bool, format string, args ...any) string {
	if !explain {
		return ""
	}
	return fmt.Sprintf(format, args...)
}
