package mrz

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/watchpost/watchpost/engine"
)

// span is a half-open range of offsets into the record's lines laid end to
// end (line i starts at i*width).
type span struct{ lo, hi int }

func (s span) empty() bool { return s.hi <= s.lo }

// layout places the fields of one format. Offsets are 0-based into the
// concatenated lines; -1 means the format has no such check digit.
type layout struct {
	format     Format
	width      int
	lines      int
	name       span
	docNum     span
	docCD      int
	nat        span
	birth      span
	birthCD    int
	sex        int
	expiry     span
	expiryCD   int
	opt1       span
	opt1CD     int
	opt2       span
	composite  int
	comp       []span
	extendable bool // the document number may continue in opt1 (TD1, TD2)
}

var (
	docCodeSpan = span{0, 2}
	stateSpan   = span{2, 5}
)

var layouts = [...]layout{
	{
		format: TD1, width: 30, lines: 3,
		docNum: span{5, 14}, docCD: 14, opt1: span{15, 30}, opt1CD: -1,
		birth: span{30, 36}, birthCD: 36, sex: 37, expiry: span{38, 44}, expiryCD: 44,
		nat: span{45, 48}, opt2: span{48, 59}, composite: 59,
		comp:       []span{{5, 30}, {30, 37}, {38, 45}, {48, 59}},
		name:       span{60, 90},
		extendable: true,
	},
	{
		format: TD2, width: 36, lines: 2, name: span{5, 36},
		docNum: span{36, 45}, docCD: 45, nat: span{46, 49},
		birth: span{49, 55}, birthCD: 55, sex: 56, expiry: span{57, 63}, expiryCD: 63,
		opt1: span{64, 71}, opt1CD: -1, composite: 71,
		comp:       []span{{36, 46}, {49, 56}, {57, 71}},
		extendable: true,
	},
	{
		format: TD3, width: 44, lines: 2, name: span{5, 44},
		docNum: span{44, 53}, docCD: 53, nat: span{54, 57},
		birth: span{57, 63}, birthCD: 63, sex: 64, expiry: span{65, 71}, expiryCD: 71,
		opt1: span{72, 86}, opt1CD: 86, composite: 87,
		comp: []span{{44, 54}, {57, 64}, {65, 87}},
	},
	{
		format: MRVA, width: 44, lines: 2, name: span{5, 44},
		docNum: span{44, 53}, docCD: 53, nat: span{54, 57},
		birth: span{57, 63}, birthCD: 63, sex: 64, expiry: span{65, 71}, expiryCD: 71,
		opt1: span{72, 88}, opt1CD: -1, composite: -1,
	},
	{
		format: MRVB, width: 36, lines: 2, name: span{5, 36},
		docNum: span{36, 45}, docCD: 45, nat: span{46, 49},
		birth: span{49, 55}, birthCD: 55, sex: 56, expiry: span{57, 63}, expiryCD: 63,
		opt1: span{64, 72}, opt1CD: -1, composite: -1,
	},
}

// OCR confusion tables.
var (
	// letterToDigit repairs a letter read in a numeric field.
	letterToDigit = [256]byte{'O': '0', 'Q': '0', 'D': '0', 'I': '1', 'L': '1', 'Z': '2', 'S': '5', 'G': '6', 'B': '8'}
	// digitToLetter repairs a digit read in an alphabetic field.
	digitToLetter = [256]byte{'0': 'O', '1': 'I', '2': 'Z', '5': 'S', '8': 'B'}
	// swap is the alternative tried in an alphanumeric field.
	swap = [256]byte{'0': 'O', 'O': '0', '1': 'I', 'I': '1', '2': 'Z', 'Z': '2', '5': 'S', 'S': '5', '8': 'B', 'B': '8'}
)

// charTable holds every byte, so char can return one-byte strings without
// allocating.
var charTable = func() string {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return string(b)
}()

func char(c byte) string { return charTable[int(c) : int(c)+1] }

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' }

// charValue is a character's value in a check digit: digits their value,
// A–Z 10–35, anything else (the filler) 0.
func charValue(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case isLetter(c):
		return int(c-'A') + 10
	}
	return 0
}

var weights = [3]int{7, 3, 1}

// checkSpans is the check digit of the spans of b read one after another.
func checkSpans(b *[90]byte, spans ...span) byte {
	sum, k := 0, 0
	for _, s := range spans {
		for i := s.lo; i < s.hi; i++ {
			sum += charValue(b[i]) * weights[k%3]
			k++
		}
	}
	return byte('0' + sum%10)
}

// CheckDigit returns the ICAO 9303 check digit of s, which may hold only
// A–Z, 0–9 and <.
func CheckDigit(s string) (byte, error) {
	sum := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && !isLetter(c) && c != '<' {
			return 0, fmt.Errorf("mrz: check digit of %q: invalid character %q at %d", s, c, i+1)
		}
		sum += charValue(c) * weights[i%3]
	}
	return byte('0' + sum%10), nil
}

// covered is what one check digit covers.
type covered struct {
	s [4]span
	n int
}

// recordAlloc lets a record and its usual checks share one allocation.
type recordAlloc struct {
	rec    Record
	checks [5]Check
}

// state is one record being parsed.
type state struct {
	l     *layout
	buf   [90]byte
	n     int
	s     string // buf[:n] after repairs, set by freeze
	rec   *Record
	issue string     // issuing state after repair, trimmed
	rusPN bool       // Russian internal passport
	parts [5]covered // what each check covers, by index in rec.Checks
}

func (p *Parser) now() time.Time {
	if p.Clock != nil {
		return p.Clock.Now()
	}
	return time.Now()
}

// parseLines checks the layout of trimmed, non-blank lines and parses them.
func (p *Parser) parseLines(lines []string) (*Record, error) {
	width := 0
	switch len(lines) {
	case 0:
		return nil, &FormatError{Msg: "no MRZ lines"}
	case 2:
		for _, line := range lines {
			if n := utf8.RuneCountInString(line); n == 36 || n == 44 {
				width = n
				break
			}
		}
		if width == 0 {
			return nil, &FormatError{Line: 1, Msg: fmt.Sprintf("length %d, want 36 (TD2, MRV-B) or 44 (TD3, MRV-A)", utf8.RuneCountInString(lines[0]))}
		}
	case 3:
		width = 30
	default:
		return nil, &FormatError{Msg: fmt.Sprintf("%d line(s), want 2 (TD2, TD3, MRV) or 3 (TD1)", len(lines))}
	}
	var st state
	for i, line := range lines {
		if len(line) != width {
			if n := utf8.RuneCountInString(line); n != width {
				return nil, &FormatError{Line: i + 1, Msg: fmt.Sprintf("length %d, want %d", n, width)}
			}
		}
		col := 0
		for _, r := range line {
			col++
			if (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '<' {
				return nil, &FormatError{Line: i + 1, Column: col, Msg: fmt.Sprintf("invalid character %q", r)}
			}
		}
		copy(st.buf[i*width:], line)
	}
	st.n = width * len(lines)
	switch {
	case width == 30:
		st.l = &layouts[0]
	case width == 36 && st.buf[0] == 'V':
		st.l = &layouts[4]
	case width == 36:
		st.l = &layouts[1]
	case st.buf[0] == 'V':
		st.l = &layouts[3]
	default:
		st.l = &layouts[2]
	}
	ra := &recordAlloc{}
	st.rec = &ra.rec
	st.rec.Checks = ra.checks[:0]
	st.rec.Errors = []string{}
	st.rec.Repairs = []Repair{}
	st.rec.Quirks = []string{}
	st.run(p)
	return st.rec, nil
}

func (st *state) errorf(format string, args ...any) {
	st.rec.Errors = append(st.rec.Errors, fmt.Sprintf(format, args...))
}

func (st *state) quirk(q string) {
	for _, have := range st.rec.Quirks {
		if have == q {
			return
		}
	}
	st.rec.Quirks = append(st.rec.Quirks, q)
}

func (st *state) where(i int) (line, col int) {
	return i/st.l.width + 1, i%st.l.width + 1
}

func (st *state) repaired(field string, i int, from, to byte) {
	line, col := st.where(i)
	st.rec.Repairs = append(st.rec.Repairs, Repair{Field: field, From: char(from), To: char(to), Line: line, Position: col})
}

// text returns the (possibly repaired) characters of s.
func (st *state) text(s span) string {
	if st.s != "" {
		return st.s[s.lo:s.hi]
	}
	return string(st.buf[s.lo:s.hi])
}

func (st *state) run(p *Parser) {
	l, rec := st.l, st.rec
	rec.Format = l.format

	// Alphabetic fields: a digit here is an OCR confusion.
	st.letters("document_code", docCodeSpan)
	st.letters("issuing_state", stateSpan)
	st.letters("nationality", l.nat)
	st.issue = strings.TrimRight(string(st.buf[stateSpan.lo:stateSpan.hi]), "<")
	st.rusPN = st.buf[0] == 'P' && st.buf[1] == 'N' && st.issue == "RUS"
	if !st.rusPN {
		st.names()
	}

	// Numeric fields, then the alphanumeric ones, then the composite,
	// which covers them all.
	st.numeric("birth_date", l.birth, l.birthCD, false)
	st.numeric("expiry_date", l.expiry, l.expiryCD, true)
	if l.opt1CD >= 0 {
		st.personalNumber()
	}
	doc := st.documentNumber()
	if l.composite >= 0 {
		st.compositeCheck()
	}

	st.s = string(st.buf[:st.n])
	st.checkValues()
	sortChecks(rec.Checks)
	st.fields(doc, p.now())
	rec.Valid = len(rec.Errors) == 0
}

// checkOrder is the order of Checks: as the fields are printed.
func checkOrder(field string) int {
	switch field {
	case "document_number":
		return 0
	case "birth_date":
		return 1
	case "expiry_date":
		return 2
	case "personal_number":
		return 3
	}
	return 4
}

func sortChecks(cs []Check) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && checkOrder(cs[j].Field) < checkOrder(cs[j-1].Field); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// letters repairs digits in an alphabetic field.
func (st *state) letters(field string, s span) {
	bad := false
	for i := s.lo; i < s.hi; i++ {
		c := st.buf[i]
		if !isDigit(c) {
			continue
		}
		if to := digitToLetter[c]; to != 0 {
			st.buf[i] = to
			st.repaired(field, i, c, to)
			continue
		}
		if !bad {
			bad = true
			line, col := st.where(i)
			st.errorf("%s: digit %q at line %d, column %d", field, c, line, col)
		}
	}
}

// names repairs digits in the name field, naming the part they are in.
func (st *state) names() {
	s := st.l.name
	sep := s.hi
	for i := s.lo; i+1 < s.hi; i++ {
		if st.buf[i] == '<' && st.buf[i+1] == '<' {
			sep = i
			break
		}
	}
	st.letters("surname", span{s.lo, sep})
	st.letters("given_names", span{sep, s.hi})
}

func (st *state) addCheck(field string, parts []span, cd int, computed byte, ok bool, rule string) {
	if n := len(st.rec.Checks); n < len(st.parts) {
		st.parts[n].n = copy(st.parts[n].s[:], parts)
	}
	st.rec.Checks = append(st.rec.Checks, Check{
		Field: field, CheckDigit: char(st.buf[cd]),
		Computed: char(computed), OK: ok, Rule: rule,
	})
	if !ok {
		st.errorf("%s: check digit %c, computed %c", field, st.buf[cd], computed)
	}
}

// checkValues fills in the Value of each check from the final characters.
func (st *state) checkValues() {
	for i := range st.rec.Checks {
		c := &st.rec.Checks[i]
		if c.Value != "" || i >= len(st.parts) {
			continue
		}
		parts := st.parts[i].s[:st.parts[i].n]
		switch len(parts) {
		case 0:
		case 1:
			c.Value = st.s[parts[0].lo:parts[0].hi]
		default:
			n := 0
			for _, p := range parts {
				n += p.hi - p.lo
			}
			b := make([]byte, 0, n)
			for _, p := range parts {
				b = append(b, st.s[p.lo:p.hi]...)
			}
			c.Value = string(b)
		}
	}
}

func allFiller(b *[90]byte, s span) bool {
	for i := s.lo; i < s.hi; i++ {
		if b[i] != '<' {
			return false
		}
	}
	return true
}

// numeric checks a date and its check digit, repairing letters that OCR
// confused with digits when that makes the check digit pass.
func (st *state) numeric(field string, s span, cd int, expiry bool) {
	b := &st.buf
	if expiry && allFiller(b, s) {
		switch {
		case b[cd] == '0':
			st.quirk("no expiry date: expiry field of fillers with check digit 0")
			st.addCheck(field, []span{s}, cd, '0', true, "no expiry date")
			return
		case b[cd] == '<' && st.issue == "RUS":
			st.quirk("no expiry date: expiry field and check digit of fillers (RUS internal passport)")
			st.addCheck(field, []span{s}, cd, '0', true, "no expiry date (RUS)")
			return
		}
	}
	hasLetter := isLetter(b[cd])
	for i := s.lo; i < s.hi && !hasLetter; i++ {
		hasLetter = isLetter(b[i])
	}
	if hasLetter {
		tmp := *b
		ok := true
		for i := s.lo; i <= s.hi && ok; i++ {
			j := i
			if i == s.hi {
				j = cd
			}
			if isLetter(tmp[j]) {
				tmp[j] = letterToDigit[tmp[j]]
				ok = tmp[j] != 0
			}
		}
		if ok && checkSpans(&tmp, s) == tmp[cd] {
			for i := s.lo; i <= s.hi; i++ {
				j := i
				if i == s.hi {
					j = cd
				}
				if tmp[j] != b[j] {
					st.repaired(field, j, b[j], tmp[j])
				}
			}
			*b = tmp
		}
	}
	c := checkSpans(b, s)
	st.addCheck(field, []span{s}, cd, c, c == b[cd], "")
}

// personalNumber checks the TD3 personal number (optional data).
func (st *state) personalNumber() {
	l := st.l
	ok, computed, rule, msg := st.evalPN(&st.buf)
	if !ok && msg == "" {
		if st.repairAlnum("personal_number", l.opt1, l.opt1CD, func(b *[90]byte) bool {
			ok, _, _, _ := st.evalPN(b)
			return ok
		}) {
			ok, computed, rule, msg = st.evalPN(&st.buf)
		}
	}
	if msg != "" {
		st.rec.Checks = append(st.rec.Checks, Check{Field: "personal_number", Value: st.text(l.opt1),
			CheckDigit: "<", Computed: char(computed)})
		st.errorf("personal_number: %s", msg)
		return
	}
	st.addCheck("personal_number", []span{l.opt1}, l.opt1CD, computed, ok, rule)
}

func (st *state) evalPN(b *[90]byte) (ok bool, computed byte, rule, msg string) {
	l := st.l
	computed = checkSpans(b, l.opt1)
	cd := b[l.opt1CD]
	if cd == '<' {
		if allFiller(b, l.opt1) {
			return true, computed, "empty personal number, filler check digit", ""
		}
		return false, computed, "", "filler check digit with a non-empty personal number"
	}
	return computed == cd, computed, "", ""
}

// Rules of Check.Rule for the document number.
const (
	ruleExtended = "extended document number"
	ruleBELPRT   = "BEL/PRT: check digit at position 19 over positions 6-18"
)

// docEval is the reading of the document number under one rule.
type docEval struct {
	ok       bool
	rule     string
	parts    [2]span
	nparts   int
	cd       int
	computed byte
	msg      string // why it cannot be checked at all
}

// evalDoc reads the document number by the ICAO rule, the ICAO extended
// number rule (TD1, TD2) and the BEL/PRT quirk, in that order.
func (st *state) evalDoc(b *[90]byte) docEval {
	l := st.l
	e := docEval{parts: [2]span{l.docNum}, nparts: 1, cd: l.docCD, computed: checkSpans(b, l.docNum)}
	switch {
	case b[l.docCD] != '<':
		e.ok = e.computed == b[l.docCD]
	case l.extendable:
		k := 0
		for k < l.opt1.hi-l.opt1.lo && b[l.opt1.lo+k] != '<' {
			k++
		}
		if k == 0 {
			e.msg = "check digit is a filler but the optional data holds no continuation of the number"
			break
		}
		e = docEval{parts: [2]span{l.docNum, {l.opt1.lo, l.opt1.lo + k - 1}}, nparts: 2, cd: l.opt1.lo + k - 1, rule: ruleExtended}
		e.computed = checkSpans(b, e.parts[:2]...)
		e.ok = e.computed == b[e.cd]
	default:
		e.msg = "check digit is a filler"
	}
	if !e.ok && l.format == TD1 && (st.issue == "BEL" || st.issue == "PRT") && isDigit(b[18]) {
		q := span{5, 18}
		if c := checkSpans(b, q); c == b[18] {
			return docEval{ok: true, rule: ruleBELPRT, parts: [2]span{q}, nparts: 1, cd: 18, computed: c}
		}
	}
	return e
}

// documentNumber checks, and if need be repairs, the document number.
func (st *state) documentNumber() docEval {
	e := st.evalDoc(&st.buf)
	if !e.ok {
		if st.repairAlnum("document_number", st.l.docNum, e.cd, func(b *[90]byte) bool {
			return st.evalDoc(b).ok
		}) {
			e = st.evalDoc(&st.buf)
		}
	}
	if e.ok && e.rule == ruleBELPRT {
		st.quirk("BEL/PRT: document-number check digit at position 19 covers positions 6-18")
	}
	if e.msg != "" {
		st.rec.Checks = append(st.rec.Checks, Check{Field: "document_number", Value: st.text(st.l.docNum),
			CheckDigit: char(st.buf[e.cd]), Computed: char(e.computed)})
		st.errorf("document_number: %s", e.msg)
		return e
	}
	st.addCheck("document_number", e.parts[:e.nparts], e.cd, e.computed, e.ok, e.rule)
	return e
}

// repairAlnum tries each single OCR swap in the alphanumeric field s (and
// the mapping of a letter check digit at cd) and keeps the one candidate
// that makes ok and the composite check digit pass. For the document number
// of TD1 and TD2 the search goes on into the optional data up to its first
// filler (an extended number). It reports an ambiguous
// repair as an error and returns whether the buffer changed.
func (st *state) repairAlnum(field string, s span, cd int, ok func(*[90]byte) bool) bool {
	l := st.l
	positions := make([]int, 0, 24)
	for i := s.lo; i < s.hi; i++ {
		positions = append(positions, i)
	}
	if l.extendable && s == l.docNum {
		for i := l.opt1.lo; i < l.opt1.hi && st.buf[i] != '<'; i++ {
			positions = append(positions, i)
		}
	}
	base := st.buf
	cdFixed := false
	if cd >= 0 && isLetter(base[cd]) {
		if d := letterToDigit[base[cd]]; d != 0 {
			base[cd] = d
			cdFixed = true
		}
	}
	var found [90]byte
	count := 0
	try := func(b *[90]byte) {
		if ok(b) && (l.composite < 0 || st.compositeOK(b)) {
			if count == 0 || *b != found {
				count++
				found = *b
			}
		}
	}
	if cdFixed {
		try(&base)
	}
	for _, i := range positions {
		alt := swap[base[i]]
		if alt == 0 || i == cd {
			continue
		}
		cand := base
		cand[i] = alt
		try(&cand)
	}
	switch {
	case count == 1:
		for i := range st.n {
			if found[i] != st.buf[i] {
				st.repaired(field, i, st.buf[i], found[i])
			}
		}
		st.buf = found
		return true
	case count > 1:
		st.errorf("%s: OCR repair ambiguous (%d candidates pass), not repaired", field, count)
	}
	return false
}

// compositeOK says whether the composite check digit passes, reading a
// letter check digit as the digit OCR confused it with.
func (st *state) compositeOK(b *[90]byte) bool {
	cd := b[st.l.composite]
	if isLetter(cd) {
		cd = letterToDigit[cd]
	}
	return checkSpans(b, st.l.comp...) == cd
}

func (st *state) compositeCheck() {
	l := st.l
	b := &st.buf
	c := checkSpans(b, l.comp...)
	if cd := b[l.composite]; isLetter(cd) && letterToDigit[cd] == c {
		b[l.composite] = c
		st.repaired("composite", l.composite, cd, c)
	}
	st.addCheck("composite", l.comp, l.composite, c, c == b[l.composite], "")
}

// fields fills the record's values from the repaired characters.
func (st *state) fields(doc docEval, now time.Time) {
	l, rec, s := st.l, st.rec, st.s
	rec.DocumentCode = strings.Trim(s[0:2], "<")
	rec.IssuingState = strings.Trim(s[2:5], "<")
	rec.Nationality = strings.Trim(s[l.nat.lo:l.nat.hi], "<")
	if rec.IssuingState == "D" || rec.Nationality == "D" {
		st.quirk("DEU: one-letter state code D (printed D<<)")
	}
	if doc.nparts == 2 {
		rec.DocumentNumber = strings.ReplaceAll(s[doc.parts[0].lo:doc.parts[0].hi]+s[doc.parts[1].lo:doc.parts[1].hi], "<", "")
	} else {
		rec.DocumentNumber = stripFiller(s[doc.parts[0].lo:doc.parts[0].hi])
	}
	opt := l.opt1
	if doc.rule == ruleExtended {
		// The number continues in the optional data up to its check
		// digit; what follows is the optional data proper.
		opt.lo = doc.cd + 1
	}
	rec.OptionalData = strings.Trim(s[opt.lo:opt.hi], "<")
	if !l.opt2.empty() {
		rec.OptionalData2 = strings.Trim(s[l.opt2.lo:l.opt2.hi], "<")
	}

	name := s[l.name.lo:l.name.hi]
	rec.NameTruncated = name[len(name)-1] != '<'
	if i := strings.Index(name, "<<"); i >= 0 {
		rec.Surname, rec.GivenNames = cleanName(name[:i]), cleanName(name[i+2:])
	} else {
		rec.Surname = cleanName(name)
	}

	switch c := s[l.sex]; c {
	case 'M', 'F':
		rec.Sex = s[l.sex : l.sex+1]
	case 'X', '<':
		rec.Sex = "X"
	default:
		line, col := st.where(l.sex)
		st.errorf("sex: %q at line %d, column %d is not M, F, X or <", c, line, col)
	}

	var by, bm, bd int
	rec.BirthDate, by, bm, bd = st.birthDate(s[l.birth.lo:l.birth.hi], now)
	rec.ExpiryDate = st.expiryDate(s[l.expiry.lo:l.expiry.hi], now, by, bm, bd)

	if st.rusPN {
		st.quirk("RUS internal passport: names in the Latin code for Cyrillic")
		rec.NamesCyrillic = &CyrillicNames{Surname: decodeCyrillic(rec.Surname), GivenNames: decodeCyrillic(rec.GivenNames)}
		if len(rec.DocumentNumber) == 9 && len(rec.OptionalData) > 0 && isDigit(rec.OptionalData[0]) {
			rec.DocumentNumberFull = rec.DocumentNumber[:3] + rec.OptionalData[:1] + rec.DocumentNumber[3:]
			st.quirk("RUS internal passport: fourth series digit in the optional data")
		}
	}
}

// stripFiller removes every filler from a document number.
func stripFiller(v string) string {
	v = strings.TrimRight(v, "<")
	if strings.IndexByte(v, '<') < 0 {
		return v
	}
	return strings.ReplaceAll(v, "<", "")
}

// cleanName trims fillers and turns each run of fillers inside into one
// space.
func cleanName(v string) string {
	v = strings.Trim(v, "<")
	if strings.IndexByte(v, '<') < 0 {
		return v
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] != '<' {
			b = append(b, v[i])
		} else if b[len(b)-1] != ' ' {
			b = append(b, ' ')
		}
	}
	return string(b)
}

// cyrillic is the Latin code for Cyrillic of Russian internal passports:
// ABVGDE2JZIQKLMNOPRSTUFHC34WXY96785 → АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ5.
var cyrillic = func() (t [256]rune) {
	from := "ABVGDE2JZIQKLMNOPRSTUFHC34WXY96785"
	to := []rune("АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ5")
	for i := range len(from) {
		t[from[i]] = to[i]
	}
	t[' '] = ' '
	return t
}()

func decodeCyrillic(v string) string {
	var sb strings.Builder
	sb.Grow(2 * len(v))
	for i := 0; i < len(v); i++ {
		if r := cyrillic[v[i]]; r != 0 {
			sb.WriteRune(r)
		} else {
			sb.WriteByte(v[i]) // not in the code (should not happen)
		}
	}
	return sb.String()
}

func twoDigits(v string) (int, bool) {
	if len(v) != 2 || !isDigit(v[0]) || !isDigit(v[1]) {
		return 0, false
	}
	return int(v[0]-'0')*10 + int(v[1]-'0'), true
}

// formatDate writes YYYY-MM-DD, YYYY-MM (d 0) or YYYY (m 0).
func formatDate(y, m, d int) string {
	b := [10]byte{byte('0' + y/1000%10), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + m/10), byte('0' + m%10), '-', byte('0' + d/10), byte('0' + d%10)}
	switch {
	case m == 0:
		return string(b[:4])
	case d == 0:
		return string(b[:7])
	}
	return string(b[:])
}

// birthDate reads YYMMDD as the latest such date not after now. Unknown day
// or month (<<) give a partial date. It returns the date and its parts
// (0 when unknown or invalid).
func (st *state) birthDate(v string, now time.Time) (string, int, int, int) {
	if v == "<<<<<<" {
		return "", 0, 0, 0
	}
	yy, ok := twoDigits(v[0:2])
	m, okm := twoDigits(v[2:4])
	d, okd := twoDigits(v[4:6])
	switch {
	case ok && okm && okd:
	case ok && okm && v[4:6] == "<<":
		d = 0
	case ok && v[2:6] == "<<<<":
		m, d = 0, 0
	default:
		st.errorf("birth_date: %q is not a date", v)
		return "", 0, 0, 0
	}
	ny, nm, nd := now.Date()
	y := ny - ny%100 + yy
	if later(y, m, d, ny, int(nm), nd) {
		y -= 100
	}
	if (okm && (m < 1 || m > 12)) || (okd && (d < 1 || d > engine.DaysIn(y, m))) {
		st.errorf("birth_date: %q is not a valid date", v)
		return "", 0, 0, 0
	}
	return formatDate(y, m, d), y, m, d
}

// later says whether date a is after date b; unknown parts (0) of a count
// as the earliest.
func later(ay, am, ad, by, bm, bd int) bool {
	if ay != by {
		return ay > by
	}
	if am != bm {
		return am > bm
	}
	return ad > bd
}

// expiryDate reads YYMMDD in the window [now-50y, now+50y), moved a century
// on if that falls before the birth date.
func (st *state) expiryDate(v string, now time.Time, by, bm, bd int) string {
	if v == "<<<<<<" {
		return "" // no expiry date; its check said whether that is accepted
	}
	yy, ok := twoDigits(v[0:2])
	m, okm := twoDigits(v[2:4])
	d, okd := twoDigits(v[4:6])
	if !ok || !okm || !okd {
		st.errorf("expiry_date: %q is not a date", v)
		return ""
	}
	lo := now.Year() - 50
	y := lo + ((yy-lo%100)%100+100)%100
	if by != 0 && later(by, bm, bd, y, m, d) {
		y += 100
	}
	if m < 1 || m > 12 || d < 1 || d > engine.DaysIn(y, m) {
		st.errorf("expiry_date: %q is not a valid date", v)
		return ""
	}
	return formatDate(y, m, d)
}
