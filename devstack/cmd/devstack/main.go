// Command devstack runs the whole platform on one machine (`make run`): it builds the eight programs,
// starts a Kafka-protocol broker (kfake), Redis (redis-server when installed, else miniredis), Mailpit
// (SMTP and a web inbox for the platform's mail) and, with -mongo=ferret, FerretDB; starts every program with matching configuration; waits until all are
// ready; prints the URLs and the seeded accounts; restarts a program that exits afterwards (saying
// which and how it exited); and stops everything cleanly on Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goshop/platform/devstack/stack"
	"github.com/goshop/platform/shared"
)

func main() {
	// Before anything starts: it may exec the launcher again (stack.TimerSlack says why).
	if err := stack.ExecWithTimerSlack(); err != nil {
		fmt.Fprintf(os.Stderr, "devstack: running with the default timer slack: %v\n", err)
	}
	shared.Main("devstack", run)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "..", "repository root")
	mongo := fs.String("mongo", "mem", `stores: "mem" (in-memory, nothing persists), "ferret" (embedded FerretDB, SQLite in .devstack/ferretdb) or a mongodb:// URI`)
	redis := fs.String("redis", "auto", `"auto" (redis-server if installed, else miniredis), "redis-server" or "miniredis"`)
	offset := fs.Int("port-offset", 0, "added to every port")
	quiet := fs.Bool("quiet", false, "do not print program logs (they are always in .devstack/logs)")
	noBuild := fs.Bool("no-build", false, "use the binaries already in .devstack/bin")
	otlp := fs.String("otlp", "", "OTLP/HTTP trace receiver for every program (OTEL_EXPORTER_OTLP_ENDPOINT), e.g. http://127.0.0.1:4318 for Jaeger; empty: tracing off")
	replicas := fs.Int("replicas", 1, fmt.Sprintf("copies of auth, user, product, inventory, order and realtime (1-%d), all behind the gateway; more than one needs shared stores, so -mongo=mem (the default) becomes -mongo=ferret", stack.MaxReplicas))
	pprof := fs.Bool("pprof", false, fmt.Sprintf("serve net/http/pprof from every program on its port + %d (PPROF_ADDR), e.g. the gateway's on %d", stack.PprofPortShift, 3008+stack.PprofPortShift))
	countKafka := fs.Bool("count-kafka", false, fmt.Sprintf("count the broker's requests by API, group and topic, served on 127.0.0.1:%d%s (+ offset) for the load command's report; costs the broker a goroutine per request", stack.KafkaPort+stack.PprofPortShift, stack.KafkaCountsPath))
	stateDir := fs.String("dir", "", "state directory (binaries, logs, data); default ROOT/.devstack")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *replicas < 1 || *replicas > stack.MaxReplicas {
		return fmt.Errorf("-replicas=%d: want 1-%d", *replicas, stack.MaxReplicas)
	}
	var notes []string
	if *replicas > 1 && *mongo == "mem" {
		// Copies of a stateful service must share its store; in-memory stores are one per process.
		mongoSet := false
		fs.Visit(func(f *flag.Flag) { mongoSet = mongoSet || f.Name == "mongo" })
		if mongoSet {
			return fmt.Errorf("-replicas=%d needs shared stores: -mongo=ferret or a mongodb:// URI, not -mongo=mem", *replicas)
		}
		*mongo = "ferret"
		notes = append(notes, fmt.Sprintf("-replicas=%d: stores switched from in-memory to FerretDB, which copies can share", *replicas))
	}
	if n := stack.LauncherProcs(*mongo, getenv); n > 0 {
		runtime.GOMAXPROCS(n)
	}
	absRoot, err := filepath.Abs(*root)
	if err != nil {
		return err
	}
	dir := filepath.Join(absRoot, ".devstack")
	if *stateDir != "" {
		if dir, err = filepath.Abs(*stateDir); err != nil {
			return err
		}
	}
	if !*noBuild {
		fmt.Fprintln(stdout, "building the eight programs and Mailpit ...")
		t := time.Now()
		if err := stack.Build(ctx, absRoot, dir, stderr); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "built in %s\n", time.Since(t).Round(10*time.Millisecond))
	}
	var logs io.Writer = stdout
	if *quiet {
		logs = nil
	}
	start := time.Now()
	s, err := stack.Start(ctx, stack.Options{Root: absRoot, Dir: dir, PortOffset: *offset, Mongo: *mongo, Redis: *redis, Logs: logs, Persist: *mongo != "mem",
		OTLPEndpoint: *otlp, Replicas: *replicas, Pprof: *pprof, CountKafka: *countKafka,
		// A program that exits after the start is named with its exit status and restarted with
		// a backoff, as compose.yaml's restart: unless-stopped does: the platform is not left
		// half down without a word, and a dev kill -9 or crash heals like in the containers.
		Supervise: stderr})
	if err != nil {
		return err
	}
	took := time.Since(start)
	printBanner(stdout, s, getenv, took, notes)
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping ...")
	return s.Close()
}

func printBanner(w io.Writer, s *stack.Stack, getenv func(string) string, took time.Duration, notes []string) {
	or := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	fmt.Fprintf(w, "\n== the platform is up (all eight programs ready %s after start) ==\n\n", took.Round(10*time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "storefront\thttp://localhost:%d\tthe shop; /admin for admins\n", s.Port(3000))
	fmt.Fprintf(tw, "gateway (API)\thttp://localhost:%d\ttry /health/detailed, /product/products\n", s.Port(3008))
	fmt.Fprintf(tw, "API reference\thttp://localhost:%d/docs\tevery service, try-it-out; /openapi.json\n", s.Port(3008))
	fmt.Fprintf(tw, "realtime\tws://localhost:%d/ws\talso ws://localhost:%d/realtime/ws\n", s.Port(3009), s.Port(3008))
	fmt.Fprintf(tw, "kafka\t127.0.0.1:%d\tkfake\n", s.Port(stack.KafkaPort))
	fmt.Fprintf(tw, "redis\t127.0.0.1:%d\t%s\n", s.Port(stack.RedisPort), s.RedisMode())
	fmt.Fprintf(tw, "stores\t%s\t\n", s.MongoMode())
	fmt.Fprintf(tw, "mail inbox\thttp://localhost:%d\tMailpit: every mail the shop sends; SMTP on %s\n", s.Port(stack.MailpitHTTPPort), s.SMTPAddr())
	tw.Flush()
	fmt.Fprintln(w, "\ninstances (the gateway round-robins over each service's copies):")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range stack.Programs {
		var urls []string
		for _, in := range s.Instances(p.Name) {
			urls = append(urls, in.Name+" "+in.URL)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", p.Name, strings.Join(urls, "\t"))
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, "\nnote: "+n)
	}
	fmt.Fprintf(w, "\naccounts:\n  admin     %s / %s\n  customer  %s / %s\n\nlogs: .devstack/logs/*.log   stop: Ctrl-C\n\n",
		or("ADMIN_EMAIL", "admin@shop.local"), or("ADMIN_PASSWORD", "admin-Passw0rd!"),
		or("DEMO_EMAIL", "demo@shop.local"), or("DEMO_PASSWORD", "demo-Passw0rd!"))
}
