package stack

import (
	"os"
	"sync"
)

// maxLogBytes caps each program's log file: a load run wrote 96 MB of gateway access log before
// this cap existed. Past it the file becomes name.log.1 (replacing the previous one) and a new
// name.log starts, so a long `make run` keeps at most about twice this per program.
const maxLogBytes = 32 << 20

// rotatingFile is an append-only log file that rolls over to path+".1" once it holds max bytes.
// Writes are whole: a write never spans two files.
type rotatingFile struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64
}

func openRotating(path string, max int64) (*rotatingFile, error) {
	r := &rotatingFile{path: path, max: max}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, st.Size()
	return nil
}

func (r *rotatingFile) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, os.ErrClosed
	}
	if r.size > 0 && r.size+int64(len(b)) > r.max {
		// Roll over. If renaming fails (e.g. the directory went away) keep writing where we are:
		// losing the cap is better than losing the log.
		if err := os.Rename(r.path, r.path+".1"); err == nil {
			old := r.f
			if err := r.open(); err != nil {
				r.f = old
			} else {
				old.Close()
			}
		}
	}
	n, err := r.f.Write(b)
	r.size += int64(n)
	return n, err
}

func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
