package web

import (
	"html/template"
	"regexp"
)

// The matcher explains each feature of a hit in an English phrase
// ("same date (1973-05-27)", "differs (LBY vs listed IRQ)"), stored with
// the hit and sent to HQ. The console shows each phrase in the page's
// language: explainRules maps every phrase the matcher writes to a
// catalog key, its parenthesised values becoming the message's
// arguments. A phrase no rule knows is shown as written, marked as
// English (TestExplanationsTranslated screens the sample travellers and
// fails on any such phrase).
type explainRule struct {
	re  *regexp.Regexp
	key string
}

func rules(kind string, pairs ...string) []explainRule {
	out := make([]explainRule, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, explainRule{re: regexp.MustCompile("^" + pairs[i] + "$"), key: "expl." + kind + "." + pairs[i+1]})
	}
	return out
}

var explainRules = map[string][]explainRule{
	"dob": rules("dob",
		`not compared`, "not_compared",
		`within listed range (.+)`, "within_range",
		`near listed range (.+)`, "near_range",
		`differs \((\d+) outside listed (.+)\)`, "outside_range",
		`same \(listed (.+), possibly a 1 January placeholder\)`, "same_placeholder",
		`same date \((.+)\)`, "same_date",
		`day and month swapped \(listed (.+)\)`, "swapped",
		`same year \(listed (.+) looks like a 1 January placeholder\)`, "year_placeholder",
		`same year, other day \(listed (.+)\)`, "year_other_day",
		`compatible \(listed (.+)\)`, "compatible",
		`same month \(listed (.+)\)`, "same_month",
		`same year \(listed (.+)\)`, "same_year",
		`within approximate listed (.+)`, "within_approx",
		`close \((\d+) vs listed (.+)\)`, "close",
		`differs by (\d+) years \((\d+) vs listed (.+)\)`, "differs_by",
		`differs \((\d+) vs listed (.+)\)`, "differs",
	),
	"nat": rules("nat",
		`not compared`, "not_compared",
		`same \((.+)\)`, "same",
		`differs \((.+) vs listed (.+)\)`, "differs",
	),
	"sex": rules("sex",
		`not compared`, "not_compared",
		`same`, "same",
		`differs \((.+) vs listed (.+)\)`, "differs",
	),
	"doc": rules("doc",
		`same number and issuing state: passport (.+)`, "same_passport",
		`same number and issuing state: identity card (.+)`, "same_id",
		`same number and issuing state: visa (.+)`, "same_visa",
		`same number and issuing state: document (.+)`, "same_document",
		`same number and issuing state: (\S+) (.+)`, "same_other",
		`same number \(issuing state not compared\): passport (.+)`, "number_passport",
		`same number \(issuing state not compared\): identity card (.+)`, "number_id",
		`same number \(issuing state not compared\): visa (.+)`, "number_visa",
		`same number \(issuing state not compared\): document (.+)`, "number_document",
		`same number \(issuing state not compared\): (\S+) (.+)`, "number_other",
	),
}

// explainKey returns the catalog key and arguments of a matcher phrase of
// kind (dob, nat, sex, doc), or ok false.
func explainKey(kind, phrase string) (key string, args []any, ok bool) {
	for _, r := range explainRules[kind] {
		if m := r.re.FindStringSubmatch(phrase); m != nil {
			for _, a := range m[1:] {
				args = append(args, a)
			}
			return r.key, args, true
		}
	}
	return "", nil, false
}

// explainHTML renders a matcher phrase in cat's language.
func explainHTML(cat *Catalog, kind, phrase string) (template.HTML, error) {
	if phrase == "" {
		return tHTML(cat, "expl.none")
	}
	key, args, ok := explainKey(kind, phrase)
	if !ok || !cat.Has(key) {
		return template.HTML(`<span lang="en" class="data">` + template.HTMLEscapeString(phrase) + `</span>`), nil
	}
	return tHTML(cat, key, args...)
}

// ExplanationKey returns the catalog key of a matcher phrase of kind
// (dob, nat, sex, doc), or false when no rule knows it.
func ExplanationKey(kind, phrase string) (string, bool) {
	k, _, ok := explainKey(kind, phrase)
	return k, ok
}
