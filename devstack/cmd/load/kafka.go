package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/goshop/platform/devstack/stack"
)

// kafkaCountsURL is where a launcher started with -count-kafka serves its broker's request counts,
// for the platform whose gateway listens on gatewayPort.
func kafkaCountsURL(gatewayPort int) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", stack.KafkaPort+stack.PprofPortShift+gatewayPort-3008, stack.KafkaCountsPath)
}

// kafkaCounts reads the broker's request counts from url; nil when there are none (the launcher
// runs without -count-kafka), so the report leaves them out.
func kafkaCounts(ctx context.Context, url string) map[string]int64 {
	var counts map[string]int64
	if !getJSON(ctx, url, &counts) {
		return nil
	}
	return counts
}

// getJSON decodes the JSON answer of a GET of url into v, within 2 s; false when anything failed.
func getJSON(ctx context.Context, url string, v any) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
}

// writeKafka prints the broker requests between two count samples per confirmed order: the total,
// then each API (most first) with its groups or topics beneath it.
func writeKafka(w io.Writer, before, after map[string]int64, confirmed int) {
	if before == nil || after == nil || confirmed == 0 {
		return
	}
	type row struct {
		key string
		n   int64
	}
	var apis []row
	subs := map[string][]row{}
	var total int64
	for k, v := range after {
		n := v - before[k]
		if n <= 0 {
			continue
		}
		api, sub, ok := strings.Cut(k, " ")
		if !ok {
			apis = append(apis, row{api, n})
			total += n
			continue
		}
		subs[api] = append(subs[api], row{sub, n})
	}
	byCount := func(a, b row) int { return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.key, b.key)) }
	slices.SortFunc(apis, byCount)
	per := func(n int64) string { return fmt.Sprintf("%.2f", float64(n)/float64(confirmed)) }
	fmt.Fprintf(w, "kafka    %d broker requests over %d confirmed orders = %s/order\n", total, confirmed, per(total))
	for _, a := range apis {
		fmt.Fprintf(w, "%-8s %-14s %s/order\n", "", a.key, per(a.n))
		s := subs[a.key]
		slices.SortFunc(s, byCount)
		for _, r := range s {
			fmt.Fprintf(w, "%-8s   %-26s %s/order\n", "", r.key, per(r.n))
		}
	}
}
