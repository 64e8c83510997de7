package accuracy

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"
)

var setColor = map[string]string{
	SetPerturbed: "#1f77b4",
	SetAliases:   "#2ca02c",
	SetNearMiss:  "#d62728",
	SetSingle:    "#ff7f0e",
	SetTwoName:   "#9467bd",
}

var setLabel = map[string]string{
	SetPerturbed: "perturbed list names",
	SetAliases:   "aliases sharing a word",
	SetNearMiss:  "near misses",
	SetSingle:    "single names",
	SetTwoName:   "two unrelated names",
}

// plot is one chart area: a box in the picture and its axes' ranges.
type plot struct {
	x, y, w, h     float64 // the box, in picture coordinates
	x0, x1, y0, y1 float64 // the data ranges
	logX           bool
}

func (p plot) px(v float64) float64 {
	if p.logX {
		v, p.x0, p.x1 = math.Log10(v), math.Log10(p.x0), math.Log10(p.x1)
	}
	return p.x + p.w*(v-p.x0)/(p.x1-p.x0)
}

func (p plot) py(v float64) float64 {
	v = min(max(v, p.y0), p.y1)
	return p.y + p.h - p.h*(v-p.y0)/(p.y1-p.y0)
}

// WriteSVG draws the trade-off as an SVG picture: recall against the
// near-miss false-alert rate as the threshold moves, with the band
// thresholds marked; each set's share at or above a threshold, positives
// and negatives apart; and the band thresholds as lines.
func (r *Report) WriteSVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	const width, height = 1080, 430
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(bw, `<text x="20" y="22" font-size="14" font-weight="bold">Name screening on the development set: possible band from %.2f, match band from %.2f</text>`+"\n", r.Possible, r.Match)

	ths := thresholds()
	// 1. Recall against the near-miss false-alert rate.
	a := plot{x: 70, y: 60, w: 270, h: 280, x0: 0.0001, x1: 1, y0: 0.4, y1: 1, logX: true}
	frame(bw, a, "false alerts on near misses (log scale)", "recall", "Trade-off: each point a threshold")
	for _, v := range []float64{0.0001, 0.001, 0.01, 0.1, 1} {
		tickX(bw, a, v, pct(v))
	}
	ticksY(bw, a, 0.4, 1, 0.1)
	for _, s := range []string{SetPerturbed, SetAliases} {
		var pts []string
		for _, th := range ths {
			fp := r.Share(SetNearMiss, th)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", a.px(max(fp, a.x0)), a.py(r.Share(s, th))))
			if fp == 0 {
				break // higher thresholds only lose recall at the same rate of 0
			}
		}
		fmt.Fprintf(bw, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", setColor[s], strings.Join(pts, " "))
		for _, band := range []struct {
			th   float64
			name string
		}{{r.Possible, "possible"}, {r.Match, "match"}} {
			cx, cy := a.px(max(r.Share(SetNearMiss, band.th), a.x0)), a.py(r.Share(s, band.th))
			fmt.Fprintf(bw, `<circle cx="%.1f" cy="%.1f" r="4.5" fill="white" stroke="%s" stroke-width="2"/>`+"\n", cx, cy, setColor[s])
			fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" font-size="10">%s %.2f</text>`+"\n", cx+6, cy+12, band.name, band.th)
		}
	}
	fmt.Fprintf(bw, `<text x="%.0f" y="%.0f" font-size="9" fill="#555">a rate of 0 is drawn at 0.01 %%</text>`+"\n", a.x+2, a.y+a.h-4)

	// 2. Recall against the threshold.
	b := plot{x: 420, y: 60, w: 270, h: 280, x0: SweepFloor, x1: 1, y0: 0.4, y1: 1}
	frame(bw, b, "threshold", "recall", "Positives found at or above a threshold")
	ticksX(bw, b)
	ticksY(bw, b, 0.4, 1, 0.1)
	bands(bw, b, r)
	for _, s := range []string{SetPerturbed, SetAliases} {
		curve(bw, b, s, ths, r)
	}

	// 3. False alerts against the threshold.
	c := plot{x: 770, y: 60, w: 270, h: 280, x0: SweepFloor, x1: 1, y0: 0, y1: 0.05}
	frame(bw, c, "threshold", "false alerts (cut at 5 %)", "Negatives hit at or above a threshold")
	ticksX(bw, c)
	ticksY(bw, c, 0, 0.05, 0.01)
	bands(bw, c, r)
	for _, s := range []string{SetNearMiss, SetSingle, SetTwoName} {
		curve(bw, c, s, ths, r)
	}

	// Legend.
	x := 70.0
	for _, s := range Sets {
		fmt.Fprintf(bw, `<line x1="%.0f" y1="400" x2="%.0f" y2="400" stroke="%s" stroke-width="3"/>`, x, x+22, setColor[s])
		fmt.Fprintf(bw, `<text x="%.0f" y="404">%s (%d)</text>`+"\n", x+28, setLabel[s], len(r.Outcomes[s]))
		x += 195
	}
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

func thresholds() []float64 {
	var ths []float64
	for i := int(math.Ceil(SweepFloor * 100)); i <= 100; i++ {
		ths = append(ths, float64(i)/100)
	}
	return ths
}

func frame(w io.Writer, p plot, xLabel, yLabel, title string) {
	fmt.Fprintf(w, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#888"/>`+"\n", p.x, p.y, p.w, p.h)
	fmt.Fprintf(w, `<text x="%.0f" y="%.0f" font-weight="bold">%s</text>`+"\n", p.x, p.y-10, title)
	fmt.Fprintf(w, `<text x="%.0f" y="%.0f" text-anchor="middle">%s</text>`+"\n", p.x+p.w/2, p.y+p.h+34, xLabel)
	fmt.Fprintf(w, `<text transform="translate(%.0f,%.0f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", p.x-46, p.y+p.h/2, yLabel)
}

func tickX(w io.Writer, p plot, v float64, label string) {
	x := p.px(v)
	fmt.Fprintf(w, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#ddd"/>`, x, p.y, x, p.y+p.h)
	fmt.Fprintf(w, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n", x, p.y+p.h+16, label)
}

func ticksX(w io.Writer, p plot) {
	for i := int(math.Ceil(p.x0 * 10)); i <= 10; i++ {
		tickX(w, p, float64(i)/10, fmt.Sprintf("%.1f", float64(i)/10))
	}
}

func ticksY(w io.Writer, p plot, from, to, step float64) {
	for i := 0; from+float64(i)*step <= to+1e-9; i++ {
		v := from + float64(i)*step
		y := p.py(v)
		fmt.Fprintf(w, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#ddd"/>`, p.x, y, p.x+p.w, y)
		fmt.Fprintf(w, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", p.x-4, y+4, strings.TrimSuffix(pct(v), " %")+" %")
	}
}

func bands(w io.Writer, p plot, r *Report) {
	for i, b := range []struct {
		th   float64
		name string
	}{{r.Possible, "possible"}, {r.Match, "match"}} {
		x := p.px(b.th)
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#333" stroke-dasharray="4 3"/>`, x, p.y, x, p.y+p.h)
		fmt.Fprintf(w, `<text x="%.1f" y="%.0f" font-size="10">%s %.2f</text>`+"\n", x+3, p.y+12+13*float64(i), b.name, b.th)
	}
}

func curve(w io.Writer, p plot, set string, ths []float64, r *Report) {
	var pts []string
	for _, th := range ths {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", p.px(th), p.py(r.Share(set, th))))
	}
	fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", setColor[set], strings.Join(pts, " "))
}
