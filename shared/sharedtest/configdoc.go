package sharedtest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goshop/platform/shared"
)

// CheckBadConfig runs load (a program's loadConfig) with bad as its whole environment and fails tb
// unless load returns an error naming every variable of bad: a program reports all its bad values at
// once. It returns that error for checks of the program's own (a secret must not show in it).
func CheckBadConfig[C any](tb testing.TB, load func(getenv func(string) string) (C, error), bad map[string]string) error {
	tb.Helper()
	_, err := load(func(k string) string { return bad[k] })
	if err == nil {
		tb.Fatalf("bad values accepted: %v", bad)
	}
	for _, name := range slices.Sorted(maps.Keys(bad)) {
		if !strings.Contains(err.Error(), name) {
			tb.Errorf("the error does not name %s: %v", name, err)
		}
	}
	return err
}

// CheckConfigDoc runs read (the program's loadConfig on a shared.Env) with an empty environment and
// fails tb unless the "## <program>" table of docs/config.md (found from the program's folder, where
// its tests run) lists exactly the variables read, with the same kind and default. The list comes from
// the code; each failure says which row to add, change or remove.
func CheckConfigDoc[C any](tb testing.TB, program string, read func(*shared.Env) (C, error)) {
	tb.Helper()
	env := shared.NewEnv(func(string) string { return "" })
	if _, err := read(env); err != nil {
		tb.Fatalf("defaults: %v", err)
	}
	vars := env.Vars()
	path := filepath.Join("..", "docs", "config.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range ConfigDocDiff(string(doc), program, vars) {
		tb.Errorf("%s: %s", path, p)
	}
}

// ConfigDocDiff compares the "## <program>" table of a docs/config.md text with vars and returns one
// message per difference: a variable read but not documented, documented but not read, or documented
// with another kind or default. Cells may wrap values in backticks; an empty default cell means "".
func ConfigDocDiff(doc, program string, vars []shared.EnvVar) []string {
	rows, found := ConfigDocTable(doc, program)
	if !found {
		return []string{fmt.Sprintf("no \"## %s\" section with a | variable | kind | default | meaning | table; add one with these rows:\n%s",
			program, docRows(vars))}
	}
	var out []string
	read := map[string]bool{}
	for _, v := range vars {
		if read[v.Name] {
			continue // read twice by the same program: documented once
		}
		read[v.Name] = true
		row, ok := rows[v.Name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s reads %s, which its table does not list; add the row\n%s", program, v.Name, docRows([]shared.EnvVar{v})))
		case row.Kind != v.Kind || row.Default != v.Default:
			out = append(out, fmt.Sprintf("%s: %s is documented as kind %q, default %q; the code reads kind %q, default %q",
				program, v.Name, row.Kind, row.Default, v.Kind, v.Default))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(rows)) {
		if !read[name] {
			out = append(out, fmt.Sprintf("%s's table lists %s, which %s does not read; remove the row", program, name, program))
		}
	}
	return out
}

// ConfigDocTable returns the rows of the table under "## program" in a docs/config.md text, by
// variable name, and whether that section exists. Each program's TestConfigDoc holds the table to
// what the program reads, so other checks (compose.yaml) can rely on it.
func ConfigDocTable(doc, program string) (map[string]shared.EnvVar, bool) {
	rows := map[string]shared.EnvVar{}
	in, found := false, false
	for _, line := range strings.Split(doc, "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			f := strings.Fields(h)
			in = len(f) > 0 && f[0] == program
			found = found || in
			continue
		}
		if !in || !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) < 4 {
			continue
		}
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
		}
		if cells[0] == "variable" || strings.HasPrefix(cells[0], "---") {
			continue
		}
		rows[cells[0]] = shared.EnvVar{Name: cells[0], Kind: cells[1], Default: cells[2]}
	}
	return rows, found
}

func docRows(vars []shared.EnvVar) string {
	var b strings.Builder
	for _, v := range vars {
		def := ""
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | <what it does> |\n", v.Name, v.Kind, def)
	}
	return b.String()
}
