package report

import (
	"image/color"
	"math"
	"os"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// serverColors are the bar colours, in the order of Run.Servers.
var serverColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
}

// panel is one bar chart of a workload's figure: categories on the x axis,
// one bar per server in each.
type panel struct {
	title string
	log   bool
	cats  []string
	vals  [][]value // [server][category]
	refs  []ref
}

// ref is a horizontal reference line (a latency floor).
type ref struct {
	label string
	v     float64
	dash  []vg.Length
}

func panelsFor(r *Run, workload string) []*panel {
	var out []*panel
	byTitle := map[string]*panel{}
	for _, m := range metricsFor(workload) {
		if m.Panel == "" {
			continue
		}
		pn := byTitle[m.Panel]
		if pn == nil {
			pn = &panel{title: m.Panel, log: m.Panel == panelLatency, vals: make([][]value, len(r.Servers))}
			byTitle[m.Panel] = pn
			out = append(out, pn)
		}
		pn.cats = append(pn.cats, m.Cat)
		for i, v := range r.values(m, workload) {
			pn.vals[i] = append(pn.vals[i], v)
		}
	}
	if workload == "latency-write" {
		if pn := byTitle[panelLatency]; pn != nil {
			// Both servers' data dirs are on the same disk and loopback is
			// loopback: the floors measured next to the first server stand.
			for _, s := range r.Servers {
				res := r.Result(s.Key, workload)
				if res == nil {
					continue
				}
				if v, ok := res.Extra["fdatasync_p50_us"]; ok {
					pn.refs = append(pn.refs, ref{label: "fdatasync p50", v: v, dash: []vg.Length{vg.Points(4), vg.Points(2)}})
				}
				if v, ok := res.Extra["loopback_rtt_p50_us"]; ok {
					pn.refs = append(pn.refs, ref{label: "loopback RTT p50", v: v, dash: []vg.Length{vg.Points(1), vg.Points(2)}})
				}
				break
			}
		}
	}
	return out
}

func writeChart(r *Run, w WorkloadInfo, path string) error {
	panels := panelsFor(r, w.Name)
	if len(panels) == 0 {
		return nil
	}
	width := vg.Length(len(panels)) * 3.6 * vg.Inch
	height := 3.4 * vg.Inch
	// SVG for the report; PNG when asked for one (handy to look at).
	var c vg.CanvasWriterTo = vgsvg.New(width, height)
	if strings.HasSuffix(path, ".png") {
		c = vgimg.PngCanvas{Canvas: vgimg.New(width, height)}
	}
	dc := draw.New(c)

	// The figure's title across the top.
	titleStyle := plot.New().Title.TextStyle
	titleStyle.Font.Size = vg.Points(13)
	titleStyle.XAlign = draw.XCenter
	titleStyle.YAlign = draw.YTop
	title := w.Name
	if r.Quick {
		title += " (quick run)"
	}
	dc.FillText(titleStyle, vg.Point{X: width / 2, Y: height - vg.Points(6)}, title)
	body := draw.Crop(dc, 0, 0, 0, -vg.Points(24))

	plots := make([][]*plot.Plot, 1)
	for i, pn := range panels {
		p, err := pn.plot(r, i == 0)
		if err != nil {
			return err
		}
		plots[0] = append(plots[0], p)
	}
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Points(18), PadLeft: vg.Points(6), PadRight: vg.Points(6), PadBottom: vg.Points(4)}
	canvases := plot.Align(plots, tiles, body)
	for j, p := range plots[0] {
		p.Draw(canvases[0][j])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (pn *panel) plot(r *Run, legend bool) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pn.title
	p.Title.TextStyle.Font.Size = vg.Points(10)
	p.X.Tick.Label.Font.Size = vg.Points(9)
	p.Y.Tick.Label.Font.Size = vg.Points(8)
	p.NominalX(pn.cats...)
	n := len(r.Servers)
	width := vg.Points(min(40, 110/float64(max(1, len(pn.cats)))/float64(n)*1.6))
	lo, hi := math.Inf(1), 0.0
	for i := range r.Servers {
		for _, v := range pn.vals[i] {
			if v.ok && v.v > 0 {
				lo, hi = math.Min(lo, v.v), math.Max(hi, v.v)
			}
		}
	}
	for _, rf := range pn.refs {
		lo, hi = math.Min(lo, rf.v), math.Max(hi, rf.v)
	}
	if hi == 0 {
		lo, hi = 1, 10
	}
	if pn.log {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Min = math.Pow(10, math.Floor(math.Log10(lo)))
		// Headroom above the tallest bar for its label and the legend.
		p.Y.Max = math.Pow(10, math.Ceil(math.Log10(hi*8)))
	} else {
		p.Y.Min, p.Y.Max = 0, hi*1.4
		p.Y.Tick.Marker = plainTicks{}
	}
	p.X.Min, p.X.Max = -0.5, float64(len(pn.cats))-0.5
	for i, s := range r.Servers {
		b := &bars{vals: pn.vals[i], color: serverColors[i%len(serverColors)], width: width,
			offset: (vg.Length(i) - vg.Length(n-1)/2) * width}
		p.Add(b)
		if legend {
			p.Legend.Add(s.Label, b)
		}
	}
	for _, rf := range pn.refs {
		l := &hline{v: rf.v, label: rf.label, dash: rf.dash}
		p.Add(l)
	}
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Add(plotter.NewGrid())
	return p, nil
}

// bars draws one server's bar in each category, from the bottom of the
// axis (so a log scale works), with its value above it; a missing value
// is written "n/a".
type bars struct {
	vals   []value
	color  color.Color
	width  vg.Length
	offset vg.Length
}

func (b *bars) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	y0 := c.Min.Y
	ts := plt.X.Tick.Label
	ts.Font.Size = vg.Points(7.5)
	ts.XAlign = draw.XCenter
	ts.YAlign = draw.YBottom
	ts.Rotation = 0
	for i, v := range b.vals {
		x := trX(float64(i)) + b.offset
		if !v.ok || v.v <= 0 {
			c.FillText(ts, vg.Point{X: x, Y: y0 + vg.Points(2)}, "n/a")
			continue
		}
		y1 := trY(v.v)
		pts := []vg.Point{{X: x - b.width/2, Y: y0}, {X: x - b.width/2, Y: y1}, {X: x + b.width/2, Y: y1}, {X: x + b.width/2, Y: y0}}
		c.FillPolygon(b.color, c.ClipPolygonY(pts))
		c.FillText(ts, vg.Point{X: x, Y: y1 + vg.Points(2)}, num(v.v))
	}
}

func (b *bars) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Min.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Min.Y}}
	c.FillPolygon(b.color, pts)
}

// hline is a dashed horizontal line across the panel, labelled at its
// right end.
type hline struct {
	v     float64
	label string
	dash  []vg.Length
}

func (h *hline) Plot(c draw.Canvas, plt *plot.Plot) {
	_, trY := plt.Transforms(&c)
	y := trY(h.v)
	sty := draw.LineStyle{Color: color.Gray{Y: 0x40}, Width: vg.Points(1), Dashes: h.dash}
	c.StrokeLine2(sty, c.Min.X, y, c.Max.X, y)
	ts := plt.X.Tick.Label
	ts.Font.Size = vg.Points(7)
	ts.XAlign = draw.XRight
	ts.YAlign = draw.YBottom
	c.FillText(ts, vg.Point{X: c.Max.X - vg.Points(2), Y: y + vg.Points(1)}, h.label+" "+num(h.v)+" µs")
}

// plainTicks are gonum's default ticks labelled like the tables (1,000
// rather than 1000.00).
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = num(ts[i].Value)
		}
	}
	return ts
}
