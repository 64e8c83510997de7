package web

import "strings"

// NormalizeMRZ turns what a keyboard-wedge reader typed into the lines of
// an MRZ: upper case, spaces and tabs dropped, any line ending (CR, LF,
// CRLF, blank lines between), and a reader that sends no line ending at
// all gives one run of 90, 72 or 88 characters, cut into the lines of a
// TD1, TD2 or TD3.
func NormalizeMRZ(text string) string {
	t := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, strings.ToUpper(text))
	var lines []string
	for _, l := range strings.FieldsFunc(t, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 1 {
		s := lines[0]
		switch len(s) {
		case 90:
			lines = []string{s[:30], s[30:60], s[60:]}
		case 72:
			lines = []string{s[:36], s[36:]}
		case 88:
			lines = []string{s[:44], s[44:]}
		}
	}
	return strings.Join(lines, "\n")
}
