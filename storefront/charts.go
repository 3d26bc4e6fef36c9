package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The dashboard's two charts, computed here and drawn by admin_dashboard.html as inline SVG: no
// script, no chart library, and the numbers stay in the page for a table fallback. Coordinates are
// in the SVG's own viewBox units; the SVG scales to its container's width.

// Geometry of the days chart's viewBox (720 × 260): the plot area and the room for axis labels.
const (
	dayChartW, dayChartH       = 720, 260
	dayPlotLeft, dayPlotRight  = 64, 664 // revenue labels on the left, order counts on the right
	dayPlotTop, dayPlotBottom  = 16, 220
	statusRowH, statusBarLeft  = 30, 96
	statusBarMax, statusChartW = 300, 480
)

// chartBar is one rectangle with its tooltip.
type chartBar struct {
	X, Y, W, H float64
	Label      string
}

// chartText is one axis label.
type chartText struct {
	X, Y float64
	Text string
}

// dayRow is one day of the table fallback.
type dayRow struct {
	Date, Revenue string
	Orders        int
}

// dayChart is revenue (bars, left axis) and orders (line, right axis) per UTC day.
type dayChart struct {
	Bars          []chartBar
	Points        []chartBar // X, Y the centre; Label the tooltip
	Line          string     // the polyline's points
	Grid          []float64  // y of each horizontal grid line
	RevenueTicks  []chartText
	OrderTicks    []chartText
	DateTicks     []chartText
	Rows          []dayRow
	Summary       string // the SVG's <desc>
	Currency      string
	Width, Height int
	PlotL, PlotR  int
	PlotT, PlotB  int
}

// statusChart is one horizontal bar per order status.
type statusChart struct {
	Bars   []statusBar
	Height int
	Width  int
}

type statusBar struct {
	Status      string
	Count       int
	Y, W, TextX float64
}

// round1 keeps one decimal, enough for pixels and short in the page.
func round1(f float64) float64 { return math.Round(f*10) / 10 }

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, at least 1.
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// amount reads an API amount for scaling only (never for money arithmetic): 0 when unreadable.
func amount(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func newDayChart(st *orderStats) dayChart {
	c := dayChart{Currency: st.Currency, Width: dayChartW, Height: dayChartH, PlotL: dayPlotLeft, PlotR: dayPlotRight, PlotT: dayPlotTop, PlotB: dayPlotBottom}
	n := len(st.ByDay)
	if n == 0 {
		return c
	}
	maxRev, maxOrders, best := 0.0, 0, 0
	for i, d := range st.ByDay {
		if r := amount(string(d.Revenue)); r > maxRev {
			maxRev, best = r, i
		}
		maxOrders = max(maxOrders, d.Orders)
		c.Rows = append(c.Rows, dayRow{Date: d.Date, Revenue: moneyText(d.Revenue, st.Currency), Orders: d.Orders})
	}
	// Four grid steps of a round size each, so order ticks are whole numbers.
	revTop, ordTop := 4*niceCeil(maxRev/4), 4*niceCeil(float64(maxOrders)/4)
	plotW, plotH := float64(dayPlotRight-dayPlotLeft), float64(dayPlotBottom-dayPlotTop)
	slot := plotW / float64(n)
	var line []string
	for i, d := range st.ByDay {
		x := float64(dayPlotLeft) + slot*float64(i)
		h := amount(string(d.Revenue)) / revTop * plotH
		tip := fmt.Sprintf("%s: %s, %d orders", d.Date, moneyText(d.Revenue, st.Currency), d.Orders)
		c.Bars = append(c.Bars, chartBar{X: round1(x + slot*0.15), Y: round1(dayPlotBottom - h), W: round1(slot * 0.7), H: round1(h), Label: tip})
		cx, cy := round1(x+slot/2), round1(dayPlotBottom-float64(d.Orders)/ordTop*plotH)
		c.Points = append(c.Points, chartBar{X: cx, Y: cy, Label: tip})
		line = append(line, strconv.FormatFloat(cx, 'f', -1, 64)+","+strconv.FormatFloat(cy, 'f', -1, 64))
		if (n-1-i)%7 == 0 { // a label every week, ending today

			c.DateTicks = append(c.DateTicks, chartText{X: round1(x + slot/2), Y: dayPlotBottom + 18, Text: shortDate(d.Date)})
		}
	}
	c.Line = strings.Join(line, " ")
	for i := 0; i <= 4; i++ {
		y := round1(dayPlotBottom - plotH*float64(i)/4)
		c.Grid = append(c.Grid, y)
		c.RevenueTicks = append(c.RevenueTicks, chartText{X: dayPlotLeft - 6, Y: y + 4, Text: compact(revTop * float64(i) / 4)})
		c.OrderTicks = append(c.OrderTicks, chartText{X: dayPlotRight + 6, Y: y + 4, Text: compact(ordTop * float64(i) / 4)})
	}
	c.Summary = fmt.Sprintf("%d days from %s to %s. Bars: revenue per day in %s, highest %s on %s. Line: orders per day, at most %d. A table with every day follows the chart.",
		n, st.ByDay[0].Date, st.ByDay[n-1].Date, st.Currency, moneyText(st.ByDay[best].Revenue, st.Currency), st.ByDay[best].Date, maxOrders)
	return c
}

// shortDate writes 2026-03-05 as "5 Mar"; anything else as it is.
func shortDate(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return t.Format("2 Jan")
}

// compact writes an axis value briefly: 1500 as "1.5k", 2000000 as "2M".
func compact(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

func newStatusChart(counts map[string]int) statusChart {
	c := statusChart{Height: len(orderStatuses)*statusRowH + 4, Width: statusChartW}
	top := 0
	for _, s := range orderStatuses {
		top = max(top, counts[s])
	}
	for i, s := range orderStatuses {
		w := 0.0
		if top > 0 {
			w = round1(float64(counts[s]) / float64(top) * statusBarMax)
		}
		c.Bars = append(c.Bars, statusBar{Status: s, Count: counts[s], Y: float64(i*statusRowH + 6), W: w, TextX: statusBarLeft + w + 8})
	}
	return c
}
