package web

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Charts drawn on the server as inline SVG: no script, no outside
// service, nothing the Content-Security-Policy has to allow (colours
// come from classes in style.css, not style attributes). Time runs left
// to right in every language; the legend and titles around a chart are
// the page's.

// Chart is a drawing and its legend.
type Chart struct {
	SVG    template.HTML
	Legend []LegendItem
	// Empty: there is nothing to draw (the template says so instead).
	Empty bool
}

// LegendItem names one series: its colour class (s0 … s7) and label
// (data, shown as written; Key, when set, is a catalog key instead).
type LegendItem struct {
	Class, Label, Key string
}

// series is one named sequence of values, one per x position.
type series struct {
	name string
	key  string // catalog key of the name, if not data
	vals []float64
}

const (
	chartW, chartH   = 760.0, 230.0
	padL, padR       = 52.0, 14.0
	padT, padB       = 12.0, 34.0
	maxSeries        = 8    // colours; more posts or lists are summed as "others"
	xLabelEveryChars = 11.0 // roughly a date's width in units of the font size
)

func fmtNum(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten, and
// returns it with the tick step.
func niceMax(v float64) (float64, float64) {
	if v <= 0 {
		return 1, 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			top := m * p
			step := top / 5
			if m == 2 {
				step = top / 4
			}
			if step < 1 && v >= 1 {
				step = 1
			}
			return top, step
		}
	}
	return 10 * p, 2 * p
}

// frame draws the y axis with its grid lines and returns the scale.
func frame(b *strings.Builder, top, step float64) func(float64) float64 {
	plotH := chartH - padT - padB
	y := func(v float64) float64 { return padT + plotH - v/top*plotH }
	for v := 0.0; v <= top+step/2; v += step {
		yy := y(v)
		fmt.Fprintf(b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"></line>`, padL, yy, chartW-padR, yy)
		fmt.Fprintf(b, `<text class="tick" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, padL-6, yy+4, template.HTMLEscapeString(fmtNum(v)))
	}
	fmt.Fprintf(b, `<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"></line>`, padL, padT+plotH, chartW-padR, padT+plotH)
	return y
}

func svgOpen(label string) *strings.Builder {
	b := &strings.Builder{}
	fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="%s" dir="ltr"><title>%s</title>`,
		chartW, chartH, template.HTMLEscapeString(label), template.HTMLEscapeString(label))
	return b
}

func xLabels(b *strings.Builder, labels []string, xAt func(int) float64) {
	if len(labels) == 0 {
		return
	}
	slot := (chartW - padL - padR) / float64(len(labels))
	every := max(1, int(math.Ceil(xLabelEveryChars*6.5/slot)))
	for i := 0; i < len(labels); i += every {
		fmt.Fprintf(b, `<text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, xAt(i), chartH-padB+16, template.HTMLEscapeString(labels[i]))
	}
}

func legend(ss []series) []LegendItem {
	out := make([]LegendItem, len(ss))
	for i, s := range ss {
		out[i] = LegendItem{Class: "s" + strconv.Itoa(i), Label: s.name, Key: s.key}
	}
	return out
}

// stackedBars draws one bar per label, its series stacked.
func stackedBars(label string, labels []string, ss []series) Chart {
	totals := make([]float64, len(labels))
	for _, s := range ss {
		for i, v := range s.vals {
			totals[i] += v
		}
	}
	peak := slices.Max(append([]float64{0}, totals...))
	if len(labels) == 0 || peak == 0 {
		return Chart{Empty: true}
	}
	b := svgOpen(label)
	top, step := niceMax(peak)
	y := frame(b, top, step)
	slot := (chartW - padL - padR) / float64(len(labels))
	w := max(1, slot*0.72)
	xAt := func(i int) float64 { return padL + slot*(float64(i)+0.5) }
	for i := range labels {
		base := 0.0
		for si, s := range ss {
			v := s.vals[i]
			if v <= 0 {
				continue
			}
			y0, y1 := y(base), y(base+v)
			fmt.Fprintf(b, `<rect class="s%d" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %s</title></rect>`,
				si, xAt(i)-w/2, y1, w, y0-y1, template.HTMLEscapeString(labels[i]), template.HTMLEscapeString(s.name), fmtNum(v))
			base += v
		}
	}
	xLabels(b, labels, xAt)
	b.WriteString(`</svg>`)
	return Chart{SVG: template.HTML(b.String()), Legend: legend(ss)}
}

// lines draws each series as a line over the labels.
func lines(label string, labels []string, ss []series) Chart {
	peak := 0.0
	for _, s := range ss {
		for _, v := range s.vals {
			if !math.IsNaN(v) {
				peak = max(peak, v)
			}
		}
	}
	if len(labels) < 2 || len(ss) == 0 {
		return Chart{Empty: true}
	}
	b := svgOpen(label)
	top, step := niceMax(peak)
	y := frame(b, top, step)
	dx := (chartW - padL - padR) / float64(len(labels)-1)
	xAt := func(i int) float64 { return padL + dx*float64(i) }
	for si, s := range ss {
		var d strings.Builder
		pen := false
		for i, v := range s.vals {
			if math.IsNaN(v) { // no sample: a gap, not a zero
				pen = false
				continue
			}
			op := "L"
			if !pen {
				op = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f ", op, xAt(i), y(v))
			pen = true
		}
		if d.Len() > 0 {
			fmt.Fprintf(b, `<path class="line s%d" d="%s"><title>%s</title></path>`, si, strings.TrimSpace(d.String()), template.HTMLEscapeString(s.name))
		}
	}
	xLabels(b, labels, xAt)
	b.WriteString(`</svg>`)
	return Chart{SVG: template.HTML(b.String()), Legend: legend(ss)}
}

// hbars draws one horizontal bar per label, longest first.
func hbars(label string, labels []string, vals []float64) Chart {
	if len(labels) == 0 || slices.Max(vals) == 0 {
		return Chart{Empty: true}
	}
	rowH := 18.0
	h := padT + rowH*float64(len(labels)) + 24
	b := &strings.Builder{}
	fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="%s" dir="ltr"><title>%s</title>`,
		chartW, h, template.HTMLEscapeString(label), template.HTMLEscapeString(label))
	top, step := niceMax(slices.Max(vals))
	left := 170.0
	plotW := chartW - left - padR
	x := func(v float64) float64 { return left + v/top*plotW }
	for v := 0.0; v <= top+step/2; v += step {
		fmt.Fprintf(b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"></line>`, x(v), padT, x(v), h-22)
		fmt.Fprintf(b, `<text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x(v), h-8, fmtNum(v))
	}
	for i, l := range labels {
		yy := padT + rowH*float64(i)
		fmt.Fprintf(b, `<text class="tick" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, left-6, yy+rowH*0.7, template.HTMLEscapeString(l))
		fmt.Fprintf(b, `<rect class="s0" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`,
			left, yy+2, max(0, x(vals[i])-left), rowH-4, template.HTMLEscapeString(l), fmtNum(vals[i]))
	}
	b.WriteString(`</svg>`)
	return Chart{SVG: template.HTML(b.String())}
}

// topSeries keeps the maxSeries-1 largest series by total and sums the
// rest as one "others" series (named by the catalog).
func topSeries(ss []series) []series {
	total := func(s series) float64 {
		t := 0.0
		for _, v := range s.vals {
			if !math.IsNaN(v) {
				t += v
			}
		}
		return t
	}
	slices.SortStableFunc(ss, func(a, b series) int {
		if c := cmp.Compare(total(b), total(a)); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	if len(ss) <= maxSeries {
		return ss
	}
	rest := series{name: "…", key: "chart.others", vals: make([]float64, len(ss[0].vals))}
	for _, s := range ss[maxSeries-1:] {
		for i, v := range s.vals {
			if !math.IsNaN(v) {
				rest.vals[i] += v
			}
		}
	}
	return append(ss[:maxSeries-1:maxSeries-1], rest)
}

func dayStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// hitsPerDayChart stacks the hits of the last chartDays days by the
// series group names (a post or a list; "" leaves the count out).
func hitsPerDayChart(q *Request, counts []DayCount, now time.Time, group func(DayCount) string) Chart {
	first := dayStart(now).AddDate(0, 0, -chartDays+1)
	labels := make([]string, chartDays)
	for i := range labels {
		labels[i] = first.AddDate(0, 0, i).Format("01-02")
	}
	by := map[string]*series{}
	for _, dc := range counts {
		g := group(dc)
		d, err := time.Parse(DateLayout, dc.Day)
		if g == "" || err != nil {
			continue
		}
		i := int(d.Sub(first) / (24 * time.Hour))
		if i < 0 || i >= chartDays {
			continue
		}
		s := by[g]
		if s == nil {
			s = &series{name: g, vals: make([]float64, chartDays)}
			by[g] = s
		}
		s.vals[i] += float64(dc.N)
	}
	var ss []series
	for _, s := range by {
		ss = append(ss, *s)
	}
	return translate(q, stackedBars(q.T("chart.hits_per_day"), labels, topSeries(ss)))
}

// hourly are the last week's hours, oldest first, and the index of t's.
func hourly(now time.Time) (time.Time, int, []string) {
	n := int(historyWindow / time.Hour)
	first := now.UTC().Truncate(time.Hour).Add(-time.Duration(n-1) * time.Hour)
	labels := make([]string, n)
	for i := range labels {
		labels[i] = first.Add(time.Duration(i) * time.Hour).Format("01-02")
		if i%24 != 0 {
			labels[i] = ""
		}
	}
	return first, n, labels
}

// perHour turns a post's hourly samples into screenings per hour: the
// rise of its cumulative counter since the previous hour's sample, or
// within the hour when there is none (a restart starts the counter again
// at zero).
func perHour(hist []Sample, first time.Time, n int) []float64 {
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = math.NaN()
	}
	for i, b := range hist {
		h := int(b.At.Sub(first) / time.Hour)
		if h < 0 || h >= n {
			continue
		}
		d := float64(b.Screenings - min(b.Start, b.Screenings))
		if i > 0 {
			a := hist[i-1]
			if b.Boot == a.Boot && b.Screenings >= a.Screenings && b.At.Sub(a.At) <= 2*time.Hour {
				d = float64(b.Screenings - a.Screenings)
			}
		}
		if math.IsNaN(vals[h]) {
			vals[h] = 0
		}
		vals[h] += d
	}
	return vals
}

func screeningsChart(q *Request, hist []Sample, now time.Time) Chart {
	first, n, labels := hourly(now)
	vals := perHour(hist, first, n)
	for i := range vals {
		if math.IsNaN(vals[i]) {
			vals[i] = 0
		}
	}
	return stackedBars(q.T("chart.screenings_per_hour"), labels, []series{{key: "chart.screenings", vals: vals}}).withKeys(q)
}

func fleetScreeningsChart(q *Request, hist map[string][]Sample, now time.Time) Chart {
	first, n, labels := hourly(now)
	var ss []series
	for post, h := range hist {
		vals := perHour(h, first, n)
		for i := range vals {
			if math.IsNaN(vals[i]) {
				vals[i] = 0
			}
		}
		ss = append(ss, series{name: post, vals: vals})
	}
	return translate(q, stackedBars(q.T("chart.screenings_per_hour"), labels, topSeries(ss)))
}

// outboxChart draws each post's outbox depth, the largest in each hour.
func outboxChart(q *Request, hist map[string][]Sample, now time.Time) Chart {
	first, n, labels := hourly(now)
	var ss []series
	for post, h := range hist {
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = math.NaN()
		}
		for _, s := range h {
			i := int(s.At.Sub(first) / time.Hour)
			if i >= 0 && i < n && (math.IsNaN(vals[i]) || float64(s.Outbox) > vals[i]) {
				vals[i] = float64(s.Outbox)
			}
		}
		ss = append(ss, series{name: post, vals: vals})
	}
	if len(ss) > maxSeries {
		ss = topSeries(ss)
	} else {
		slices.SortFunc(ss, func(a, b series) int { return strings.Compare(a.name, b.name) })
	}
	return translate(q, lines(q.T("chart.outbox"), labels, ss))
}

// lagChart draws the posts that lag, the worst first (at most 30).
func lagChart(q *Request, rows []FleetRow) Chart {
	lag := slices.Clone(rows)
	slices.SortStableFunc(lag, func(a, b FleetRow) int { return cmp.Compare(b.MaxLag, a.MaxLag) })
	var labels []string
	var vals []float64
	for _, r := range lag[:min(len(lag), 30)] {
		if r.MaxLag == 0 {
			break
		}
		labels = append(labels, r.Post)
		vals = append(vals, float64(r.MaxLag))
	}
	return hbars(q.T("chart.lag"), labels, vals)
}

// withKeys fills the legend labels that are catalog keys.
func (c Chart) withKeys(q *Request) Chart { return translate(q, c) }

func translate(q *Request, c Chart) Chart {
	for i, l := range c.Legend {
		if l.Key != "" {
			c.Legend[i].Label = q.T(l.Key)
		}
	}
	return c
}
