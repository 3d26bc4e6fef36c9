package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Stats collects one series of measurements (one kind of request, or the checkout saga). Each worker
// fills its own Stats; they are merged once at the end, so the hot path takes no lock.
type Stats struct {
	Name      string
	Latencies []time.Duration   // every completed attempt, successful or not
	Status    map[string]int    // "200", "429", "net" (transport error), "confirmed" ...
	Cache     map[string]int    // X-Cache-Status values; "" is left out
	OK        func(string) bool // which Status keys count as success; nil: 2xx
}

// NewStats returns an empty series.
func NewStats(name string) *Stats {
	return &Stats{Name: name, Status: map[string]int{}, Cache: map[string]int{}}
}

// Add records one attempt: its latency, its outcome (HTTP status code as text, or another word) and the
// X-Cache-Status it carried.
func (s *Stats) Add(d time.Duration, outcome, cache string) {
	s.Latencies = append(s.Latencies, d)
	s.Status[outcome]++
	if cache != "" {
		s.Cache[cache]++
	}
}

// Merge adds o's measurements to s.
func (s *Stats) Merge(o *Stats) {
	s.Latencies = append(s.Latencies, o.Latencies...)
	for k, v := range o.Status {
		s.Status[k] += v
	}
	for k, v := range o.Cache {
		s.Cache[k] += v
	}
}

func (s *Stats) ok(outcome string) bool {
	if s.OK != nil {
		return s.OK(outcome)
	}
	code, err := strconv.Atoi(outcome)
	return err == nil && code >= 200 && code < 300
}

// Summary is what the report prints for one series.
type Summary struct {
	Name                 string
	Count, Errors        int
	PerSecond            float64
	P50, P90, P99, Max   time.Duration
	Mean                 time.Duration
	Outcomes, CacheCount map[string]int
}

// Summarize computes counts, rate over elapsed and latency percentiles (nearest rank).
func (s *Stats) Summarize(elapsed time.Duration) Summary {
	sorted := slices.Clone(s.Latencies)
	slices.Sort(sorted)
	sum := Summary{Name: s.Name, Count: len(sorted), Outcomes: s.Status, CacheCount: s.Cache,
		P50: Percentile(sorted, 50), P90: Percentile(sorted, 90), P99: Percentile(sorted, 99)}
	if len(sorted) > 0 {
		sum.Max = sorted[len(sorted)-1]
		var total time.Duration
		for _, d := range sorted {
			total += d
		}
		sum.Mean = total / time.Duration(len(sorted))
	}
	for k, v := range s.Status {
		if !s.ok(k) {
			sum.Errors += v
		}
	}
	if elapsed > 0 {
		sum.PerSecond = float64(sum.Count) / elapsed.Seconds()
	}
	return sum
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of sorted: the smallest value
// such that at least p% of the values are less than or equal to it. 0 for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Write prints the summary as a few aligned lines.
func (sum Summary) Write(w io.Writer, unit string) {
	fmt.Fprintf(w, "%-8s %d %s, %.1f/s, errors %d", sum.Name, sum.Count, unit, sum.PerSecond, sum.Errors)
	fmt.Fprintf(w, "  [%s]\n", countList(sum.Outcomes))
	if sum.Count > 0 {
		fmt.Fprintf(w, "%-8s p50 %s  p90 %s  p99 %s  max %s  mean %s\n", "", ms(sum.P50), ms(sum.P90), ms(sum.P99), ms(sum.Max), ms(sum.Mean))
	}
	if len(sum.CacheCount) > 0 {
		fmt.Fprintf(w, "%-8s X-Cache-Status [%s]\n", "", countList(sum.CacheCount))
	}
}

// countList renders a map of counts as "200:1234 429:5", keys sorted.
func countList(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// ms renders a duration in milliseconds with two decimals.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
}
