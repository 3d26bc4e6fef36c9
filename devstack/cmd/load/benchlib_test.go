package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// checkBenchLib runs the parsers of devstack/bench-lib.sh (make bench, bench-ab, bench-rate) over a
// checkout report of this command and checks they read from it what it says: those scripts read the
// report's text, so a change to its lines must keep them reading it.
func checkBenchLib(t *testing.T, report string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "load.out")
	if err := os.WriteFile(f, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", "-c", `. ../../bench-lib.sh && bench_numbers "$1" && bench_procs "$1"`, "bash", f).CombinedOutput()
	if err != nil {
		t.Fatalf("bench-lib.sh: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	got := strings.Fields(lines[0])
	find := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(report)
		if m == nil {
			t.Fatalf("report has no match for %s:\n%s", re, report)
		}
		return m[1]
	}
	want := []string{
		find(`([0-9.]+) orders/s;`),
		find(`(?m)^saga .*\n\s+p50 ([0-9.]+)ms`),
		find(`(?m)^saga .*\n\s+p50 \S+\s+p90 \S+\s+p99 ([0-9.]+)ms`),
		find(`confirmed orders = ([0-9.]+)ms/order`),
		find(`([0-9.]+) context switches per confirmed order`),
		find(`confirmed, ([0-9]+) rejected\)`),
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("bench_numbers read %q, the report says %q:\n%s", got, want, report)
	}
	// bench_procs: a row for this process (-pids), the one the report lists.
	procs := lines[1:]
	name := find(`(?m)^\s+(\S+)\(\d+\) [0-9.]+ms = `)
	if len(procs) != 1 || !strings.HasPrefix(procs[0], name+" "+find(`\(\d+\) \S+ = ([0-9.]+)ms/order`)+" ") {
		t.Errorf("bench_procs read %q, want one row for %s:\n%s", procs, name, report)
	}
}
