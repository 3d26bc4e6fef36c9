package stack

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestRotatingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.log")
	if err := os.WriteFile(path, []byte("from the last start\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := openRotating(path, 64)
	if err != nil {
		t.Fatal(err)
	}
	line := bytes.Repeat([]byte("x"), 19)
	line = append(line, '\n') // 20 bytes
	for range 5 {
		if _, err := r.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Write(line); err == nil {
		t.Error("write after Close succeeded")
	}

	cur, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	prev, err := os.ReadFile(path + ".1")
	if err != nil {
		t.Fatal(err)
	}
	// 20 old bytes + 2 lines = 60 fit; the third line rolls over, the fourth and fifth follow it.
	if want := "from the last start\n" + string(line) + string(line); string(prev) != want {
		t.Errorf("rolled file = %q, want %q", prev, want)
	}
	if want := bytes.Repeat(line, 3); !bytes.Equal(cur, want) {
		t.Errorf("current file = %q, want %q", cur, want)
	}

	// The next roll-over replaces name.log.1: never more than two files.
	r, err = openRotating(path, 64)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		r.Write(line)
	}
	r.Close()
	prev, _ = os.ReadFile(path + ".1")
	if !bytes.Equal(prev, bytes.Repeat(line, 3)) {
		t.Errorf("after second roll-over name.log.1 = %q", prev)
	}
	matches, _ := filepath.Glob(path + "*")
	if len(matches) != 2 {
		t.Errorf("files = %v, want 2", matches)
	}
}
