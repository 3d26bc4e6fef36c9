package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goshop/platform/devstack/stack"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100 on every Linux
// architecture Go runs on (sysconf(_SC_CLK_TCK) would need cgo).
const clockTick = 10 * time.Millisecond

// proc is one process of the platform.
type proc struct {
	PID  int
	Name string // /proc/<pid>/comm
	CPU  time.Duration
	// Switches counts the context switches of its live threads (voluntary and not), each a
	// thread put off a core: on a virtual machine the costliest thing a wake-up does.
	Switches uint64
}

// parseStat returns utime+stime from the text of /proc/<pid>/stat. The command name (field 2) is in
// parentheses and may hold spaces and parentheses itself, so the fields are counted after the last ')'.
func parseStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("stat: no ')' after the command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the command name, want ≥ 13", len(f))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("stat: utime/stime: %w", err)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// parseSwitches returns voluntary_ctxt_switches + nonvoluntary_ctxt_switches from the text of a
// thread's /proc status file.
func parseSwitches(b []byte) uint64 {
	var n uint64
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
			x, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			n += x
		}
	}
	return n
}

// taskSwitches sums the context switches of every thread of the process in dir
// (/proc/<pid>/status counts only the first thread's). A thread that has ended is no longer
// counted, which Go programs, keeping their threads, seldom do.
func taskSwitches(dir string) uint64 {
	tasks, _ := os.ReadDir(filepath.Join(dir, "task"))
	var n uint64
	for _, t := range tasks {
		if b, err := os.ReadFile(filepath.Join(dir, "task", t.Name(), "status")); err == nil {
			n += parseSwitches(b)
		}
	}
	return n
}

// sampleCPU reads the CPU time used so far by each process, and its threads' context switches; a
// process that is gone is left out.
func sampleCPU(root string, pids []int) []proc {
	var out []proc
	for _, pid := range pids {
		dir := filepath.Join(root, strconv.Itoa(pid))
		b, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		cpu, err := parseStat(b)
		if err != nil {
			continue
		}
		name, _ := os.ReadFile(filepath.Join(dir, "comm"))
		out = append(out, proc{PID: pid, Name: strings.TrimSpace(string(name)), CPU: cpu, Switches: taskSwitches(dir)})
	}
	return out
}

// platformPorts are the ports the platform listens on with the gateway at gatewayPort: the eight
// programs, the launcher's Kafka, Redis and Mongo (kfake, miniredis and FerretDB run inside the
// launcher, so its process is "the broker"), and Mailpit's SMTP port: the mail server the order mail
// goes to is work an order costs, like the broker's.
func platformPorts(gatewayPort int) []int {
	offset := gatewayPort - 3008
	ports := []int{stack.KafkaPort + offset, stack.RedisPort + offset, stack.MongoPort + offset, stack.MailpitSMTPPort + offset}
	for _, p := range stack.Programs {
		ports = append(ports, p.Port+offset)
	}
	return ports
}

// listeningInodes parses /proc/net/tcp or tcp6 and returns the socket inode of every listening
// socket on one of ports.
func listeningInodes(r io.Reader, ports []int) map[string]bool {
	inodes := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" { // 0A: TCP_LISTEN
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		port, err := strconv.ParseUint(hexPort, 16, 16)
		if ok && err == nil && slices.Contains(ports, int(port)) && f[9] != "0" {
			inodes[f[9]] = true
		}
	}
	return inodes
}

// findPIDs returns, sorted, the processes under root (normally /proc) that hold a socket listening on
// one of ports. Only processes whose fd directory this user may read are seen, which covers a
// platform the same user started.
func findPIDs(root string, ports []int) ([]int, error) {
	inodes := map[string]bool{}
	for _, name := range []string{"net/tcp", "net/tcp6"} {
		f, err := os.Open(filepath.Join(root, name))
		if err != nil {
			continue
		}
		for ino := range listeningInodes(f, ports) {
			inodes[ino] = true
		}
		f.Close()
	}
	if len(inodes) == 0 {
		return nil, fmt.Errorf("no process listens on %v", ports)
	}
	dirs, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join(root, d.Name(), "fd"))
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(root, d.Name(), "fd", fd.Name()))
			if ino, ok := strings.CutPrefix(link, "socket:["); err == nil && ok && inodes[strings.TrimSuffix(ino, "]")] {
				pids = append(pids, pid)
				break
			}
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// writeCPU prints the platform's CPU time between two samples, in total and per process, per confirmed
// order and, in total, per finished order (a rejection takes the same hops as a confirmation). A
// process missing from either sample is left out.
func writeCPU(w io.Writer, before, after []proc, confirmed, finished int) (total time.Duration) {
	was := map[int]proc{}
	for _, p := range before {
		was[p.PID] = p
	}
	var mail time.Duration
	var switches uint64
	var parts []string
	for _, p := range after {
		p0, ok := was[p.PID]
		if !ok {
			continue
		}
		used := p.CPU - p0.CPU
		total += used
		if p.Name == "mailpit" {
			mail += used
		}
		sw := p.Switches - min(p0.Switches, p.Switches) // a thread that ended takes its count along
		switches += sw
		parts = append(parts, fmt.Sprintf("%s(%d) %s, %s switches/order", p.Name, p.PID, perOrder(used, confirmed), perOrderCount(sw, confirmed)))
	}
	fmt.Fprintf(w, "cpu      platform %s over %d confirmed orders = %s/order (%s per finished order); %d processes, /proc utime+stime\n",
		ms(total), confirmed, perOrderMS(total, confirmed), perOrderMS(total, finished), len(parts))
	if mail > 0 {
		// Mailpit catches the shop's mail in the dev stack; in production the mail provider does
		// that work, outside the platform. Both figures are printed; neither is the other's excuse.
		fmt.Fprintf(w, "%-8s without mailpit (the mail provider's stand-in) %s/order\n", "", perOrderMS(total-mail, confirmed))
	}
	fmt.Fprintf(w, "%-8s %s context switches per confirmed order, every thread of those processes (/proc/<pid>/task/*/status)\n",
		"", perOrderCount(switches, confirmed))
	for _, p := range parts {
		fmt.Fprintf(w, "%-8s %s\n", "", p)
	}
	return total
}

// machine is the first line of /proc/stat: the CPU time of all cores together, and how much of it
// was idle (idle and iowait), with the number of cores.
type machine struct {
	Total, Idle time.Duration
	Cores       int
}

// parseMachine reads /proc/stat's text. The "cpu" line's first eight fields (user nice system idle
// iowait irq softirq steal) add up to the time of all cores; guest time is inside user already.
func parseMachine(b []byte) (machine, error) {
	var m machine
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		if f[0] != "cpu" {
			m.Cores++
			continue
		}
		if len(f) < 9 {
			return machine{}, fmt.Errorf("/proc/stat: %d fields on the cpu line, want ≥ 9", len(f))
		}
		for i, v := range f[1:9] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return machine{}, fmt.Errorf("/proc/stat: %w", err)
			}
			m.Total += time.Duration(n) * clockTick
			if i == 3 || i == 4 {
				m.Idle += time.Duration(n) * clockTick
			}
		}
	}
	if m.Total == 0 {
		return machine{}, errors.New("/proc/stat: no cpu line")
	}
	return m, nil
}

// sampleMachine reads root/stat (root is normally /proc); ok is false where it cannot.
func sampleMachine(root string) (machine, bool) {
	b, err := os.ReadFile(filepath.Join(root, "stat"))
	if err != nil {
		return machine{}, false
	}
	m, err := parseMachine(b)
	return m, err == nil
}

// writeMachine prints how busy the machine's cores were between two samples, and whose work that
// was: the platform's processes, this load command's own, and the rest (anything else the machine
// ran). A run whose cores were busy all the time measured the cores, not the platform's waits.
func writeMachine(w io.Writer, before, after machine, platform, self time.Duration) {
	total := after.Total - before.Total
	if total <= 0 {
		return
	}
	busy := total - (after.Idle - before.Idle)
	pct := func(d time.Duration) string {
		return strconv.FormatFloat(100*float64(d)/float64(total), 'f', 0, 64) + "%"
	}
	fmt.Fprintf(w, "machine  %d cores busy %s of the run: the platform %s, this load command %s, the rest %s (/proc/stat); near 100%%, the cores bound the run\n",
		after.Cores, pct(busy), pct(platform), pct(self), pct(max(busy-platform-self, 0)))
}

func perOrder(d time.Duration, n int) string { return ms(d) + " = " + perOrderMS(d, n) + "/order" }

func perOrderCount(c uint64, n int) string {
	if n == 0 {
		return "?"
	}
	return strconv.FormatFloat(float64(c)/float64(n), 'f', 1, 64)
}

func perOrderMS(d time.Duration, n int) string {
	if n == 0 {
		return "?"
	}
	return ms(d / time.Duration(n))
}
